//! The ELF model (`ecc::elf::object::Object`) against independent tools on every testdata object:
//! programs and data-section variables against `llvm-readelf`'s section and symbol tables,
//! maps against `bpftool btf dump ... format raw`, and `.kconfig` against the layout libbpf
//! gives it in `bpftool gen skeleton`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ecc::elf::object::{DataKind, Object};

fn objects() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "expected the committed testdata objects");
    v
}

/// Runs `cmd args... file tail...`.
fn tool(cmd: &str, args: &[&str], file: &Path) -> String {
    tool_tail(cmd, args, file, &[])
}

fn tool_tail(cmd: &str, args: &[&str], file: &Path, tail: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .arg(file)
        .args(tail)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} {} failed",
        file.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

#[derive(Debug)]
struct ElfSection {
    name: String,
    flags: String,
    size: u64,
}

/// `llvm-readelf -S --wide`: index -> section.
fn elf_sections(file: &Path) -> BTreeMap<usize, ElfSection> {
    let mut out = BTreeMap::new();
    for line in tool("llvm-readelf", &["-S", "--wide"], file).lines() {
        let Some(rest) = line.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((idx, rest)) = rest.split_once(']') else {
            continue;
        };
        let Ok(idx) = idx.trim().parse::<usize>() else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if idx == 0 {
            continue;
        }
        // Name Type Address Off Size ES [Flg] Lk Inf Al
        let flags = if f.len() == 10 { f[6] } else { "" };
        out.insert(
            idx,
            ElfSection {
                name: f[0].to_string(),
                flags: flags.to_string(),
                size: u64::from_str_radix(f[4], 16).unwrap(),
            },
        );
    }
    out
}

#[derive(Debug)]
struct ElfSymbol {
    name: String,
    value: u64,
    size: u64,
    ty: String,
    bind: String,
    ndx: Option<usize>,
}

/// `llvm-readelf -s --wide`: named symbols.
fn elf_symbols(file: &Path) -> Vec<ElfSymbol> {
    let mut out = Vec::new();
    for line in tool("llvm-readelf", &["-s", "--wide"], file).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || !f[0].ends_with(':') || f[0] == "Num:" {
            continue;
        }
        out.push(ElfSymbol {
            name: f[7].to_string(),
            value: u64::from_str_radix(f[1], 16).unwrap(),
            size: f[2].parse().unwrap(),
            ty: f[3].to_string(),
            bind: f[4].to_string(),
            ndx: f[6].parse().ok(),
        });
    }
    out
}

/// One record of bpftool's raw listing.
#[derive(Debug, Default)]
struct RawType {
    kind: String,
    name: String,
    attrs: BTreeMap<String, u64>,
    /// Entry lines: (name, attributes).
    entries: Vec<(String, BTreeMap<String, u64>)>,
}

fn attrs(s: &str) -> BTreeMap<String, u64> {
    s.split_whitespace()
        .filter_map(|kv| kv.trim_end_matches(',').split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// bpftool's raw listing as an id-indexed table.
struct RawBtf(BTreeMap<u64, RawType>);

impl RawBtf {
    fn load(file: &Path) -> RawBtf {
        let text = tool_tail(
            "bpftool",
            &["btf", "dump", "file"],
            file,
            &["format", "raw"],
        );
        let mut types = BTreeMap::new();
        let mut cur: Option<u64> = None;
        for line in text.lines() {
            if let Some(entry) = line.strip_prefix('\t') {
                let (name, rest) = match entry.strip_prefix('\'') {
                    Some(e) => e.split_once('\'').unwrap(),
                    None => ("", entry),
                };
                let t: &mut RawType = types.get_mut(&cur.unwrap()).unwrap();
                t.entries.push((name.to_string(), attrs(rest)));
                continue;
            }
            let (id, rest) = line[1..].split_once("] ").unwrap();
            let (kind, rest) = rest.split_once(" '").unwrap();
            let (name, rest) = rest.split_once('\'').unwrap();
            let id: u64 = id.parse().unwrap();
            cur = Some(id);
            types.insert(
                id,
                RawType {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    attrs: attrs(rest),
                    entries: Vec::new(),
                },
            );
        }
        RawBtf(types)
    }

    fn get(&self, id: u64) -> &RawType {
        &self.0[&id]
    }

    fn skip_mods(&self, mut id: u64) -> u64 {
        while let Some(t) = self.0.get(&id) {
            match t.kind.as_str() {
                "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG" => {
                    id = t.attrs["type_id"]
                }
                _ => break,
            }
        }
        id
    }

    fn size_of(&self, id: u64) -> u64 {
        let t = self.get(self.skip_mods(id));
        match t.kind.as_str() {
            "PTR" => 8,
            "ARRAY" => t.attrs["nr_elems"] * self.size_of(t.attrs["type_id"]),
            "VAR" => self.size_of(t.attrs["type_id"]),
            _ => t.attrs["size"],
        }
    }

    /// `__uint(name, N)`: a pointer to an array of N.
    fn uint_member(&self, type_id: u64) -> u64 {
        let p = self.get(self.skip_mods(type_id));
        assert_eq!(p.kind, "PTR");
        let a = self.get(self.skip_mods(p.attrs["type_id"]));
        assert_eq!(a.kind, "ARRAY");
        a.attrs["nr_elems"]
    }

    fn find_datasec(&self, name: &str) -> Option<&RawType> {
        self.0
            .values()
            .find(|t| t.kind == "DATASEC" && t.name == name)
    }
}

#[test]
fn programs_match_the_symbol_table() {
    for file in objects() {
        let data = std::fs::read(&file).unwrap();
        let obj = Object::parse(&data).unwrap();
        let secs = elf_sections(&file);
        let mut expected: Vec<(usize, u64, String, String, u64)> = elf_symbols(&file)
            .into_iter()
            .filter(|s| s.ty == "FUNC" && (s.bind == "GLOBAL" || s.bind == "WEAK"))
            .filter_map(|s| {
                let ndx = s.ndx?;
                let sec = &secs[&ndx];
                (sec.flags.contains('X') && sec.name != ".text")
                    .then(|| (ndx, s.value, s.name, sec.name.clone(), s.size / 8))
            })
            .collect();
        expected.sort();
        let got: Vec<_> = obj
            .programs
            .iter()
            .map(|p| {
                (
                    p.section_index,
                    p.offset,
                    p.name.clone(),
                    p.section.clone(),
                    p.insn_count,
                )
            })
            .collect();
        assert!(
            !expected.is_empty(),
            "{}: no programs in the symbol table",
            file.display()
        );
        assert_eq!(got, expected, "{}: programs", file.display());

        // .BTF.ext has a func_info for every program, at its first instruction.
        let ext = obj.ext.expect("clang -g writes .BTF.ext");
        for p in &obj.programs {
            let found = ext.func_info.sections().any(|s| {
                obj.btf.str_at(s.sec_name_off) == Some(p.section.as_str())
                    && s.func_infos().any(|f| {
                        let t = obj.btf.ty(f.type_id).unwrap();
                        f.insn_off as u64 == p.offset && t.name() == p.name
                    })
            });
            assert!(
                found,
                "{}: no func_info for program {}",
                file.display(),
                p.name
            );
        }
    }
}

#[test]
fn maps_match_bpftool_btf() {
    let mut total = 0;
    for file in objects() {
        let data = std::fs::read(&file).unwrap();
        let obj = Object::parse(&data).unwrap();
        let raw = RawBtf::load(&file);
        let syms = elf_symbols(&file);
        let secs = elf_sections(&file);
        let Some(maps_sec) = raw.find_datasec(".maps") else {
            assert!(
                obj.maps.is_empty(),
                "{}: maps without a .maps DATASEC",
                file.display()
            );
            continue;
        };
        assert_eq!(
            obj.maps.len(),
            maps_sec.entries.len(),
            "{}: map count",
            file.display()
        );
        for (m, (_, entry)) in obj.maps.iter().zip(&maps_sec.entries) {
            let ctx = format!("{} map {}", file.display(), m.name);
            let var = raw.get(entry["type_id"]);
            assert_eq!(
                (var.kind.as_str(), var.name.as_str()),
                ("VAR", m.name.as_str()),
                "{ctx}"
            );
            assert_eq!(u64::from(m.var_type), entry["type_id"], "{ctx}");
            let def = raw.get(raw.skip_mods(var.attrs["type_id"]));
            assert_eq!(def.kind, "STRUCT", "{ctx}");
            let mut want = BTreeMap::new();
            for (name, a) in &def.entries {
                let t = a["type_id"];
                let v = match name.as_str() {
                    "key" | "value" => raw.get(raw.skip_mods(t)).attrs["type_id"],
                    _ => raw.uint_member(t),
                };
                want.insert(name.as_str(), v);
            }
            let got = |v: Option<u32>| v.map(u64::from);
            assert_eq!(got(m.map_type), want.get("type").copied(), "{ctx}: type");
            assert_eq!(
                got(m.max_entries),
                want.get("max_entries").copied(),
                "{ctx}: max_entries"
            );
            assert_eq!(
                got(m.map_flags),
                want.get("map_flags").copied(),
                "{ctx}: map_flags"
            );
            assert_eq!(
                got(m.pinning),
                want.get("pinning").copied(),
                "{ctx}: pinning"
            );
            assert_eq!(got(m.key_type), want.get("key").copied(), "{ctx}: key type");
            assert_eq!(
                got(m.value_type),
                want.get("value").copied(),
                "{ctx}: value type"
            );
            assert_eq!(
                got(m.key_size),
                want.get("key_size").copied(),
                "{ctx}: key_size"
            );
            assert_eq!(
                got(m.value_size),
                want.get("value_size").copied(),
                "{ctx}: value_size"
            );
            // Key/value sizes through BTF agree with bpftool's view of the same types.
            for (id, what) in [(m.key_type, "key"), (m.value_type, "value")] {
                if let Some(id) = id {
                    assert_eq!(
                        obj.btf.size_of(id),
                        Some(raw.size_of(u64::from(id))),
                        "{ctx}: {what} size"
                    );
                }
            }
            // The map's symbol in the ELF .maps section is as big as its definition.
            let sym = syms
                .iter()
                .find(|s| s.name == m.name && s.ndx.is_some_and(|n| secs[&n].name == ".maps"))
                .unwrap_or_else(|| panic!("{ctx}: no symbol"));
            assert_eq!(sym.size, def.attrs["size"], "{ctx}: symbol size");
            total += 1;
        }
    }
    assert!(
        total >= 10,
        "expected many maps across testdata, found {total}"
    );
}

#[test]
fn data_sections_match_the_symbol_table() {
    let mut checked_vars = 0;
    for file in objects() {
        let data = std::fs::read(&file).unwrap();
        let obj = Object::parse(&data).unwrap();
        let secs = elf_sections(&file);
        let syms = elf_symbols(&file);
        let raw = RawBtf::load(&file);

        let expected: BTreeSet<&str> = secs
            .values()
            .filter(|s| s.flags.contains('A') && !s.flags.contains('X'))
            .map(|s| s.name.as_str())
            .filter(|n| {
                [".rodata", ".data", ".bss"]
                    .iter()
                    .any(|b| n == b || n.starts_with(&format!("{b}.")))
            })
            .collect();
        let got: BTreeSet<&str> = obj
            .datasecs
            .iter()
            .filter(|d| d.kind != DataKind::Kconfig)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(got, expected, "{}: data sections", file.display());

        for d in obj.datasecs.iter().filter(|d| d.kind != DataKind::Kconfig) {
            let idx = d.elf_index.unwrap();
            let ctx = format!("{} {}", file.display(), d.name);
            assert_eq!(secs[&idx].name, d.name, "{ctx}");
            assert_eq!(d.size, secs[&idx].size, "{ctx}: size");
            assert_eq!(
                d.kind == DataKind::Bss,
                d.file_offset.is_none(),
                "{ctx}: nobits"
            );
            let want: BTreeMap<&str, (u64, u64)> = syms
                .iter()
                .filter(|s| s.ndx == Some(idx) && s.ty == "OBJECT")
                .map(|s| (s.name.as_str(), (s.value, s.size)))
                .collect();
            let have: BTreeMap<&str, (u64, u64)> = d
                .vars
                .iter()
                .map(|v| (v.name.as_str(), (u64::from(v.offset), u64::from(v.size))))
                .collect();
            assert_eq!(have, want, "{ctx}: variable offsets and sizes");
            // Sizes agree with bpftool's DATASEC entries too (clang fills sizes, not offsets).
            if let Some(ds) = raw.find_datasec(&d.name) {
                for (_, e) in &ds.entries {
                    let var = raw.get(e["type_id"]);
                    assert_eq!(have[var.name.as_str()].1, e["size"], "{ctx}: {}", var.name);
                }
            }
            checked_vars += d.vars.len();
        }
    }
    assert!(
        checked_vars >= 20,
        "expected many global variables, found {checked_vars}"
    );
}

/// `.kconfig` has no ELF section: libbpf lays it out. bpftool's skeleton shows that layout as
/// a struct in offset order with explicit `__padN[k]` gaps.
#[test]
fn kconfig_matches_libbpf_layout() {
    let mut seen = 0;
    for file in objects() {
        let data = std::fs::read(&file).unwrap();
        let obj = Object::parse(&data).unwrap();
        let Some(k) = obj.datasecs.iter().find(|d| d.kind == DataKind::Kconfig) else {
            continue;
        };
        let skel = tool("bpftool", &["gen", "skeleton"], &file);
        let start = skel
            .find("__kconfig {")
            .expect("skeleton has a kconfig struct");
        let body = &skel[start..skel[start..].find("} *kconfig;").unwrap() + start];
        let mut layout: Vec<(String, Option<u64>)> = Vec::new();
        for line in body.lines().skip(1) {
            let decl = line.trim().trim_end_matches(';');
            if decl.is_empty() {
                continue;
            }
            let last = decl.rsplit(' ').next().unwrap();
            if let Some(pad) = last.strip_prefix("__pad") {
                let n = pad.split_once('[').unwrap().1.trim_end_matches(']');
                layout.push((String::new(), Some(n.parse().unwrap())));
            } else {
                let name = last.split('[').next().unwrap().trim_start_matches('*');
                layout.push((name.to_string(), None));
            }
        }
        let mut off = 0u64;
        let mut vars = k.vars.iter();
        for (name, pad) in layout {
            if let Some(p) = pad {
                off += p;
                continue;
            }
            let v = vars
                .next()
                .unwrap_or_else(|| panic!("{}: extra kconfig {name}", file.display()));
            assert_eq!(v.name, name, "{}: kconfig order", file.display());
            assert_eq!(
                u64::from(v.offset),
                off,
                "{}: offset of {name}",
                file.display()
            );
            off += u64::from(v.size);
            seen += 1;
        }
        assert!(
            vars.next().is_none(),
            "{}: kconfig vars missing from the skeleton",
            file.display()
        );
        assert!(k.size >= off, "{}: kconfig size", file.display());
    }
    assert!(seen >= 2, "expected .kconfig externs in testdata");
}
