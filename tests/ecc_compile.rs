//! The compile path of issue 13: the precompiled vmlinux.h (used when it applies, built once
//! under concurrency, never changing an output), the same bytes from any directory,
//! `--header-only` next to a program, depfiles make can live with, and all-or-nothing
//! failures (a read-only output, SIGTERM during the compile).

mod ecc_harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use ecc_harness::*;

/// Every testdata program with the header it is compiled with.
const PROGRAMS: [(&str, Option<&str>); 7] = [
    ("bootstrap", Some("bootstrap.h")),
    ("globals", None),
    ("maps", Some("maps.h")),
    ("perf", Some("perf.h")),
    ("hist", None),
    ("types", Some("types.h")),
    ("err_unbounded", None),
];

fn needs_kernel_btf() -> bool {
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        return true;
    }
    skip_or_fail("no /sys/kernel/btf/vmlinux, so no vmlinux.h to precompile");
    false
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Item 2: the PCH changes no output byte, for every testdata program.
#[test]
fn outputs_are_the_same_with_and_without_the_pch() {
    if !needs_kernel_btf() {
        return;
    }
    let mut used = 0;
    for (name, header) in PROGRAMS {
        let src = format!("testdata/{name}.bpf.c");
        let hdr = header.map(|h| format!("testdata/{h}"));
        let run = |extra: &[&str]| {
            let out = scratch(name);
            let mut args = vec!["-v", src.as_str()];
            args.extend(hdr.as_deref());
            args.extend(["-o", s(out.path())]);
            args.extend(extra);
            let log = stderr(&ecc_ok(&repo(), &args));
            drop(args);
            (out, log)
        };
        let (with, log) = run(&[]);
        let (without, log_off) = run(&["--no-pch"]);
        assert!(
            log_off.contains("precompiled vmlinux.h not used: --no-pch"),
            "{log_off}"
        );
        if log.contains("precompiled vmlinux.h (") {
            used += 1;
        }
        for f in [
            format!("{name}.bpf.o"),
            "package.json".into(),
            format!("{name}.skel.json"),
        ] {
            assert!(
                bytes(&with.path().join(&f)) == bytes(&without.path().join(&f)),
                "{name}: {f} differs with the PCH"
            );
        }
    }
    // Of these, only bootstrap includes vmlinux.h (hist and perf declare what they use).
    assert_eq!(used, 1, "the PCH was used for bootstrap");
}

/// Item 1: used only when the first line includes vmlinux.h and no flag acts before it;
/// `-v` says why not; the doc-comment parse loads the same PCH.
#[test]
fn pch_applies_only_where_it_cannot_change_meaning() {
    if !needs_kernel_btf() {
        return;
    }
    let dir = scratch("pch-rules");
    let body = std::fs::read_to_string(repo().join("testdata/bootstrap.bpf.c")).expect("source");
    std::fs::copy(
        repo().join("testdata/bootstrap.h"),
        dir.path().join("bootstrap.h"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("plain.bpf.c"), &body).expect("write");
    std::fs::write(
        dir.path().join("defines.bpf.c"),
        format!("#define BPF_NO_PRESERVE_ACCESS_INDEX\n{body}"),
    )
    .expect("write");
    let log = |args: &[&str]| stderr(&ecc_ok(dir.path(), args));
    let plain = log(&["-v", "plain.bpf.c", "bootstrap.h", "-o", "a"]);
    assert!(plain.contains("precompiled vmlinux.h ("), "{plain}");
    assert!(plain.contains("-include-pch"), "{plain}");
    assert!(
        plain.contains("with the precompiled vmlinux.h"),
        "docs use it too:\n{plain}"
    );
    let defines = log(&["-v", "defines.bpf.c", "bootstrap.h", "-o", "b"]);
    assert!(
        defines.contains("not used: the source's first line is not #include \"vmlinux.h\""),
        "{defines}"
    );
    assert!(!defines.contains("-include-pch"), "{defines}");
    std::fs::write(dir.path().join("first.h"), "#define FIRST 1\n").expect("write");
    let include = log(&[
        "-v",
        "plain.bpf.c",
        "bootstrap.h",
        "-o",
        "c",
        "--",
        "-include",
        "first.h",
    ]);
    assert!(
        include.contains("not used: the flag -include acts before"),
        "{include}"
    );
    // A user define reaches the PCH's key: a different PCH, still used.
    let define = log(&[
        "-v",
        "plain.bpf.c",
        "bootstrap.h",
        "-o",
        "d",
        "-a",
        "-DECC_TEST_DEFINE=1",
    ]);
    let pch_of = |log: &str| {
        log.lines()
            .find(|l| l.contains("precompiled vmlinux.h ("))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    assert!(
        pch_of(&define).is_some() && pch_of(&define) != pch_of(&plain),
        "{define}"
    );
}

/// Item 1: concurrent runs against a cache without the PCH build it once, and nobody
/// reads a half-written one.
#[test]
fn concurrent_runs_build_the_pch_once() {
    if !needs_kernel_btf() {
        return;
    }
    // Warm the shared cache's vmlinux.h, then give the runs a fresh cache holding only it.
    let warm = compile_testdata("bootstrap", Some("bootstrap.h"));
    drop(warm);
    let cache = scratch("pch-cache");
    let ecc_cache = cache.path().join("ecc");
    std::fs::create_dir_all(&ecc_cache).expect("mkdir");
    for e in std::fs::read_dir(cache_home().join("ecc")).expect("shared cache") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("vmlinux-") {
            let to = ecc_cache.join(&name);
            std::fs::create_dir_all(&to).expect("mkdir");
            std::fs::copy(e.path().join("vmlinux.h"), to.join("vmlinux.h")).expect("copy");
        } else if name.ends_with(".key") || name.starts_with("clang-") {
            std::fs::copy(e.path(), ecc_cache.join(&name)).expect("copy");
        }
    }
    let outs: Vec<_> = (0..4).map(|i| scratch(&format!("pch-par{i}"))).collect();
    let procs: Vec<_> = outs
        .iter()
        .map(|o| {
            Command::new(ecc_bin())
                .current_dir(repo())
                .env("XDG_CACHE_HOME", cache.path())
                .args([
                    "-v",
                    "testdata/bootstrap.bpf.c",
                    "testdata/bootstrap.h",
                    "-o",
                    s(o.path()),
                ])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn ecc")
        })
        .collect();
    let logs: Vec<String> = procs
        .into_iter()
        .map(|p| {
            let o = p.wait_with_output().expect("wait");
            assert!(o.status.success(), "{}", stderr(&o));
            stderr(&o)
        })
        .collect();
    let built = logs
        .iter()
        .filter(|l| l.contains("precompiled vmlinux.h (built in"))
        .count();
    let cached = logs
        .iter()
        .filter(|l| l.contains("precompiled vmlinux.h (cached)"))
        .count();
    assert_eq!((built, cached), (1, 3), "{logs:#?}");
    let mut pchs = Vec::new();
    let mut temps = Vec::new();
    for d in std::fs::read_dir(&ecc_cache).expect("cache").flatten() {
        if !d.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(d.path()).expect("dir").flatten() {
            let n = f.file_name().to_string_lossy().into_owned();
            if n.ends_with(".clang.pch") {
                pchs.push(n);
            } else if n.starts_with(".ecc-") {
                temps.push(n);
            }
        }
    }
    assert_eq!(pchs.len(), 1, "{pchs:?}");
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    let first = bytes(&outs[0].path().join("bootstrap.bpf.o"));
    for o in &outs[1..] {
        assert!(bytes(&o.path().join("bootstrap.bpf.o")) == first);
    }
}

/// Item 4: one source compiled from three working directories and through a symlinked
/// directory gives the same object and package, byte for byte.
#[test]
fn same_bytes_from_any_directory() {
    let root = scratch("anydir");
    let deep = root.path().join("a/deep");
    std::fs::create_dir_all(&deep).expect("mkdir");
    for f in ["maps.bpf.c", "maps.h"] {
        std::fs::copy(repo().join("testdata").join(f), deep.join(f)).expect("copy");
    }
    std::os::unix::fs::symlink(&deep, root.path().join("link")).expect("symlink");
    let out = |tag: &str| root.path().join(format!("out-{tag}"));
    let o = |tag: &str| out(tag).to_str().expect("utf-8").to_string();
    ecc_ok(
        root.path(),
        &["./a/deep/maps.bpf.c", "a/deep/maps.h", "-o", &o("root")],
    );
    ecc_ok(
        &root.path().join("a"),
        &["deep/maps.bpf.c", "./deep/maps.h", "-o", &o("a")],
    );
    ecc_ok(&deep, &["maps.bpf.c", "maps.h", "-o", &o("deep")]);
    ecc_ok(
        root.path(),
        &["link/maps.bpf.c", "link/maps.h", "-o", &o("link")],
    );
    for f in ["maps.bpf.o", "package.json", "maps.skel.json"] {
        let want = bytes(&out("root").join(f));
        for tag in ["a", "deep", "link"] {
            assert!(bytes(&out(tag).join(f)) == want, "{f} from {tag} differs");
        }
    }
    // The object names the source by its name, and still carries the source lines.
    let obj = bytes(&out("root").join("maps.bpf.o"));
    let has = |needle: &[u8]| obj.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"./maps.bpf.c\0"));
    assert!(!has(b"deep/maps.bpf.c"));
    assert!(has(b"bpf_ringbuf_reserve"), "line info has no source text");
}

/// Item 5: `--header-only` after a program compile keeps the program's object and package;
/// a package without programs is refused by `ecc run` and `ecc verify`.
#[test]
fn header_only_never_replaces_a_program() {
    let dir = scratch("hdr-only");
    for f in ["maps.bpf.c", "maps.h"] {
        std::fs::copy(repo().join("testdata").join(f), dir.path().join(f)).expect("copy");
    }
    ecc_ok(dir.path(), &["maps.bpf.c", "maps.h"]);
    let program = bytes(&dir.path().join("maps.bpf.o"));
    let package = bytes(&dir.path().join("package.json"));
    let o = ecc_ok(dir.path(), &["--header-only", "maps.h"]);
    assert!(
        stderr(&o).contains("holds a program, kept"),
        "{}",
        stderr(&o)
    );
    assert!(bytes(&dir.path().join("maps.bpf.o")) == program);
    assert!(bytes(&dir.path().join("package.json")) == package);
    let types = bytes(&dir.path().join("maps.h.bpf.o"));
    let parsed = ecc::elf::object::Object::parse(&types).expect("types object parses");
    assert!(parsed.programs.is_empty());
    assert!(parsed.btf.find("event", ecc::btf::Kind::Struct).is_some());
    assert!(dir.path().join("maps.wasm.h").is_file());

    // The two-step flow of the wasm-bpf Makefiles: header first, then the program.
    let flow = scratch("hdr-flow");
    for f in ["maps.bpf.c", "maps.h"] {
        std::fs::copy(repo().join("testdata").join(f), flow.path().join(f)).expect("copy");
    }
    ecc_ok(flow.path(), &["--header-only", "maps.h"]);
    let t = ecc::elf::object::Object::parse(&bytes(&flow.path().join("maps.bpf.o")))
        .expect("parses")
        .programs
        .len();
    assert_eq!(t, 0, "the first step writes the types-only maps.bpf.o");
    ecc_ok(flow.path(), &["maps.bpf.c", "maps.h"]);
    assert!(bytes(&flow.path().join("maps.bpf.o")) == program);

    // A package around a types-only object: both runner commands refuse it.
    let mut pkg = read_json(&dir.path().join("package.json"));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &types).expect("zlib");
    use base64::Engine as _;
    pkg["bpf_object"] = base64::engine::general_purpose::STANDARD
        .encode(z.finish().expect("zlib"))
        .into();
    pkg["bpf_object_size"] = types.len().into();
    for k in ["maps", "progs", "data_sections"] {
        pkg["meta"]["bpf_skel"][k] = serde_json::json!([]);
    }
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, pkg.to_string()).expect("write");
    for sub in ["run", "verify"] {
        let o = ecc(dir.path(), &[sub, "empty.json"]);
        assert_eq!(o.status.code(), Some(1), "ecc {sub}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no programs"),
            "ecc {sub}: {}",
            stderr(&o)
        );
    }
}

/// Item 6: with ecc's depfile, make rebuilds when a header changes, keeps working when a
/// header is deleted (and the source no longer includes it) and when the cache is deleted.
#[test]
fn depfile_works_with_make() {
    if !needs_kernel_btf() {
        return;
    }
    let dir = scratch("make");
    let body = std::fs::read_to_string(repo().join("testdata/bootstrap.bpf.c")).expect("source");
    std::fs::write(dir.path().join("prog.bpf.c"), &body).expect("write");
    std::fs::copy(
        repo().join("testdata/bootstrap.h"),
        dir.path().join("bootstrap.h"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("extra.h"), "#define EXTRA 1\n").expect("write");
    let with_extra = body.replacen(
        "#include \"bootstrap.h\"",
        "#include \"bootstrap.h\"\n#include \"extra.h\"",
        1,
    );
    assert_ne!(with_extra, body);
    std::fs::write(dir.path().join("prog.bpf.c"), &with_extra).expect("write");
    let cache = scratch("make-cache");
    std::fs::write(
        dir.path().join("Makefile"),
        format!(
            "prog.bpf.o: prog.bpf.c\n\t{} -M prog.d prog.bpf.c bootstrap.h\n-include prog.d\n",
            ecc_bin().display()
        ),
    )
    .expect("Makefile");
    let make = || {
        let o = Command::new("make")
            .current_dir(dir.path())
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .expect("make is installed by scripts/setup.sh");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o),
        )
    };
    let (ok, log) = make();
    assert!(ok, "{log}");
    let dep = std::fs::read_to_string(dir.path().join("prog.d")).expect("prog.d");
    assert!(
        !dep.contains("vmlinux"),
        "the cached vmlinux.h is listed:\n{dep}"
    );
    assert!(!dep.contains(".pch"), "{dep}");
    let first_rule = dep.split("\n\n").next().unwrap_or_default();
    assert_eq!(first_rule.matches("bootstrap.h").count(), 1, "{dep}");
    assert!(
        dep.contains("\nextra.h:\n"),
        "no phony target for extra.h:\n{dep}"
    );
    // Up to date.
    let (ok, log) = make();
    assert!(ok && log.contains("up to date"), "{log}");
    // The cache goes away: make does not care.
    std::fs::remove_dir_all(cache.path()).expect("rm cache");
    let (ok, log) = make();
    assert!(ok && log.contains("up to date"), "{log}");
    // A header goes away with its include: make rebuilds instead of failing.
    std::fs::write(dir.path().join("prog.bpf.c"), &body).expect("write");
    std::fs::remove_file(dir.path().join("extra.h")).expect("rm");
    let (ok, log) = make();
    assert!(ok && !log.contains("No rule to make target"), "{log}");
    assert!(!std::fs::read_to_string(dir.path().join("prog.d"))
        .expect("prog.d")
        .contains("extra.h"));
}

/// Item 7: a read-only output fails the run before any output is replaced; the error names
/// the file.
#[test]
fn read_only_output_replaces_nothing() {
    let dir = scratch("readonly");
    for f in ["maps.bpf.c", "maps.h"] {
        std::fs::copy(repo().join("testdata").join(f), dir.path().join(f)).expect("copy");
    }
    let old = b"old object".to_vec();
    std::fs::write(dir.path().join("maps.bpf.o"), &old).expect("write");
    std::fs::write(dir.path().join("package.json"), b"{}").expect("write");
    let ro = std::fs::Permissions::from_mode(0o444);
    std::fs::set_permissions(dir.path().join("package.json"), ro).expect("chmod");
    let o = ecc(dir.path(), &["maps.bpf.c", "maps.h"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("package.json"), "{}", stderr(&o));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    assert_eq!(bytes(&dir.path().join("maps.bpf.o")), old);
    assert_eq!(bytes(&dir.path().join("package.json")), b"{}");
    assert!(!dir.path().join("maps.skel.json").exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ecc-"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

use std::os::unix::fs::PermissionsExt as _;

/// Item 7: SIGTERM (and SIGINT) during the compile stop clang, remove the temp directory
/// and write nothing; ecc exits with 130.
#[test]
fn signal_stops_clang_and_cleans_up() {
    if !needs_kernel_btf() {
        return;
    }
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let dir = scratch("signal");
        let tmp = scratch("signal-tmp");
        let out = dir.path().join("out");
        let mut child = ecc_cmd(&repo(), Some(tmp.path()))
            .args([
                "testdata/bootstrap.bpf.c",
                "testdata/bootstrap.h",
                "--no-pch",
                "-o",
                s(&out),
            ])
            .spawn()
            .expect("spawn ecc");
        // Wait until clang runs (its wrapper exists in ecc's temp dir), then signal ecc alone.
        let wrapper = || -> Option<PathBuf> {
            let d = std::fs::read_dir(tmp.path()).ok()?.flatten().next()?.path();
            Some(d.join("src/bootstrap.bpf.c")).filter(|w| w.exists())
        };
        let t = std::time::Instant::now();
        let w = loop {
            if let Some(w) = wrapper() {
                break w;
            }
            assert!(t.elapsed().as_secs() < 60, "ecc never started clang");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        std::thread::sleep(std::time::Duration::from_millis(30));
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: plain kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(130), "signal {sig}");
        assert!(!w.exists(), "wrapper left behind");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("tmp")
            .flatten()
            .collect();
        assert!(left.is_empty(), "temp dir left: {left:?}");
        assert!(!out.join("bootstrap.bpf.o").exists() && !out.join("package.json").exists());
        // No clang still compiling the wrapper.
        let w = w.to_string_lossy().into_owned();
        let busy = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .any(|p| {
                std::fs::read(p.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&w))
            });
        assert!(!busy, "clang still runs on {w}");
    }
}
