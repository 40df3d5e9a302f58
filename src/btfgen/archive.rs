//! BTFHub archives and the packages that carry minimal BTFs.
//!
//! A BTFHub archive holds one BTF per kernel at `ID/VERSION_ID/ARCH/RELEASE.btf`, usually
//! compressed as `RELEASE.btf.tar.xz` (a tar of the one `.btf` file). `ecc --btfgen` writes
//! `<name>.tar`: `package.json` and `btfhub-archive/ID/VERSION_ID/ARCH/RELEASE.btf` for
//! every kernel, each cut down to what the package's relocations need. The runtime picks
//! the one for the running kernel (`KernelId`).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a package's BTFs live inside its tar.
pub const TAR_DIR: &str = "btfhub-archive";
const PACKAGE_JSON: &str = "package.json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Bad { path: String, msg: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A kernel as BTFHub names it: os-release `ID` and `VERSION_ID`, the machine
/// (`x86_64`, `arm64`, …) and `uname -r`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelId {
    pub id: String,
    pub version_id: String,
    pub arch: String,
    pub release: String,
}

impl KernelId {
    /// `ID/VERSION_ID/ARCH/RELEASE.btf`, the file's path in an archive.
    pub fn path(&self) -> String {
        format!(
            "{}/{}/{}/{}.btf",
            self.id, self.version_id, self.arch, self.release
        )
    }

    /// Parses the last four components of `…/ID/VERSION_ID/ARCH/RELEASE.btf[.tar.xz]`.
    pub fn from_path(p: &str) -> Option<KernelId> {
        let p = p.strip_suffix(".tar.xz").unwrap_or(p);
        let p = p.strip_suffix(".btf")?;
        let mut parts = p.rsplit('/');
        let release = parts.next()?;
        let arch = parts.next()?;
        let version_id = parts.next()?;
        let id = parts.next()?;
        let all = [id, version_id, arch, release];
        all.iter()
            .all(|s| !s.is_empty() && *s != "." && *s != "..")
            .then(|| KernelId {
                id: id.into(),
                version_id: version_id.into(),
                arch: arch.into(),
                release: release.into(),
            })
    }

    /// The running kernel: `/etc/os-release` (or `/usr/lib/os-release`) and `uname`.
    pub fn running() -> Result<KernelId, Error> {
        let text = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
                .unwrap_or_default()
        };
        let (machine, release) = uname().map_err(io(Path::new("uname")))?;
        Ok(KernelId {
            id: field("ID"),
            version_id: field("VERSION_ID"),
            arch: btfhub_arch(&machine).to_string(),
            release,
        })
    }
}

impl std::fmt::Display for KernelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// BTFHub's directory name for a `uname -m` machine or a `__TARGET_ARCH_*` name.
pub fn btfhub_arch(machine: &str) -> &str {
    match machine {
        "x86" | "amd64" => "x86_64",
        "aarch64" => "arm64",
        m => m,
    }
}

fn uname() -> std::io::Result<(String, String)> {
    // SAFETY: `utsname` is plain data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let s = |f: &[libc::c_char]| {
        let b: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    Ok((s(&u.machine), s(&u.release)))
}

/// Every kernel BTF under `dir` in BTFHub's layout, for `arch` (all arches when `None`),
/// sorted by path so the output does not depend on directory order.
pub fn scan(dir: &Path, arch: Option<&str>) -> Result<Vec<(KernelId, PathBuf)>, Error> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let p = e.path();
            let ft = e.file_type().map_err(io(&p))?;
            if ft.is_dir() {
                todo.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            if rel.matches('/').count() != 3 {
                continue;
            }
            if let Some(k) = KernelId::from_path(&rel) {
                if arch.is_none_or(|a| a == k.arch) {
                    out.push((k, p));
                }
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// The BTF of one archive file: raw `.btf`, or the `.btf` inside a `.btf.tar.xz`.
pub fn read_kernel_btf(path: &Path) -> Result<Vec<u8>, Error> {
    let data = std::fs::read(path).map_err(io(path))?;
    if !path.to_string_lossy().ends_with(".tar.xz") {
        return Ok(data);
    }
    let bad = |msg: String| Error::Bad {
        path: path.display().to_string(),
        msg,
    };
    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(data.as_slice()));
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("not a .tar.xz: {e}")))?;
    for e in entries {
        let mut e = e.map_err(|e| bad(format!("not a .tar.xz: {e}")))?;
        let name = e.path().map(|p| p.to_string_lossy().into_owned());
        if name.is_ok_and(|n| n.ends_with(".btf")) {
            let mut out = Vec::new();
            e.read_to_end(&mut out)
                .map_err(|e| bad(format!("cannot decompress: {e}")))?;
            return Ok(out);
        }
    }
    Err(bad("the archive holds no .btf file".into()))
}

/// The package tar: `package.json`, then every BTF under `btfhub-archive/`, with fixed
/// modes, owners and times so the same inputs give the same bytes.
pub fn write_package_tar(package_json: &[u8], btfs: &[(KernelId, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        // Writing into a Vec cannot fail, and names are short relative paths.
        let _ = b.append_data(&mut h, name, data);
    };
    add(PACKAGE_JSON, package_json);
    for (k, data) in btfs {
        add(&format!("{TAR_DIR}/{}", k.path()), data);
    }
    b.into_inner().unwrap_or_default()
}

/// Whether `bytes` look like a tar file (the ustar magic).
pub fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// A package tar read back: its package.json and its BTFs by kernel.
pub struct PackageTar {
    pub package_json: Vec<u8>,
    pub btfs: Vec<(KernelId, Vec<u8>)>,
}

/// Reads a package tar written by `write_package_tar` (or by hand in the same layout).
pub fn read_package_tar(path: &Path, bytes: &[u8]) -> Result<PackageTar, Error> {
    let bad = |msg: String| Error::Bad {
        path: path.display().to_string(),
        msg,
    };
    let mut json = None;
    let mut btfs = Vec::new();
    let mut tar = tar::Archive::new(bytes);
    for e in tar.entries().map_err(|e| bad(format!("bad tar: {e}")))? {
        let mut e = e.map_err(|e| bad(format!("bad tar: {e}")))?;
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e
            .path()
            .map_err(|e| bad(format!("bad tar entry name: {e}")))?
            .to_string_lossy()
            .into_owned();
        let name = name.trim_start_matches("./").to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if name == PACKAGE_JSON {
            json = Some(data);
        } else if let Some(k) = KernelId::from_path(&name) {
            btfs.push((k, data));
        }
    }
    let package_json = json.ok_or_else(|| bad("the tar holds no package.json".into()))?;
    btfs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PackageTar { package_json, btfs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_paths_round_trip() {
        let k = KernelId::from_path("x/ubuntu/20.04/x86_64/5.4.0-42-generic.btf.tar.xz").unwrap();
        assert_eq!(k.path(), "ubuntu/20.04/x86_64/5.4.0-42-generic.btf");
        assert_eq!(KernelId::from_path(&k.path()), Some(k));
        assert_eq!(KernelId::from_path("20.04/x86_64/5.4.btf"), None);
        assert_eq!(KernelId::from_path("a/b/c/d.txt"), None);
    }

    #[test]
    fn package_tar_round_trips_and_is_deterministic() {
        let k = KernelId::from_path("centos/7/x86_64/3.10.0.btf").unwrap();
        let btfs = vec![(k.clone(), vec![1, 2, 3])];
        let t = write_package_tar(b"{}", &btfs);
        assert_eq!(t, write_package_tar(b"{}", &btfs));
        assert!(is_tar(&t));
        let back = read_package_tar(Path::new("p.tar"), &t).unwrap();
        assert_eq!(back.package_json, b"{}");
        assert_eq!(back.btfs, btfs);
        let e = read_package_tar(Path::new("p.tar"), &write_package_tar(b"{}", &[])[512..]);
        assert!(e.is_err());
    }
}
