//! `vmlinux.h` without shipping one: generated from the kernel's BTF by our own C dumper and
//! cached per BTF content, so only the first compile against a kernel pays for it.
//!
//! Cache layout: `<cache>/vmlinux-<hash>/vmlinux.h`. The directory goes on the include path;
//! it exists per hash so that `#include "vmlinux.h"` finds exactly one file.
//! The key is SHA-256 over a format tag, ecc's version and the BTF bytes: a collision would
//! silently compile against the wrong kernel types, so a cryptographic hash is worth its
//! few milliseconds, and a new ecc (with a possibly better dumper) regenerates.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::btf::Btf;

/// Where the running kernel publishes its BTF.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Read(PathBuf, #[source] std::io::Error),
    #[error("{0}")]
    Btf(PathBuf, #[source] crate::ParseError),
    #[error("{0}: cannot generate vmlinux.h")]
    Dump(PathBuf, #[source] crate::emit::c::Error),
    #[error("{0}: the C dumper produced an empty vmlinux.h")]
    Empty(PathBuf),
    #[error("cannot write {0}")]
    Write(PathBuf, #[source] std::io::Error),
}

/// The user's cache directory for ecc: `$XDG_CACHE_HOME/ecc`, else `~/.cache/ecc`.
pub fn cache_root() -> Option<PathBuf> {
    let from_env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from_env("HOME").map(|h| h.join(".cache")))
        .map(|c| c.join("ecc"))
}

/// The raw BTF in `data`: the file itself, or the `.BTF` section of an ELF file.
fn raw_btf<'a>(path: &Path, data: &'a [u8]) -> Result<&'a [u8], Error> {
    if crate::elf::object::is_elf(data) {
        crate::elf::object::btf_section(data)
            .map(|(b, _)| b)
            .map_err(|e| Error::Btf(path.to_path_buf(), e))
    } else {
        Ok(data)
    }
}

/// The cache key of a BTF blob.
pub fn cache_key(btf: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"ecc vmlinux.h\0");
    h.update(crate::model::package::VERSION.as_bytes());
    h.update(b"\0");
    h.update(btf);
    crate::build::compile::hex(&h.finalize())[..32].to_string()
}

/// Generates the header text from BTF. Pure: no I/O.
pub fn generate(path: &Path, btf: &[u8]) -> Result<String, Error> {
    let parsed = Btf::parse(btf).map_err(|e| Error::Btf(path.to_path_buf(), e))?;
    let text =
        crate::emit::c::dump(&parsed, &[]).map_err(|e| Error::Dump(path.to_path_buf(), e))?;
    if text.trim().is_empty() {
        return Err(Error::Empty(path.to_path_buf()));
    }
    Ok(text)
}

/// A name for the file's identity and state (device, inode, size, mtime, ctime): while it
/// is unchanged, so is the content, and its content hash can be reused without reading
/// 5 MB of BTF (the idea of ccache's direct mode). ctime changes on every write and cannot
/// be set by hand, so a rewritten file never matches an old record.
fn identity_key(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    let canon = std::fs::canonicalize(path).ok()?;
    let mut h = Sha256::new();
    h.update(canon.as_os_str().as_encoded_bytes());
    h.update(
        format!(
            "\0{}\0{}\0{}\0{}.{}\0{}.{}\0{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            crate::model::package::VERSION
        )
        .as_bytes(),
    );
    Some(crate::build::compile::hex(&h.finalize())[..32].to_string())
}

/// Makes sure a `vmlinux.h` for the BTF at `btf_path` exists and returns the directory that
/// holds it: under `cache` when there is one, else under `scratch` (regenerated every run).
pub fn ensure(btf_path: &Path, cache: Option<&Path>, scratch: &Path) -> Result<PathBuf, Error> {
    // Fast path: this exact file was hashed before and its header is cached.
    let id = cache.and_then(|c| Some(c.join(format!("btf-{}.key", identity_key(btf_path)?))));
    if let (Some(c), Some(id)) = (cache, &id) {
        if let Ok(key) = std::fs::read_to_string(id) {
            let dir = c.join(format!("vmlinux-{}", key.trim()));
            if key.trim().len() == 32 && dir.join("vmlinux.h").is_file() {
                return Ok(dir);
            }
        }
    }
    let data = crate::util::fs::read_input(btf_path)
        .map_err(|e| Error::Read(btf_path.to_path_buf(), e))?;
    let btf = raw_btf(btf_path, &data)?;
    let key = cache_key(btf);
    if let Some(c) = cache {
        let dir = c.join(format!("vmlinux-{key}"));
        let remember = || {
            if let Some(id) = &id {
                let _ = crate::util::fs::write_atomic(id, key.as_bytes());
            }
        };
        if dir.join("vmlinux.h").is_file() {
            remember();
            return Ok(dir);
        }
        let text = generate(btf_path, btf)?;
        // A cache that cannot be written falls back to the scratch directory.
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| crate::util::fs::write_atomic(&dir.join("vmlinux.h"), text.as_bytes()));
        if written.is_ok() {
            remember();
            return Ok(dir);
        }
        return write_scratch(scratch, &text);
    }
    let text = generate(btf_path, btf)?;
    write_scratch(scratch, &text)
}

fn write_scratch(scratch: &Path, text: &str) -> Result<PathBuf, Error> {
    let dir = scratch.join("vmlinux");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Write(dir.clone(), e))?;
    let file = dir.join("vmlinux.h");
    std::fs::write(&file, text).map_err(|e| Error::Write(file, e))?;
    Ok(dir)
}
