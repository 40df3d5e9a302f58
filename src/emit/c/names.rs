//! Names are decided once, before anything is emitted: C has one namespace for struct/union/
//! enum tags and one for ordinary identifiers (typedefs and enumerators), so a second type
//! or enumerator with a taken name becomes `name___N`, as bpftool does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::btf::{Btf, Kind, Ty};

/// A word-at-a-time multiplicative hasher (the Fx scheme): the keys are short names built
/// by us from trusted-shape data, and SipHash dominated the profile on vmlinux.
#[derive(Default)]
pub(super) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        // The tail byte by byte: a variable-length copy would cost a memcpy call per name.
        let tail = chunks.remainder().iter().rev();
        self.add(tail.fold(0, |w, &b| w << 8 | u64::from(b)));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

const VA_LIST: &str = "__builtin_va_list";

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

pub(super) struct Names {
    /// Types whose names clash: type id -> N for `name___N` (N > 1).
    dup: FastMap<u32, u32>,
    /// Enumerators whose names clash: (enum id, index) -> N.
    enum_dups: FastMap<(u32, u32), u32>,
    /// Typedefs named `__builtin_va_list` (normally one), which the header spells out.
    va_lists: Vec<u32>,
    /// A bit per type id: whether it is in `dup`, or an enum with entries in `enum_dups`.
    /// Names are looked up for every line written, and few have a suffix.
    has_dup: Vec<u64>,
}

impl Names {
    pub(super) fn decide(btf: &Btf<'_>) -> Names {
        // The few types C sees by name (most are functions, pointers, prototypes).
        let (mut sources, mut fwds) = (Vec::new(), Vec::new());
        for id in btf.ids() {
            // By kind first: most records are of kinds without a name C sees.
            match btf.kind_of(id) {
                Some(Kind::Struct | Kind::Union | Kind::Typedef)
                    if btf.ty(id).is_some_and(|t| t.is_named()) =>
                {
                    sources.push(id)
                }
                Some(Kind::Enum | Kind::Enum64) => sources.push(id),
                Some(Kind::Fwd) => fwds.push(id),
                _ => {}
            }
        }
        // Clashes are rare, so first find which names might clash: those whose hash occurs
        // more than once. Only they go through maps of names; a map of every name would
        // touch a megabyte of fresh memory, a page fault per page.
        let mut keyed: Vec<u64> = Vec::new();
        let mut va_lists = Vec::new();
        each_name(btf, &sources, &fwds, |t, owner, ns| {
            let seq = keyed.len() as u64;
            let name = name_of(t, owner);
            keyed.push(u64::from(name_hash(ns, name)) << 32 | seq);
            if name == VA_LIST && matches!(owner, Owner::Type(_)) && t.kind() == Kind::Typedef {
                va_lists.push(t.id);
            }
        });
        keyed.sort_unstable();
        let mut shared = vec![0u64; keyed.len().div_ceil(64)];
        for pair in keyed.windows(2) {
            if pair[0] >> 32 == pair[1] >> 32 {
                for seq in [pair[0] as u32, pair[1] as u32] {
                    if let Some(w) = shared.get_mut(seq as usize / 64) {
                        *w |= 1 << (seq % 64);
                    }
                }
            }
        }
        let mut dup = FastMap::default();
        let mut enum_dups = FastMap::default();
        let mut seen: [FastMap<&str, u32>; 2] = Default::default();
        let mut seq = 0usize;
        each_name(btf, &sources, &fwds, |t, owner, ns| {
            let is_shared = shared
                .get(seq / 64)
                .is_some_and(|w| w >> (seq % 64) & 1 != 0);
            seq += 1;
            if !is_shared {
                return;
            }
            let name = name_of(t, owner);
            let names = &mut seen[ns as usize];
            // A forward declaration names the same tag as its definition, if there is one.
            if matches!(owner, Owner::Fwd(_)) && names.contains_key(name) {
                return;
            }
            let count = names.entry(name).or_insert(0);
            *count += 1;
            if *count > 1 {
                match owner {
                    Owner::Type(id) | Owner::Fwd(id) => dup.insert(id, *count),
                    Owner::Enumerator(id, i) => enum_dups.insert((id, i), *count),
                };
            }
        });
        let mut has_dup = vec![0u64; (btf.type_count() as usize).div_ceil(64)];
        for id in dup.keys().chain(enum_dups.keys().map(|(id, _)| id)) {
            if let Some(w) = has_dup.get_mut(*id as usize / 64) {
                *w |= 1 << (id % 64);
            }
        }
        Names {
            dup,
            enum_dups,
            va_lists,
            has_dup,
        }
    }

    fn may_have_dup(&self, id: u32) -> bool {
        self.has_dup
            .get(id as usize / 64)
            .is_some_and(|w| w >> (id % 64) & 1 != 0)
    }

    /// Whether `id` is a typedef named `__builtin_va_list`: clang's own differs per target,
    /// so the header uses the BTF layout under it instead.
    pub(super) fn is_va_list(&self, id: u32) -> bool {
        self.va_lists.contains(&id)
    }

    pub(super) fn suffix(&self, id: u32) -> Option<u32> {
        match self.may_have_dup(id) {
            true => self.dup.get(&id).copied(),
            false => None,
        }
    }

    pub(super) fn enum_suffix(&self, id: u32, idx: usize) -> Option<u32> {
        match self.may_have_dup(id) {
            true => self.enum_dups.get(&(id, idx as u32)).copied(),
            false => None,
        }
    }
}

/// C's two namespaces for what we name.
#[derive(Clone, Copy)]
enum Ns {
    /// struct, union and enum tags.
    Tag = 0,
    /// Typedefs and enumerators.
    Ident = 1,
}

/// What a name belongs to.
#[derive(Clone, Copy)]
enum Owner {
    Type(u32),
    /// Enumerator `i` of enum `id`.
    Enumerator(u32, u32),
    Fwd(u32),
}

/// Calls `f` for every name C sees (with the type that holds it), in the order names are
/// decided: types and their enumerators by id, then forward declarations.
fn each_name<'a>(
    btf: &'a Btf<'_>,
    sources: &[u32],
    fwds: &[u32],
    mut f: impl FnMut(Ty<'a>, Owner, Ns),
) {
    for &id in sources {
        let Some(t) = btf.ty(id) else { continue };
        match t.kind() {
            Kind::Typedef => f(t, Owner::Type(id), Ns::Ident),
            Kind::Enum | Kind::Enum64 => {
                if t.is_named() {
                    f(t, Owner::Type(id), Ns::Tag);
                }
                for i in 0..t.vlen() as u32 {
                    f(t, Owner::Enumerator(id, i), Ns::Ident);
                }
            }
            _ => f(t, Owner::Type(id), Ns::Tag),
        }
    }
    for &id in fwds {
        if let Some(t) = btf.ty(id) {
            f(t, Owner::Fwd(id), Ns::Tag);
        }
    }
}

fn name_of<'a>(t: Ty<'a>, owner: Owner) -> &'a str {
    match owner {
        Owner::Enumerator(_, i) => t.enum_value(i as usize).map_or("", |v| v.name),
        Owner::Type(_) | Owner::Fwd(_) => t.name(),
    }
}

fn name_hash(ns: Ns, name: &str) -> u32 {
    let mut h = Fx::default();
    h.write_u8(ns as u8);
    h.write(name.as_bytes());
    // The high half: a multiplicative hash mixes upwards.
    (h.finish() >> 32) as u32
}
