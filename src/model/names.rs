//! C names for BTF types, decided once before anything is emitted (`format c` and the Wasm
//! layout header both use this).
//!
//! C has one namespace for struct/union/enum tags and one for ordinary identifiers (typedefs
//! and enumerators), so a second type or enumerator with a taken name becomes `name___N` (N
//! counts from 2 in type id order, forward declarations last), as bpftool does. An output
//! may reserve names its includes already define ([`Reserved`]).

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::btf::{Btf, Kind, Ty};

/// Names an output's surroundings (included headers, the compiler) already define.
#[derive(Clone, Copy, Default)]
pub struct Reserved<'r> {
    /// Typedefs the includes define (sorted): a BTF typedef with one of these names is
    /// transparent (not emitted; its uses print the type under it) and takes no name.
    pub typedefs: &'r [&'r str],
    /// Ordinary identifiers already taken (each list sorted or not, in any number).
    pub idents: &'r [&'r [&'r str]],
    /// Tags already taken.
    pub tags: &'r [&'r str],
}

/// The decided names of every type and enumerator of one BTF.
pub struct Names {
    /// Types whose names clash: type id -> N for `name___N` (N > 1).
    dup: FxHashMap<u32, u32>,
    /// Enumerators whose names clash: (enum id, index) -> N.
    enum_dups: FxHashMap<(u32, u32), u32>,
    /// A bit per type id: whether it is in `dup`, or an enum with entries in `enum_dups`.
    /// Names are looked up for every line written, and few have a suffix.
    has_dup: Vec<u64>,
    /// A bit per type id: a transparent typedef (see [`Reserved::typedefs`]).
    transparent: Vec<u64>,
}

fn bit(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64)
        .is_some_and(|w| w >> (i % 64) & 1 != 0)
}

fn set_bit(bits: &mut [u64], i: u32) {
    if let Some(w) = bits.get_mut(i as usize / 64) {
        *w |= 1 << (i % 64);
    }
}

impl Names {
    pub fn decide(btf: &Btf<'_>, reserved: Reserved<'_>) -> Names {
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
        let words = (btf.type_count() as usize).div_ceil(64);
        let mut transparent = vec![0u64; words];
        let reserved_names = || {
            let tags = reserved.tags.iter().map(|&n| (Ns::Tag, n));
            let idents = reserved.idents.iter().flat_map(|l| l.iter());
            tags.chain(idents.map(|&n| (Ns::Ident, n)))
        };
        // Clashes are rare, so first find which names might clash: those whose hash occurs
        // more than once (reserved names count). Only they go through maps of names; a map
        // of every name would touch a megabyte of fresh memory, a page fault per page.
        let mut keyed: Vec<u64> = Vec::new();
        let key = |keyed: &mut Vec<u64>, ns: Ns, name: &str| {
            let seq = keyed.len() as u64;
            keyed.push(u64::from(name_hash(ns, name)) << 32 | seq);
        };
        each_name(btf, &sources, &fwds, |t, owner, ns| {
            if is_transparent(t, owner, &reserved) {
                set_bit(&mut transparent, t.id);
            }
            key(&mut keyed, ns, name_of(t, owner));
        });
        let btf_names = keyed.len();
        reserved_names().for_each(|(ns, name)| key(&mut keyed, ns, name));
        keyed.sort_unstable();
        let mut shared = vec![0u64; keyed.len().div_ceil(64)];
        for pair in keyed.windows(2) {
            if pair[0] >> 32 == pair[1] >> 32 {
                set_bit(&mut shared, pair[0] as u32);
                set_bit(&mut shared, pair[1] as u32);
            }
        }
        let mut dup = FxHashMap::default();
        let mut enum_dups = FxHashMap::default();
        let mut seen: [FxHashMap<&str, u32>; 2] = Default::default();
        for (seq, (ns, name)) in (btf_names..).zip(reserved_names()) {
            if bit(&shared, seq as u32) {
                seen[ns as usize].insert(name, 1);
            }
        }
        let mut seq = 0u32;
        each_name(btf, &sources, &fwds, |t, owner, ns| {
            let is_shared = bit(&shared, seq);
            seq += 1;
            if !is_shared || is_transparent(t, owner, &reserved) {
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
        let mut has_dup = vec![0u64; words];
        for &id in dup.keys().chain(enum_dups.keys().map(|(id, _)| id)) {
            set_bit(&mut has_dup, id);
        }
        Names {
            dup,
            enum_dups,
            has_dup,
            transparent,
        }
    }

    /// Whether typedef `id` is transparent: its name is one of [`Reserved::typedefs`].
    pub fn is_transparent(&self, id: u32) -> bool {
        bit(&self.transparent, id)
    }

    /// N of `name___N` for type `id`, if its name clashes.
    pub fn suffix(&self, id: u32) -> Option<u32> {
        match bit(&self.has_dup, id) {
            true => self.dup.get(&id).copied(),
            false => None,
        }
    }

    /// N of `name___N` for enumerator `idx` of enum `id`, if its name clashes.
    pub fn enum_suffix(&self, id: u32, idx: usize) -> Option<u32> {
        match bit(&self.has_dup, id) {
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

fn is_transparent(t: Ty<'_>, owner: Owner, reserved: &Reserved<'_>) -> bool {
    matches!(owner, Owner::Type(_))
        && t.kind() == Kind::Typedef
        && reserved.typedefs.binary_search(&t.name()).is_ok()
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
    use std::hash::BuildHasher;
    let h = FxBuildHasher.hash_one((ns as u8, name));
    (h >> 32) as u32 ^ h as u32
}
