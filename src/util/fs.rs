//! Writing outputs atomically: a temp file beside the target, then a rename, so a failed
//! run never leaves a partial file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = stage(path, bytes)?;
    tmp.as_file().sync_all().ok();
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to a temp file in `path`'s directory; dropping it removes the file.
fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ecc-")
        .suffix(".tmp")
        .permissions(new_file_mode())
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

/// The bytes of an input file: mapped for kernel BTF in sysfs, read into memory otherwise.
pub enum Input {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

/// The kernel's own BTF, which recent kernels let readers map.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Reads `path`. The kernel's BTF is mapped instead: the kernel maps its in-memory image
/// directly, which saves copying 5+ MB and keeps those pages out of our RSS. Where the
/// kernel refuses the mapping (older kernels), the file is read as usual.
pub fn read_input(path: &Path) -> std::io::Result<Input> {
    if path == Path::new(VMLINUX_BTF) {
        let file = std::fs::File::open(path)?;
        // SAFETY: this file is a read-only view of BTF that is part of the kernel image; no
        // one can write or truncate it, so the mapped bytes stay valid and unchanged while
        // the map lives. The mapping is private and read-only, as the kernel requires.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
            return Ok(Input::Mapped(map));
        }
    }
    std::fs::read(path).map(Input::Read)
}

/// Writes several files so that a failure leaves none of them behind: every file goes to a
/// temp file first, and only when all are written are they renamed into place.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        staged.push((stage(path, bytes)?, path));
    }
    // Dropping the staged temp files on an early return removes them.
    for (tmp, path) in staged {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    Ok(())
}

/// 0666 as the mode to create files with, so the umask applies as for any new file (temp
/// files are otherwise 0600, which would make outputs private).
fn new_file_mode() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

/// Creates directory `path` holding `files` (paths relative to it) all at once: they are
/// written into a temp directory beside it, which is then renamed to `path`, so a failure
/// leaves nothing behind. An existing `path` is an `AlreadyExists` error and stays as it is.
pub fn create_dir_atomic(path: &Path, files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let exists = || std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists");
    if path.symlink_metadata().is_ok() {
        return Err(exists());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // 0777 so the umask applies, as for a directory made by mkdir.
    let tmp = tempfile::Builder::new()
        .prefix(".ecc-")
        .permissions(std::fs::Permissions::from_mode(0o777))
        .tempdir_in(parent)?;
    for (rel, bytes) in files {
        let dest = tmp.path().join(rel);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&dest, bytes)?;
    }
    // rename(2) would replace an empty directory made since the check above; the check
    // narrows that window to the time it takes to write the files.
    if path.symlink_metadata().is_ok() {
        return Err(exists());
    }
    std::fs::rename(tmp.path(), path)?;
    let _ = tmp.keep();
    Ok(())
}
