//! Writing outputs atomically: a temp file beside the target, then a rename, so a failed
//! run never leaves a partial file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
    tmp.as_file().sync_all().ok();
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes several files so that a failure leaves none of them behind: every file goes to a
/// temp file first, and only when all are written are they renamed into place.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
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
        staged.push((tmp, path));
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
