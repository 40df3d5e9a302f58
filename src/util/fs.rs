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

/// Writes several files as one change: either all are replaced or none is. Every file goes
/// to a temp file first; a target that cannot be replaced (read-only, or immutable so it
/// cannot even be linked) fails the whole write before anything is renamed; and if a rename
/// still fails, the files already renamed get their old contents back. The error names the
/// file at fault.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> Result<(), (PathBuf, std::io::Error)> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        staged.push((
            stage(path, bytes, new_file_mode()).map_err(|e| (path.clone(), e))?,
            path,
        ));
    }
    // Keep each old file under a temp name (a hard link, so nothing is copied) until all
    // renames are done. Dropping the staged temp files on an early return removes them.
    let mut backups: Vec<Option<tempfile::TempPath>> = Vec::with_capacity(files.len());
    for (_, path) in &staged {
        backups.push(backup(path).map_err(|e| (path.to_path_buf(), e))?);
    }
    let mut done: Vec<(&PathBuf, Option<tempfile::TempPath>)> = Vec::new();
    for ((tmp, path), old) in staged.into_iter().zip(backups) {
        if let Err(e) = tmp.persist(path) {
            for (p, old) in done.into_iter().rev() {
                match old {
                    Some(o) => drop(o.persist(p)),
                    None => drop(std::fs::remove_file(p)),
                }
            }
            return Err((path.clone(), e.error));
        }
        done.push((path, old));
    }
    Ok(())
}

/// A hard link to the current `path` under a temp name beside it (removed on drop), or
/// `None` when there is no file yet. A read-only file is refused: ecc does not overwrite a
/// file its owner protected, as compilers do not.
fn backup(path: &Path) -> std::io::Result<Option<tempfile::TempPath>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.is_file() && meta.permissions().readonly() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the file is read-only",
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A unique name: make a temp file, then put the link in its place.
    let name = tempfile::Builder::new()
        .prefix(".ecc-old-")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::remove_file(&name)?;
    if let Err(e) = std::fs::hard_link(path, &name) {
        // EPERM: an immutable (or append-only) file, which no rename could replace either.
        if e.raw_os_error() == Some(libc::EPERM) || meta.is_dir() {
            return Err(e);
        }
        std::fs::copy(path, &name)?;
    }
    Ok(Some(name))
}

/// 0666 as the mode to create files with, so the umask applies as for any new file (temp
/// files are otherwise 0600, which would make outputs private).
pub fn new_file_mode() -> std::fs::Permissions {
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
