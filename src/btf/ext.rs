//! The `.BTF.ext` section: per-ELF-section func_info, line_info and CO-RE relocation records.

use super::wire::{preamble, u32_at};
use super::Error;

/// One kind of record (func_info, line_info or core_relo), grouped by ELF section.
#[derive(Clone, Copy, Debug)]
pub struct InfoTable<'a> {
    data: &'a [u8],
    rec_size: usize,
}

/// A group of records for one ELF section.
#[derive(Clone, Copy, Debug)]
pub struct SectionInfo<'a> {
    /// Offset of the ELF section name in the BTF string table.
    pub sec_name_off: u32,
    records: &'a [u8],
    rec_size: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

/// Parsed `.BTF.ext`, borrowing the section bytes.
#[derive(Clone, Copy, Debug)]
pub struct BtfExt<'a> {
    pub func_info: InfoTable<'a>,
    pub line_info: InfoTable<'a>,
    pub core_relo: InfoTable<'a>,
}

const MIN_HEADER: usize = 24;

impl<'a> BtfExt<'a> {
    // `field` is a header field offset of at most 24.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn parse(data: &'a [u8]) -> Result<BtfExt<'a>, Error> {
        let hdr_len = preamble(data, ".BTF.ext", MIN_HEADER)?;
        let table = |field: usize, min_rec: usize, what: &str| -> Result<InfoTable<'a>, Error> {
            if field + 8 > hdr_len {
                return Ok(InfoTable {
                    data: &[],
                    rec_size: min_rec,
                });
            }
            let off = u32_at(data, field) as usize;
            let len = u32_at(data, field + 4) as usize;
            let start = hdr_len.checked_add(off);
            let end = start.and_then(|s| s.checked_add(len));
            let (Some(start), Some(end)) = (start, end) else {
                return Err(Error::at(field, format!("{what} is out of bounds")));
            };
            if end > data.len() {
                return Err(Error::at(field, format!("{what} is out of bounds")));
            }
            InfoTable::parse(&data[start..end], min_rec, what).map_err(|e| e.shifted(start))
        };
        Ok(BtfExt {
            func_info: table(8, 8, "func_info")?,
            line_info: table(16, 16, "line_info")?,
            core_relo: table(24, 16, "core_relo")?,
        })
    }
}

impl<'a> InfoTable<'a> {
    // Offsets stay below data.len() (checked before each step), counts and record sizes are u32 values multiplied in 64-bit usize after a checked_mul.
    #[allow(clippy::arithmetic_side_effects)]
    fn parse(data: &'a [u8], min_rec: usize, what: &str) -> Result<InfoTable<'a>, Error> {
        if data.is_empty() {
            return Ok(InfoTable {
                data,
                rec_size: min_rec,
            });
        }
        if data.len() < 4 {
            return Err(Error::at(0, format!("{what}: truncated record size")));
        }
        let rec_size = u32_at(data, 0) as usize;
        if rec_size < min_rec || !rec_size.is_multiple_of(4) {
            return Err(Error::at(0, format!("{what}: bad record size {rec_size}")));
        }
        // Walk once so iteration later cannot go out of bounds.
        let mut off = 4;
        while off < data.len() {
            if data.len() - off < 8 {
                return Err(Error::at(off, format!("{what}: truncated section header")));
            }
            let n = u32_at(data, off + 4) as usize;
            let bytes = n.checked_mul(rec_size);
            match bytes {
                Some(b) if n > 0 && b <= data.len() - off - 8 => off += 8 + b,
                _ => {
                    return Err(Error::at(off + 4, format!("{what}: bad record count {n}")));
                }
            }
        }
        Ok(InfoTable { data, rec_size })
    }

    pub fn record_size(&self) -> usize {
        self.rec_size
    }

    /// The per-section groups, in file order.
    // The table was walked with checked bounds in `parse`; the same steps stay in range.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn sections(&self) -> impl Iterator<Item = SectionInfo<'a>> + 'a {
        let (data, rec_size) = (self.data, self.rec_size);
        let mut off = if data.is_empty() { 0 } else { 4 };
        std::iter::from_fn(move || {
            if off >= data.len() {
                return None;
            }
            let n = u32_at(data, off + 4) as usize;
            let s = SectionInfo {
                sec_name_off: u32_at(data, off),
                records: &data[off + 8..off + 8 + n * rec_size],
                rec_size,
            };
            off += 8 + n * rec_size;
            Some(s)
        })
    }
}

impl<'a> SectionInfo<'a> {
    // `rec_size` is at least the minimum record size, never 0.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn len(&self) -> usize {
        self.records.len() / self.rec_size
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    // `i` is below `len()` and `w` below the words of a record.
    #[allow(clippy::arithmetic_side_effects)]
    fn word(&self, i: usize, w: usize) -> u32 {
        u32_at(self.records, i * self.rec_size + w * 4)
    }

    /// How many records can be read as `min`-byte ones: none when the table's records are
    /// smaller (e.g. line_infos asked of a func_info group), so no accessor reads past a record.
    fn count_as(&self, min: usize) -> usize {
        if self.rec_size >= min {
            self.len()
        } else {
            0
        }
    }

    pub fn func_infos(&self) -> impl Iterator<Item = FuncInfo> + '_ {
        (0..self.count_as(8)).map(|i| FuncInfo {
            insn_off: self.word(i, 0),
            type_id: self.word(i, 1),
        })
    }

    pub fn line_infos(&self) -> impl Iterator<Item = LineInfo> + '_ {
        (0..self.count_as(16)).map(|i| {
            let lc = self.word(i, 3);
            LineInfo {
                insn_off: self.word(i, 0),
                file_name_off: self.word(i, 1),
                line_off: self.word(i, 2),
                line: lc >> 10,
                col: lc & 0x3ff,
            }
        })
    }

    pub fn core_relos(&self) -> impl Iterator<Item = CoreRelo> + '_ {
        (0..self.count_as(16)).map(|i| CoreRelo {
            insn_off: self.word(i, 0),
            type_id: self.word(i, 1),
            access_str_off: self.word(i, 2),
            kind: self.word(i, 3),
        })
    }
}
