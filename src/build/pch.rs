//! A precompiled `vmlinux.h`: clang spends most of a compile parsing the 130k-line header, and
//! loading it precompiled gives the same object bytes in half the time. The PCH sits next to
//! the cached header, keyed by everything that changes its meaning: the clang binary, the
//! flags that reach the header (target, defines, include directories, user flags) and the
//! header itself (its directory is named by its hash).
//!
//! Concurrent runs (`make -j`) build it once: the builder holds an exclusive lock on a lock
//! file beside it, writes a temp file and renames it into place, so no run ever reads a
//! half-written PCH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};

use crate::build::compile::{self, Waited};

/// User flags that act before the first line of the source (or change its language), so a
/// PCH of vmlinux.h alone would not be what clang sees there.
const PREPROCESS_FIRST: [&str; 9] = [
    "-include",
    "-imacros",
    "-include-pch",
    "-x",
    "-E",
    "-save-temps",
    "-traditional",
    "-undef",
    "-nostdinc",
];

/// Why the PCH cannot be used for this source, or `None` when it can. `vmlinux_in_cache`
/// says the `vmlinux.h` clang finds is ours (no header of the user's shadows it).
pub fn unusable(source: &[u8], user_flags: &[String], vmlinux_in_cache: bool) -> Option<String> {
    if !vmlinux_in_cache {
        return Some("vmlinux.h is not the cached one".into());
    }
    if !first_line_includes_vmlinux(source) {
        return Some("the source's first line is not #include \"vmlinux.h\"".into());
    }
    user_flags
        .iter()
        .find(|f| PREPROCESS_FIRST.iter().any(|p| f.starts_with(p)))
        .map(|f| format!("the flag {f} acts before the source's first line"))
}

/// Whether the first line of the source that is not blank or a comment is
/// `#include "vmlinux.h"` (or `<vmlinux.h>`).
pub fn first_line_includes_vmlinux(src: &[u8]) -> bool {
    let text = crate::build::export::strip_comments(&String::from_utf8_lossy(src));
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return false;
    };
    let Some(directive) = first.strip_prefix('#').map(str::trim_start) else {
        return false;
    };
    directive
        .strip_prefix("include")
        .map(str::trim)
        .is_some_and(|f| f == "\"vmlinux.h\"" || f == "<vmlinux.h>")
}

/// The PCH file for `header` built with `args` by `clang`.
pub fn path_for(clang: &Path, header: &Path, args: &[OsString]) -> Option<PathBuf> {
    let mut h = Sha256::new();
    h.update(compile::tool_identity(clang)?);
    for a in args {
        h.update(b"\0");
        h.update(a.as_encoded_bytes());
    }
    let key = compile::hex(&h.finalize());
    Some(header.with_file_name(format!("vmlinux-{}.clang.pch", &key[..32])))
}

/// What `ensure` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Made {
    Found,
    Built,
}

/// Makes sure the PCH at `file` exists, building it from `header` with `args` when missing.
/// `Err(None)` means interrupted by `stop`; `Err(Some(why))` means it could not be built (the
/// caller compiles without it).
pub fn ensure(
    clang: &Path,
    header: &Path,
    args: &[OsString],
    file: &Path,
    stop: Option<&AtomicBool>,
) -> Result<Made, Option<String>> {
    if file.is_file() {
        return Ok(Made::Found);
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let fail = |what: &str, e: &dyn std::fmt::Display| Some(format!("{what}: {e}"));
    let lock_path = file.with_extension("pch.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(&lock_path.display().to_string(), &e))?;
    // Released when `lock` is dropped (also by a killed process: the kernel drops the lock).
    lock.lock()
        .map_err(|e| fail(&lock_path.display().to_string(), &e))?;
    if file.is_file() {
        return Ok(Made::Found);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".ecc-pch-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail(&dir.display().to_string(), &e))?;
    let mut cmd = Command::new(clang);
    cmd.args(args)
        .args(["-x", "c-header"])
        .arg(header)
        .arg("-o")
        .arg(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match compile::wait_stoppable(&mut cmd, stop) {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(Some(format!("clang failed to precompile vmlinux.h ({s})"))),
        Err(Waited::Stopped) => return Err(None),
        Err(Waited::Spawn(e)) => return Err(fail(&clang.display().to_string(), &e)),
    }
    tmp.persist(file)
        .map_err(|e| fail(&file.display().to_string(), &e.error))?;
    Ok(Made::Built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_rule() {
        assert!(first_line_includes_vmlinux(
            b"// SPDX\n/* #include <x.h> */\n\n#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n"
        ));
        assert!(first_line_includes_vmlinux(b"#  include <vmlinux.h>\n"));
        assert!(!first_line_includes_vmlinux(
            b"#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include \"vmlinux.h\"\n"
        ));
        assert!(!first_line_includes_vmlinux(
            b"#include <linux/bpf.h>\n#include \"vmlinux.h\"\n"
        ));
        assert!(!first_line_includes_vmlinux(b"#include \"my/vmlinux.h\"\n"));
        assert!(unusable(b"#include \"vmlinux.h\"\n", &["-DX=1".into()], true).is_none());
        assert!(unusable(
            b"#include \"vmlinux.h\"\n",
            &["-include".into(), "a.h".into()],
            true
        )
        .is_some());
        assert!(unusable(b"#include \"vmlinux.h\"\n", &[], false).is_some());
    }
}
