//! The loader's inputs: a package.json (the eunomia package format) or a bare `X.bpf.o`.
//!
//! Only the keys the loader reads are modelled; everything else in a package is ignored, as
//! the eunomia runtime ignores it.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use super::Error;
use crate::elf::object::is_elf;

/// A package as the loader sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    pub bpf_object: String,
    pub bpf_object_size: usize,
    pub meta: Meta,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub bpf_skel: Skel,
    #[serde(default)]
    pub export_types: Vec<ExportType>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Skel {
    pub obj_name: String,
    #[serde(default)]
    pub maps: Option<Vec<MapMeta>>,
    #[serde(default)]
    pub progs: Option<Vec<ProgMeta>>,
    pub data_sections: Vec<DataSectionMeta>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MapMeta {
    pub name: String,
    #[serde(default)]
    pub ident: Option<String>,
    #[serde(default)]
    pub sample: Option<SampleMeta>,
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

#[derive(Debug, Clone, Deserialize)]
pub struct ProgMeta {
    pub name: String,
    #[serde(default)]
    pub attach: Option<String>,
    #[serde(default = "yes")]
    pub link: bool,
    /// Doc tags such as `@ifindex`, `@xdpopts`, `@tchook`, `@tcopts`, `@flags`.
    #[serde(flatten)]
    pub tags: serde_json::Map<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct DataSectionMeta {
    pub name: String,
    #[serde(default)]
    pub variables: Vec<VarMeta>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VarMeta {
    pub name: String,
    #[serde(rename = "type", default)]
    pub ty: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub cmdarg: Option<CmdArg>,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CmdArg {
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    #[serde(default)]
    pub short: Option<String>,
    #[serde(default)]
    pub long: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExportType {
    pub name: String,
    #[serde(default)]
    pub size: Option<u64>,
    pub type_id: u32,
    #[serde(default)]
    pub members: Vec<ExportMember>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExportMember {
    pub name: String,
}

/// What `verify` and `run` work on: the ELF bytes, the name libbpf opens them under and,
/// for a package, its metadata.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub elf: Vec<u8>,
    pub obj_name: String,
    pub meta: Option<Meta>,
}

/// Reads a package.json or a BPF object, telling them apart by the ELF magic.
pub fn read_input(path: &Path) -> Result<Input, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    if is_elf(&bytes) {
        return Ok(Input {
            path: path.to_path_buf(),
            elf: bytes,
            obj_name: obj_name_for(path),
            meta: None,
        });
    }
    let pkg: Package = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.display().to_string(),
        source,
    })?;
    let elf = unpack_object(&pkg).map_err(|msg| Error::input(path, msg))?;
    Ok(Input {
        path: path.to_path_buf(),
        elf,
        obj_name: pkg.meta.bpf_skel.obj_name.clone(),
        meta: Some(pkg.meta),
    })
}

/// `bpf_object` is base64 of a zlib stream; `bpf_object_size` is checked after inflating.
pub fn unpack_object(pkg: &Package) -> Result<Vec<u8>, String> {
    let zipped = base64::engine::general_purpose::STANDARD
        .decode(pkg.bpf_object.trim())
        .map_err(|e| format!("bpf_object is not valid base64: {e}"))?;
    let mut elf = Vec::with_capacity(pkg.bpf_object_size.min(64 << 20));
    // Read one byte past the declared size so an oversized stream is caught without
    // inflating all of it.
    let limit = pkg.bpf_object_size as u64 + 1;
    flate2::read::ZlibDecoder::new(zipped.as_slice())
        .take(limit)
        .read_to_end(&mut elf)
        .map_err(|e| format!("bpf_object is not a valid zlib stream: {e}"))?;
    if elf.len() != pkg.bpf_object_size {
        return Err(format!(
            "bpf_object inflates to {}{} bytes, but bpf_object_size is {}",
            if elf.len() > pkg.bpf_object_size {
                "more than "
            } else {
                ""
            },
            elf.len().min(pkg.bpf_object_size),
            pkg.bpf_object_size
        ));
    }
    if !is_elf(&elf) {
        return Err("bpf_object does not hold an ELF file".into());
    }
    Ok(elf)
}

/// The name an object opened from a file gets: `model::skeleton::obj_name_from_path`
/// (`x.bpf.o` → `x_bpf`).
pub fn obj_name_for(path: &Path) -> String {
    let base = path.file_name().unwrap_or_default().to_string_lossy();
    crate::model::skeleton::obj_name_from_path(&base)
}

pub use crate::elf::object::internal_map_name;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pack(elf: &[u8], size: usize) -> Package {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(elf).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
        serde_json::from_value(serde_json::json!({
            "bpf_object": b64, "bpf_object_size": size,
            "meta": {"bpf_skel": {"obj_name": "x", "maps": null, "progs": null, "data_sections": []}}
        }))
        .unwrap()
    }

    #[test]
    fn unpacks_and_checks_size() {
        let elf = b"\x7fELF and some bytes";
        assert_eq!(unpack_object(&pack(elf, elf.len())).unwrap(), elf);
        let short = unpack_object(&pack(elf, elf.len() - 1)).unwrap_err();
        assert!(short.contains("more than"), "{short}");
        let long = unpack_object(&pack(elf, elf.len() + 5)).unwrap_err();
        assert!(long.contains(&format!("bpf_object_size is {}", elf.len() + 5)));
        let not_elf = unpack_object(&pack(b"hello", 5)).unwrap_err();
        assert!(not_elf.contains("ELF"), "{not_elf}");
    }

    #[test]
    fn object_names_like_libbpf() {
        assert_eq!(
            obj_name_for(Path::new("a/bootstrap.bpf.o")),
            "bootstrap_bpf"
        );
        assert_eq!(obj_name_for(Path::new("my-prog.o")), "my_prog");
    }

    #[test]
    fn reads_the_spec_keys_and_ignores_others() {
        let m: Meta = serde_json::from_value(serde_json::json!({
            "bpf_skel": {
                "obj_name": "bootstrap_bpf",
                "maps": [{"name": "hists", "ident": "hists",
                          "sample": {"interval": 500, "type": "log2_hist", "unit": "usecs"}},
                         {"name": "bootstra.rodata", "ident": "rodata", "mmaped": true}],
                "progs": [{"name": "handle_exec", "attach": "tp/sched/sched_process_exec", "link": true}],
                "data_sections": [{"name": ".rodata", "variables": [
                    {"name": "targ_pid", "type": "pid_t", "description": "pid",
                     "cmdarg": {"default": 0, "short": "p", "long": "pid"}, "unknown": 1}]}],
                "doc": {"brief": "x"}
            },
            "export_types": [{"name": "event", "size": 8, "type_id": 3,
                              "members": [{"name": "pid", "type": "int"}]}],
            "eunomia_version": "0.1"
        }))
        .unwrap();
        let maps = m.bpf_skel.maps.unwrap();
        assert_eq!(maps[0].sample.as_ref().unwrap().interval, 500);
        assert_eq!(maps[0].sample.as_ref().unwrap().unit, "usecs");
        assert!(maps[1].sample.is_none());
        let v = &m.bpf_skel.data_sections[0].variables[0];
        assert_eq!(v.cmdarg.as_ref().unwrap().short.as_deref(), Some("p"));
        assert_eq!(m.export_types[0].type_id, 3);
    }
}
