//! `wasm-bpftool gen min_core_btf`: the same bytes as Debian's bpftool, and libbpf resolves
//! every CO-RE relocation against our minimal BTF exactly as against the kernel's full BTF.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::{repo, skip_or_fail, testdata, vmlinux_available, wasm_bpftool, VMLINUX};
use ecc::btf::Btf;
use ecc::elf::object::Object;

/// Testdata objects that have CO-RE relocations, and all objects (most have none).
fn objects() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let all = common::testdata_objects();
    let with_relos = all
        .iter()
        .filter(|p| {
            let data = std::fs::read(p).unwrap();
            let obj = Object::parse(&data).unwrap();
            obj.ext
                .is_some_and(|e| e.core_relo.sections().any(|s| !s.is_empty()))
        })
        .cloned()
        .collect();
    (with_relos, all)
}

fn ours(input: &Path, out: &Path, objs: &[PathBuf]) {
    let mut args = vec![
        "gen",
        "min_core_btf",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    args.extend(objs.iter().map(|p| p.to_str().unwrap()));
    let o = wasm_bpftool(&args);
    assert!(
        o.status.success(),
        "wasm-bpftool {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn bpftools(input: &Path, out: &Path, objs: &[PathBuf]) {
    let o = Command::new("bpftool")
        .args(["gen", "min_core_btf"])
        .arg(input)
        .arg(out)
        .args(objs)
        .output()
        .expect("bpftool is installed by scripts/setup.sh");
    assert!(
        o.status.success(),
        "bpftool gen min_core_btf {objs:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// This machine's BTF with `task_struct.tgid` moved onto `exit_code`'s offset: a kernel
/// where a member the programs read sits elsewhere.
pub fn synthetic_kernel(full: &[u8]) -> Vec<u8> {
    let btf = Btf::parse(full).unwrap();
    let task = btf.find("task_struct", ecc::btf::Kind::Struct).unwrap();
    let exit_code = task.members().find(|m| m.name == "exit_code").unwrap();
    let mut w = ecc::btf::write::Writer::new();
    for id in btf.ids() {
        let t = btf.ty(id).unwrap();
        if id != task.id {
            w.copy(&t, |i| i).unwrap();
            continue;
        }
        w.begin(t.name(), t.kind(), 0, false, t.size()).unwrap();
        for m in t.members() {
            let off = if m.name == "tgid" {
                exit_code.bit_offset
            } else {
                m.bit_offset
            };
            w.member(m.name, m.type_id, off, m.bitfield_size).unwrap();
        }
    }
    w.finish().unwrap()
}

#[test]
fn output_is_bpftools_byte_for_byte() {
    if !vmlinux_available() {
        return skip_or_fail("no /sys/kernel/btf/vmlinux");
    }
    let dir = tempfile::tempdir().unwrap();
    let (with_relos, all) = objects();
    assert!(
        with_relos.iter().any(|p| p.ends_with("btfgen.bpf.o")),
        "{with_relos:?}"
    );
    let synthetic = dir.path().join("synthetic.btf");
    std::fs::write(
        &synthetic,
        synthetic_kernel(&std::fs::read(VMLINUX).unwrap()),
    )
    .unwrap();
    let mut sets: Vec<Vec<PathBuf>> = all.iter().map(|p| vec![p.clone()]).collect();
    sets.push(all.clone());
    for input in [Path::new(VMLINUX), synthetic.as_path()] {
        for set in &sets {
            let (a, b) = (dir.path().join("ours.btf"), dir.path().join("bpftool.btf"));
            ours(input, &a, set);
            bpftools(input, &b, set);
            let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
            assert!(
                a == b,
                "{input:?} {set:?}: {} bytes vs bpftool's {}",
                a.len(),
                b.len()
            );
        }
    }
    // The synthetic kernel's minimal BTF carries the moved offset.
    let out = dir.path().join("s.btf");
    ours(&synthetic, &out, &[testdata("btfgen.bpf.o")]);
    let data = std::fs::read(out).unwrap();
    let min = Btf::parse(&data).unwrap();
    let task = min.find("task_struct", ecc::btf::Kind::Struct).unwrap();
    let tgid = task.members().find(|m| m.name == "tgid").unwrap();
    let full = std::fs::read(VMLINUX).unwrap();
    let full = Btf::parse(&full).unwrap();
    let real = full.find("task_struct", ecc::btf::Kind::Struct).unwrap();
    let exit_code = real.members().find(|m| m.name == "exit_code").unwrap();
    assert_eq!(tgid.bit_offset, exit_code.bit_offset);
}

#[test]
fn same_bytes_from_any_directory() {
    if !vmlinux_available() {
        return skip_or_fail("no /sys/kernel/btf/vmlinux");
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = testdata("btfgen.bpf.o");
    let mut outs = Vec::new();
    for cwd in [repo(), dir.path().to_path_buf()] {
        let out = dir.path().join(format!("o{}.btf", outs.len()));
        let o = Command::new(common::bpftool_bin())
            .current_dir(&cwd)
            .args(["gen", "min_core_btf", VMLINUX])
            .arg(&out)
            .arg(&obj)
            .output()
            .unwrap();
        assert!(o.status.success());
        outs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn bad_inputs_fail_with_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.btf");
    std::fs::write(&junk, b"not btf at all").unwrap();
    let out = dir.path().join("out.btf");
    let obj = testdata("btfgen.bpf.o");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                junk.to_str().unwrap(),
                out.to_str().unwrap(),
                obj.to_str().unwrap(),
            ],
            "junk.btf",
        ),
        (
            vec![VMLINUX, out.to_str().unwrap(), junk.to_str().unwrap()],
            "junk.btf",
        ),
        (
            vec![VMLINUX, out.to_str().unwrap(), "/nonexistent.o"],
            "/nonexistent.o",
        ),
        (vec![VMLINUX, out.to_str().unwrap()], "OBJECT"),
    ];
    for (args, names) in cases {
        let mut a = vec!["gen", "min_core_btf"];
        a.extend(args);
        let o = wasm_bpftool(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        let want = if names == "OBJECT" { 2 } else { 1 };
        assert_eq!(o.status.code(), Some(want), "{a:?}: {err}");
        assert!(
            err.contains(names) && err.trim().lines().count() == 1,
            "{a:?}: {err}"
        );
        assert!(!out.exists(), "{a:?} left {out:?}");
    }
}

/// libbpf's messages while loading, one process-wide callback at a time.
static LOG: Mutex<String> = Mutex::new(String::new());

fn collect(_level: libbpf_rs::PrintLevel, msg: String) {
    LOG.lock().unwrap().push_str(&msg);
}

/// Loads `obj` relocated against `btf`; returns libbpf's per-relocation results (the
/// patched or poisoned instructions) and whether the kernel accepted the programs.
fn relocate(obj: &Path, btf: &Path) -> (Vec<String>, Result<(), String>) {
    LOG.lock().unwrap().clear();
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, collect)));
    let mut b = libbpf_rs::ObjectBuilder::default();
    b.btf_custom_path(btf).unwrap();
    let loaded = b
        .open_file(obj)
        .and_then(|o| o.load())
        .map(drop)
        .map_err(|e| format!("{e:#}"));
    libbpf_rs::set_print(None);
    let log = std::mem::take(&mut *LOG.lock().unwrap());
    let results = log
        .lines()
        .filter(|l| {
            l.contains(": relo #")
                && (l.contains("patched insn") || l.contains("substituting insn"))
        })
        .map(str::to_string)
        .collect();
    (results, loaded)
}

#[test]
fn relocations_resolve_as_against_the_full_kernel_btf() {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _g = SERIAL.lock().unwrap();
    if !vmlinux_available() {
        return skip_or_fail("no /sys/kernel/btf/vmlinux");
    }
    let dir = tempfile::tempdir().unwrap();
    let (with_relos, _) = objects();
    let mut per_object = Vec::new();
    for obj in &with_relos {
        let min = dir.path().join("min.btf");
        ours(Path::new(VMLINUX), &min, std::slice::from_ref(obj));
        let (full, full_load) = relocate(obj, Path::new(VMLINUX));
        if full_load
            .as_ref()
            .is_err_and(|e| e.contains("Operation not permitted"))
        {
            return skip_or_fail("BPF loading not permitted here (needs root/CAP_BPF)");
        }
        full_load.unwrap_or_else(|e| panic!("{obj:?} with the full BTF: {e}"));
        let (minimal, min_load) = relocate(obj, &min);
        min_load.unwrap_or_else(|e| panic!("{obj:?} with the minimal BTF: {e}"));
        assert!(!full.is_empty(), "{obj:?}: libbpf logged no relocation");
        assert_eq!(full, minimal, "{obj:?}");
        let data = std::fs::read(obj).unwrap();
        let relos: usize = Object::parse(&data)
            .unwrap()
            .ext
            .map_or(0, |e| e.core_relo.sections().map(|s| s.len()).sum());
        assert_eq!(full.len(), relos, "{obj:?}: one result per relocation");
        eprintln!(
            "{obj:?}: {} relocation results agree, e.g. {:?}",
            full.len(),
            full.last()
        );
        per_object.push((obj.clone(), full.len()));
    }
    // The rich program exercises bitfields, existence checks and enum values: some of its
    // relocations are poisoned or rewrite immediates, not only offsets.
    let (_, n) = per_object
        .iter()
        .find(|(p, _)| p.ends_with("btfgen.bpf.o"))
        .unwrap();
    assert!(*n >= 20, "{per_object:?}");
}

#[test]
fn writer_round_trips_the_kernel_btf() {
    if !vmlinux_available() {
        return skip_or_fail("no /sys/kernel/btf/vmlinux");
    }
    let full = std::fs::read(VMLINUX).unwrap();
    let btf = Btf::parse(&full).unwrap();
    let mut w = ecc::btf::write::Writer::new();
    for id in btf.ids() {
        assert_eq!(w.copy(&btf.ty(id).unwrap(), |i| i).unwrap(), id);
    }
    let again = w.finish().unwrap();
    let copy = Btf::parse(&again).unwrap();
    // Every record of every kind lists the same; the blob is no larger (strings deduped).
    assert_eq!(ecc::emit::raw::dump(&copy), ecc::emit::raw::dump(&btf));
    assert!(
        again.len() <= full.len(),
        "{} > {}",
        again.len(),
        full.len()
    );
}
