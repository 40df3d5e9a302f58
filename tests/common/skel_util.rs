//! Helpers shared by the skeleton tests: running our binary and external compilers with
//! full context on failure, decoding the embedded ELF string, and the kernel-test skip rule.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_wasm-bpftool");

/// The testdata objects a skeleton is generated for.
pub const OBJECTS: &[&str] = &["bootstrap", "globals", "types", "maps", "hist", "perf"];

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Runs `cmd` and returns its output, panicking with the command line, the exit status and
/// stderr when it fails.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstderr:\n{}\nstdout:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// `wasm-bpftool [args...]` stdout as text.
#[track_caller]
pub fn ours(args: &[&str]) -> String {
    let out = run_ok(Command::new(BIN).args(args));
    String::from_utf8(out.stdout).expect("skeleton is UTF-8")
}

/// The body of the string literal returned by `<obj>__elf_bytes`, decoded as a C compiler
/// would decode it (every escape C has, so that a wrong escape shows up as wrong bytes).
pub fn embedded_elf(skel: &str) -> Vec<u8> {
    // The literal opens with a quote and a line continuation; no other string does.
    let start = skel.find("\"\\\n").expect("no elf_bytes literal") + 1;
    let body = &skel[start..];
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match bytes[i] {
            b'"' => break,
            b'\\' => {
                i += 1;
                match bytes[i] {
                    b'\n' => i += 1,
                    b'x' => {
                        i += 1;
                        let mut v = 0u32;
                        while bytes[i].is_ascii_hexdigit() {
                            v = v * 16 + (bytes[i] as char).to_digit(16).unwrap();
                            i += 1;
                        }
                        assert!(v < 256, "hex escape out of range at {i}");
                        out.push(v as u8);
                    }
                    b'0'..=b'7' => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 3 && (b'0'..=b'7').contains(&bytes[i]) {
                            v = v * 8 + u32::from(bytes[i] - b'0');
                            i += 1;
                            n += 1;
                        }
                        out.push(v as u8);
                    }
                    c @ (b'\\' | b'"' | b'\'' | b'?') => {
                        out.push(c);
                        i += 1;
                    }
                    b'n' => {
                        out.push(b'\n');
                        i += 1;
                    }
                    b't' => {
                        out.push(b'\t');
                        i += 1;
                    }
                    c => panic!("unexpected escape \\{} at {i}", c as char),
                }
            }
            b'\n' => panic!("raw newline inside the string literal at {i}"),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether kernel tests may run: root, or skip with a visible message (fail when
/// ECC_REQUIRE_KERNEL=1).
pub fn kernel_or_skip(test: &str) -> bool {
    let require = std::env::var("ECC_REQUIRE_KERNEL").is_ok_and(|v| v == "1");
    // The effective uid is the third field of the Uid: line.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid_root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !euid_root {
        let why = format!("SKIP: {test} because it needs root to load BPF programs");
        assert!(!require, "{why}, and ECC_REQUIRE_KERNEL=1");
        eprintln!("{why}");
        return false;
    }
    if !Path::new("/sys/kernel/tracing/events").exists() {
        let _ = Command::new("mount")
            .args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"])
            .status();
    }
    if !Path::new("/sys/kernel/tracing/events").exists() {
        let why = format!("SKIP: {test} because tracefs is not mounted and cannot be");
        assert!(!require, "{why}, and ECC_REQUIRE_KERNEL=1");
        eprintln!("{why}");
        return false;
    }
    true
}

/// A skip for a permission failure found only when the program runs (EPERM from bpf()).
pub fn skip_if_eperm(test: &str, out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("Operation not permitted") {
        let why = format!("SKIP: {test} because BPF is not permitted here: {stderr}");
        assert!(
            std::env::var("ECC_REQUIRE_KERNEL").map_or(true, |v| v != "1"),
            "{why}, and ECC_REQUIRE_KERNEL=1"
        );
        eprintln!("{why}");
        return true;
    }
    false
}

/// Compiles testdata/skeleton/sections.bpf.c (not a committed object, so that the shared
/// testdata and other tests' snapshots stay as they are) with the flags build-testdata.sh
/// uses.
pub fn build_sections_object(dir: &Path) -> std::path::PathBuf {
    let multiarch = Command::new("clang")
        .arg("-print-multiarch")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "x86_64-linux-gnu".into());
    let obj = dir.join("sections.bpf.o");
    run_ok(
        Command::new("clang")
            .args([
                "-g",
                "-O2",
                "-target",
                "bpf",
                "-Wall",
                "-Werror",
                "-idirafter",
            ])
            .arg(format!("/usr/include/{multiarch}"))
            .arg("-c")
            .arg(testdata("skeleton/sections.bpf.c"))
            .arg("-o")
            .arg(&obj),
    );
    obj
}
