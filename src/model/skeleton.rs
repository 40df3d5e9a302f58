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
/// BPF_OBJ_NAME_LEN minus the NUL.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skeleton {
    /// The object name: a C identifier, also the name libbpf opens the object with.
    pub name: String,
    /// In libbpf's order: `.maps` maps by offset, then global-data maps by section.
    pub maps: Vec<Map>,
    /// Entry-point program (function) names, in libbpf's order.
    pub progs: Vec<String>,
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
    /// The member name in `struct { ... } maps`.
    pub ident: String,
    /// Index into `Skeleton::datasecs` for an internal (mmapable) map.
    pub datasec: Option<usize>,
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
    pub name: String,
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
    /// Builds the model of `obj`'s skeleton under the object name `name`.
    pub fn new(obj: &Object<'_>, name: &str) -> Result<Skeleton, Error> {
        if !is_ident(name) {
            return Err(Error::BadName(name.to_string()));
        }
        let mut maps: Vec<Map> = obj
            .maps
            .iter()
            .map(|m| Map {
                name: m.name.clone(),
                ident: sanitize(&m.name),
                datasec: None,
            })
            .collect();
        let mut datasecs = Vec::new();
        for ds in &obj.datasecs {
            let map_name = datasec_map_name(name, &ds.name);
            let ident = internal_map_ident(&map_name);
            let mut vars = Vec::new();
            let mut prev_end = 0u64;
            for v in ds.vars.iter().filter(|v| v.linkage != VAR_STATIC) {
                let offset = u64::from(v.offset);
                let size = u64::from(v.size);
                let var = || v.name.clone();
                if obj.btf.size_of(v.type_id).is_none() {
                    return Err(Error::Sizeless {
                        section: ds.name.clone(),
                        var: var(),
                    });
                }
                if offset < prev_end {
                    return Err(Error::Overlap {
                        section: ds.name.clone(),
                        var: var(),
                        offset,
                        prev_end,
                    });
                }
                if offset + size > ds.size {
                    return Err(Error::PastEnd {
                        section: ds.name.clone(),
                        var: var(),
                        end: offset + size,
                        size: ds.size,
                    });
                }
                prev_end = offset + size;
                vars.push(Var {
                    name: sanitize(&v.name),
                    var_id: v.var_id,
                    type_id: v.type_id,
                    offset,
                    size,
                });
            }
            check_unique("variable", vars.iter().map(|v| (&v.name, &v.name)))?;
            maps.push(Map {
                name: map_name,
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
        check_unique("map", maps.iter().map(|m| (&m.name, &m.ident)))?;
        let progs: Vec<String> = obj.programs.iter().map(|p| p.name.clone()).collect();
        check_unique("program", progs.iter().map(|p| (p, p)))?;
        let offset_of = |sec: &str| obj.section(sec).map(|s| s.file_offset);
        Ok(Skeleton {
            name: name.to_string(),
            maps,
            progs,
            datasecs,
            rodata_offset: offset_of(".rodata"),
            bss_offset: offset_of(".bss"),
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
    fn internal_map_idents_follow_bpftool() {
        assert_eq!(internal_map_ident("bootstra.rodata"), "rodata");
        assert_eq!(internal_map_ident("globals.kconfig"), "kconfig");
        assert_eq!(internal_map_ident(".data.foo"), "data_foo");
        assert_eq!(internal_map_ident(".rodata.str1.1"), "rodata_str1_1");
    }

    #[test]
    fn object_names_from_paths() {
        assert_eq!(
            obj_name_from_path("testdata/bootstrap.bpf.o"),
            "bootstrap_bpf"
        );
        assert_eq!(obj_name_from_path("x-y.o"), "x_y");
        assert_eq!(obj_name_from_path("/a/1st.bpf.o"), "_1st_bpf");
        assert_eq!(obj_name_from_path("plain"), "plain");
    }
}
