//! The deep-and-huge corpus: BTF and objects built at test time (nothing large is committed)
//! that are valid in every field but nest past `MAX_NESTING`, exceed 4 GiB, or put symbols
//! past 4 GiB. Every command that reads them must exit 1 with one short line naming the
//! file, the type id and the byte offset, print nothing on stdout, and never abort. Runs in
//! debug builds too, so an unchecked overflow panics here.

#[path = "common/btf_builder.rs"]
mod btf_builder;

use std::path::Path;
use std::process::Command;

use btf_builder::{Builder, SIGNED};

const BPFTOOL: &str = env!("CARGO_BIN_EXE_wasm-bpftool");
const ECC: &str = env!("CARGO_BIN_EXE_ecc");

/// A section: name offset in `.shstrtab`, type, flags, contents, link, entry size.
type Shdr<'a> = (u32, u32, u64, &'a [u8], u32, u64);

/// A minimal ELF64 BPF relocatable object: `.data` (with `data_len` bytes), `.BTF`, and a
/// symbol table whose symbols are `(name, value)` in `.data`.
fn elf_with(btf: &[u8], data_len: usize, symbols: &[(&str, u64)]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let mut syms = vec![0u8; 24]; // the null symbol
    for (name, value) in symbols {
        let name_off = u32::try_from(strtab.len()).unwrap();
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        let mut s = [0u8; 24];
        s[0..4].copy_from_slice(&name_off.to_le_bytes());
        s[4] = 0x11; // STB_GLOBAL, STT_OBJECT
        s[6..8].copy_from_slice(&1u16.to_le_bytes()); // section 1: .data
        s[8..16].copy_from_slice(&value.to_le_bytes());
        s[16..24].copy_from_slice(&4u64.to_le_bytes());
        syms.extend_from_slice(&s);
    }
    let names = b"\0.data\0.BTF\0.symtab\0.strtab\0.shstrtab\0";
    let data = vec![0u8; data_len];
    let sections: [Shdr<'_>; 5] = [
        (1, 1, 3, &data, 0, 0),       // .data: PROGBITS, WRITE|ALLOC
        (7, 1, 0, btf, 0, 0),         // .BTF
        (12, 2, 0, &syms, 4, 24),     // .symtab, linked to .strtab
        (20, 3, 0, &strtab, 0, 0),    // .strtab
        (28, 3, 0, &names[..], 0, 0), // .shstrtab
    ];
    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &sections {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        offsets.push(out.len() as u64);
        out.extend_from_slice(s.3);
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]); // the null section header
    for (s, off) in sections.iter().zip(&offsets) {
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&s.0.to_le_bytes());
        h[4..8].copy_from_slice(&s.1.to_le_bytes());
        h[8..16].copy_from_slice(&s.2.to_le_bytes());
        h[24..32].copy_from_slice(&off.to_le_bytes());
        h[32..40].copy_from_slice(&(s.3.len() as u64).to_le_bytes());
        h[40..44].copy_from_slice(&s.4.to_le_bytes());
        if s.1 == 2 {
            h[44..48].copy_from_slice(&1u32.to_le_bytes()); // first global symbol
        }
        h[48..56].copy_from_slice(&8u64.to_le_bytes());
        h[56..64].copy_from_slice(&s.5.to_le_bytes());
        out.extend_from_slice(&h);
    }
    out[0..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1;
    out[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    out[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&shoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    out[60..62].copy_from_slice(&6u16.to_le_bytes());
    out[62..64].copy_from_slice(&5u16.to_le_bytes());
    out
}

/// One corpus entry: the BTF, and what the error must mention (type id and byte offset
/// within the BTF blob, when the problem is in the BTF).
struct Case {
    name: &'static str,
    btf: Vec<u8>,
    /// `(type id, offset of its record in the blob)`.
    at: Option<(u32, usize)>,
    what: &'static str,
}

fn chain(name: &'static str, n: u32, step: impl Fn(&mut Builder, u32, u32) -> u32) -> Case {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let mut t = int;
    for i in 0..n {
        t = step(&mut b, t, int + i);
    }
    // Validation reports the first type (in DFS order from the lowest id) that is too deep:
    // the one MAX_NESTING + 1 levels above the base type.
    let first = int + ecc::btf::MAX_NESTING;
    Case {
        name,
        btf: b.build(),
        at: Some((first, b.rec_pos(first))),
        what: "nested more than",
    }
}

fn corpus() -> Vec<Case> {
    let mut cases = vec![
        chain("arrays_200k", 200_000, |b, t, _| {
            let int = 1;
            b.array(t, int, 1)
        }),
        chain("typedefs_10k", 10_000, |b, t, _| b.typedef("t", t)),
        chain("pointers_10k", 10_000, |b, t, _| b.ptr(t)),
        chain("structs_50k", 50_000, |b, t, _| {
            b.struct_("s", 4, &[("m", t, 0)])
        }),
        chain("anon_structs_50k", 50_000, |b, t, _| {
            b.struct_("", 4, &[("m", t, 0)])
        }),
    ];
    // An array of arrays of 4 GiB and more: int[2][2^31][2^30].
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let inner = b.array(int, int, 1 << 30);
    b.array(inner, int, 1 << 31);
    cases.push(Case {
        name: "array_4gib",
        at: Some((inner, b.rec_pos(inner))),
        btf: b.build(),
        what: "larger than 4294967295 bytes",
    });
    // A struct with 65535 members (the most vlen holds): valid, and must still work.
    cases
}

fn run(bin: &str, args: &[&str], file: &Path) -> std::process::Output {
    Command::new(bin).args(args).arg(file).output().unwrap()
}

fn commands(file: &Path) -> Vec<(String, std::process::Output)> {
    let f = file.to_str().unwrap();
    let mut v = Vec::new();
    for args in [
        vec!["btf", "dump", "file", f, "format", "c"],
        vec!["-j", "btf", "dump", "file", f, "format", "c"],
        vec!["btf", "dump", "file", f, "format", "raw"],
    ] {
        let out = Command::new(BPFTOOL).args(&args).output().unwrap();
        v.push((format!("wasm-bpftool {}", args.join(" ")), out));
    }
    if f.ends_with(".o") {
        for args in [vec!["gen", "skeleton", f], vec!["-j", "gen", "skeleton", f]] {
            let out = Command::new(BPFTOOL).args(&args).output().unwrap();
            v.push((format!("wasm-bpftool {}", args.join(" ")), out));
        }
        let out = run(ECC, &["verify"], file);
        v.push((format!("ecc verify {f}"), out));
    }
    v
}

#[track_caller]
fn expect_one_line_error(cmd: &str, out: &std::process::Output, file: &Path, must: &[String]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{cmd}: exit status; stderr: {err}"
    );
    assert!(out.stdout.is_empty(), "{cmd}: wrote to stdout");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{cmd}: expected one line, got: {err}");
    assert!(lines[0].len() < 300, "{cmd}: error too long: {}", lines[0]);
    assert!(
        lines[0].contains(file.to_str().unwrap()),
        "{cmd}: no file name: {err}"
    );
    for m in must {
        assert!(
            lines[0].contains(m.as_str()),
            "{cmd}: '{m}' missing from: {err}"
        );
    }
}

#[test]
fn deep_and_huge_btf_fails_cleanly_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for case in corpus() {
        let raw = dir.path().join(format!("{}.btf", case.name));
        std::fs::write(&raw, &case.btf).unwrap();
        let obj = dir.path().join(format!("{}.bpf.o", case.name));
        let elf = elf_with(&case.btf, 16, &[]);
        std::fs::write(&obj, &elf).unwrap();
        let btf_at = object_btf_offset(&elf);
        for (file, base) in [(&raw, 0), (&obj, btf_at)] {
            let mut must = vec![case.what.to_string()];
            if let Some((id, off)) = case.at {
                must.push(format!("type [{id}]"));
                must.push(format!("byte offset {}", base + off));
            }
            for (cmd, out) in commands(file) {
                eprintln!("{}: {cmd}", case.name);
                expect_one_line_error(&cmd, &out, file, &must);
            }
        }
    }
}

/// Where `.BTF` starts in an object from `elf_with` (read with the `object` crate).
fn object_btf_offset(elf: &[u8]) -> usize {
    use object::{Object as _, ObjectSection as _};
    let f = object::File::parse(elf).unwrap();
    let (off, _) = f.section_by_name(".BTF").unwrap().file_range().unwrap();
    usize::try_from(off).unwrap()
}

#[test]
fn symbol_values_past_4_gib_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let v = b.var("far", int, 1);
    b.datasec(".data", 16, &[(v, 0, 4)]);
    let elf = elf_with(&b.build(), 16, &[("far", 5 << 30)]);
    let obj = dir.path().join("far_symbol.bpf.o");
    std::fs::write(&obj, &elf).unwrap();
    for (cmd, out) in commands(&obj).into_iter().skip(3) {
        expect_one_line_error(
            &cmd,
            &out,
            &obj,
            &["symbol far has value 5368709120".into()],
        );
    }
}

#[test]
fn overlapping_datasec_vars_and_wide_structs_do_not_abort() {
    // A DATASEC whose VARs overlap, and a struct with 65535 members: odd but within every
    // limit, so each command either succeeds or fails with one line, and never aborts.
    let dir = tempfile::tempdir().unwrap();
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let v1 = b.var("a", int, 1);
    let v2 = b.var("b", int, 1);
    b.datasec(".data", 8, &[(v1, 0, 4), (v2, 2, 4)]);
    let names: Vec<String> = (0..65535).map(|i| format!("m{i}")).collect();
    let members: Vec<(&str, u32, u32)> = names.iter().map(|n| (n.as_str(), int, 0)).collect();
    b.struct_("wide", 4, &members);
    let elf = elf_with(&b.build(), 8, &[("a", 0), ("b", 2)]);
    let obj = dir.path().join("odd.bpf.o");
    std::fs::write(&obj, &elf).unwrap();
    for (cmd, out) in commands(&obj) {
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(1) => assert_eq!(err.lines().count(), 1, "{cmd}: {err}"),
            other => panic!("{cmd}: exit {other:?}: {err}"),
        }
    }
}

/// The chain shapes of the corpus, each step one nesting level: `(name, step)`.
type Step = fn(&mut Builder, u32, u32) -> u32;
const SHAPES: &[(&str, Step)] = &[
    ("arrays", |b, t, _| b.array(t, 1, 1)),
    ("typedefs", |b, t, i| b.typedef(&format!("t{i}"), t)),
    ("pointers", |b, t, _| b.ptr(t)),
    ("consts", |b, t, _| b.const_(t)),
    ("structs", |b, t, i| {
        b.struct_(&format!("s{i}"), 8, &[("m", t, 0)])
    }),
    ("anon_structs", |b, t, _| b.struct_("", 8, &[("m", t, 0)])),
    ("anon_ptr_structs", |b, t, i| match i % 2 {
        0 => b.ptr(t),
        _ => b.struct_("", 8, &[("p", t, 0)]),
    }),
];

/// `int`, then `steps` steps of `step`: the builder and the top type.
fn deep(step: Step, steps: u32) -> (Builder, u32) {
    let mut b = Builder::new();
    let mut t = b.int("int", 4, SIGNED, 0, 32);
    for i in 0..steps {
        t = step(&mut b, t, i);
    }
    (b, t)
}

/// Clang accepts `src` (C, or the Wasm header for wasm32), nested as deep as it is.
#[track_caller]
fn compiles(src: &[u8], wasm: bool, what: &str) {
    use std::io::Write as _;
    let mut cmd = Command::new("clang");
    cmd.args(["-fsyntax-only", "-fbracket-depth=1024", "-x", "c", "-"]);
    if wasm {
        cmd.arg("--target=wasm32");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("clang (scripts/setup.sh installs it)");
    child.stdin.take().unwrap().write_all(src).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: clang rejects the output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A type exactly `MAX_NESTING` deep passes validation and every later stage (no later
/// limit is lower); one level more is refused at parse with the type id and offset.
#[test]
fn max_nesting_is_accepted_end_to_end_and_one_more_is_refused_at_parse() {
    use ecc::btf::{Btf, MAX_NESTING};
    let dir = tempfile::tempdir().unwrap();
    let ok = |what: &str, args: &[&str]| -> Vec<u8> {
        let out = Command::new(BPFTOOL).args(args).output().unwrap();
        let what = format!("{what}: wasm-bpftool {}", args.join(" "));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{what}: {err}");
        assert!(!out.stdout.is_empty(), "{what}: no output");
        out.stdout
    };
    for &(name, step) in SHAPES {
        // `int` is 1 deep: MAX_NESTING - 1 steps reach MAX_NESTING.
        let (b, top) = deep(step, MAX_NESTING - 1);
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(u32::from(btf.nesting(top)), MAX_NESTING, "{name}");
        let raw = dir.path().join(format!("{name}.btf"));
        std::fs::write(&raw, &blob).unwrap();
        let f = raw.to_str().unwrap();
        let c = ok(name, &["btf", "dump", "file", f, "format", "c"]);
        compiles(&c, false, &format!("{name} format c"));
        let j = ok(name, &["-j", "btf", "dump", "file", f, "format", "c"]);
        compiles(&j, true, &format!("{name} -j format c"));
        #[cfg(feature = "loader")]
        {
            let sample = vec![0u8; btf.size_u32(top).unwrap() as usize];
            ecc::runner::decode::decode(&btf, top, &sample)
                .unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        }

        // In an object, a `.data` variable of a type one level less deep is MAX_NESTING deep.
        let (mut b, top) = deep(step, MAX_NESTING - 2);
        let size = Btf::parse(&b.build()).unwrap().size_u32(top).unwrap();
        let v = b.var("v", top, 1);
        b.datasec(".data", size, &[(v, 0, size)]);
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(u32::from(btf.nesting(v)), MAX_NESTING, "{name}");
        let obj = dir.path().join(format!("{name}.bpf.o"));
        std::fs::write(&obj, elf_with(&blob, size as usize, &[("v", 0)])).unwrap();
        let f = obj.to_str().unwrap();
        ok(name, &["gen", "skeleton", f]);
        ok(name, &["-j", "gen", "skeleton", f]);
        ok(name, &["btf", "dump", "file", f, "format", "c"]);

        // One level more: refused at parse, naming the first type too deep (the chain's top,
        // in id order) and its record.
        let (b, top) = deep(step, MAX_NESTING);
        let err = Btf::parse(&b.build()).err().unwrap().to_string();
        let want = format!(
            "byte offset {}: type [{top}] is nested more than {MAX_NESTING} deep",
            b.rec_pos(top)
        );
        assert_eq!(err, want, "{name}");
    }
}

/// `format c` orders types along paths that mix both graphs validation bounds (a named
/// struct by value, then a pointer to an anonymous struct holding the next one), so the
/// ordering walk is deeper than `MAX_NESTING` on valid BTF: it must still succeed.
#[test]
fn format_c_orders_chains_longer_than_max_nesting() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let links = 3 * ecc::btf::MAX_NESTING;
    // The top of the chain has the lowest id, so ordering starts there and walks it all:
    // s{i} { struct { struct s{i+1} n; } *p; }.
    let first = b.next_id();
    for i in 0..links {
        let s = first + 3 * i;
        b.struct_(&format!("s{i}"), 8, &[("p", s + 1, 0)]);
        b.ptr(s + 2);
        b.struct_("", 8, &[("n", s + 3, 0)]);
    }
    b.struct_("last", 4, &[("x", int, 0)]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.btf");
    std::fs::write(&file, b.build()).unwrap();
    let f = file.to_str().unwrap();
    let out = Command::new(BPFTOOL)
        .args(["btf", "dump", "file", f, "format", "c"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // Each struct is defined after the one it holds by value.
    let pos = |s: &str| text.find(&format!("struct {s} {{")).unwrap();
    assert!(pos("last") < pos(&format!("s{}", links - 1)));
    assert!(pos("s1") < pos("s0"));
    compiles(&out.stdout, false, "mixed chain format c");
}
