//! Differential test: `wasm-bpftool btf dump file X format raw` against Debian's bpftool 7.1 on
//! every testdata object, the running kernel's BTF, a module's split BTF, and hand-built blobs
//! that cover every kind and the corner cases of bpftool's printing.
//!
//! Intended differences: none in output. Where we differ it is by refusing input that bpftool
//! (libbpf 1.1) accepts but the kernel would not: reference loops, INTs with impossible sizes,
//! members outside their struct, names that are not UTF-8, out-of-range type ids, FUNCs not
//! pointing at a FUNC_PROTO, byte-swapped BTF. Those inputs are covered by the reader's unit
//! tests and tests/bad_input.rs, not here.

#[path = "common/btf_builder.rs"]
mod btf_builder;
mod common;

use std::path::Path;
use std::process::Command;

use btf_builder::{Builder, BOOL, CHAR, SIGNED};

const OURS: &str = env!("CARGO_BIN_EXE_wasm-bpftool");

fn run(tool: &str, base: Option<&Path>, file: &Path) -> String {
    let mut cmd = Command::new(tool);
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    cmd.args(["btf", "dump", "file"])
        .arg(file)
        .args(["format", "raw"]);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} (scripts/setup.sh installs bpftool): {e}"));
    assert!(
        out.status.success(),
        "{tool} failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("raw dump is UTF-8")
}

/// Compares both tools' output line by line, reporting the first difference.
fn assert_same(base: Option<&Path>, file: &Path) {
    let theirs = run("bpftool", base, file);
    let ours = run(OURS, base, file);
    assert!(
        !theirs.is_empty(),
        "bpftool printed nothing for {}",
        file.display()
    );
    if ours != theirs {
        let (i, (o, t)) = ours
            .lines()
            .zip(theirs.lines())
            .enumerate()
            .find(|(_, (o, t))| o != t)
            .unwrap_or((
                ours.lines().count().min(theirs.lines().count()),
                ("<end>", "<end>"),
            ));
        panic!(
            "{}: raw dumps differ at line {}:\n  ours:    {o}\n  bpftool: {t}\n({} vs {} lines)",
            file.display(),
            i + 1,
            ours.lines().count(),
            theirs.lines().count()
        );
    }
}

#[test]
fn testdata_objects_match_bpftool() {
    let mut n = 0;
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".bpf.o") {
            assert_same(None, &p);
            n += 1;
        }
    }
    assert!(n >= 5, "expected the committed testdata objects, found {n}");
}

#[test]
fn kernel_vmlinux_matches_bpftool() {
    if !common::vmlinux_available() {
        common::skip_or_fail(&format!(
            "kernel_vmlinux_matches_bpftool because {} is unreadable",
            common::VMLINUX
        ));
        return;
    }
    assert_same(None, Path::new(common::VMLINUX));
}

#[test]
fn kernel_module_split_btf_matches_bpftool() {
    let vmlinux = Path::new("/sys/kernel/btf/vmlinux");
    let module = std::fs::read_dir("/sys/kernel/btf").ok().and_then(|d| {
        let mut names: Vec<_> = d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n != "vmlinux"))
            .collect();
        names.sort();
        names.into_iter().next()
    });
    match module {
        Some(m) if std::fs::File::open(vmlinux).is_ok() => assert_same(Some(vmlinux), &m),
        // Not a failure under ECC_REQUIRE_KERNEL: kernels built without modules have none.
        _ => eprintln!(
            "SKIP: kernel_module_split_btf_matches_bpftool because /sys/kernel/btf has no \
             readable module BTF (the hand-built split test covers -B)"
        ),
    }
}

/// One of every kind, with the flags and values that change bpftool's text.
fn every_kind() -> Builder {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let uint = b.int("unsigned int", 4, 0, 0, 32);
    let ch = b.int("char", 1, CHAR, 0, 8);
    b.int("_Bool", 1, BOOL, 0, 8);
    b.int("odd", 4, SIGNED | CHAR, 0, 32); // encoding bpftool calls UNKN
    b.int("nibble", 1, 0, 4, 4);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, 0, 0, 32);
    let p = b.ptr(int);
    b.ptr(0);
    b.array(ch, idx, 16);
    b.struct_("plain", 8, &[("a", int, 0), ("", uint, 32)]);
    b.struct_kf(
        "bits",
        4,
        &[("x", uint, 0, 3), ("y", uint, 3, 5), ("z", uint, 8, 0)],
    );
    b.union_("u", 4, &[("i", int, 0), ("c", ch, 0)]);
    b.union_kf("ub", 4, &[("f", uint, 0, 1)]);
    b.enum_("e_u", 4, false, &[("A", 0), ("B", 0xffff_fffe)]);
    b.enum_("e_s", 4, true, &[("NEG", -5), ("POS", 7)]);
    b.enum_("", 1, false, &[]);
    b.enum64("e64_u", 8, false, &[("BIG", u64::MAX), ("SMALL", 1)]);
    b.enum64(
        "e64_s",
        8,
        true,
        &[("MIN", i64::MIN as u64), ("M1", u64::MAX)],
    );
    b.fwd("fs", false);
    b.fwd("fu", true);
    b.typedef("myint", int);
    b.volatile(int);
    let c = b.const_(int);
    b.restrict(p);
    let proto = b.func_proto(int, &[("a", int), ("b", c)]);
    let varargs = b.func_proto(0, &[("fmt", p), ("", 0)]);
    b.func("f_static", proto, 0);
    b.func("f_global", proto, 1);
    b.func("f_extern", varargs, 2);
    b.func("f_odd", proto, 3);
    let v1 = b.var("v_static", int, 0);
    let v2 = b.var("v_global", ch, 1);
    let v3 = b.var("v_extern", uint, 2);
    b.var("v_odd", uint, 7);
    let f = b.float("double", 8);
    b.float("long double", 16);
    b.datasec(".data", 12, &[(v1, 0, 4), (v2, 4, 1), (v3, 8, 4)]);
    b.datasec(".ksyms", 0, &[(f, 0, 8), (0, 0, 0)]);
    b.decl_tag("tag_decl", int, -1);
    b.decl_tag("tag_member", p, 1);
    b.type_tag("user", int);
    // A name that is present but empty prints as '' rather than (anon).
    let empty = b.raw_str(b"");
    b.raw(
        empty,
        Builder::info(btf_builder::kind::TYPEDEF, false, 0),
        int,
        &[],
    );
    b
}

fn write_tmp(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn hand_built_every_kind_matches_bpftool() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "every.btf", &every_kind().build());
    assert_same(None, &p);
}

#[test]
fn hand_built_split_btf_matches_bpftool() {
    let dir = tempfile::tempdir().unwrap();
    let base = every_kind();
    let base_path = write_tmp(dir.path(), "base.btf", &base.build());
    let mut s = Builder::split(base.next_id(), base.str_len());
    // Reuses base strings ("int" is at offset 1) and base ids next to its own.
    let own = s.int("long", 8, SIGNED, 0, 64);
    s.struct_("split_s", 16, &[("a", 1, 0), ("b", own, 64)]);
    s.ptr(1);
    let v = s.var("split_v", own, 1);
    s.datasec(".data", 8, &[(v, 0, 8), (2, 8, 4)]);
    s.raw(
        1,
        Builder::info(btf_builder::kind::TYPEDEF, false, 0),
        own,
        &[],
    );
    let split_path = write_tmp(dir.path(), "split.btf", &s.build());
    assert_same(Some(&base_path), &split_path);
}
