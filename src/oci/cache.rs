//! Pulled files, content-addressed: `<cache>/oci/sha256/<hex>/<file name>`. The directory is
//! the layer's digest, so a digest seen before is never downloaded again; the file keeps its
//! original name so the runner's messages name `package.json`, not a hash. A cached file is
//! re-hashed before use, so a damaged cache entry is fetched again rather than run.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Error;

/// The hex of a `sha256:` digest, checked to be exactly that (it becomes a path component).
pub fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then_some(hex)
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in h {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn entry(root: &Path, digest: &str, name: &str) -> Option<PathBuf> {
    Some(root.join("sha256").join(sha256_hex(digest)?).join(name))
}

/// The cached file with this digest and name, when it is there and intact.
pub fn lookup(root: &Path, digest: &str, name: &str) -> Option<(PathBuf, Vec<u8>)> {
    let path = entry(root, digest, name)?;
    let bytes = std::fs::read(&path).ok()?;
    (sha256_digest(&bytes) == digest).then_some((path, bytes))
}

/// Stores verified bytes under their digest (temp file + rename, so readers never see half).
pub fn store(root: &Path, digest: &str, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
    let path =
        entry(root, digest, name).ok_or_else(|| Error::refused(digest, "not a sha256 digest"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::util::fs::write_atomic(&path, bytes).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_verified_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = sha256_digest(b"hello");
        assert_eq!(
            d,
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let p = store(dir.path(), &d, "package.json", b"hello").unwrap();
        assert_eq!(lookup(dir.path(), &d, "package.json").unwrap().0, p);
        std::fs::write(&p, b"hellO").unwrap();
        assert!(lookup(dir.path(), &d, "package.json").is_none());
        assert!(store(dir.path(), "sha256:../../x", "a", b"").is_err());
        assert!(sha256_hex(&format!("sha256:{}", "A".repeat(64))).is_none());
    }
}
