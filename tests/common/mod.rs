//! Helpers shared by the integration tests: running our binaries and clang, and skipping
//! visibly when the machine lacks something (failing instead under ECC_REQUIRE_KERNEL=1).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(name: &str) -> PathBuf {
    repo().join("testdata").join(name)
}

pub fn bpftool_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wasm-bpftool"))
}

/// Runs our wasm-bpftool and returns its output.
pub fn wasm_bpftool(args: &[&str]) -> Output {
    Command::new(bpftool_bin())
        .args(args)
        .output()
        .expect("run wasm-bpftool")
}

/// Runs our wasm-bpftool, asserting success, and returns stdout as text.
pub fn wasm_bpftool_ok(args: &[&str]) -> String {
    let out = wasm_bpftool(args);
    assert!(
        out.status.success(),
        "wasm-bpftool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Skips the calling test with a visible message, or fails it when the environment says
/// every kernel-dependent test must run (CI sets ECC_REQUIRE_KERNEL=1).
pub fn skip_or_fail(why: &str) {
    if std::env::var("ECC_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("required test cannot run: {why}");
    }
    eprintln!("SKIP: {why}");
}

pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The kernel's BTF, when this machine exposes it.
pub fn vmlinux_available() -> bool {
    std::fs::File::open(VMLINUX).is_ok()
}

/// Runs clang with `args`, returning (success, stderr).
pub fn clang(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("clang")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("clang is installed by scripts/setup.sh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that clang accepts `file` for `target_args`, showing the first errors if not.
pub fn assert_compiles(file: &Path, target_args: &[&str]) {
    let mut args: Vec<&str> = target_args.to_vec();
    args.extend(["-fsyntax-only", "-ferror-limit=20"]);
    let f = file.to_str().expect("utf-8 path");
    args.push(f);
    let (ok, err) = clang(&args, file.parent().expect("parent dir"));
    assert!(ok, "clang {target_args:?} rejected {f}:\n{err}");
}

/// Every committed testdata object.
pub fn testdata_objects() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata"))
        .expect("testdata dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    v
}
