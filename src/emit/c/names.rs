//! Names are decided once, before anything is emitted: C has one namespace for struct/union/
//! enum tags and one for ordinary identifiers (typedefs and enumerators), so a second type
//! or enumerator with a taken name becomes `name___N`, as bpftool does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::btf::{Btf, Kind};

/// A small FNV-1a hasher: names are short and the maps are hot on vmlinux-sized input.
#[derive(Default)]
pub(super) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

pub(super) struct Names {
    /// Per type id: 0 or 1 = the BTF name as is, N > 1 = `name___N`.
    dup: Vec<u32>,
    /// Enumerators whose names clash: (enum id, index) -> N.
    enum_dups: FastMap<(u32, u32), u32>,
}

impl Names {
    pub(super) fn decide(btf: &Btf<'_>) -> Names {
        let n = btf.type_count() as usize;
        let mut dup = vec![0u32; n];
        let mut enum_dups = FastMap::default();
        let mut tags: FastMap<&str, u32> = FastMap::default();
        let mut idents: FastMap<&str, u32> = FastMap::default();
        tags.reserve(n / 4);
        idents.reserve(n / 4);
        let bump = |map: &mut FastMap<_, u32>, name| {
            let c = map.entry(name).or_insert(0);
            *c += 1;
            *c
        };
        for id in btf.ids() {
            let Some(t) = btf.ty(id) else { continue };
            let name = t.name();
            match t.kind() {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if !name.is_empty() => {
                    dup[id as usize] = bump(&mut tags, name);
                }
                Kind::Typedef if !name.is_empty() => dup[id as usize] = bump(&mut idents, name),
                _ => {}
            }
            if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    let c = bump(&mut idents, v.name);
                    if c > 1 {
                        enum_dups.insert((id, i as u32), c);
                    }
                }
            }
        }
        // A forward declaration names the same tag as its definition, if there is one.
        for id in btf.ids() {
            let Some(t) = btf.ty(id) else { continue };
            if t.kind() == Kind::Fwd && !tags.contains_key(t.name()) {
                dup[id as usize] = bump(&mut tags, t.name());
            }
        }
        Names { dup, enum_dups }
    }

    pub(super) fn suffix(&self, id: u32) -> Option<u32> {
        self.dup.get(id as usize).copied().filter(|&d| d > 1)
    }

    pub(super) fn enum_suffix(&self, id: u32, idx: usize) -> Option<u32> {
        self.enum_dups.get(&(id, idx as u32)).copied()
    }
}
