//! Names are decided once, before anything is emitted: C has one namespace for struct/union/
//! enum tags and one for ordinary identifiers (typedefs and enumerators), so a second type
//! or enumerator with a taken name becomes `name___N`, as bpftool does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::btf::{Btf, Kind};

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

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

pub(super) struct Names {
    /// Types whose names clash: type id -> N for `name___N` (N > 1).
    dup: FastMap<u32, u32>,
    /// Enumerators whose names clash: (enum id, index) -> N.
    enum_dups: FastMap<(u32, u32), u32>,
}

impl Names {
    pub(super) fn decide(btf: &Btf<'_>) -> Names {
        // First the few types C sees by name (most are functions, pointers, prototypes), so
        // that each map is sized once instead of rehashing its strings as it grows.
        let (mut sources, mut fwds) = (Vec::new(), Vec::new());
        let (mut n_tags, mut n_idents) = (0, 0);
        for id in btf.ids() {
            let Some(t) = btf.ty(id) else { continue };
            match t.kind() {
                Kind::Struct | Kind::Union if t.is_named() => n_tags += 1,
                Kind::Enum | Kind::Enum64 => {
                    n_tags += usize::from(t.is_named());
                    n_idents += t.vlen();
                }
                Kind::Typedef if t.is_named() => n_idents += 1,
                Kind::Fwd => {
                    fwds.push(id);
                    continue;
                }
                _ => continue,
            }
            sources.push(id);
        }
        let mut dup = FastMap::default();
        let mut enum_dups = FastMap::default();
        let mut tags: FastMap<&str, u32> = FastMap::default();
        let mut idents: FastMap<&str, u32> = FastMap::default();
        tags.reserve(n_tags + fwds.len());
        idents.reserve(n_idents);
        let bump = |map: &mut FastMap<_, u32>, name| {
            let c = map.entry(name).or_insert(0);
            *c += 1;
            *c
        };
        let mut note = |id: u32, c: u32| {
            if c > 1 {
                dup.insert(id, c);
            }
        };
        for id in sources {
            let Some(t) = btf.ty(id) else { continue };
            let kind = t.kind();
            match kind {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if t.is_named() => {
                    note(id, bump(&mut tags, t.name()))
                }
                Kind::Typedef => note(id, bump(&mut idents, t.name())),
                _ => {}
            }
            if matches!(kind, Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    let c = bump(&mut idents, v.name);
                    if c > 1 {
                        enum_dups.insert((id, i as u32), c);
                    }
                }
            }
        }
        // A forward declaration names the same tag as its definition, if there is one.
        for id in fwds {
            let Some(t) = btf.ty(id) else { continue };
            if !tags.contains_key(t.name()) {
                note(id, bump(&mut tags, t.name()));
            }
        }
        Names { dup, enum_dups }
    }

    pub(super) fn suffix(&self, id: u32) -> Option<u32> {
        self.dup.get(&id).copied()
    }

    pub(super) fn enum_suffix(&self, id: u32, idx: usize) -> Option<u32> {
        self.enum_dups.get(&(id, idx as u32)).copied()
    }
}
