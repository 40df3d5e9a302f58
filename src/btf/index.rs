//! The first pass over a blob: where each type record starts, its kind and its third word.
//!
//! On vmlinux the three arrays take 1.1 MB of fresh memory, and each fresh page costs a
//! fault of ~1.5 µs on the project's machine: a third of the walk. So on big blobs the helper
//! thread maps the back half of the arrays while this thread walks and fills the front.

use super::wire::{u32_at, Kind, TYPE_HEADER_LEN};
use super::Error;

/// Below this many bytes of type records, a helper costs more than it saves.
pub(super) const PARALLEL_MIN_BYTES: usize = 512 << 10;

pub(super) struct Index {
    pub offsets: Vec<u32>,
    pub kinds: Vec<Kind>,
    pub words: Vec<u32>,
}

impl Index {
    /// Room for the records of a type section of `types_len` bytes (vmlinux averages ~24
    /// bytes a record; a smaller guess only costs a reallocation).
    pub fn with_room(types_len: usize) -> Index {
        let n = types_len / 20;
        Index {
            offsets: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            words: Vec::with_capacity(n),
        }
    }

    /// Walks the type section `t` (at `file_pos` in the file) once.
    // `off` stays below t.len(), vlen is at most 0xffff, entries at most 16 bytes.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn build(&mut self, t: &[u8], file_pos: usize, first_id: u32) -> Result<(), Error> {
        let mut off = 0usize;
        while off < t.len() {
            if t.len() - off < TYPE_HEADER_LEN {
                return Err(Error::at(file_pos + off, "truncated BTF type record"));
            }
            let info = u32_at(t, off + 4);
            let raw_kind = (info >> 24) & 0x1f;
            let Some((kind, fixed, per_entry)) = Kind::SHAPES[raw_kind as usize] else {
                return Err(Error::at(
                    file_pos + off + 4,
                    format!("unknown BTF kind {raw_kind}"),
                ));
            };
            let vlen = (info & 0xffff) as usize;
            let len = TYPE_HEADER_LEN + usize::from(fixed) + vlen * usize::from(per_entry);
            if t.len() - off < len {
                return Err(Error::at(
                    file_pos + off,
                    format!("BTF {} record runs past the type section", kind.raw_name()),
                ));
            }
            self.offsets.push(super::to_u32(off));
            self.kinds.push(kind);
            self.words.push(u32_at(t, off + 8));
            off += len;
        }
        if u32::try_from(self.offsets.len())
            .ok()
            .and_then(|n| n.checked_add(first_id))
            .is_none()
        {
            return Err(Error::at(file_pos, "too many BTF types"));
        }
        Ok(())
    }
}
