//! The skeleton model: what a `gen skeleton` header declares for one object, decided once
//! before any text is written. The object name, maps with libbpf's names (internal maps
//! named the way libbpf names them), programs, and the mmapable data sections with their
//! variables at the offsets fixed up from the ELF symbol table.

use crate::btf::Btf;
use crate::elf::object::{internal_map_name, is_custom_section, DataKind, Object};
use crate::layout::{self, Layout, Synthetic};

/// Why no skeleton can be generated for an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("'{0}' is not a valid C identifier for a skeleton name")]
    BadName(String),
    #[error("{what} '{name}' and another {what} both become the C identifier '{ident}'")]
    DuplicateIdent {
        what: &'static str,
        name: String,
        ident: String,
    },
    #[error(
        "variable '{var}' in {section} at offset {offset} overlaps the previous variable, \
         which ends at {prev_end}"
    )]
    Overlap {
        section: String,
        var: String,
        offset: u64,
        prev_end: u64,
    },
    #[error("variable '{var}' in {section} ends at {end}, past the section's {size} bytes")]
    PastEnd {
        section: String,
        var: String,
        end: u64,
        size: u64,
    },
    #[error("variable '{var}' in {section} has a type without a size")]
    Sizeless { section: String, var: String },
}

/// libbpf's BTF_VAR_STATIC: such variables are not exposed through the skeleton.
const VAR_STATIC: u32 = 0;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skeleton {
    /// The object name: a C identifier, also the name libbpf opens the object with.
    pub name: String,
    /// In libbpf's order: `.maps` maps by offset, then global-data maps by section.
    pub maps: Vec<Map>,
    /// Entry-point programs, in libbpf's order.
    pub progs: Vec<Prog>,
    /// One per internal map, in map order.
    pub datasecs: Vec<Datasec>,
    /// `sh_offset` of `.rodata` and `.bss`, for Wasm skeletons that patch the embedded ELF.
    pub rodata_offset: Option<u64>,
    pub bss_offset: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Map {
    /// The name `bpf_object__open_skeleton` looks the map up by: the map name libbpf gives
    /// it, or for a custom section (`.data.foo`), the full section name.
    pub name: String,
    /// The name libbpf gives the map (what `bpf_map__name` returns and package.json lists):
    /// `name`, except that a long custom section's is cut to 15 characters.
    pub libbpf_name: String,
    /// The member name in `struct { ... } maps`.
    pub ident: String,
    /// Index into `Skeleton::datasecs` for an internal (mmapable) map.
    pub datasec: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prog {
    /// The function name, also the member name in `struct { ... } progs`.
    pub name: String,
    /// The ELF section, which libbpf reads as the attach point (`tp/sched/...`).
    pub section: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datasec {
    /// The ELF section (`.rodata`, `.data.foo`) or `.kconfig`.
    pub section: String,
    pub ident: String,
    pub kind: DataKind,
    pub size: u64,
    /// The non-static variables, by offset.
    pub vars: Vec<Var>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// The C identifier the skeleton declares.
    pub name: String,
    /// The name as BTF spells it, which package.json and doc comments use.
    pub btf_name: String,
    /// The VAR record.
    pub var_id: u32,
    /// The BTF type of the variable (not the VAR record).
    pub type_id: u32,
    pub offset: u64,
    pub size: u64,
}

/// The object name for a file, as bpftool derives it (and so package.json's `obj_name` and
/// the name the runner opens a bare object under): the basename without `.o`, with
/// characters that cannot appear in an identifier replaced by `_`.
pub fn obj_name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.strip_suffix(".o").unwrap_or(base);
    let mut name = sanitize(base);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Replaces every character other than ASCII alphanumerics and `_` with `_`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The name a skeleton opens a data section's internal map by: libbpf's name for it, except
/// that libbpf finds a map named with a leading dot by its full section name (the truncated
/// kernel name of a long custom section would not be found).
fn datasec_map_name(obj_name: &str, section: &str) -> String {
    if is_custom_section(section) {
        section.to_string()
    } else {
        internal_map_name(obj_name, section)
    }
}

/// The skeleton's member name for the internal map of `section` (`.rodata` → `rodata`,
/// `.data.foo` → `data_foo`), also package.json's `ident`.
pub fn datasec_ident(obj_name: &str, section: &str) -> String {
    internal_map_ident(&datasec_map_name(obj_name, section))
}

/// bpftool's member name for an internal map: the map name from its standard section
/// suffix on, without the dot, as an identifier (`bootstra.rodata` → `rodata`).
fn internal_map_ident(map_name: &str) -> String {
    for sfx in [".data", ".rodata", ".bss", ".kconfig"] {
        if let Some(at) = map_name.find(sfx) {
            return sanitize(&map_name[at + 1..]);
        }
    }
    sanitize(map_name.trim_start_matches('.'))
}

impl Skeleton {
    /// Builds the model of `obj`'s skeleton under the object name `name`, checked for
    /// what a C skeleton needs.
    pub fn new(obj: &Object<'_>, name: &str) -> Result<Skeleton, Error> {
        let skel = Skeleton::derive(obj, name);
        skel.check(&obj.btf)?;
        Ok(skel)
    }

    /// The model without the checks of `check`: what package.json describes, which declares
    /// no C struct that clashing identifiers or overlapping variables could break.
    pub fn derive(obj: &Object<'_>, name: &str) -> Skeleton {
        let mut maps: Vec<Map> = obj
            .maps
            .iter()
            .map(|m| Map {
                name: m.name.clone(),
                libbpf_name: m.name.clone(),
                ident: sanitize(&m.name),
                datasec: None,
            })
            .collect();
        let mut datasecs = Vec::new();
        for ds in &obj.datasecs {
            let map_name = datasec_map_name(name, &ds.name);
            let ident = internal_map_ident(&map_name);
            let vars = ds
                .vars
                .iter()
                .filter(|v| v.linkage != VAR_STATIC)
                .map(|v| Var {
                    name: sanitize(&v.name),
                    btf_name: v.name.clone(),
                    var_id: v.var_id,
                    type_id: v.type_id,
                    offset: u64::from(v.offset),
                    size: u64::from(v.size),
                })
                .collect();
            maps.push(Map {
                name: map_name,
                libbpf_name: internal_map_name(name, &ds.name),
                ident: ident.clone(),
                datasec: Some(datasecs.len()),
            });
            datasecs.push(Datasec {
                section: ds.name.clone(),
                ident,
                kind: ds.kind,
                size: ds.size,
                vars,
            });
        }
        let progs = obj
            .programs
            .iter()
            .map(|p| Prog {
                name: p.name.clone(),
                section: p.section.clone(),
            })
            .collect();
        let offset_of = |sec: &str| obj.section(sec).map(|s| s.file_offset);
        Skeleton {
            name: name.to_string(),
            maps,
            progs,
            datasecs,
            rodata_offset: offset_of(".rodata"),
            bss_offset: offset_of(".bss"),
        }
    }

    /// What a C skeleton needs: a C identifier as the object name, variables with sizes
    /// that neither overlap nor run past their section, and unique member names.
    pub fn check(&self, btf: &Btf<'_>) -> Result<(), Error> {
        if !is_ident(&self.name) {
            return Err(Error::BadName(self.name.clone()));
        }
        for ds in &self.datasecs {
            let mut prev_end = 0u64;
            for v in &ds.vars {
                let (section, var) = (ds.section.clone(), v.btf_name.clone());
                if btf.size_of(v.type_id).is_none() {
                    return Err(Error::Sizeless { section, var });
                }
                if v.offset < prev_end {
                    let offset = v.offset;
                    return Err(Error::Overlap {
                        section,
                        var,
                        offset,
                        prev_end,
                    });
                }
                let end = v.offset + v.size;
                if end > ds.size {
                    let size = ds.size;
                    return Err(Error::PastEnd {
                        section,
                        var,
                        end,
                        size,
                    });
                }
                prev_end = end;
            }
            check_unique("variable", ds.vars.iter().map(|v| (&v.name, &v.name)))?;
        }
        check_unique("map", self.maps.iter().map(|m| (&m.name, &m.ident)))?;
        check_unique("program", self.progs.iter().map(|p| (&p.name, &p.name)))
    }

    /// The maps libbpf creates when it opens the object: every `.maps` map, and the internal
    /// map of each non-empty data section.
    pub fn libbpf_maps(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter().filter(|m| {
            m.datasec
                .and_then(|i| self.datasecs.get(i))
                .is_none_or(|ds| ds.size > 0)
        })
    }

    /// The Wasm layout of the data sections, as structs named `<obj>__<ident>` padded to
    /// the section size, after every type they use.
    pub fn wasm_layout<'a>(&self, btf: &'a Btf<'_>) -> Result<Layout<'a>, layout::Error> {
        let records: Vec<Synthetic> = self
            .mmaped()
            .map(|(_, ds)| Synthetic {
                name: format!("{}__{}", self.name, ds.ident),
                size: u32::try_from(ds.size).unwrap_or(u32::MAX),
                vars: ds
                    .vars
                    .iter()
                    .map(|v| (v.var_id, u32::try_from(v.offset).unwrap_or(u32::MAX)))
                    .collect(),
            })
            .collect();
        Layout::build_synthetic(btf, &records)
    }

    /// The internal maps with their data sections, in map order.
    pub fn mmaped(&self) -> impl Iterator<Item = (&Map, &Datasec)> {
        self.maps
            .iter()
            .filter_map(|m| Some((m, self.datasecs.get(m.datasec?)?)))
    }
}

fn check_unique<'s>(
    what: &'static str,
    items: impl Iterator<Item = (&'s String, &'s String)>,
) -> Result<(), Error> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, ident) in items {
        if seen.contains(&ident.as_str()) {
            return Err(Error::DuplicateIdent {
                what,
                name: name.clone(),
                ident: ident.clone(),
            });
        }
        seen.push(ident);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_bpftool() {
        type Case = (fn(&str) -> String, &'static str, &'static str);
        let cases: [Case; 8] = [
            (internal_map_ident, "bootstra.rodata", "rodata"),
            (internal_map_ident, "globals.kconfig", "kconfig"),
            (internal_map_ident, ".data.foo", "data_foo"),
            (internal_map_ident, ".rodata.str1.1", "rodata_str1_1"),
            (
                obj_name_from_path,
                "testdata/bootstrap.bpf.o",
                "bootstrap_bpf",
            ),
            (obj_name_from_path, "x-y.o", "x_y"),
            (obj_name_from_path, "/a/1st.bpf.o", "_1st_bpf"),
            (obj_name_from_path, "plain", "plain"),
        ];
        for (name, input, want) in cases {
            assert_eq!(name(input), want, "{input}");
        }
    }
}
