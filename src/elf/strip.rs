//! DWARF stripping, the `llvm-strip -g` equivalent, done in-process: a BPF object is small and
//! simple (ELF64 relocatable, one symbol table), so rewriting it here is faster than spawning
//! llvm-strip and removes a tool dependency.
//!
//! Removed: `.debug_*`/`.zdebug_*` sections, the relocation sections that apply to them, the
//! symbols that live in them, `STT_FILE` symbols, and `.comment` (it names the compiler
//! version). Kept untouched:
//! code, data, `.maps`, `.BTF`, `.BTF.ext` and their relocations. Symbol indices change, so every
//! kept relocation and `.llvm_addrsig` is renumbered.
// A parser of untrusted bytes: narrowing goes through try_from, never a silent `as`, and
// arithmetic is checked, or allowed locally where validation bounds the operands.
#![deny(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]

/// Why an object could not be stripped, with the byte offset of the offending header.
pub type Error = crate::ParseError;

use object::elf::{
    ET_REL, SHN_LORESERVE, SHN_XINDEX, SHT_GROUP, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_SYMTAB,
    SHT_SYMTAB_SHNDX, STT_FILE,
};

fn err(offset: usize, msg: impl Into<String>) -> Error {
    Error::at(offset, msg)
}

/// A file offset or size as usize; one that does not fit can only fail the bounds check after.
fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

const EHDR_LEN: usize = 64;
const SHDR_LEN: usize = 64;
const SYM_LEN: usize = 24;
/// LLVM's address-significance table (not in the `object` crate's list).
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
/// Far above anything a compiler emits for BPF; bounds the padding a crafted file can ask for.
const MAX_ALIGN: u64 = 1 << 16;

// Callers read fields of headers and entries checked to lie within `d`.
#[allow(clippy::arithmetic_side_effects)]
fn u16_at(d: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([d[off], d[off + 1]])
}

// Callers read fields of headers and entries checked to lie within `d`.
#[allow(clippy::arithmetic_side_effects)]
fn u32_at(d: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&d[off..off + 4]);
    u32::from_le_bytes(b)
}

// Callers read fields of headers and entries checked to lie within `d`.
#[allow(clippy::arithmetic_side_effects)]
fn u64_at(d: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[off..off + 8]);
    u64::from_le_bytes(b)
}

#[derive(Clone, Debug)]
struct Shdr {
    name: u32,
    ty: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    addralign: u64,
    entsize: u64,
}

impl Shdr {
    // `off` starts a section header checked to lie within `d`.
    #[allow(clippy::arithmetic_side_effects)]
    fn parse(d: &[u8], off: usize) -> Shdr {
        Shdr {
            name: u32_at(d, off),
            ty: u32_at(d, off + 4),
            flags: u64_at(d, off + 8),
            addr: u64_at(d, off + 16),
            offset: u64_at(d, off + 24),
            size: u64_at(d, off + 32),
            link: u32_at(d, off + 40),
            info: u32_at(d, off + 44),
            addralign: u64_at(d, off + 48),
            entsize: u64_at(d, off + 56),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name.to_le_bytes());
        out.extend_from_slice(&self.ty.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.addr.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.link.to_le_bytes());
        out.extend_from_slice(&self.info.to_le_bytes());
        out.extend_from_slice(&self.addralign.to_le_bytes());
        out.extend_from_slice(&self.entsize.to_le_bytes());
    }

    fn has_bytes(&self) -> bool {
        self.ty != SHT_NOBITS && self.ty != 0
    }
}

/// True for the sections `llvm-strip -g` removes, plus `.comment`.
fn is_debug(name: &[u8]) -> bool {
    name.starts_with(b".debug") || name.starts_with(b".zdebug") || name == b".comment"
}

fn cstr(d: &[u8], off: usize) -> &[u8] {
    let rest = d.get(off..).unwrap_or(&[]);
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    &rest[..end]
}

/// Returns the object without DWARF. Objects that have nothing to strip come back unchanged
/// in content (the layout is rewritten all the same, so the result is canonical).
// The header table is checked to lie within `d` before any position in it is computed; counters count sections and symbols (each below the file size); symbol positions lie within their checked sections.
#[allow(clippy::arithmetic_side_effects)]
pub fn strip_debug(d: &[u8]) -> Result<Vec<u8>, Error> {
    if d.len() < EHDR_LEN || !d.starts_with(b"\x7fELF") {
        return Err(err(0, "not an ELF file"));
    }
    if d[4] != 2 || d[5] != 1 {
        return Err(err(4, "only little-endian ELF64 objects can be stripped"));
    }
    if u16_at(d, 16) != ET_REL {
        return Err(err(16, "not a relocatable object (ET_REL)"));
    }
    if u16_at(d, 56) != 0 {
        return Err(err(56, "relocatable object with program headers"));
    }
    let shoff = usize_of(u64_at(d, 40));
    let shentsize = u16_at(d, 58) as usize;
    let shnum = u16_at(d, 60) as usize;
    let shstrndx = u16_at(d, 62) as usize;
    if shentsize != SHDR_LEN {
        return Err(err(
            58,
            format!("section header size {shentsize}, expected 64"),
        ));
    }
    if shnum == 0 || shstrndx == SHN_XINDEX as usize {
        return Err(err(60, "extended section numbering is not supported"));
    }
    shnum
        .checked_mul(SHDR_LEN)
        .and_then(|n| n.checked_add(shoff))
        .filter(|&e| e <= d.len())
        .ok_or_else(|| err(40, "section header table runs past the end of the file"))?;
    let shdrs: Vec<Shdr> = (0..shnum)
        .map(|i| Shdr::parse(d, shoff + i * SHDR_LEN))
        .collect();
    let hdr_off = |i: usize| shoff + i * SHDR_LEN;
    let bytes = |i: usize| -> Result<&[u8], Error> {
        let s = &shdrs[i];
        if !s.has_bytes() {
            return Ok(&[]);
        }
        usize_of(s.offset)
            .checked_add(usize_of(s.size))
            .and_then(|end| d.get(usize_of(s.offset)..end))
            .ok_or_else(|| {
                err(
                    hdr_off(i),
                    format!("section {i} runs past the end of the file"),
                )
            })
    };
    // Alignment is padded out byte by byte below: refuse absurd values.
    if let Some(i) = (0..shnum).find(|&i| {
        let a = shdrs[i].addralign;
        a > MAX_ALIGN || (a > 1 && !a.is_power_of_two())
    }) {
        return Err(err(
            hdr_off(i) + 48,
            format!("section {i} has a bad alignment {}", shdrs[i].addralign),
        ));
    }
    if shstrndx >= shnum {
        return Err(err(62, "section name table index out of range"));
    }
    let shstr = bytes(shstrndx)?;
    let names: Vec<&[u8]> = shdrs.iter().map(|s| cstr(shstr, s.name as usize)).collect();

    // Which sections go: debug sections, then relocation sections aimed at them.
    let mut removed: Vec<bool> = names.iter().map(|n| is_debug(n)).collect();
    removed[0] = false;
    for (i, s) in shdrs.iter().enumerate() {
        match s.ty {
            SHT_REL | SHT_RELA => {
                let target = s.info as usize;
                if target >= shnum {
                    return Err(err(hdr_off(i), "relocation section targets a bad index"));
                }
                if removed[target] {
                    removed[i] = true;
                }
            }
            SHT_GROUP | SHT_SYMTAB_SHNDX => {
                return Err(err(
                    hdr_off(i),
                    "section groups and SHT_SYMTAB_SHNDX are not supported",
                ));
            }
            _ => {}
        }
    }
    if removed[shstrndx] {
        return Err(err(62, "the section name table looks like a debug section"));
    }
    let mut new_index = vec![0u32; shnum];
    let mut next = 0u32;
    for i in 0..shnum {
        if !removed[i] {
            new_index[i] = next;
            next += 1;
        }
    }
    let remap_shndx = |shndx: u16| -> Option<u16> {
        if shndx == 0 || shndx >= SHN_LORESERVE {
            return Some(shndx);
        }
        let i = shndx as usize;
        if i >= shnum || removed[i] {
            None
        } else {
            u16::try_from(new_index[i]).ok()
        }
    };

    // Symbols: drop those defined in removed sections, remember old -> new index. When the
    // symbol names share the section name table (clang does this for BPF), the table is
    // rebuilt for both, so symbol names are rewritten too.
    let symtabs: Vec<usize> = (0..shnum).filter(|&i| shdrs[i].ty == SHT_SYMTAB).collect();
    if symtabs.len() > 1 {
        return Err(err(hdr_off(symtabs[1]), "more than one symbol table"));
    }
    let mut strtab = StrTab::new();
    let mut sym_map: Vec<Option<u32>> = Vec::new();
    let mut new_symtab = Vec::new();
    let mut new_first_global = 0u32;
    let mut sym_names: Vec<(usize, &[u8])> = Vec::new();
    if let Some(&st) = symtabs.first() {
        let data = bytes(st)?;
        if data.len() % SYM_LEN != 0 {
            return Err(err(
                hdr_off(st),
                "symbol table size is not a multiple of 24",
            ));
        }
        let shared = shdrs[st].link as usize == shstrndx;
        let first_global = shdrs[st].info as usize;
        let mut kept = 0u32;
        for (i, sym) in data.chunks_exact(SYM_LEN).enumerate() {
            let shndx = u16_at(sym, 6);
            if shndx == SHN_XINDEX {
                return Err(err(
                    usize_of(shdrs[st].offset).saturating_add(i * SYM_LEN),
                    "extended symbol section index",
                ));
            }
            // STT_FILE symbols are debugging symbols too (llvm-strip -g drops them).
            let is_file = i != 0 && sym[4] & 0xf == STT_FILE;
            let Some(n) = remap_shndx(shndx).filter(|_| !is_file) else {
                sym_map.push(None);
                continue;
            };
            let mut s = sym.to_vec();
            s[6..8].copy_from_slice(&n.to_le_bytes());
            if shared {
                let name = cstr(shstr, u32_at(sym, 0) as usize);
                strtab.add(name);
                sym_names.push((new_symtab.len(), name));
            }
            new_symtab.extend_from_slice(&s);
            sym_map.push(Some(kept));
            if i < first_global {
                new_first_global = kept + 1;
            }
            kept += 1;
        }
    }

    // New headers and contents; names and placement come once the name table is known.
    let mut new_shdrs: Vec<Shdr> = Vec::new();
    let mut contents: Vec<Vec<u8>> = Vec::new();
    let mut new_names: Vec<&[u8]> = Vec::new();
    for i in 0..shnum {
        if removed[i] {
            continue;
        }
        let mut s = shdrs[i].clone();
        new_names.push(names[i]);
        if i == 0 {
            new_shdrs.push(s);
            contents.push(Vec::new());
            continue;
        }
        strtab.add(names[i]);
        let remap_link = |v: u32, what: &str| -> Result<u32, Error> {
            let j = v as usize;
            if j >= shnum || removed[j] {
                Err(err(
                    hdr_off(i),
                    format!("{what} points at a removed or bad section"),
                ))
            } else {
                Ok(new_index[j])
            }
        };
        let data: Vec<u8> = match s.ty {
            SHT_SYMTAB => {
                s.link = remap_link(s.link, "sh_link")?;
                s.info = new_first_global;
                // Names are patched in below, once the table is laid out.
                std::mem::take(&mut new_symtab)
            }
            SHT_REL | SHT_RELA => {
                s.link = remap_link(s.link, "sh_link")?;
                s.info = remap_link(s.info, "sh_info")?;
                let ent = if s.ty == SHT_REL { 16 } else { 24 };
                let src = bytes(i)?;
                if src.len() % ent != 0 {
                    return Err(err(
                        hdr_off(i),
                        "relocation section size is not a multiple of its entry",
                    ));
                }
                let mut v = src.to_vec();
                for (k, r) in v.chunks_exact_mut(ent).enumerate() {
                    let info = u64_at(r, 8);
                    let sym = (info >> 32) as usize;
                    let new_sym = sym_map.get(sym).copied().flatten().ok_or_else(|| {
                        err(
                            usize_of(s.offset).saturating_add(k * ent),
                            format!("relocation refers to symbol {sym}, which is missing or in a removed section"),
                        )
                    })?;
                    let new_info = (u64::from(new_sym) << 32) | (info & 0xffff_ffff);
                    r[8..16].copy_from_slice(&new_info.to_le_bytes());
                }
                v
            }
            SHT_LLVM_ADDRSIG => {
                s.link = remap_link(s.link, "sh_link")?;
                remap_addrsig(bytes(i)?, &sym_map)
                    .ok_or_else(|| err(hdr_off(i), "malformed .llvm_addrsig"))?
            }
            _ => {
                if s.link != 0 {
                    s.link = remap_link(s.link, "sh_link")?;
                }
                bytes(i)?.to_vec()
            }
        };
        new_shdrs.push(s);
        contents.push(data);
    }
    strtab.finish();
    let shstr_new = new_index[shstrndx] as usize;
    if let Some(st) = new_shdrs.iter().position(|s| s.ty == SHT_SYMTAB) {
        for &(pos, name) in &sym_names {
            contents[st][pos..pos + 4].copy_from_slice(&strtab.offset(name).to_le_bytes());
        }
    }
    contents[shstr_new] = std::mem::take(&mut strtab.bytes);
    let mut out = d[..EHDR_LEN].to_vec();
    for (k, s) in new_shdrs.iter_mut().enumerate().skip(1) {
        s.name = strtab.offset(new_names[k]);
        place(&mut out, s, &contents[k]);
    }

    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let new_shoff = out.len() as u64;
    for s in &new_shdrs {
        s.write(&mut out);
    }
    out[40..48].copy_from_slice(&new_shoff.to_le_bytes());
    // Both are at most the input's counts, which were u16 fields.
    let shnum = u16::try_from(new_shdrs.len()).map_err(|_| err(60, "too many sections"))?;
    let shstrndx = u16::try_from(shstr_new).map_err(|_| err(62, "section index overflow"))?;
    out[60..62].copy_from_slice(&shnum.to_le_bytes());
    out[62..64].copy_from_slice(&shstrndx.to_le_bytes());
    Ok(out)
}

/// A string table built from a known set of strings, with suffixes shared: `.BTF` is stored
/// as the tail of `.rel.BTF`, as LLVM's tools do.
struct StrTab {
    strings: Vec<Vec<u8>>,
    offsets: std::collections::HashMap<Vec<u8>, u32>,
    bytes: Vec<u8>,
}

impl StrTab {
    fn new() -> StrTab {
        StrTab {
            strings: Vec::new(),
            offsets: std::collections::HashMap::new(),
            bytes: vec![0],
        }
    }

    fn add(&mut self, s: &[u8]) {
        if !s.is_empty() {
            self.strings.push(s.to_vec());
        }
    }

    /// Lays the table out: strings sorted by their reversed bytes put every string right
    /// after the longer ones it is a suffix of.
    // Offsets are within the table being built, a suffix no longer than the string it ends.
    #[allow(clippy::arithmetic_side_effects)]
    fn finish(&mut self) {
        let mut v = std::mem::take(&mut self.strings);
        v.sort_by(|a, b| b.iter().rev().cmp(a.iter().rev()));
        v.dedup();
        let mut prev: Option<(usize, usize)> = None; // (index in v, offset)
        for i in 0..v.len() {
            let off = match prev {
                Some((p, poff)) if v[p].ends_with(&v[i]) => poff + v[p].len() - v[i].len(),
                _ => {
                    let off = self.bytes.len();
                    self.bytes.extend_from_slice(&v[i]);
                    self.bytes.push(0);
                    prev = Some((i, off));
                    off
                }
            };
            self.offsets
                .insert(v[i].clone(), u32::try_from(off).unwrap_or(u32::MAX));
        }
    }

    fn offset(&self, s: &[u8]) -> u32 {
        self.offsets.get(s).copied().unwrap_or(0)
    }
}

/// Appends a section's bytes at its alignment and records where they went.
fn place(out: &mut Vec<u8>, s: &mut Shdr, data: &[u8]) {
    let align = usize_of(s.addralign.max(1));
    while !out.len().is_multiple_of(align) {
        out.push(0);
    }
    s.offset = out.len() as u64;
    if s.has_bytes() {
        s.size = data.len() as u64;
        out.extend_from_slice(data);
    }
}

/// Rewrites the ULEB128 symbol indices of `.llvm_addrsig`, dropping removed symbols.
// `pos` stays below data.len() and `shift` below 64 (checked).
#[allow(clippy::arithmetic_side_effects)]
fn remap_addrsig(data: &[u8], sym_map: &[Option<u32>]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    while pos < data.len() {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *data.get(pos)?;
            pos += 1;
            if shift >= 64 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        if let Some(Some(n)) = sym_map.get(usize_of(v)) {
            let mut n = u64::from(*n);
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addrsig_is_renumbered_and_filtered() {
        let map = vec![Some(0), None, Some(1), Some(200)];
        // indices 2, 1, 3 -> 1, (dropped), 200
        assert_eq!(remap_addrsig(&[2, 1, 3], &map), Some(vec![1, 0xc8, 0x01]));
        assert_eq!(remap_addrsig(&[0x80], &map), None);
    }

    #[test]
    fn rejects_non_elf() {
        assert!(
            strip_debug(b"not an elf file at all, clearly not one......................").is_err()
        );
    }
}
