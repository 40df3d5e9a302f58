//! Bad input through the CLI: for every way a file can be wrong, `wasm-bpftool btf dump file F
//! format {raw|c}` must exit with status 1, print nothing on stdout, and print exactly one
//! line on stderr that names the file and, where the problem has a position, its byte offset.

#[path = "common/btf_builder.rs"]
mod btf_builder;

use std::path::{Path, PathBuf};
use std::process::Command;

use btf_builder::{put_u32, Builder, SIGNED};
use object::{Object as _, ObjectSection as _};

const BIN: &str = env!("CARGO_BIN_EXE_wasm-bpftool");

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Runs both formats on `file` (with `-B base` if given) and checks the failure contract.
#[track_caller]
fn expect_failure(
    base: Option<&Path>,
    file: &Path,
    named: &Path,
    offset: Option<usize>,
    what: &str,
) {
    for format in ["raw", "c"] {
        let mut cmd = Command::new(BIN);
        if let Some(b) = base {
            cmd.arg("-B").arg(b);
        }
        let out = cmd
            .args(["btf", "dump", "file"])
            .arg(file)
            .args(["format", format])
            .output()
            .expect("run wasm-bpftool");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ctx = format!("{} (format {format}): stderr {stderr:?}", file.display());
        assert_eq!(out.status.code(), Some(1), "exit status for {ctx}");
        assert!(out.stdout.is_empty(), "stdout not empty for {ctx}");
        assert!(
            stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
            "stderr is not exactly one line for {ctx}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "panic for {ctx}"
        );
        assert!(
            stderr.contains(&named.display().to_string()),
            "stderr does not name {} for {ctx}",
            named.display()
        );
        if let Some(off) = offset {
            assert!(
                stderr.contains(&format!("byte offset {off}:")),
                "stderr does not give byte offset {off} for {ctx}"
            );
        } else {
            assert!(
                !stderr.contains("byte offset"),
                "unexpected offset for {ctx}"
            );
        }
        assert!(
            stderr.to_lowercase().contains(what),
            "stderr does not say '{what}' for {ctx}"
        );
    }
}

fn fail(file: &Path, offset: Option<usize>, what: &str) {
    expect_failure(None, file, file, offset, what);
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn good_btf() -> Builder {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    b.struct_("s", 8, &[("a", int, 0), ("b", int, 32)]);
    b
}

#[test]
fn missing_and_empty_files() {
    let d = Dir::new();
    fail(&d.0.path().join("does-not-exist.o"), None, "no such file");
    fail(&d.file("empty", b""), Some(0), "too short");
    // A directory cannot be read as a file either.
    fail(d.0.path(), None, "directory");
}

#[test]
fn truncated_btf() {
    let d = Dir::new();
    let good = good_btf().build();
    fail(&d.file("hdr.btf", &good[..6]), Some(0), "too short");
    fail(&d.file("half.btf", &good[..30]), Some(8), "out of bounds");
    fail(
        &d.file("strs.btf", &good[..good.len() - 3]),
        Some(16),
        "out of bounds",
    );
}

#[test]
fn truncated_elf() {
    let d = Dir::new();
    let obj = std::fs::read(testdata("maps.bpf.o")).unwrap();
    fail(
        &d.file("head.o", &obj[..40]),
        Some(0),
        "truncated elf header",
    );
    // Cut before the section header table: reported at e_shoff's field.
    fail(
        &d.file("cut.o", &obj[..obj.len() / 2]),
        Some(0x28),
        "section headers",
    );
}

#[test]
fn garbage_and_bad_magic() {
    let d = Dir::new();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    fail(&d.file("garbage", &garbage), Some(0), "magic");
    let mut bad = good_btf().build();
    bad[0] = 0xaa;
    fail(&d.file("magic.btf", &bad), Some(0), "magic");
    let mut swapped = good_btf().build();
    swapped.swap(0, 1);
    fail(&d.file("swapped.btf", &swapped), Some(0), "byte-swapped");
    let mut text = b"#include <stdio.h>\nint main() {}\n".to_vec();
    text.resize(64, b' ');
    fail(&d.file("source.c", &text), Some(0), "magic");
}

#[test]
fn non_bpf_and_btf_less_elf_files() {
    // A missing section is a property of the whole file: reported at offset 0.
    fail(Path::new("/bin/true"), Some(0), "no .btf section");
    let d = Dir::new();
    let src = d.file(
        "x.c",
        b"int counter = 1;\nint f(int a) { return a + counter; }\n",
    );
    for (name, args) in [
        ("native.o", &["-c"][..]),
        ("native_g.o", &["-c", "-g"][..]),
        ("bpf_nog.o", &["-target", "bpf", "-c"][..]),
    ] {
        let out = d.0.path().join(name);
        let st = Command::new("clang")
            .args(args)
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status()
            .expect("clang (scripts/setup.sh installs it)");
        assert!(st.success(), "clang failed for {name}");
        fail(&out, Some(0), "no .btf section");
    }
    // A big-endian BPF object.
    let be = d.0.path().join("be.o");
    let st = Command::new("clang")
        .args(["-target", "bpfeb", "-g", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&be)
        .status()
        .expect("clang");
    assert!(st.success());
    fail(&be, Some(5), "big-endian");
}

#[test]
fn bad_offsets_in_the_header() {
    let d = Dir::new();
    let mut bad = good_btf().build();
    put_u32(&mut bad, 16, 1 << 20);
    fail(
        &d.file("stroff.btf", &bad),
        Some(16),
        "string section is out of bounds",
    );
    let mut bad = good_btf().build();
    put_u32(&mut bad, 8, 6);
    fail(&d.file("typeoff.btf", &bad), Some(8), "type section");
    let mut bad = good_btf().build();
    put_u32(&mut bad, 4, 1 << 30);
    fail(&d.file("hdrlen.btf", &bad), Some(4), "header length");
}

#[test]
fn bad_string_index() {
    let d = Dir::new();
    let mut b = good_btf();
    let off = b.str_len() + 10;
    let t = b.raw(
        off,
        Builder::info(btf_builder::kind::TYPEDEF, false, 0),
        1,
        &[],
    );
    fail(
        &d.file("str.btf", &b.build()),
        Some(b.rec_pos(t)),
        "bad string offset",
    );
}

#[test]
fn type_id_out_of_range() {
    let d = Dir::new();
    let mut b = good_btf();
    let p = b.ptr(1000);
    fail(
        &d.file("id.btf", &b.build()),
        Some(b.rec_pos(p) + 8),
        "type id 1000",
    );
}

#[test]
fn reference_loop() {
    let d = Dir::new();
    let mut b = good_btf();
    let a = b.next_id();
    b.typedef("a", a + 1);
    b.const_(a + 2);
    let last = b.typedef("c", a);
    fail(
        &d.file("loop.btf", &b.build()),
        Some(b.rec_pos(last)),
        "reference loop",
    );
}

#[test]
fn unknown_kind() {
    let d = Dir::new();
    let mut b = good_btf();
    let t = b.raw(0, Builder::info(25, false, 0), 0, &[]);
    fail(
        &d.file("kind.btf", &b.build()),
        Some(b.rec_pos(t) + 4),
        "unknown btf kind 25",
    );
}

/// The `.BTF` section's file offset, read with the `object` crate (not our ELF model).
fn btf_sh_offset(elf: &[u8]) -> usize {
    let f = object::File::parse(elf).unwrap();
    f.section_by_name(".BTF").unwrap().file_range().unwrap().0 as usize
}

#[test]
fn broken_btf_inside_an_elf_reports_file_offsets() {
    let d = Dir::new();
    let obj = std::fs::read(testdata("maps.bpf.o")).unwrap();
    let sec = btf_sh_offset(&obj);
    assert!(sec > 0);
    let mut bad = obj.clone();
    bad[sec] = 0;
    fail(&d.file("magic.o", &bad), Some(sec), "magic");
    // The first type is a PTR or INT; point its type word out of range and expect the
    // offset within the file, not within the section.
    let mut bad = obj.clone();
    let hdr_len = u32::from_le_bytes(bad[sec + 4..sec + 8].try_into().unwrap()) as usize;
    let type_off = u32::from_le_bytes(bad[sec + 8..sec + 12].try_into().unwrap()) as usize;
    let rec = sec + hdr_len + type_off;
    put_u32(&mut bad, rec + 4, 2 << 24); // make it a PTR
    put_u32(&mut bad, rec + 8, 0x00ff_ffff);
    fail(&d.file("id.o", &bad), Some(rec + 8), "type id 16777215");
}

#[test]
fn bad_base_and_split_btf() {
    let d = Dir::new();
    let base = good_btf();
    let base_path = d.file("base.btf", &base.build());
    let good_split = {
        let mut s = Builder::split(base.next_id(), base.str_len());
        s.ptr(2);
        s
    };
    // A garbage base is reported against the base file.
    let bad_base = d.file("bad_base.btf", b"not btf at all, not at all");
    let split_path = d.file("split.btf", &good_split.build());
    expect_failure(Some(&bad_base), &split_path, &bad_base, Some(0), "magic");
    // A split blob whose ids run past base + split.
    let mut s = Builder::split(base.next_id(), base.str_len());
    let p = s.ptr(base.next_id() + 7);
    let bad_split = d.file("bad_split.btf", &s.build());
    expect_failure(
        Some(&base_path),
        &bad_split,
        &bad_split,
        Some(s.rec_pos(p) + 8),
        "type id",
    );
    // A missing base names the base.
    let missing = d.0.path().join("no-base.btf");
    expect_failure(Some(&missing), &split_path, &missing, None, "no such file");
}
