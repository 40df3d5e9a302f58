//! A BTF writer: types are appended one record at a time, strings are deduplicated in the
//! order they are first added (as libbpf's `btf__add_*` do), and `finish` lays out the raw
//! blob as `/sys/kernel/btf/vmlinux` has it: header, type section, string section.
//! The same calls always give the same bytes.

use std::collections::HashMap;

use super::wire::{Kind, HEADER_LEN, MAGIC};
use super::Ty;

/// A raw BTF blob under construction.
pub struct Writer {
    types: Vec<u8>,
    strings: Vec<u8>,
    offsets: HashMap<String, u32>,
    count: u32,
    /// Byte offset of the last record's info word, so members can bump its vlen.
    last_info: Option<usize>,
}

/// Too many members, strings or types for BTF's fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BTF writer: {0}")]
pub struct Overflow(pub &'static str);

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            types: Vec::new(),
            strings: vec![0],
            offsets: HashMap::new(),
            count: 0,
            last_info: None,
        }
    }

    /// The offset of `s` in the string section, adding it on first use; "" is offset 0.
    pub fn add_str(&mut self, s: &str) -> Result<u32, Overflow> {
        if s.is_empty() {
            return Ok(0);
        }
        if let Some(&off) = self.offsets.get(s) {
            return Ok(off);
        }
        let off = u32::try_from(self.strings.len()).map_err(|_| Overflow("strings"))?;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        self.offsets.insert(s.to_owned(), off);
        Ok(off)
    }

    fn word(&mut self, w: u32) {
        self.types.extend_from_slice(&w.to_le_bytes());
    }

    /// Starts a record: name, kind, vlen, kind flag and the third word (size or type id).
    /// Returns the new type's id.
    pub fn begin(
        &mut self,
        name: &str,
        kind: Kind,
        vlen: u16,
        kflag: bool,
        word: u32,
    ) -> Result<u32, Overflow> {
        let name_off = self.add_str(name)?;
        self.count = self.count.checked_add(1).ok_or(Overflow("types"))?;
        self.word(name_off);
        self.last_info = Some(self.types.len());
        let info = u32::from(kflag) << 31 | (kind as u32) << 24 | u32::from(vlen);
        self.word(info);
        self.word(word);
        Ok(self.count)
    }

    /// Appends raw words to the current record (INT's encoding, ARRAY's triple, …).
    pub fn extra(&mut self, words: &[u32]) {
        for &w in words {
            self.word(w);
        }
    }

    /// Appends a member to the STRUCT/UNION just begun, bumping its vlen and setting the
    /// kind flag when the member is a bitfield, as `btf__add_field` does.
    // `at` is the start of the record header written last; vlen is at most 0xffff before the increment.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn member(
        &mut self,
        name: &str,
        type_id: u32,
        bit_offset: u32,
        bitfield_size: u8,
    ) -> Result<(), Overflow> {
        let at = self
            .last_info
            .ok_or(Overflow("member without a composite"))?;
        let bitfield = bitfield_size != 0 || !bit_offset.is_multiple_of(8);
        if bitfield && bit_offset >= 1 << 24 {
            return Err(Overflow("bitfield offset"));
        }
        let name_off = self.add_str(name)?;
        self.word(name_off);
        self.word(type_id);
        self.word(bit_offset | u32::from(bitfield_size) << 24);
        let info = u32::from_le_bytes(self.types[at..at + 4].try_into().unwrap_or([0; 4]));
        let vlen = (info & 0xffff) + 1;
        if vlen > 0xffff {
            return Err(Overflow("members"));
        }
        let kflag = info >> 31 != 0 || bitfield;
        let info = u32::from(kflag) << 31 | (info & 0x1f00_0000) | vlen;
        self.types[at..at + 4].copy_from_slice(&info.to_le_bytes());
        Ok(())
    }

    /// Copies `t` whole, re-adding its strings here and passing every type id it holds
    /// through `map` (which may send ids to 0, void).
    pub fn copy(&mut self, t: &Ty<'_>, map: impl Fn(u32) -> u32) -> Result<u32, Overflow> {
        let kind = t.kind();
        let vlen = u16::try_from(t.vlen()).map_err(|_| Overflow("vlen"))?;
        let word = if kind.has_type_ref() {
            map(t.type_id())
        } else {
            t.size()
        };
        let id = self.begin(t.name(), kind, vlen, t.kind_flag(), word)?;
        match kind {
            Kind::Int => {
                let i = t.int().unwrap_or_default();
                self.word(
                    u32::from(i.encoding) << 24 | u32::from(i.offset) << 16 | u32::from(i.bits),
                );
            }
            Kind::Array => {
                let a = t.array().unwrap_or_default();
                self.extra(&[map(a.elem), map(a.index), a.nelems]);
            }
            Kind::Struct | Kind::Union => {
                for m in t.members() {
                    let off = m.bit_offset | u32::from(m.bitfield_size) << 24;
                    let name = self.add_str(m.name)?;
                    self.extra(&[name, map(m.type_id), off]);
                }
            }
            Kind::Enum => {
                for v in t.enum_values() {
                    let name = self.add_str(v.name)?;
                    self.extra(&[name, low32(v.bits)]);
                }
            }
            Kind::Enum64 => {
                for v in t.enum_values() {
                    let name = self.add_str(v.name)?;
                    self.extra(&[name, low32(v.bits), low32(v.bits >> 32)]);
                }
            }
            Kind::FuncProto => {
                for p in t.params() {
                    let name = self.add_str(p.name)?;
                    self.extra(&[name, map(p.type_id)]);
                }
            }
            Kind::Var | Kind::DeclTag => {
                let w = if kind == Kind::Var {
                    t.linkage()
                } else {
                    t.component_idx() as u32
                };
                self.word(w);
            }
            Kind::Datasec => {
                for v in t.datasec_vars() {
                    self.extra(&[map(v.type_id), v.offset, v.size]);
                }
            }
            _ => {}
        }
        Ok(id)
    }

    /// Number of types written (ids run from 1 to this).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The raw blob: 24-byte header, types, strings.
    // Lengths of in-memory buffers, checked to fit in u32 just above.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn finish(self) -> Result<Vec<u8>, Overflow> {
        let type_len = u32::try_from(self.types.len()).map_err(|_| Overflow("type section"))?;
        let str_len = u32::try_from(self.strings.len()).map_err(|_| Overflow("strings"))?;
        let mut out = Vec::with_capacity(HEADER_LEN + self.types.len() + self.strings.len());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        let hdr = u32::try_from(HEADER_LEN).map_err(|_| Overflow("header"))?;
        for w in [hdr, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        Ok(out)
    }
}

/// The low 32 bits: ENUM stores them (the kernel keeps only those), ENUM64 both halves.
fn low32(v: u64) -> u32 {
    let [a, b, c, d, ..] = v.to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
}
