//! Helpers for the `ecc` integration tests: running the binary with an isolated cache and
//! temp directory, decoding packages, and the libbpf helper program.
#![allow(dead_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use base64::Engine as _;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn ecc_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ecc"))
}

/// One cache for all tests, so vmlinux.h is generated once per test run and machine.
pub fn cache_home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ecc-xdg-cache")
}

/// A fresh directory under the target dir (not /tmp, so the TMPDIR checks stay exact).
pub fn scratch(tag: &str) -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ecc-tests");
    std::fs::create_dir_all(&base).expect("create test dir");
    tempfile::Builder::new()
        .prefix(&format!("{tag}-"))
        .tempdir_in(base)
        .expect("temp dir")
}

/// A command for ecc with the test cache; `tmpdir` becomes its TMPDIR when given.
pub fn ecc_cmd(cwd: &Path, tmpdir: Option<&Path>) -> Command {
    let mut c = Command::new(ecc_bin());
    c.current_dir(cwd).env("XDG_CACHE_HOME", cache_home());
    if let Some(t) = tmpdir {
        c.env("TMPDIR", t);
    }
    c
}

/// Runs ecc in `cwd` with `args`.
pub fn ecc(cwd: &Path, args: &[&str]) -> Output {
    ecc_cmd(cwd, None).args(args).output().expect("run ecc")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs ecc and asserts success, showing stderr otherwise.
pub fn ecc_ok(cwd: &Path, args: &[&str]) -> Output {
    let o = ecc(cwd, args);
    assert!(o.status.success(), "ecc {args:?} failed:\n{}", stderr(&o));
    o
}

/// Compiles `testdata/<name>.bpf.c` (with `testdata/<header>` if given) from the repository
/// root, the way a user in the checkout would, into a fresh output directory.
pub fn compile_testdata(name: &str, header: Option<&str>) -> tempfile::TempDir {
    let out = scratch(name);
    let src = format!("testdata/{name}.bpf.c");
    let hdr = header.map(|h| format!("testdata/{h}"));
    let out_s = out.path().to_str().expect("utf-8 path").to_string();
    let mut args = vec![src.as_str()];
    if let Some(h) = &hdr {
        args.push(h);
    }
    args.extend(["-o", out_s.as_str()]);
    ecc_ok(&repo(), &args);
    out
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ELF inside a package: base64, then zlib.
pub fn decode_object(package: &serde_json::Value) -> Vec<u8> {
    let b64 = package["bpf_object"]
        .as_str()
        .expect("bpf_object is a string");
    let z = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("standard padded base64");
    assert_eq!(
        &z[..2],
        b"\x78\x9c",
        "a zlib stream with default compression"
    );
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&z[..])
        .read_to_end(&mut out)
        .expect("valid zlib");
    out
}

/// Whether this machine's kernel BTF is the one the committed testdata was built with.
pub fn kernel_btf_is_recorded() -> bool {
    use sha2::Digest as _;
    let Ok(btf) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        return false;
    };
    let recorded =
        std::fs::read_to_string(repo().join("testdata/vmlinux.btf.sha256")).unwrap_or_default();
    let sha = sha2::Sha256::digest(&btf);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    recorded.split_whitespace().next() == Some(hex.as_str())
}

/// tests/support/list_object.c built against the system libbpf, once per test run.
pub fn list_object_tool() -> PathBuf {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let exe = dir.join(format!("list_object-{}", std::process::id()));
        let out = Command::new("clang")
            .args(["-O1", "-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(repo().join("tests/support/list_object.c"))
            .args(["-lbpf", "-lelf", "-lz"])
            .output()
            .expect("clang is installed by scripts/setup.sh");
        assert!(
            out.status.success(),
            "building list_object: {}",
            stderr(&out)
        );
        exe
    })
    .clone()
}

/// Skips the calling test with a visible message, or fails it when the environment says
/// every kernel-dependent test must run (CI sets ECC_REQUIRE_KERNEL=1).
pub fn skip_or_fail(why: &str) {
    if std::env::var("ECC_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("required test cannot run: {why}");
    }
    eprintln!("SKIP: {why}");
}
