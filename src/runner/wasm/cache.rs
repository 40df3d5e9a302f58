//! Compiled modules cached by content hash, so a second start of the same guest skips
//! compilation: `<cache>/wasm-modules/<sha256 of the wasm and the engine>.cwasm`, holding
//! wasmtime's serialized module followed by the SHA-256 of those bytes.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

const DIGEST: usize = 32;

/// The cache file for `wasm` compiled by `engine`: the key covers the module's bytes, ecc's
/// version and the engine's settings, so any change compiles afresh.
fn entry(dir: &Path, engine: &Engine, wasm: &[u8]) -> PathBuf {
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(compat.finish().to_le_bytes());
    h.update(wasm);
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    dir.join("wasm-modules").join(format!("{hex}.cwasm"))
}

/// The serialized module in `file`, if its checksum holds.
fn read_entry(file: &Path) -> Option<Vec<u8>> {
    let mut bytes = std::fs::read(file).ok()?;
    let split = bytes.len().checked_sub(DIGEST)?;
    let sum = Sha256::digest(&bytes[..split]);
    if sum.as_slice() != &bytes[split..] {
        return None;
    }
    bytes.truncate(split);
    Some(bytes)
}

/// The compiled module for `wasm`: from the cache when it holds a valid entry, else
/// compiled (and stored when there is a cache).
pub fn module(engine: &Engine, wasm: &[u8], cache: Option<&Path>) -> wasmtime::Result<Module> {
    let Some(dir) = cache else {
        return Module::new(engine, wasm);
    };
    let file = entry(dir, engine, wasm);
    if let Some(ser) = read_entry(&file) {
        // SAFETY: the bytes are what `Module::serialize` wrote for this engine's settings
        // (the key says so), checked against their SHA-256; wasmtime also checks its header.
        if let Ok(m) = unsafe { Module::deserialize(engine, &ser) } {
            return Ok(m);
        }
    }
    let m = Module::new(engine, wasm)?;
    // The cache is an optimization: a failure to write it is not an error.
    if let Ok(mut ser) = m.serialize() {
        let sum = Sha256::digest(&ser);
        ser.extend_from_slice(&sum);
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = crate::util::fs::write_atomic(&file, &ser);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one exported function, in binary form.
    const WASM: &[u8] = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\x07\x05\x01\x01f\0\0\x0a\x04\x01\x02\0\x0b";

    #[test]
    fn second_load_comes_from_the_cache_and_corruption_is_ignored() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let m = module(&engine, WASM, Some(dir.path())).unwrap();
        assert!(m.get_export("f").is_some());
        let file = entry(dir.path(), &engine, WASM);
        let stored = read_entry(&file).expect("entry written");
        let again = module(&engine, WASM, Some(dir.path())).unwrap();
        assert!(again.get_export("f").is_some());
        // A flipped byte fails the checksum; the module is compiled and stored again.
        let mut raw = std::fs::read(&file).unwrap();
        raw[10] ^= 0xff;
        std::fs::write(&file, &raw).unwrap();
        assert!(read_entry(&file).is_none());
        assert!(module(&engine, WASM, Some(dir.path())).is_ok());
        assert_eq!(read_entry(&file), Some(stored));
        // Another module has another entry.
        assert_ne!(entry(dir.path(), &engine, b"\0asm\x01\0\0\0"), file);
    }
}
