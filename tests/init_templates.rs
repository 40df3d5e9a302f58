//! `ecc init`: each template is generated into a temp dir, snapshot-tested, built with make
//! (a second make does nothing, touching the header rebuilds, `make -j` is safe) and run
//! for 2 s as root, printing the events of a process the test spawns.

mod ecc_harness;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ecc_harness::{cache_home, ecc, scratch, stderr};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file under `dir`, sorted, with its contents: the snapshot of a generated tree.
fn tree(dir: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut s = String::new();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap().display().to_string();
        s.push_str(&format!(
            "===== {rel}\n{}",
            std::fs::read_to_string(&f).unwrap()
        ));
    }
    s
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn init_refuses_existing_paths_and_bad_names() {
    let dir = scratch("init-refuse");
    let d = dir.path();
    std::fs::create_dir(d.join("taken")).unwrap();
    std::fs::write(d.join("taken/keep.txt"), "mine").unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::write(d.join("afile"), "mine").unwrap();
    let before = listing(d);
    for (name, words) in [
        ("taken", "already exists"),
        ("empty", "already exists"),
        ("afile", "already exists"),
        ("1x", "not a usable project name"),
        ("my-tool", "C identifier"),
        ("int", "C keyword"),
        ("vmlinux", "not a usable project name"),
    ] {
        for template in ["package", "libbpf", "wasm"] {
            let o = ecc(d, &["init", name, "--template", template]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{name}: {err}");
            assert!(err.starts_with("ecc init: error: "), "{name}: {err}");
            assert!(err.contains(name) && err.contains(words), "{name}: {err}");
            assert_eq!(err.lines().count(), 1, "{name}: {err}");
            assert!(o.stdout.is_empty(), "{name}");
            // Nothing written: no project, no leftover temp dir, the old contents intact.
            assert_eq!(listing(d), before, "{name}");
        }
    }
    assert_eq!(listing(&d.join("taken")), ["keep.txt"]);
    assert!(listing(&d.join("empty")).is_empty());
    // The parent must exist: an error, nothing written.
    let o = ecc(d, &["init", "no/such/dir/proj"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(listing(d), before);
    // A path: the last component names the project.
    let o = ecc(d, &["init", "taken/sub_proj"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("taken/sub_proj/sub_proj.bpf.c").is_file());
}

#[test]
fn generated_trees_match_the_snapshots() {
    for template in ["package", "libbpf", "wasm"] {
        let dir = scratch("init-snap");
        let o = ecc(dir.path(), &["init", "snoop", "-t", template]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("snoop.bpf.c"), "{}", stdout(&o));
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("init__{template}"), tree(&dir.path().join("snoop")));
        });
    }
}

fn make(dir: &Path, args: &[&str]) -> Output {
    Command::new("make")
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache_home())
        .arg(format!("ECC={}", env!("CARGO_BIN_EXE_ecc")))
        .arg(format!("BPFTOOL={}", env!("CARGO_BIN_EXE_wasm-bpftool")))
        .args(args)
        .output()
        .expect("make is installed by scripts/setup.sh")
}

#[track_caller]
fn make_ok(dir: &Path, args: &[&str]) -> String {
    let o = make(dir, args);
    assert!(
        o.status.success(),
        "make {args:?}:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Builds the project like a user: make, make again (nothing to do), touch the header
/// (rebuilds), clean and `make -j` (one ecc run).
fn build_twice(dir: &Path, name: &str) {
    let first = make_ok(dir, &[]);
    assert_eq!(first.matches(" -M ").count(), 1, "{first}");
    let again = make_ok(dir, &[]);
    assert!(
        again.contains("Nothing to be done"),
        "second make did work:\n{again}"
    );
    assert_eq!(
        make(dir, &["-q"]).status.code(),
        Some(0),
        "make -q: up to date"
    );
    // Touching the header makes everything that includes it out of date.
    let header = dir.join(format!("{name}.h"));
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&header)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(
        make(dir, &["-q"]).status.code(),
        Some(1),
        "header change unseen"
    );
    let rebuilt = make_ok(dir, &[]);
    assert!(rebuilt.contains(&format!("{name}.bpf.c")), "{rebuilt}");
    make_ok(dir, &["clean"]);
    // The header's mtime is still in the future; a fast rebuild (the PCH) could finish before
    // it, and make would then rightly redo the work. Bring it back to now.
    std::fs::File::options()
        .write(true)
        .open(&header)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let parallel = make_ok(dir, &["-j8"]);
    assert_eq!(
        parallel.matches(" -M ").count(),
        1,
        "make -j ran ecc twice:\n{parallel}"
    );
    assert!(make_ok(dir, &[]).contains("Nothing to be done"));
}

/// `make run ARGS...` for about 2 s while a uniquely named process execs; its output.
fn run_for_2s(dir: &Path, args: &[&str]) -> (String, String) {
    let scratch_bin = scratch("init-bin");
    let comm = support::unique_name("i");
    let bin = support::named_binary(scratch_bin.path(), &comm);
    let spawner = std::thread::spawn(move || {
        for _ in 0..12 {
            std::thread::sleep(Duration::from_millis(150));
            let _ = Command::new(&bin).status();
        }
    });
    let o = make(dir, args);
    spawner.join().unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "make {args:?}:\n{out}{}", stderr(&o));
    (out, comm)
}

#[test]
fn package_template_builds_twice_and_runs() {
    let dir = scratch("init-package");
    let o = ecc(dir.path(), &["init", "pkgtrace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = dir.path().join("pkgtrace");
    build_twice(&p, "pkgtrace");
    assert!(p.join("package.json").is_file());
    if !support::kernel_or_skip("package_template_builds_twice_and_runs") {
        return;
    }
    let (out, comm) = run_for_2s(&p, &["run", "RUN_FLAGS=--duration 2"]);
    let line = out
        .lines()
        .find(|l| l.contains(&comm))
        .unwrap_or_else(|| panic!("no event for {comm}:\n{out}"));
    assert!(
        line.contains(&format!("/{comm}")),
        "the filename column: {line}"
    );
    assert!(out.contains("PID") && out.contains("FILENAME"), "{out}");
}

#[test]
fn libbpf_template_builds_twice_and_runs() {
    let dir = scratch("init-libbpf");
    let o = ecc(dir.path(), &["init", "-t", "libbpf", "nattrace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = dir.path().join("nattrace");
    build_twice(&p, "nattrace");
    assert!(p.join("nattrace").is_file() && p.join("nattrace.skel.h").is_file());
    if !support::kernel_or_skip("libbpf_template_builds_twice_and_runs") {
        return;
    }
    let (out, comm) = run_for_2s(&p, &["run", "ARGS=-d 2"]);
    assert!(out.contains(&comm), "no event for {comm}:\n{out}");
    // At exit the lifetime histogram from the @sample map, read through the skeleton.
    assert!(out.contains("lifetime (usecs) : count"), "{out}");
}

#[test]
fn wasm_template_builds_twice_and_runs() {
    let dir = scratch("init-wasm");
    let o = ecc(dir.path(), &["init", "--template", "wasm", "wasmtrace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = dir.path().join("wasmtrace");
    build_twice(&p, "wasmtrace");
    let wasm = std::fs::read(p.join("app.wasm")).unwrap();
    assert!(wasm.starts_with(b"\0asm"), "app.wasm is not a Wasm module");
    // The guest's header has the BPF layout, checked by its own asserts when app.c compiled.
    let header = std::fs::read_to_string(p.join("wasmtrace.wasm.h")).unwrap();
    assert!(
        header.contains("struct event {") && header.contains("struct hist {"),
        "{header}"
    );
    // Touching app.c rebuilds the module only.
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(p.join("app.c"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let rebuilt = make_ok(&p, &[]);
    assert!(rebuilt.contains("build-wasm"), "{rebuilt}");
    assert!(!rebuilt.contains(" -M "), "{rebuilt}");
    // Back in the past, so `make run` has nothing to rebuild.
    let earlier = std::time::SystemTime::now() - Duration::from_secs(10);
    std::fs::File::options()
        .write(true)
        .open(p.join("app.c"))
        .unwrap()
        .set_modified(earlier)
        .unwrap();
    // The guest's own usage, without BPF: also compiles the module into the cache, so the
    // run below starts in time for the events.
    let usage = make(&p, &["run", "ARGS=-h"]);
    assert!(usage.status.success(), "{}", stderr(&usage));
    assert!(
        stderr(&usage).contains("usage: app.wasm"),
        "{}",
        stderr(&usage)
    );
    if !support::kernel_or_skip("wasm_template_builds_twice_and_runs") {
        return;
    }
    let (out, comm) = run_for_2s(&p, &["run", "ARGS=-d 2"]);
    let line = out
        .lines()
        .find(|l| l.contains(&comm))
        .unwrap_or_else(|| panic!("no event for {comm}:\n{out}"));
    assert!(
        line.contains(&format!("/{comm}")),
        "the filename column: {line}"
    );
    assert!(out.contains("PID") && out.contains("FILENAME"), "{out}");
    // At exit the lifetime histogram, read by the guest through the map ABI.
    assert!(out.contains("lifetime (usecs) : count"), "{out}");
}
