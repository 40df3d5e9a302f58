//! The loader's inputs: a package.json (read with `model::package`, the model `ecc` writes)
//! or a bare `X.bpf.o`.
// A parser of untrusted bytes: narrowing goes through try_from, never a silent `as`.
#![deny(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::Error;
use crate::btfgen::archive::{self, KernelId};
use crate::elf::object::is_elf;

pub use crate::build::export::{ExportMember, ExportType};
pub use crate::model::package::{
    BpfSkel as Skel, CmdArg, DataSectionMeta, MapMeta, Meta, Package, ProgMeta, SampleMeta,
    VariableMeta as VarMeta,
};

/// What `verify` and `run` work on: the ELF bytes, the name libbpf opens them under and,
/// for a package, its metadata.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub elf: Vec<u8>,
    pub obj_name: String,
    pub meta: Option<Meta>,
    /// Minimal kernel BTFs by kernel, from a package tar (`ecc --btfgen`).
    pub btfs: Vec<(KernelId, Vec<u8>)>,
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
            btfs: Vec::new(),
        });
    }
    let (bytes, btfs) = if archive::is_tar(&bytes) {
        let t = archive::read_package_tar(path, &bytes).map_err(|e| Error::Usage(e.to_string()))?;
        (t.package_json, t.btfs)
    } else {
        (bytes, Vec::new())
    };
    let pkg: Package = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.display().to_string(),
        source,
    })?;
    pkg.meta.check().map_err(|msg| Error::input(path, msg))?;
    let elf = unpack_object(&pkg).map_err(|msg| Error::input(path, msg))?;
    Ok(Input {
        path: path.to_path_buf(),
        elf,
        obj_name: pkg.meta.bpf_skel.obj_name.clone(),
        meta: Some(pkg.meta),
        btfs,
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
    let limit = u64::try_from(pkg.bpf_object_size)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
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
        let sample = maps[0].sample().unwrap().unwrap();
        assert_eq!((sample.interval, sample.unit.as_str()), (500, "usecs"));
        assert!(maps[1].sample().unwrap().is_none());
        let v = &m.bpf_skel.data_sections[0].variables[0];
        assert_eq!(v.cmdarg().unwrap().unwrap().short.as_deref(), Some("p"));
        // Keys the runner does not read are kept.
        assert_eq!(v.extra["unknown"], 1);
        assert_eq!(m.export_types[0].type_id, 3);
    }
}
