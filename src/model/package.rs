//! The eunomia package (package.json) and its meta (`<name>.skel.json`): one serde model,
//! written by `ecc` (field order is the key order) and read back by the runner (keys other
//! tools may leave out have defaults; unknown keys are kept in `extra`). Built from the
//! stripped object, the doc comments and the export types. See shared/spec/package-json.md
//! for what the runtime expects.

use std::io::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::build::doc::{Doc, Docs};
use crate::build::export::ExportType;
use crate::elf::object::{DataKind, Object};
use crate::model::skeleton::Skeleton;

/// package.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Package {
    /// base64 (standard, padded) of the zlib-compressed object.
    pub bpf_object: String,
    pub bpf_object_size: usize,
    pub meta: Meta,
}

/// The meta part, also written alone as `<name>.skel.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub bpf_skel: BpfSkel,
    #[serde(default)]
    pub export_types: Vec<ExportType>,
    #[serde(default)]
    pub eunomia_version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BpfSkel {
    pub obj_name: String,
    /// `ecc` always writes the lists; a package without them (or with `null`) attaches all
    /// programs.
    #[serde(default)]
    pub maps: Option<Vec<MapMeta>>,
    #[serde(default)]
    pub progs: Option<Vec<ProgMeta>>,
    pub data_sections: Vec<DataSectionMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MapMeta {
    pub name: String,
    #[serde(default)]
    pub ident: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other `@key` doc tags (`@sample`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgMeta {
    pub name: String,
    #[serde(default)]
    pub attach: String,
    #[serde(default = "yes")]
    pub link: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Attach options and other doc tags (`@tchook`, `@xdpopts`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSectionMeta {
    pub name: String,
    #[serde(default)]
    pub variables: Vec<VariableMeta>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VariableMeta {
    pub name: String,
    #[serde(rename = "type", default)]
    pub ty: String,
    /// Byte offset in the section, from the ELF symbol table (BTF has 0 in a `.o`).
    #[serde(default)]
    pub offset: u32,
    #[serde(default)]
    pub size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `@cmdarg`, `@value` and other doc tags.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `@sample` on a map: print it every `interval` ms instead of polling events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SampleMeta {
    #[serde(default = "default_interval")]
    pub interval: u64,
    #[serde(rename = "type", default = "default_sample_type")]
    pub kind: String,
    #[serde(default = "default_unit")]
    pub unit: String,
    #[serde(default)]
    pub clear_map: bool,
}

fn default_interval() -> u64 {
    1000
}
fn default_sample_type() -> String {
    "log2_hist".into()
}
fn default_unit() -> String {
    "(unit)".into()
}

/// `@cmdarg` on a variable: how `ecc run` offers it as a command-line option.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CmdArg {
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub short: Option<String>,
    #[serde(default)]
    pub long: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
}

/// A doc tag read as `T`; `None` when absent.
fn tag<T: serde::de::DeserializeOwned>(
    extra: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, serde_json::Error> {
    extra
        .get(key)
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
}

impl MapMeta {
    /// The map's `@sample` tag.
    pub fn sample(&self) -> Result<Option<SampleMeta>, serde_json::Error> {
        tag(&self.extra, "sample")
    }
}

impl VariableMeta {
    /// The variable's `@cmdarg` tag.
    pub fn cmdarg(&self) -> Result<Option<CmdArg>, serde_json::Error> {
        tag(&self.extra, "cmdarg")
    }

    /// The variable's `@value` tag (its default on the command line).
    pub fn value(&self) -> Option<&Value> {
        self.extra.get("value")
    }
}

impl Meta {
    /// Checks the tags the runner reads, so that a bad one is found when the package is read.
    pub fn check(&self) -> Result<(), String> {
        for m in self.bpf_skel.maps.iter().flatten() {
            m.sample()
                .map_err(|e| format!("map {}: bad sample: {e}", m.name))?;
        }
        for v in self
            .bpf_skel
            .data_sections
            .iter()
            .flat_map(|d| &d.variables)
        {
            v.cmdarg()
                .map_err(|e| format!("variable {}: bad cmdarg: {e}", v.name))?;
        }
        Ok(())
    }
}

/// The version written as `eunomia_version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use crate::model::skeleton::obj_name_from_path as obj_name;

/// Keys the package itself sets; doc tags with these names would clash and are dropped.
const MAP_KEYS: &[&str] = &["name", "ident", "mmaped", "description"];
const PROG_KEYS: &[&str] = &["name", "attach", "link", "description"];
const VAR_KEYS: &[&str] = &["name", "type", "offset", "size", "description"];

/// Splits a doc into its description and the tags not in `reserved`, warning about the rest.
fn apply_doc(
    doc: Option<&Doc>,
    what: &str,
    reserved: &[&str],
    warnings: &mut Vec<String>,
) -> (Option<String>, Map<String, Value>) {
    let mut extra = Map::new();
    let Some(doc) = doc else {
        return (None, extra);
    };
    for (k, v) in &doc.tags {
        if reserved.contains(&k.as_str()) {
            warnings.push(format!(
                "doc tag @{k} on {what} ignored: '{k}' is set by ecc"
            ));
        } else {
            extra.insert(k.clone(), v.clone());
        }
    }
    (doc.description.clone(), extra)
}

/// What the eunomia runtime does with a section other than .rodata and .bss, and what
/// `ecc run` does, said once per section, with how to make it run under both.
fn section_warning(name: &str, kind: DataKind, vars: &[VariableMeta]) -> String {
    let names = vars
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let (ours, fix) = match kind {
        DataKind::Kconfig => (
            "`ecc run` has libbpf fill them in from the running kernel's config",
            "for ecli, drop the `__kconfig` externs or pass the values in as `const volatile` \
             globals",
        ),
        DataKind::Data if name == ".data" => (
            "`ecc run` loads it and makes its variables options, as it does for .rodata",
            "for ecli, make them `const volatile` (read-only, settable before load, lands in \
             .rodata) or zero-initialise them (lands in .bss)",
        ),
        _ => (
            "`ecc run` loads it and makes its variables options, as it does for .rodata",
            "for ecli, remove the SEC(\"...\") attribute so they land in .rodata or .bss",
        ),
    };
    format!(
        "section {name} ({names}): the eunomia runtime (ecli) refuses the package, as it only \
         accepts .rodata and .bss (\"Unsupported section\"); {ours}; {fix}"
    )
}

const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// The runtime exports the last map that has `@sample`, is a ring buffer or is a perf event
/// array, and decodes ring buffer and perf samples with `export_types[0]`: without an event
/// header it rejects the package.
fn export_map_warning(obj: &Object<'_>, maps: &[MapMeta], no_exports: bool) -> Option<String> {
    let exported = maps.iter().rev().find_map(|m| {
        if m.extra.contains_key("sample") {
            return Some((m, None));
        }
        let def = obj.maps.iter().find(|d| d.name == m.name)?;
        match def.map_type {
            Some(BPF_MAP_TYPE_RINGBUF) => Some((m, Some("ring buffer"))),
            Some(BPF_MAP_TYPE_PERF_EVENT_ARRAY) => Some((m, Some("perf event array"))),
            _ => None,
        }
    })?;
    match exported {
        (m, Some(kind)) if no_exports => Some(format!(
            "map {} is a {kind}, so the eunomia runtime decodes its events with the first struct of \
             the event header, but none was given; pass it: ecc <source> <header.h>",
            m.name
        )),
        _ => None,
    }
}

/// Builds the meta of the final (stripped) object from its skeleton model (`gen skeleton`'s,
/// without the checks only C needs): the maps libbpf creates, the programs, and the data
/// sections that have variables. Returns the warnings to show the user.
pub fn build_meta(
    obj: &Object<'_>,
    obj_name: &str,
    docs: Option<&Docs>,
    export_types: Vec<ExportType>,
) -> (Meta, Vec<String>) {
    let skel = Skeleton::derive(obj, obj_name);
    let mut warnings = Vec::new();
    let var_doc = |n: &str| docs.and_then(|d| d.vars.get(n));
    let maps: Vec<MapMeta> = skel
        .libbpf_maps()
        .map(|m| match m.datasec {
            // The runtime finds a `.maps` map by its name, which is also its ident here.
            None => {
                let (description, extra) = apply_doc(
                    var_doc(&m.name),
                    &format!("map {}", m.name),
                    MAP_KEYS,
                    &mut warnings,
                );
                MapMeta {
                    name: m.name.clone(),
                    ident: m.name.clone(),
                    mmaped: None,
                    description,
                    extra,
                }
            }
            Some(_) => MapMeta {
                name: m.libbpf_name.clone(),
                ident: m.ident.clone(),
                mmaped: Some(true),
                description: None,
                extra: Map::new(),
            },
        })
        .collect();
    let progs = skel
        .progs
        .iter()
        .map(|p| {
            let doc = docs.and_then(|d| d.funcs.get(&p.name));
            let (description, extra) = apply_doc(
                doc,
                &format!("program {}", p.name),
                PROG_KEYS,
                &mut warnings,
            );
            ProgMeta {
                name: p.name.clone(),
                attach: p.section.clone(),
                link: true,
                description,
                extra,
            }
        })
        .collect();
    let mut data_sections = Vec::new();
    for d in skel.datasecs.iter().filter(|d| !d.vars.is_empty()) {
        let variables: Vec<VariableMeta> = d
            .vars
            .iter()
            .map(|v| {
                let name = &v.btf_name;
                let (description, extra) = apply_doc(
                    var_doc(name),
                    &format!("variable {name}"),
                    VAR_KEYS,
                    &mut warnings,
                );
                VariableMeta {
                    name: name.clone(),
                    ty: crate::emit::cdecl::type_name(&obj.btf, v.type_id),
                    // The object model read both from u32s.
                    offset: u32::try_from(v.offset).unwrap_or(u32::MAX),
                    size: u32::try_from(v.size).unwrap_or(u32::MAX),
                    description,
                    extra,
                }
            })
            .collect();
        if d.section != ".rodata" && d.section != ".bss" {
            warnings.push(section_warning(&d.section, d.kind, &variables));
        }
        data_sections.push(DataSectionMeta {
            name: d.section.clone(),
            variables,
        });
    }
    if let Some(w) = export_map_warning(obj, &maps, export_types.is_empty()) {
        warnings.push(w);
    }
    let doc = var_doc("LICENSE").map(|d| {
        // The runtime reads these as strings.
        let mut m = Map::new();
        if let Some(desc) = &d.description {
            m.insert("description".into(), Value::String(desc.clone()));
        }
        for (k, v) in &d.tags {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            m.insert(k.clone(), Value::String(s));
        }
        m
    });
    let meta = Meta {
        bpf_skel: BpfSkel {
            obj_name: skel.name.clone(),
            maps: Some(maps),
            progs: Some(progs),
            data_sections,
            doc,
        },
        export_types,
        eunomia_version: VERSION.to_string(),
    };
    (meta, warnings)
}

/// Wraps the object into the package: zlib, then base64.
pub fn pack(object: &[u8], meta: Meta) -> Package {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(object);
    let compressed = z.finish().unwrap_or_default();
    Package {
        bpf_object: base64::engine::general_purpose::STANDARD.encode(compressed),
        bpf_object_size: object.len(),
        meta,
    }
}

/// Pretty JSON with a trailing newline. Key order is the struct field order; tag maps are
/// sorted, so the text is the same on every run.
pub fn to_json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_and_object_names() {
        let ident = crate::model::skeleton::datasec_ident;
        assert_eq!(ident("x_bpf", ".rodata.str1.1"), "rodata_str1_1");
        assert_eq!(ident("bootstrap_bpf", ".rodata"), "rodata");
        // A long custom section keeps its whole name (its map name is cut to 15 chars).
        assert_eq!(
            ident("x", ".data.a_rather_long_name"),
            "data_a_rather_long_name"
        );
        assert_eq!(obj_name("bootstrap.bpf.o"), "bootstrap_bpf");
        assert_eq!(obj_name("my-prog.bpf.o"), "my_prog_bpf");
    }
}
