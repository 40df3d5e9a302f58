//! `ecc` end to end: package.json and .skel.json for the testdata programs (snapshots), the
//! packed object, determinism, the dependency file, ewasm-skel.h, --header-only and docs.

mod ecc_harness;

use std::path::Path;

use ecc_harness::*;
use serde_json::{json, Value};

/// package.json's text with the base64 object replaced by a placeholder; the rest (key
/// order included) is kept as written.
fn redacted(package: &str) -> String {
    let key = "\"bpf_object\": \"";
    let start = package.find(key).expect("bpf_object key") + key.len();
    let len = package[start..].find('"').expect("end of bpf_object");
    format!(
        "{}[redacted: base64 of zlib of the object]{}",
        &package[..start],
        &package[start + len..]
    )
}

/// The `"meta"` value as package.json writes it, moved out one indentation level: what
/// `.skel.json` must hold, byte for byte.
fn meta_text(package: &str) -> String {
    let key = "\n  \"meta\": ";
    let start = package.find(key).expect("meta key") + key.len();
    let end = package.rfind("\n}").expect("end of package.json");
    let mut lines = package[start..end].split('\n');
    let mut text = lines.next().unwrap_or_default().to_string();
    for line in lines {
        text.push('\n');
        text.push_str(line.strip_prefix("  ").expect("meta is indented"));
    }
    text.push('\n');
    text
}

fn snapshot(name: &str, header: Option<&str>) {
    let out = compile_testdata(name, header);
    let package_text =
        std::fs::read_to_string(out.path().join("package.json")).expect("package.json");
    let skel_text =
        std::fs::read_to_string(out.path().join(format!("{name}.skel.json"))).expect("skel.json");
    let package: Value = serde_json::from_str(&package_text).expect("package.json is JSON");
    let skel: Value = serde_json::from_str(&skel_text).expect("skel.json is JSON");
    assert_eq!(
        package["meta"], skel,
        "package.json's meta is the .skel.json"
    );
    // The .skel.json text is the snapshotted package's meta, so it needs no snapshot of its own.
    assert_eq!(
        meta_text(&package_text),
        skel_text,
        "{name}.skel.json is package.json's meta, byte for byte"
    );
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("ecc_package__{name}"), redacted(&package_text));
    });
}

#[test]
fn snapshot_globals_every_kind_of_global() {
    snapshot("globals", None);
}

#[test]
fn snapshot_maps_multi_struct_header() {
    snapshot("maps", Some("maps.h"));
}

#[test]
fn snapshot_perf() {
    snapshot("perf", Some("perf.h"));
}

#[test]
fn snapshot_hist() {
    snapshot("hist", None);
}

#[test]
fn snapshot_types_header() {
    snapshot("types", Some("types.h"));
}

#[test]
fn snapshot_bootstrap() {
    // bootstrap includes vmlinux.h, so its BTF (and type ids) depend on the kernel.
    if !kernel_btf_is_recorded() {
        eprintln!("SKIP: snapshot_bootstrap: this kernel's BTF is not the one recorded in testdata/vmlinux.btf.sha256");
        return;
    }
    snapshot("bootstrap", Some("bootstrap.h"));
}

/// The packed object is the written .bpf.o, byte for byte, and its size is recorded.
#[test]
fn packed_object_is_the_written_object() {
    for (name, header) in [
        ("maps", Some("maps.h")),
        ("globals", None),
        ("bootstrap", Some("bootstrap.h")),
    ] {
        if name == "bootstrap" && !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            eprintln!("SKIP: bootstrap needs /sys/kernel/btf/vmlinux");
            continue;
        }
        let out = compile_testdata(name, header);
        let package = read_json(&out.path().join("package.json"));
        let obj = std::fs::read(out.path().join(format!("{name}.bpf.o"))).expect("object");
        let packed = decode_object(&package);
        assert!(
            packed == obj,
            "{name}: bpf_object differs from {name}.bpf.o"
        );
        assert_eq!(package["bpf_object_size"], json!(obj.len()), "{name}");
        // Stripped: no DWARF, BTF kept.
        let parsed = ecc::elf::object::Object::parse(&obj).expect("object parses");
        assert!(
            parsed
                .sections
                .iter()
                .all(|s| !s.name.starts_with(".debug")),
            "{name}: DWARF left"
        );
        assert!(
            parsed.section(".BTF").is_some() && parsed.section(".BTF.ext").is_some(),
            "{name}"
        );
        // export_types ids point at the named structs of the final object.
        for t in package["meta"]["export_types"].as_array().expect("array") {
            let ty = parsed
                .btf
                .ty(t["type_id"].as_u64().expect("id") as u32)
                .expect("type");
            assert_eq!(ty.kind(), ecc::btf::Kind::Struct);
            assert_eq!(ty.name(), t["name"].as_str().expect("name"));
            assert_eq!(
                ty.members().len(),
                t["members"].as_array().expect("members").len()
            );
        }
    }
}

/// The maps header has three structs; they are exported in header order, even `stats`
/// and `hist`, which the program reaches only as map values.
#[test]
fn export_types_follow_header_order() {
    let out = compile_testdata("maps", Some("maps.h"));
    let package = read_json(&out.path().join("package.json"));
    let names: Vec<&str> = package["meta"]["export_types"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["event", "stats", "hist"]);
}

/// Same input, same bytes, whatever the absolute location: build the same files from two
/// different directories and compare; and no scratch or checkout path reaches the object.
#[test]
fn output_is_deterministic_and_path_free() {
    let mut packages = Vec::new();
    for tag in ["det-a", "det-b-longer-name"] {
        let dir = scratch(tag);
        for f in ["maps.bpf.c", "maps.h"] {
            std::fs::copy(repo().join("testdata").join(f), dir.path().join(f)).expect("copy");
        }
        ecc_ok(dir.path(), &["maps.bpf.c", "maps.h"]);
        let pkg = std::fs::read(dir.path().join("package.json")).expect("package");
        let obj = std::fs::read(dir.path().join("maps.bpf.o")).expect("object");
        let dir_s = dir.path().to_str().expect("utf-8").as_bytes().to_vec();
        assert!(
            !obj.windows(dir_s.len()).any(|w| w == dir_s),
            "the object names its directory"
        );
        for needle in [b"/tmp/".as_slice(), b"ecc-".as_slice(), b"/work".as_slice()] {
            assert!(
                !obj.windows(needle.len()).any(|w| w == needle),
                "object contains {:?}",
                String::from_utf8_lossy(needle)
            );
        }
        packages.push(pkg);
        // A second run in place gives the same bytes too.
        ecc_ok(dir.path(), &["maps.bpf.c", "maps.h"]);
        assert!(
            std::fs::read(dir.path().join("package.json")).expect("package")
                == packages[packages.len() - 1]
        );
    }
    assert!(
        packages[0] == packages[1],
        "package.json depends on the directory it was built in"
    );
}

#[test]
fn depfile_lists_every_header() {
    let out = scratch("depfile");
    let dep = out.path().join("deps.d");
    let o = out.path().to_str().expect("utf-8");
    let d = dep.to_str().expect("utf-8");
    ecc_ok(
        &repo(),
        &["testdata/maps.bpf.c", "testdata/maps.h", "-o", o, "-M", d],
    );
    let text = std::fs::read_to_string(&dep).expect("depfile");
    let (targets, deps) = text.split_once(':').expect("a make rule");
    assert_eq!(
        targets,
        format!("{o}/maps.bpf.o {o}/maps.skel.json {o}/package.json"),
        "targets are the outputs"
    );
    let deps: Vec<&str> = deps.split_whitespace().filter(|t| *t != "\\").collect();
    assert_eq!(deps[0], "testdata/maps.bpf.c", "the source comes first");
    for want in [
        "testdata/maps.h",
        "/usr/include/bpf/bpf_helpers.h",
        "/usr/include/bpf/bpf_helper_defs.h",
        "/usr/include/linux/bpf.h",
    ] {
        assert!(deps.contains(&want), "{want} missing from {deps:?}");
    }
    assert!(
        deps.iter()
            .all(|d| !d.contains("ecc-") && !d.contains("/src/maps.bpf.c")),
        "scratch files leaked: {deps:?}"
    );
    // Every listed file exists, so make can use the rule as it is.
    for d in &deps {
        assert!(repo().join(d).exists(), "{d} does not exist");
    }
}

/// ewasm-skel.h compiles, and the string it embeds is package.json byte for byte.
#[test]
fn wasm_header_embeds_package_exactly() {
    let out = scratch("ewasm");
    let o = out.path().to_str().expect("utf-8");
    ecc_ok(
        &repo(),
        &["testdata/globals.bpf.c", "--wasm-header", "-o", o],
    );
    let main = out.path().join("dump.c");
    std::fs::write(
        &main,
        "#include <stdio.h>\n#include <string.h>\n#include \"ewasm-skel.h\"\n\
         int main(void) { fwrite(program_data, 1, strlen(program_data), stdout); return 0; }\n",
    )
    .expect("write");
    let exe = out.path().join("dump");
    let cc = std::process::Command::new("clang")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&main)
        .output()
        .expect("clang");
    assert!(
        cc.status.success(),
        "ewasm-skel.h does not compile:\n{}",
        stderr(&cc)
    );
    let run = std::process::Command::new(&exe).output().expect("run");
    let package = std::fs::read(out.path().join("package.json")).expect("package");
    assert!(
        run.stdout == package,
        "embedded string differs from package.json"
    );
    // Also for wasm32, the target it is for.
    let (ok, err) = wasm_syntax_check(&out.path().join("ewasm-skel.h"));
    assert!(ok, "{err}");
}

fn wasm_syntax_check(header: &Path) -> (bool, String) {
    let o = std::process::Command::new("clang")
        .args([
            "--target=wasm32",
            "-ffreestanding",
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-x",
            "c",
        ])
        .arg(header)
        .output()
        .expect("clang");
    (o.status.success(), stderr(&o))
}

/// --header-only compiles just the header's structs into BTF.
#[test]
fn header_only_compiles_header_structs() {
    let out = scratch("header-only");
    let o = out.path().to_str().expect("utf-8");
    ecc_ok(&repo(), &["--header-only", "testdata/maps.h", "-o", o]);
    let obj = std::fs::read(out.path().join("maps.bpf.o")).expect("maps.bpf.o");
    let parsed = ecc::elf::object::Object::parse(&obj).expect("parses");
    assert!(parsed.programs.is_empty());
    for s in ["event", "stats", "hist"] {
        assert!(
            parsed.btf.find(s, ecc::btf::Kind::Struct).is_some(),
            "struct {s} not in BTF"
        );
    }
    let package = read_json(&out.path().join("package.json"));
    assert_eq!(
        package["meta"]["export_types"].as_array().map(Vec::len),
        Some(3)
    );
    // The Wasm-layout header for the same structs compiles for wasm32, asserts included.
    let wasm_h = out.path().join("maps.wasm.h");
    let text = std::fs::read_to_string(&wasm_h).expect("maps.wasm.h");
    for s in ["struct event", "struct stats", "struct hist"] {
        assert!(text.contains(s), "{s} missing from maps.wasm.h");
    }
    let (ok, err) = wasm_syntax_check(&wasm_h);
    assert!(ok, "{err}");
}

/// Doc comments: descriptions (multi-line joined), @cmdarg, @sample, attach options and
/// the LICENSE doc, from tests/support/docs.bpf.c.
#[test]
fn doc_comments_become_metadata() {
    let out = scratch("docs");
    let o = out.path().to_str().expect("utf-8");
    let run = ecc_ok(&repo(), &["tests/support/docs.bpf.c", "-o", o]);
    assert!(!stderr(&run).contains("warning"), "{}", stderr(&run));
    let skel = read_json(&out.path().join("docs.skel.json"))["bpf_skel"].clone();
    let var = |n: &str| {
        skel["data_sections"]
            .as_array()
            .expect("sections")
            .iter()
            .flat_map(|s| s["variables"].as_array().expect("vars").iter())
            .find(|v| v["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no variable {n}"))
    };
    assert_eq!(
        var("threshold"),
        json!({"name": "threshold", "type": "unsigned int", "offset": 0, "size": 4,
               "description": "packets above this size are counted as large ones, measured in bytes",
               "cmdarg": {"default": 512, "long": "threshold", "short": "t", "help": "large packet size"}})
    );
    assert_eq!(var("mode")["value"], json!(2));
    assert_eq!(var("mode")["unit"], json!("level"));
    let map = |n: &str| {
        skel["maps"]
            .as_array()
            .expect("maps")
            .iter()
            .find(|m| m["name"] == n)
            .cloned()
            .expect("map")
    };
    assert_eq!(
        map("sizes")["sample"],
        json!({"interval": 1000, "type": "log2_hist", "unit": "bytes"})
    );
    assert_eq!(map("sizes")["description"], json!("packet sizes"));
    let prog = |n: &str| {
        skel["progs"]
            .as_array()
            .expect("progs")
            .iter()
            .find(|p| p["name"] == n)
            .cloned()
            .expect("prog")
    };
    assert_eq!(
        prog("count_tc"),
        json!({"name": "count_tc", "attach": "tc", "link": true, "description": "counts packets on ingress",
               "tchook": {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}, "tcopts": {"handle": 1, "priority": 1}})
    );
    assert_eq!(prog("count_xdp")["xdpopts"], json!({"old_prog_fd": 0}));
    assert_eq!(prog("count_xdp")["ifindex"], json!(1));
    assert_eq!(prog("count_xdp")["flags"], json!(0));
    assert_eq!(
        skel["doc"],
        json!({"brief": "packet size statistics", "version": "1.2", "author": "ecc team",
               "details": "counts packets by size on tc ingress and xdp"})
    );
}

/// Without libclang the package is still written, without docs, after one warning.
#[test]
fn missing_libclang_warns_once() {
    let out = scratch("no-libclang");
    let o = out.path().to_str().expect("utf-8");
    let empty = scratch("no-libclang-lib");
    let run = ecc_cmd(&repo(), None)
        .env("LIBCLANG_PATH", empty.path())
        .args(["testdata/globals.bpf.c", "-o", o])
        .output()
        .expect("run ecc");
    let err = stderr(&run);
    assert!(run.status.success(), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("libclang")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("install libclang1-14"), "{err}");
    let skel = read_json(&out.path().join("globals.skel.json"));
    assert!(!skel.to_string().contains("description"));
    assert!(skel["bpf_skel"].get("doc").is_none());
}

/// Flags reach clang: -a (split on whitespace, as the original), `--` verbatim, and the
/// target architecture.
#[test]
fn flags_reach_clang() {
    let dir = scratch("flags");
    std::fs::write(
        dir.path().join("f.bpf.c"),
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
         #if A != 1 || B != 2 || C != 3\n#error flags\n#endif\n\
         #ifndef __TARGET_ARCH_arm64\n#error arch\n#endif\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n\
         SEC(\"tp/sched/sched_process_exec\") int f(void *ctx) { return 0; }\n",
    )
    .expect("write");
    ecc_ok(
        dir.path(),
        &[
            "f.bpf.c",
            "-a",
            "-DA=1 -DB=2",
            "--target-arch",
            "arm64",
            "--",
            "-DC=3",
        ],
    );
    assert!(dir.path().join("package.json").is_file());
    let bad = ecc(dir.path(), &["f.bpf.c", "--target-arch", "vax"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("unknown target architecture 'vax'"));
}

/// --btf replaces the kernel BTF that vmlinux.h comes from. The BTF of types.bpf.o has
/// `struct packed_bits`, which no kernel has: the source compiles only if --btf was used.
#[test]
fn btf_option_uses_the_given_file() {
    let dir = scratch("btf");
    std::fs::write(
        dir.path().join("k.bpf.c"),
        "#include \"vmlinux.h\"\nstruct packed_bits g;\n\
         char LICENSE[] __attribute__((section(\"license\"))) = \"GPL\";\n\
         __attribute__((section(\"tp/sched/sched_process_exec\"), used)) int f(void *ctx) { return g.c; }\n",
    )
    .expect("write");
    // A copy, so that it can be rewritten below.
    let btf = dir.path().join("other.btf");
    std::fs::copy(repo().join("testdata/types.bpf.o"), &btf).expect("copy");
    let btf_s = btf.to_str().expect("utf-8");
    let run = ecc_ok(dir.path(), &["k.bpf.c", "--btf", btf_s]);
    assert!(
        dir.path().join("package.json").is_file(),
        "{}",
        stderr(&run)
    );
    ecc_ok(dir.path(), &["k.bpf.c", "--btf", btf_s]);
    // The same path with other content: the cached vmlinux.h must not be reused.
    std::fs::write(
        &btf,
        std::fs::read(repo().join("testdata/perf.bpf.o")).expect("read"),
    )
    .expect("rewrite");
    let stale = ecc(dir.path(), &["k.bpf.c", "--btf", btf_s]);
    assert_eq!(
        stale.status.code(),
        Some(1),
        "a rewritten --btf file reused the old vmlinux.h"
    );
    assert!(stderr(&stale).contains("packed_bits"), "{}", stderr(&stale));
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        let without = ecc(dir.path(), &["k.bpf.c"]);
        assert_eq!(
            without.status.code(),
            Some(1),
            "the kernel's vmlinux.h has struct packed_bits?"
        );
    }
    let missing = ecc(dir.path(), &["k.bpf.c", "--btf", "nope.btf"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nope.btf: no such file"),
        "{}",
        stderr(&missing)
    );
}

/// The tracer in README.md compiles as the document says, with the outputs it lists.
#[test]
fn readme_example_builds() {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        skip_or_fail("the README example includes vmlinux.h, which needs /sys/kernel/btf/vmlinux");
        return;
    }
    let doc = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let dir = scratch("using-md");
    // Each ```c block follows a paragraph starting with `file-name`.
    let mut last_name = None;
    let mut lines = doc.lines();
    let mut written = Vec::new();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix('`').filter(|r| !r.starts_with('`')) {
            last_name = rest.split('`').next().map(str::to_string);
        }
        if line == "```c" {
            let name = last_name.take().expect("a file name before each C block");
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            std::fs::write(dir.path().join(&name), body.join("\n") + "\n").expect("write");
            written.push(name);
        }
    }
    assert_eq!(written, ["minitrace.h", "minitrace.bpf.c"]);
    let run = ecc_ok(dir.path(), &["minitrace.bpf.c", "minitrace.h"]);
    assert!(stderr(&run).is_empty(), "{}", stderr(&run));
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed = doc
        .lines()
        .skip_while(|l| *l != "$ ls")
        .nth(1)
        .expect("the ls line")
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert_eq!(files, listed);
    let skel = read_json(&dir.path().join("minitrace.skel.json"));
    assert_eq!(skel["export_types"][0]["name"], json!("event"));
    assert_eq!(
        skel["bpf_skel"]["data_sections"][0]["variables"][0]["cmdarg"]["long"],
        json!("pid")
    );
    assert_eq!(skel["bpf_skel"]["doc"]["version"], json!("1.0"));
}
