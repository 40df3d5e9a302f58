//! The ELF model of a compiled BPF object: sections, symbols, programs, BTF-defined maps and
//! global-data sections, with the DATASEC sizes and VAR offsets that clang leaves as 0 fixed
//! up from the ELF symbol table, as libbpf does.
// A parser of untrusted bytes: narrowing goes through try_from, never a silent `as`, and
// arithmetic is checked, or allowed locally where validation bounds the operands.
#![deny(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]

use object::{Object as _, ObjectSection as _, ObjectSymbol as _, SectionFlags, SymbolKind};

use crate::btf::{ext::BtfExt, Btf, Kind};

/// A malformed or unsupported object, at a byte offset into the file.
pub type Error = crate::ParseError;

/// A file offset or size as usize; one that does not fit can only fail the bounds check after.
fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

const EM_BPF: u16 = 247;
const SHF_ALLOC: u64 = 0x2;
const SHF_EXECINSTR: u64 = 0x4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub index: usize,
    pub name: String,
    pub flags: u64,
    /// `sh_offset`: where the section's bytes start in the file.
    pub file_offset: u64,
    pub size: u64,
    /// SHT_NOBITS (`.bss`): no bytes in the file.
    pub nobits: bool,
}

impl Section {
    pub fn is_exec(&self) -> bool {
        self.flags & SHF_EXECINSTR != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub section: Option<usize>,
    pub value: u64,
    pub size: u64,
    /// Where the symbol's table entry is in the file, for error messages.
    pub entry_offset: u64,
    pub is_func: bool,
    pub is_global: bool,
}

/// An entry-point program: a non-static function in an executable section other than `.text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    /// The ELF section name, which libbpf reads as the attach point (`tp/sched/...`).
    pub section: String,
    pub section_index: usize,
    /// Byte offset of the first instruction within the section.
    pub offset: u64,
    pub insn_count: u64,
}

/// A BTF-defined map from `.maps`. Numeric fields are `None` when the definition omits them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MapDef {
    pub name: String,
    pub map_type: Option<u32>,
    pub key_type: Option<u32>,
    pub value_type: Option<u32>,
    pub key_size: Option<u32>,
    pub value_size: Option<u32>,
    pub max_entries: Option<u32>,
    pub map_flags: Option<u32>,
    pub pinning: Option<u32>,
    /// The BTF id of the map's VAR.
    pub var_type: u32,
}

/// What kind of global data a section holds, which decides how libbpf maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    Rodata,
    Data,
    Bss,
    Kconfig,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    /// The VAR's target type (not the VAR itself).
    pub type_id: u32,
    pub var_id: u32,
    pub offset: u32,
    pub size: u32,
    pub linkage: u32,
}

/// A global-data section: `.rodata*`, `.data*`, `.bss*` or the virtual `.kconfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSection {
    pub name: String,
    pub kind: DataKind,
    /// The ELF section, absent for `.kconfig` (libbpf lays it out from the externs).
    pub elf_index: Option<usize>,
    /// The DATASEC type in BTF, if clang emitted one.
    pub btf_id: Option<u32>,
    pub size: u64,
    pub file_offset: Option<u64>,
    /// Variables sorted by offset.
    pub vars: Vec<Variable>,
}

/// A parsed BPF object. Borrows the file bytes; nothing is copied but names.
pub struct Object<'a> {
    pub data: &'a [u8],
    pub btf: Btf<'a>,
    pub btf_offset: usize,
    pub ext: Option<BtfExt<'a>>,
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
    pub programs: Vec<Program>,
    pub maps: Vec<MapDef>,
    pub datasecs: Vec<DataSection>,
    pub license: Option<String>,
}

/// The two inputs tools accept: an ELF object with BTF, or a raw BTF blob.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

impl<'a> Object<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Object<'a>, Error> {
        check_ident(data)?;
        let machine = u16::from_le_bytes([data[18], data[19]]);
        if machine != EM_BPF {
            return Err(Error::at(
                18,
                format!("not a BPF object (ELF machine {machine}, expected 247)"),
            ));
        }
        let elf = object::read::elf::ElfFile64::<object::LittleEndian>::parse(data)
            .map_err(|e| Error::elf(0, "malformed ELF", e))?;
        let sections = read_sections(&elf)?;
        let symbols = read_symbols(&elf)?;
        let btf_sec = sections
            .iter()
            .find(|s| s.name == ".BTF")
            .ok_or_else(|| Error::at(0, "object has no .BTF section (compile with -g)"))?;
        let btf_offset = usize_of(btf_sec.file_offset);
        let btf_bytes = section_bytes(data, btf_sec)?;
        let btf = Btf::parse(btf_bytes).map_err(|e| e.shifted(btf_offset))?;
        let ext = match sections.iter().find(|s| s.name == ".BTF.ext") {
            Some(s) => Some(
                BtfExt::parse(section_bytes(data, s)?)
                    .map_err(|e| e.shifted(usize_of(s.file_offset)))?,
            ),
            None => None,
        };
        let programs = find_programs(&sections, &symbols);
        let mut maps = read_maps(&btf, btf_offset)?;
        sort_maps_by_offset(&mut maps, &sections, &symbols);
        let datasecs = read_datasecs(&btf, &sections, &symbols)?;
        let license = sections
            .iter()
            .find(|s| s.name == "license")
            .and_then(|s| section_bytes(data, s).ok())
            .map(|b| {
                String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(b)).into_owned()
            });
        Ok(Object {
            data,
            btf,
            btf_offset,
            ext,
            sections,
            symbols,
            programs,
            maps,
            datasecs,
            license,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn section_data(&self, s: &Section) -> Result<&'a [u8], Error> {
        section_bytes(self.data, s)
    }
}

fn section_bytes<'a>(data: &'a [u8], s: &Section) -> Result<&'a [u8], Error> {
    if s.nobits {
        return Ok(&[]);
    }
    let start = usize_of(s.file_offset);
    start
        .checked_add(usize_of(s.size))
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| {
            Error::at(
                start,
                format!("section {} runs past the end of the file", s.name),
            )
        })
}

fn read_sections(
    elf: &object::read::elf::ElfFile64<'_, object::LittleEndian>,
) -> Result<Vec<Section>, Error> {
    let mut out = Vec::new();
    for s in elf.sections() {
        let name = s
            .name()
            .map_err(|e| Error::elf(0, "bad section name", e))?
            .to_string();
        let flags = match s.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags,
            _ => 0,
        };
        let nobits = s.kind() == object::SectionKind::UninitializedData;
        let (file_offset, size) = match s.file_range() {
            Some((off, len)) => (off, len),
            // SHT_NOBITS still has an sh_offset, which Wasm skeletons report for `.bss`.
            None => {
                use object::read::elf::SectionHeader as _;
                (s.elf_section_header().sh_offset(elf.endian()), s.size())
            }
        };
        out.push(Section {
            index: s.index().0,
            name,
            flags,
            file_offset,
            size,
            nobits,
        });
    }
    Ok(out)
}

fn read_symbols(
    elf: &object::read::elf::ElfFile64<'_, object::LittleEndian>,
) -> Result<Vec<Symbol>, Error> {
    let mut out = Vec::new();
    // Entries are 24 bytes (Elf64_Sym) from the start of .symtab.
    let table = elf
        .section_by_name(".symtab")
        .and_then(|t| t.file_range())
        .map_or(0, |(off, _)| off);
    for s in elf.symbols() {
        let name = s.name().map_err(|e| Error::elf(0, "bad symbol name", e))?;
        if name.is_empty() {
            continue;
        }
        let index = u64::try_from(s.index().0).unwrap_or(u64::MAX);
        out.push(Symbol {
            name: name.to_string(),
            section: s.section_index().map(|i| i.0),
            value: s.address(),
            size: s.size(),
            entry_offset: table.saturating_add(index.saturating_mul(24)),
            is_func: s.kind() == SymbolKind::Text,
            is_global: s.is_global() || s.is_weak(),
        });
    }
    Ok(out)
}

fn find_programs(sections: &[Section], symbols: &[Symbol]) -> Vec<Program> {
    let mut progs: Vec<Program> = symbols
        .iter()
        .filter(|s| s.is_func && s.is_global)
        .filter_map(|s| {
            let sec = sections.iter().find(|x| Some(x.index) == s.section)?;
            // libbpf treats everything in .text as subprograms.
            (sec.is_exec() && sec.name != ".text").then(|| Program {
                name: s.name.clone(),
                section: sec.name.clone(),
                section_index: sec.index,
                offset: s.value,
                insn_count: s.size / 8,
            })
        })
        .collect();
    progs.sort_by_key(|p| (p.section_index, p.offset));
    progs
}

/// Reads one `__uint(name, N)` member: a pointer to an array of N ints.
fn uint_member(btf: &Btf<'_>, type_id: u32) -> Option<u32> {
    let p = btf.skip_mods_and_typedefs(type_id)?;
    if p.kind() != Kind::Ptr {
        return None;
    }
    btf.skip_mods_and_typedefs(p.type_id())?
        .array()
        .map(|a| a.nelems)
}

/// Reads one `__type(name, T)` member: a pointer to T.
fn type_member(btf: &Btf<'_>, type_id: u32) -> Option<u32> {
    let p = btf.skip_mods_and_typedefs(type_id)?;
    (p.kind() == Kind::Ptr).then(|| p.type_id())
}

fn read_maps(btf: &Btf<'_>, btf_offset: usize) -> Result<Vec<MapDef>, Error> {
    let Some(sec) = btf.find(".maps", Kind::Datasec) else {
        return Ok(Vec::new());
    };
    let mut maps = Vec::new();
    for v in sec.datasec_vars() {
        let var = btf
            .ty(v.type_id)
            .filter(|t| t.kind() == Kind::Var)
            .ok_or_else(|| {
                Error::at(
                    btf_offset,
                    format!(".maps entry [{}] is not a VAR", v.type_id),
                )
            })?;
        let def = btf
            .skip_mods_and_typedefs(var.type_id())
            .filter(|t| t.kind() == Kind::Struct)
            .ok_or_else(|| {
                Error::at(
                    btf_offset,
                    format!("map '{}' is not defined by a struct", var.name()),
                )
            })?;
        let mut m = MapDef {
            name: var.name().to_string(),
            var_type: var.id,
            ..MapDef::default()
        };
        for mem in def.members() {
            let num = || uint_member(btf, mem.type_id);
            match mem.name {
                "type" => m.map_type = num(),
                "max_entries" => m.max_entries = num(),
                "map_flags" => m.map_flags = num(),
                "key_size" => m.key_size = num(),
                "value_size" => m.value_size = num(),
                "pinning" => m.pinning = num(),
                "key" => m.key_type = type_member(btf, mem.type_id),
                "value" => m.value_type = type_member(btf, mem.type_id),
                _ => {}
            }
        }
        maps.push(m);
    }
    Ok(maps)
}

/// libbpf orders BTF-defined maps by their offset in `.maps`, which need not be the BTF order.
fn sort_maps_by_offset(maps: &mut [MapDef], sections: &[Section], symbols: &[Symbol]) {
    let Some(sec) = sections.iter().find(|s| s.name == ".maps") else {
        return;
    };
    maps.sort_by_key(|m| {
        symbols
            .iter()
            .find(|s| s.section == Some(sec.index) && s.name == m.name)
            .map_or(u64::MAX, |s| s.value)
    });
}

fn data_kind(name: &str) -> Option<DataKind> {
    let is = |base: &str| name == base || name.starts_with(&format!("{base}."));
    if is(".rodata") {
        Some(DataKind::Rodata)
    } else if is(".data") {
        Some(DataKind::Data)
    } else if is(".bss") {
        Some(DataKind::Bss)
    } else {
        None
    }
}

fn read_datasecs(
    btf: &Btf<'_>,
    sections: &[Section],
    symbols: &[Symbol],
) -> Result<Vec<DataSection>, Error> {
    let mut out = Vec::new();
    for sec in sections {
        let Some(kind) = data_kind(&sec.name) else {
            continue;
        };
        if sec.flags & SHF_ALLOC == 0 {
            continue;
        }
        let dt = btf.find(&sec.name, Kind::Datasec);
        let mut vars = Vec::new();
        for v in dt.iter().flat_map(|d| d.datasec_vars()) {
            let Some(var) = btf.ty(v.type_id).filter(|t| t.kind() == Kind::Var) else {
                continue;
            };
            // The symbol table holds the real offset; BTF has 0 in a `.o`.
            let sym = symbols
                .iter()
                .find(|s| s.section == Some(sec.index) && s.name == var.name() && !s.is_func);
            let offset = match sym {
                Some(s) => u32::try_from(s.value).map_err(|_| {
                    Error::at(
                        usize::try_from(s.entry_offset).unwrap_or(usize::MAX),
                        format!(
                            "symbol {} has value {}, past the 4 GiB a data section can hold",
                            s.name, s.value
                        ),
                    )
                })?,
                None => v.offset,
            };
            // Validation bounds every BTF size by u32::MAX.
            let size = btf.size_u32(var.type_id()).unwrap_or(v.size);
            vars.push(Variable {
                name: var.name().to_string(),
                type_id: var.type_id(),
                var_id: var.id,
                offset,
                size,
                linkage: var.linkage(),
            });
        }
        vars.sort_by_key(|v| (v.offset, v.var_id));
        out.push(DataSection {
            name: sec.name.clone(),
            kind,
            elf_index: Some(sec.index),
            btf_id: dt.map(|t| t.id),
            size: sec.size,
            file_offset: (!sec.nobits).then_some(sec.file_offset),
            vars,
        });
    }
    if let Some(k) = kconfig_section(btf)? {
        out.push(k);
    }
    Ok(out)
}

/// Lays out `.kconfig` externs the way libbpf does: sorted by descending alignment, then
/// ascending size, then name, each at the next offset aligned for it.
fn kconfig_section(btf: &Btf<'_>) -> Result<Option<DataSection>, Error> {
    let Some(dt) = btf.find(".kconfig", Kind::Datasec) else {
        return Ok(None);
    };
    let mut vars: Vec<(u64, Variable)> = dt
        .datasec_vars()
        .filter_map(|v| {
            let var = btf.ty(v.type_id).filter(|t| t.kind() == Kind::Var)?;
            let size = btf.size_u32(var.type_id())?;
            let align = kconfig_align(btf, var.type_id()).max(1);
            Some((
                align,
                Variable {
                    name: var.name().to_string(),
                    type_id: var.type_id(),
                    var_id: var.id,
                    offset: 0,
                    size,
                    linkage: var.linkage(),
                },
            ))
        })
        .collect();
    vars.sort_by(|(a1, v1), (a2, v2)| {
        a2.cmp(a1)
            .then(v1.size.cmp(&v2.size))
            .then(v1.name.cmp(&v2.name))
    });
    let mut off = 0u64;
    for (align, v) in &mut vars {
        // Sizes are at most u32::MAX and alignments at most 8, so u64 cannot overflow.
        off = off.div_ceil(*align).saturating_mul(*align);
        v.offset = u32::try_from(off).map_err(|_| {
            Error::at(
                0,
                format!(
                    "DATASEC [{}] .kconfig: variable {} lies past 4 GiB",
                    dt.id, v.name
                ),
            )
        })?;
        off = off.saturating_add(u64::from(v.size));
    }
    Ok(Some(DataSection {
        name: ".kconfig".into(),
        kind: DataKind::Kconfig,
        elf_index: None,
        btf_id: Some(dt.id),
        size: off,
        file_offset: None,
        vars: vars.into_iter().map(|(_, v)| v).collect(),
    }))
}

/// The natural alignment of a scalar or array type (what libbpf's `btf__align_of` gives).
fn kconfig_align(btf: &Btf<'_>, mut id: u32) -> u64 {
    // Arrays align as their element: a loop, so no nesting depth can exhaust the stack.
    loop {
        return match btf.skip_mods_and_typedefs(id) {
            Some(t) if t.kind() == Kind::Array => match t.array() {
                Some(a) => {
                    id = a.elem;
                    continue;
                }
                None => 1,
            },
            Some(t) if t.kind() == Kind::Ptr => 8,
            Some(t) => u64::from(t.size()).min(8),
            None => 1,
        };
    }
}

/// The ELF identification bytes we can read: a complete 64-bit little-endian header.
fn check_ident(data: &[u8]) -> Result<(), Error> {
    if !is_elf(data) {
        return Err(Error::at(0, "not an ELF file"));
    }
    if data.len() < 64 {
        return Err(Error::at(0, "truncated ELF header"));
    }
    if data[4] != 2 {
        return Err(Error::at(4, "not a 64-bit ELF file, so not a BPF object"));
    }
    if data[5] != 1 {
        return Err(Error::at(
            5,
            "big-endian ELF; only little-endian BPF objects are supported",
        ));
    }
    // A cut-off file loses its section headers first; say so at e_shoff rather than at 0.
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap_or([0; 8]));
    let shentsize = u64::from(u16::from_le_bytes([data[0x3a], data[0x3b]]));
    let shnum = u64::from(u16::from_le_bytes([data[0x3c], data[0x3d]])).max(1);
    let end = shentsize
        .checked_mul(shnum)
        .and_then(|n| n.checked_add(shoff));
    if shoff != 0 && end.is_none_or(|e| e > data.len() as u64) {
        return Err(Error::at(
            0x28,
            format!(
                "ELF section headers at {shoff} run past the end of the file ({} bytes); truncated?",
                data.len()
            ),
        ));
    }
    Ok(())
}

/// Just the `.BTF` section of an ELF file and its file offset, for tools that dump BTF from
/// objects that need not be complete BPF programs.
pub fn btf_section(data: &[u8]) -> Result<(&[u8], usize), Error> {
    check_ident(data)?;
    let elf = object::read::elf::ElfFile64::<object::LittleEndian>::parse(data)
        .map_err(|e| Error::elf(0, "malformed ELF", e))?;
    let sec = elf
        .section_by_name(".BTF")
        .ok_or_else(|| Error::at(0, "ELF file has no .BTF section"))?;
    let (off, len) = sec
        .file_range()
        .ok_or_else(|| Error::at(0, ".BTF section has no file data"))?;
    let bytes = section_bytes(
        data,
        &Section {
            index: sec.index().0,
            name: ".BTF".into(),
            flags: 0,
            file_offset: off,
            size: len,
            nobits: false,
        },
    )?;
    Ok((bytes, usize_of(off)))
}

/// The kernel's limit on map names (BPF_OBJ_NAME_LEN - 1).
const MAP_NAME_MAX: usize = 15;

/// libbpf's name for the map of a global-data section: a prefix of the object name (so
/// that the whole fits in 15 chars, the section taking at least 7) and the section name.
/// Custom sections (`.data.foo`, with a second dot) get no prefix.
pub fn internal_map_name(obj_name: &str, section: &str) -> String {
    let sfx_len = section.len().clamp(7, MAP_NAME_MAX);
    let pfx_len = if is_custom_section(section) {
        0
    } else {
        MAP_NAME_MAX.saturating_sub(sfx_len).min(obj_name.len())
    };
    let name: String = obj_name
        .chars()
        .take(pfx_len)
        .chain(section.chars().take(sfx_len))
        .collect();
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `.data.foo`, `.rodata.str1.1`: a second dot makes a custom section.
pub fn is_custom_section(section: &str) -> bool {
    section.get(1..).is_some_and(|rest| rest.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::internal_map_name;

    #[test]
    fn internal_map_names_follow_libbpf() {
        let cases = [
            ("bootstrap_bpf", ".rodata", "bootstra.rodata"),
            ("execsnoop_bpf", ".bss", "execsnoo.bss"),
            ("vars_bpf", ".kconfig", "vars_bp.kconfig"),
            ("maps_bpf", ".rodata", "maps_bpf.rodata"),
            ("ab", ".data", "ab.data"),
            ("globals_bpf", ".data.foo", ".data.foo"),
            ("x", ".rodata.str1.1", ".rodata.str1.1"),
            ("x", ".rodata.very_long_name", ".rodata.very_lo"),
            ("x", ".rodata.a_rather_long_name", ".rodata.a_rathe"),
            ("a-b", ".bss", "a_b.bss"),
        ];
        for (obj, section, want) in cases {
            assert_eq!(internal_map_name(obj, section), want, "{obj} {section}");
        }
    }
}
