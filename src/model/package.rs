//! The eunomia package (package.json) and its meta (`<name>.skel.json`): a serde model whose
//! field order is the key order, built from the stripped object, the doc comments and the
//! export types. See shared/spec/package-json.md for what the runtime expects.

use std::io::Write as _;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::build::doc::{Doc, Docs};
use crate::build::export::ExportType;
use crate::elf::object::{DataKind, Object};

/// package.json.
#[derive(Clone, Debug, Serialize)]
pub struct Package {
    /// base64 (standard, padded) of the zlib-compressed object.
    pub bpf_object: String,
    pub bpf_object_size: usize,
    pub meta: Meta,
}

/// The meta part, also written alone as `<name>.skel.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Meta {
    pub bpf_skel: BpfSkel,
    pub export_types: Vec<ExportType>,
    pub eunomia_version: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BpfSkel {
    pub obj_name: String,
    pub maps: Vec<MapMeta>,
    pub progs: Vec<ProgMeta>,
    pub data_sections: Vec<DataSectionMeta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MapMeta {
    pub name: String,
    pub ident: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmaped: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other `@key` doc tags (`@sample`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProgMeta {
    pub name: String,
    pub attach: String,
    pub link: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Attach options and other doc tags (`@tchook`, `@xdpopts`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataSectionMeta {
    pub name: String,
    pub variables: Vec<VariableMeta>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VariableMeta {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// Byte offset in the section, from the ELF symbol table (BTF has 0 in a `.o`).
    pub offset: u32,
    pub size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `@cmdarg`, `@value` and other doc tags.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The version written as `eunomia_version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use crate::elf::object::internal_map_name;
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

/// What goes wrong for the runtime, said once per section, with what to do about it.
fn section_warning(name: &str, kind: DataKind, vars: &[VariableMeta]) -> String {
    let names = vars
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let fix = match kind {
        DataKind::Data if name == ".data" => {
            "make them `const volatile` (read-only, settable before load, lands in .rodata) or \
             zero-initialise them (lands in .bss)"
        }
        DataKind::Kconfig => {
            "drop the `__kconfig` externs, or pass the values in as `const volatile` globals"
        }
        _ => "remove the SEC(\"...\") attribute so they land in .rodata or .bss",
    };
    format!(
        "section {name} ({names}) is rejected by the eunomia runtime, which only accepts .rodata and .bss \
         (\"Unsupported section\"); {fix}"
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
            "map {} is a {kind}, so the eunomia runtime decodes its events with the first struct of              the event header, but none was given; pass it: ecc <source> <header.h>",
            m.name
        )),
        _ => None,
    }
}

/// Builds the meta from the final (stripped) object. Returns the warnings to show the user.
pub fn build_meta(
    obj: &Object<'_>,
    obj_name: &str,
    docs: Option<&Docs>,
    export_types: Vec<ExportType>,
) -> (Meta, Vec<String>) {
    let mut warnings = Vec::new();
    let var_doc = |n: &str| docs.and_then(|d| d.vars.get(n));
    let mut maps = Vec::new();
    for m in &obj.maps {
        let (description, extra) = apply_doc(
            var_doc(&m.name),
            &format!("map {}", m.name),
            MAP_KEYS,
            &mut warnings,
        );
        maps.push(MapMeta {
            name: m.name.clone(),
            ident: m.name.clone(),
            mmaped: None,
            description,
            extra,
        });
    }
    // libbpf creates internal maps for non-empty global-data sections, in ELF order, then .kconfig.
    for d in obj.datasecs.iter().filter(|d| d.size > 0) {
        maps.push(MapMeta {
            name: internal_map_name(obj_name, &d.name),
            ident: crate::model::skeleton::datasec_ident(obj_name, &d.name),
            mmaped: Some(true),
            description: None,
            extra: Map::new(),
        });
    }
    let progs = obj
        .programs
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
    for d in obj.datasecs.iter().filter(|d| d.btf_id.is_some()) {
        let variables: Vec<VariableMeta> = d
            .vars
            .iter()
            // Static variables are not part of the skeleton, as in bpftool.
            .filter(|v| v.linkage != 0)
            .map(|v| {
                let (description, extra) = apply_doc(
                    var_doc(&v.name),
                    &format!("variable {}", v.name),
                    VAR_KEYS,
                    &mut warnings,
                );
                VariableMeta {
                    name: v.name.clone(),
                    ty: crate::emit::cdecl::type_name(&obj.btf, v.type_id),
                    offset: v.offset,
                    size: v.size,
                    description,
                    extra,
                }
            })
            .collect();
        if variables.is_empty() {
            continue;
        }
        if d.name != ".rodata" && d.name != ".bss" {
            warnings.push(section_warning(&d.name, d.kind, &variables));
        }
        data_sections.push(DataSectionMeta {
            name: d.name.clone(),
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
            obj_name: obj_name.to_string(),
            maps,
            progs,
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
