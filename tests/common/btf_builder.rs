//! A test-only BTF blob builder: types are appended in id order and strings are interned, so
//! tests can write BTF by hand (including malformed records) without clang.
//! Shared by the unit tests in src/btf/tests.rs and the integration tests.
// Each test crate uses a different subset of the builder.
#![allow(dead_code)]

use std::collections::HashMap;

pub const MAGIC: u16 = 0xeb9f;
pub const HDR_LEN: usize = 24;

pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// INT encodings.
pub const SIGNED: u32 = 1;
pub const CHAR: u32 = 2;
pub const BOOL: u32 = 4;

pub struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Offset of `strings[0]` in the combined string space (base length for split BTF).
    str_base: u32,
    interned: HashMap<String, u32>,
    next_id: u32,
    /// Offset of each record within the type section, by local index.
    rec_offs: Vec<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            types: Vec::new(),
            strings: vec![0],
            str_base: 0,
            interned: HashMap::new(),
            next_id: 1,
            rec_offs: Vec::new(),
        }
    }

    /// Split BTF whose first id is `base_type_count` and whose strings follow the base's.
    pub fn split(base_type_count: u32, base_str_len: u32) -> Builder {
        Builder {
            next_id: base_type_count,
            str_base: base_str_len,
            ..Builder::new()
        }
    }

    /// Interns `s` and returns its offset; "" is 0 (anonymous).
    pub fn s(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&off) = self.interned.get(s) {
            return off;
        }
        let off = self.raw_str(s.as_bytes());
        self.interned.insert(s.to_string(), off);
        off
    }

    /// Appends bytes plus a NUL without interning, returning the offset (e.g. a second "").
    pub fn raw_str(&mut self, bytes: &[u8]) -> u32 {
        let off = self.str_base + self.strings.len() as u32;
        self.strings.extend_from_slice(bytes);
        self.strings.push(0);
        off
    }

    pub fn str_len(&self) -> u32 {
        self.strings.len() as u32
    }

    /// The id the next added type gets.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Any record: the common header (name offset, info word, size/type) and its tail words.
    pub fn raw(&mut self, name_off: u32, info: u32, size_or_type: u32, tail: &[u32]) -> u32 {
        self.rec_offs.push(self.types.len());
        for w in [name_off, info, size_or_type].iter().chain(tail) {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.next_id += 1;
        self.next_id - 1
    }

    pub fn info(kind: u32, kflag: bool, vlen: u32) -> u32 {
        (u32::from(kflag) << 31) | (kind << 24) | vlen
    }

    fn named(
        &mut self,
        name: &str,
        kind: u32,
        kflag: bool,
        vlen: u32,
        st: u32,
        tail: &[u32],
    ) -> u32 {
        let n = self.s(name);
        self.raw(n, Self::info(kind, kflag, vlen), st, tail)
    }

    pub fn int(&mut self, name: &str, size: u32, encoding: u32, offset: u32, bits: u32) -> u32 {
        let v = (encoding << 24) | (offset << 16) | bits;
        self.named(name, kind::INT, false, 0, size, &[v])
    }

    pub fn ptr(&mut self, target: u32) -> u32 {
        self.named("", kind::PTR, false, 0, target, &[])
    }

    pub fn typedef(&mut self, name: &str, target: u32) -> u32 {
        self.named(name, kind::TYPEDEF, false, 0, target, &[])
    }

    pub fn volatile(&mut self, target: u32) -> u32 {
        self.named("", kind::VOLATILE, false, 0, target, &[])
    }

    pub fn const_(&mut self, target: u32) -> u32 {
        self.named("", kind::CONST, false, 0, target, &[])
    }

    pub fn restrict(&mut self, target: u32) -> u32 {
        self.named("", kind::RESTRICT, false, 0, target, &[])
    }

    pub fn type_tag(&mut self, name: &str, target: u32) -> u32 {
        self.named(name, kind::TYPE_TAG, false, 0, target, &[])
    }

    pub fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        self.named("", kind::ARRAY, false, 0, 0, &[elem, index, nelems])
    }

    /// Members as (name, type, bit offset); no kind_flag.
    pub fn struct_(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        self.composite(kind::STRUCT, name, size, members)
    }

    pub fn union_(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        self.composite(kind::UNION, name, size, members)
    }

    fn composite(&mut self, k: u32, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let mut tail = Vec::new();
        for &(n, t, off) in members {
            tail.extend([self.s(n), t, off]);
        }
        self.named(name, k, false, members.len() as u32, size, &tail)
    }

    /// kind_flag set: members as (name, type, bit offset, bitfield size), packed as
    /// `bitfield_size << 24 | bit_offset`.
    pub fn struct_kf(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite_kf(kind::STRUCT, name, size, members)
    }

    pub fn union_kf(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite_kf(kind::UNION, name, size, members)
    }

    fn composite_kf(
        &mut self,
        k: u32,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let mut tail = Vec::new();
        for &(n, t, off, bits) in members {
            tail.extend([self.s(n), t, (bits << 24) | off]);
        }
        self.named(name, k, true, members.len() as u32, size, &tail)
    }

    /// 32-bit enum; values are stored as their low 32 bits.
    pub fn enum_(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> u32 {
        let mut tail = Vec::new();
        for &(n, v) in values {
            tail.extend([self.s(n), v as u32]);
        }
        self.named(name, kind::ENUM, signed, values.len() as u32, size, &tail)
    }

    pub fn enum64(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, u64)]) -> u32 {
        let mut tail = Vec::new();
        for &(n, v) in values {
            tail.extend([self.s(n), v as u32, (v >> 32) as u32]);
        }
        self.named(name, kind::ENUM64, signed, values.len() as u32, size, &tail)
    }

    pub fn fwd(&mut self, name: &str, is_union: bool) -> u32 {
        self.named(name, kind::FWD, is_union, 0, 0, &[])
    }

    pub fn func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.named(name, kind::FUNC, false, linkage, proto, &[])
    }

    /// Params as (name, type); a trailing ("", 0) means varargs.
    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut tail = Vec::new();
        for &(n, t) in params {
            tail.extend([self.s(n), t]);
        }
        self.named("", kind::FUNC_PROTO, false, params.len() as u32, ret, &tail)
    }

    pub fn var(&mut self, name: &str, target: u32, linkage: u32) -> u32 {
        self.named(name, kind::VAR, false, 0, target, &[linkage])
    }

    /// Entries as (type, offset, size).
    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let tail: Vec<u32> = vars.iter().flat_map(|&(t, o, s)| [t, o, s]).collect();
        self.named(name, kind::DATASEC, false, vars.len() as u32, size, &tail)
    }

    pub fn float(&mut self, name: &str, size: u32) -> u32 {
        self.named(name, kind::FLOAT, false, 0, size, &[])
    }

    pub fn decl_tag(&mut self, name: &str, target: u32, component_idx: i32) -> u32 {
        self.named(
            name,
            kind::DECL_TAG,
            false,
            0,
            target,
            &[component_idx as u32],
        )
    }

    /// Length of the type section so far.
    pub fn types_len(&self) -> usize {
        self.types.len()
    }

    /// File offset of the record for `id` in the blob `build()` returns.
    pub fn rec_pos(&self, id: u32) -> usize {
        let first = self.next_id - self.rec_offs.len() as u32;
        HDR_LEN + self.rec_offs[(id - first) as usize]
    }

    /// File offset of the string section in the blob `build()` returns.
    pub fn str_pos(&self) -> usize {
        HDR_LEN + self.types.len()
    }

    /// Header, then types, then strings.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(1);
        out.push(0);
        let tl = self.types.len() as u32;
        for w in [HDR_LEN as u32, 0, tl, tl, self.strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Overwrites the little-endian u32 at `off`.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// A `.BTF.ext` section: header, then func_info, line_info and core_relo tables, each with
/// its record size and per-section groups of raw words.
pub fn btf_ext(
    func_info: &[(u32, Vec<[u32; 2]>)],
    line_info: &[(u32, Vec<[u32; 4]>)],
    core_relo: &[(u32, Vec<[u32; 4]>)],
) -> Vec<u8> {
    fn table<const N: usize>(groups: &[(u32, Vec<[u32; N]>)]) -> Vec<u8> {
        if groups.is_empty() {
            return Vec::new();
        }
        let mut t = Vec::new();
        t.extend_from_slice(&(N as u32 * 4).to_le_bytes());
        for (sec, recs) in groups {
            t.extend_from_slice(&sec.to_le_bytes());
            t.extend_from_slice(&(recs.len() as u32).to_le_bytes());
            for r in recs {
                for w in r {
                    t.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        t
    }
    let (f, l, c) = (table(func_info), table(line_info), table(core_relo));
    let hdr_len = 32u32;
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(1);
    out.push(0);
    let (fl, ll, cl) = (f.len() as u32, l.len() as u32, c.len() as u32);
    for w in [hdr_len, 0, fl, fl, ll, fl + ll, cl] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&f);
    out.extend_from_slice(&l);
    out.extend_from_slice(&c);
    out
}
