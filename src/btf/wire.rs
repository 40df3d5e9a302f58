//! The BTF wire format: header, kind numbers and record sizes (see the kernel's
//! Documentation/bpf/btf.rst). Everything here is plain data; validation lives in `mod.rs`.

use super::Error;

pub const MAGIC: u16 = 0xeb9f;
pub const HEADER_LEN: usize = 24;
pub const TYPE_HEADER_LEN: usize = 12;

/// The kind of a BTF type record, numbered as in `linux/btf.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    pub fn from_raw(v: u32) -> Option<Kind> {
        // A table rather than a match: this runs for every type lookup.
        Self::BY_NUMBER.get(v as usize).copied()
    }

    const BY_NUMBER: [Kind; 20] = {
        use Kind::*;
        [
            Void, Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict,
            Func, FuncProto, Var, Datasec, Float, DeclTag, TypeTag, Enum64,
        ]
    };

    /// The name bpftool's raw listing uses.
    pub fn raw_name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "UNKN",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }

    /// The record shapes by kind number, for the parser's walk over every record: the kind,
    /// the fixed bytes after the 12-byte header, and the bytes per `vlen` entry; `None` for
    /// numbers no record may have (VOID and unknown kinds). A table, so the walk does not
    /// branch on kind.
    pub(super) const SHAPES: [Option<(Kind, u8, u8)>; 32] = {
        let mut table = [None; 32];
        let mut n = 1;
        while n < Self::BY_NUMBER.len() {
            let kind = Self::BY_NUMBER[n];
            let (fixed, per_entry) = kind.shape();
            table[n] = Some((kind, fixed, per_entry));
            n += 1;
        }
        table
    };

    const fn shape(self) -> (u8, u8) {
        use Kind::*;
        match self {
            Int | Var | DeclTag => (4, 0),
            Array => (12, 0),
            Struct | Union | Datasec | Enum64 => (0, 12),
            Enum | FuncProto => (0, 8),
            _ => (0, 0),
        }
    }

    /// Kinds whose third header word is a type id rather than a size.
    pub fn has_type_ref(self) -> bool {
        use Kind::*;
        matches!(
            self,
            Ptr | Typedef
                | Volatile
                | Const
                | Restrict
                | Func
                | FuncProto
                | Var
                | DeclTag
                | TypeTag
        )
    }
}

/// The fixed BTF header, with the section bounds already checked against the blob.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: usize,
    pub type_off: usize,
    pub type_len: usize,
    pub str_off: usize,
    pub str_len: usize,
}

#[inline]
// Callers read words of records validated to hold them: `off` is below b.len().
#[allow(clippy::arithmetic_side_effects)]
pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().unwrap_or([0; 2]))
}

#[inline]
// Callers read words of records validated to hold them: `off` is below b.len().
#[allow(clippy::arithmetic_side_effects)]
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or([0; 4]))
}

/// The start that .BTF and .BTF.ext share: the magic (little-endian only) and a header
/// length of at least `min` that lies within `data`, which it returns.
pub fn preamble(data: &[u8], what: &str, min: usize) -> Result<usize, Error> {
    if data.len() < 8 {
        return Err(Error::at(0, format!("file too short for a {what} header")));
    }
    let magic = u16_at(data, 0);
    if magic == MAGIC.swap_bytes() {
        return Err(Error::at(
            0,
            format!("{what} is byte-swapped (big-endian); only little-endian {what} is supported"),
        ));
    }
    if magic != MAGIC {
        return Err(Error::at(
            0,
            format!("bad {what} magic 0x{magic:04x}, expected 0xeb9f"),
        ));
    }
    let hdr_len = usize::try_from(u32_at(data, 4)).unwrap_or(usize::MAX);
    if hdr_len < min || hdr_len > data.len() {
        return Err(Error::at(4, format!("bad {what} header length {hdr_len}")));
    }
    Ok(hdr_len)
}

impl Header {
    // hdr_len is checked to be at most data.len(), and each section's offset plus length by `fits` before they are added.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn parse(data: &[u8]) -> Result<Header, Error> {
        let hdr_len = preamble(data, "BTF", HEADER_LEN)?;
        let version = data[2];
        if version != 1 {
            return Err(Error::at(2, format!("unsupported BTF version {version}")));
        }
        // A longer header is allowed if its extra bytes are zero, as the kernel requires.
        if data[HEADER_LEN..hdr_len].iter().any(|&b| b != 0) {
            return Err(Error::at(HEADER_LEN, "unknown non-zero BTF header fields"));
        }
        let h = Header {
            version,
            flags: data[3],
            hdr_len,
            type_off: u32_at(data, 8) as usize,
            type_len: u32_at(data, 12) as usize,
            str_off: u32_at(data, 16) as usize,
            str_len: u32_at(data, 20) as usize,
        };
        let body = data.len() - hdr_len;
        let fits = |off: usize, len: usize| off.checked_add(len).is_some_and(|end| end <= body);
        if !h.type_off.is_multiple_of(4) || !fits(h.type_off, h.type_len) {
            return Err(Error::at(8, "BTF type section is out of bounds"));
        }
        if !fits(h.str_off, h.str_len) {
            return Err(Error::at(16, "BTF string section is out of bounds"));
        }
        if h.type_off < h.str_off && h.type_off + h.type_len > h.str_off
            || h.str_off < h.type_off && h.str_off + h.str_len > h.type_off
        {
            return Err(Error::at(8, "BTF type and string sections overlap"));
        }
        Ok(h)
    }
}
