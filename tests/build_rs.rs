//! ecc's library API from a real build.rs: examples/build-rs is built with cargo (its own
//! target dir under ours, so reruns are incremental) and run; its build script compiled the
//! eBPF program with `ecc::build::Build` and listed the inputs for rerun-if-changed.

mod ecc_harness;

use std::process::Command;

use ecc_harness::*;

#[test]
fn build_rs_example_compiles_and_runs() {
    let work = scratch("build-rs");
    let krate = work.path().join("example");
    // A copy, so the build leaves no Cargo.lock or target in the repository; the path
    // dependency points back at this checkout, and ecc's lock file pins the same versions.
    copy_dir(&repo().join("examples/build-rs"), &krate);
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).expect("manifest");
    let manifest = manifest.replace(
        "path = \"../..\"",
        &format!("path = {:?}", repo().display().to_string()),
    );
    std::fs::write(krate.join("Cargo.toml"), manifest).expect("manifest");
    std::fs::copy(repo().join("Cargo.lock"), krate.join("Cargo.lock")).expect("lock");
    let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-rs-target");
    let out = Command::new(env!("CARGO"))
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .env("XDG_CACHE_HOME", cache_home())
        .args(["run"])
        .output()
        .expect("cargo");
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ELF: true; program handle_exec: true"),
        "{stdout}"
    );
    // The build script listed the source and the headers (and no cache file) for cargo.
    let mut reruns = Vec::new();
    for d in std::fs::read_dir(target.join("debug/build"))
        .expect("build dir")
        .flatten()
    {
        let name = d.file_name().to_string_lossy().into_owned();
        if name.starts_with("ecc-build-rs-example-") {
            if let Ok(text) = std::fs::read_to_string(d.path().join("output")) {
                reruns.extend(
                    text.lines()
                        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
                        .map(str::to_string),
                );
            }
        }
    }
    let has = |want: &str| reruns.iter().any(|r| r == want);
    assert!(has("src/minitrace.bpf.c"), "{reruns:?}\n{log}");
    assert!(has("src/minitrace.h"), "{reruns:?}");
    assert!(
        reruns.iter().any(|r| r.ends_with("bpf/bpf_helpers.h")),
        "{reruns:?}"
    );
    assert!(
        !reruns
            .iter()
            .any(|r| r.contains("vmlinux") || r.contains("/tmp/")),
        "{reruns:?}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}
