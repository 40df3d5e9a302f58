//! Writing outputs atomically: a temp file beside the target, then a rename, so a failed
//! run never leaves a partial file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, new_file_mode())
}

/// `write_atomic` for a file only its owner may read (credentials): the file never exists,
/// not even as a temp file, with wider permissions.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    write_atomic_mode(path, bytes, std::fs::Permissions::from_mode(0o600))
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: std::fs::Permissions) -> std::io::Result<()> {
    let tmp = stage(path, bytes, mode)?;
    tmp.as_file().sync_all().ok();
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to a temp file in `path`'s directory; dropping it removes the file.
fn stage(
    path: &Path,
    bytes: &[u8],
    mode: std::fs::Permissions,
) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ecc-")
        .suffix(".tmp")
        .permissions(mode)
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
        staged.push((stage(path, bytes, new_file_mode())?, path));
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
