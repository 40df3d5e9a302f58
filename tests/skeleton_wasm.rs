//! The Wasm guest skeleton (`wasm-bpftool gen skeleton -j`):
//! - it compiles for wasm32-wasi against sdk/libbpf-wasm.h (our guest SDK), with a guest
//!   program, so all its asserts hold on wasm32;
//! - `s->rodata_offset`/`s->bss_offset` are the sections' file offsets;
//! - built natively with testdata/wasm/stub_host.c (the layout is target-independent:
//!   packed, explicit pads, fixed-width integers), writes through `skel->rodata->x` land at
//!   x's bytes in the embedded ELF, as found independently from the ELF symbol table.

#[path = "common/skel_util.rs"]
mod skel_util;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
use skel_util::*;

fn wasm_skeleton(obj: &str) -> String {
    ours(&[
        "-j",
        "gen",
        "skeleton",
        testdata(obj).to_str().expect("utf-8 path"),
    ])
}

/// `(file offset, size)` of an ELF section, and the `(value, size)` of each symbol in it,
/// read with the `object` crate rather than our own model.
struct ElfFacts {
    section_offset: u64,
    symbols: Vec<(String, u64, u64)>,
}

fn elf_facts(bytes: &[u8], section: &str) -> Option<ElfFacts> {
    let elf = object::File::parse(bytes).unwrap();
    let sec = elf.section_by_name(section)?;
    let section_offset = match sec.file_range() {
        Some((off, _)) => off,
        // .bss has no bytes in the file; its sh_offset is still where it would start.
        None => {
            let object::File::Elf64(e) = &elf else {
                panic!("not ELF64")
            };
            use object::read::elf::SectionHeader as _;
            let hdr = e.elf_section_table().section(sec.index()).unwrap();
            hdr.sh_offset(e.endian())
        }
    };
    let symbols = elf
        .symbols()
        .filter(|s| s.section_index() == Some(sec.index()) && s.size() > 0)
        .map(|s| (s.name().unwrap().to_string(), s.address(), s.size()))
        .collect();
    Some(ElfFacts {
        section_offset,
        symbols,
    })
}

fn assignment(skel: &str, field: &str) -> Option<u64> {
    let pat = format!("s->{field} = ");
    let at = skel.find(&pat)? + pat.len();
    skel[at..].split(';').next()?.parse().ok()
}

#[test]
fn section_offsets_are_the_elf_file_offsets() {
    for name in OBJECTS {
        let obj = format!("{name}.bpf.o");
        let bytes = std::fs::read(testdata(&obj)).unwrap();
        let skel = wasm_skeleton(&obj);
        for (section, field) in [(".rodata", "rodata_offset"), (".bss", "bss_offset")] {
            let facts = elf_facts(&bytes, section);
            assert_eq!(
                assignment(&skel, field),
                facts.map(|f| f.section_offset),
                "{obj}: {field}"
            );
        }
        assert!(
            !skel.contains("links"),
            "{obj}: a Wasm skeleton has no links"
        );
        assert!(
            !skel.contains("s->obj ="),
            "{obj}: s->obj belongs to the host"
        );
        assert!(skel.contains("#include \"libbpf-wasm.h\""));
        assert_eq!(embedded_elf(&skel), bytes, "{obj}: embedded ELF");
        assert_eq!(
            skel,
            wasm_skeleton(&obj),
            "{obj}: output is not deterministic"
        );
    }
}

fn sdk_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk")
}

fn wasm_compile(src: &Path, inc: &Path, out: &Path) {
    run_ok(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-Wall", "-Werror"])
            .arg("-I")
            .arg(sdk_dir())
            .arg("-I")
            .arg(inc)
            .arg(src)
            .args(["-Wl,--allow-undefined", "-o"])
            .arg(out),
    );
}

#[test]
fn bootstrap_guest_compiles_for_wasm32() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bootstrap_bpf.skel.h"),
        wasm_skeleton("bootstrap.bpf.o"),
    )
    .unwrap();
    let out = dir.path().join("guest.wasm");
    wasm_compile(&testdata("wasm/bootstrap_guest.c"), dir.path(), &out);
    let wasm = std::fs::read(&out).unwrap();
    assert!(wasm.starts_with(b"\0asm"), "not a wasm module");
    // The SDK's functions are inline; what is left are the host's `wasm_bpf` imports.
    for f in [
        "wasm_bpf",
        "wasm_load_bpf_object",
        "wasm_attach_bpf_program",
        "wasm_bpf_buffer_poll",
    ] {
        assert!(
            wasm.windows(f.len()).any(|w| w == f.as_bytes()),
            "{f} not imported"
        );
    }
}

/// A guest that uses every map, program, data section and variable of `skel`.
fn guest_code(skel: &ecc::model::skeleton::Skeleton) -> String {
    let n = &skel.name;
    let mut c = format!(
        "#include <string.h>\n#include \"{n}.skel.h\"\n\nint main(void)\n{{\n\
         \tstruct {n} *s = {n}__open();\n\tint fds = 0;\n\n\tif (!s)\n\t\treturn 1;\n"
    );
    for (_, ds) in skel.mmaped() {
        for v in &ds.vars {
            let _ = writeln!(
                c,
                "\tmemset((void *)&s->{id}->{var}, 0, sizeof(s->{id}->{var}));",
                id = ds.ident,
                var = v.name
            );
        }
    }
    let _ = writeln!(c, "\tif ({n}__load(s) || {n}__attach(s))\n\t\treturn 1;");
    for m in &skel.maps {
        let _ = writeln!(c, "\tfds += bpf_map__fd(s->maps.{});", m.ident);
    }
    for p in &skel.progs {
        let _ = writeln!(c, "\t(void)s->progs.{};", p.name);
    }
    let _ = write!(
        c,
        "\t{n}__detach(s);\n\t{n}__destroy(s);\n\treturn fds < 0;\n}}\n"
    );
    c
}

#[test]
fn every_skeleton_compiles_for_wasm32_as_c_and_cxx_with_a_guest() {
    let built = tempfile::tempdir().unwrap();
    let sections = build_sections_object(built.path());
    let objects = OBJECTS
        .iter()
        .map(|n| (n.to_string(), testdata(&format!("{n}.bpf.o"))))
        .chain([("sections".to_string(), sections)]);
    for (name, path) in objects {
        let bytes = std::fs::read(&path).unwrap();
        let parsed = ecc::elf::object::Object::parse(&bytes).unwrap();
        let skel = ecc::model::skeleton::Skeleton::new(&parsed, &format!("{name}_bpf")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = ours(&["-j", "gen", "skeleton", path.to_str().unwrap()]);
        std::fs::write(dir.path().join(format!("{name}_bpf.skel.h")), text).unwrap();
        let src = dir.path().join("guest.c");
        std::fs::write(&src, guest_code(&skel)).unwrap();
        wasm_compile(&src, dir.path(), &dir.path().join("guest.wasm"));
        run_ok(
            Command::new("clang++")
                .args([
                    "--target=wasm32-wasi",
                    "-fsyntax-only",
                    "-x",
                    "c++",
                    "-Wall",
                    "-Werror",
                ])
                .arg("-I")
                .arg(sdk_dir())
                .arg("-I")
                .arg(dir.path())
                .arg(&src),
        );
    }
}

/// A program that fills every `.rodata` variable through `skel->rodata` with its own byte
/// value (1, 2, ...), then writes the patched ELF to argv[1] and prints rodata_offset.
fn patch_harness(obj_name: &str, vars: &[String]) -> String {
    let n = obj_name;
    let mut c = format!(
        "#include <stdio.h>\n#include <string.h>\n#include \"{n}.skel.h\"\n\n\
         int main(int argc, char **argv)\n{{\n\tstruct {n} *skel = {n}__open();\n\tFILE *f;\n\n\
         \tif (argc < 2 || !skel)\n\t\treturn 1;\n"
    );
    for (i, v) in vars.iter().enumerate() {
        let _ = writeln!(
            c,
            "\tmemset((void *)&skel->rodata->{v}, {}, sizeof(skel->rodata->{v}));",
            i + 1
        );
    }
    let _ = write!(
        c,
        "\tf = fopen(argv[1], \"wb\");\n\
         \tif (!f || fwrite(skel->skeleton->data, 1, skel->skeleton->data_sz, f) != skel->skeleton->data_sz)\n\
         \t\treturn 2;\n\tfclose(f);\n\
         \tprintf(\"%zu\\n\", skel->skeleton->rodata_offset);\n\
         \t{n}__destroy(skel);\n\treturn 0;\n}}\n"
    );
    c
}

fn build_native(dir: &Path, src: &Path, exe: &Path) {
    run_ok(
        Command::new("cc")
            .args(["-O1", "-Wall", "-Werror"])
            .arg("-I")
            .arg(sdk_dir())
            .arg("-I")
            .arg(dir)
            .arg(src)
            .arg(testdata("wasm/stub_host.c"))
            .arg("-o")
            .arg(exe),
    );
}

#[test]
fn rodata_writes_land_on_the_variables_in_the_embedded_elf() {
    for name in OBJECTS {
        let obj = format!("{name}.bpf.o");
        let bytes = std::fs::read(testdata(&obj)).unwrap();
        let Some(facts) = elf_facts(&bytes, ".rodata") else {
            continue;
        };
        let n = format!("{name}_bpf");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{n}.skel.h")), wasm_skeleton(&obj)).unwrap();
        let vars: Vec<String> = facts.symbols.iter().map(|s| s.0.clone()).collect();
        let src = dir.path().join("harness.c");
        std::fs::write(&src, patch_harness(&n, &vars)).unwrap();
        // The same harness must compile for wasm32, where the asserts matter most.
        wasm_compile(&src, dir.path(), &dir.path().join("harness.wasm"));
        let exe = dir.path().join("harness");
        build_native(dir.path(), &src, &exe);
        let patched = dir.path().join("patched.o");
        let out = run_ok(Command::new(&exe).arg(&patched));
        let printed: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert_eq!(
            printed, facts.section_offset,
            "{obj}: runtime rodata_offset"
        );
        let after = std::fs::read(&patched).unwrap();
        assert_eq!(after.len(), bytes.len());
        let mut expect = bytes.clone();
        for (i, (sym, value, size)) in facts.symbols.iter().enumerate() {
            let at = (facts.section_offset + value) as usize;
            expect[at..at + *size as usize].fill(i as u8 + 1);
            assert!(
                after[at..at + *size as usize]
                    .iter()
                    .all(|&b| b == i as u8 + 1),
                "{obj}: {sym} not written at file offset {at}"
            );
        }
        assert!(
            after == expect,
            "{obj}: bytes outside the variables changed"
        );
    }
}

#[test]
fn typed_rodata_writes_have_the_bpf_byte_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bootstrap_bpf.skel.h"),
        wasm_skeleton("bootstrap.bpf.o"),
    )
    .unwrap();
    let src = dir.path().join("typed.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <string.h>\n#include \"bootstrap_bpf.skel.h\"\n\
         int main(int argc, char **argv)\n{\n\
         \tstruct bootstrap_bpf *skel = bootstrap_bpf__open();\n\tFILE *f;\n\
         \tif (argc < 2 || !skel)\n\t\treturn 1;\n\
         \tskel->rodata->min_duration_ns = 0x1122334455667788ULL;\n\
         \tskel->rodata->targ_pid = -2;\n\
         \tstrcpy(skel->rodata->targ_comm, \"guest\");\n\
         \tf = fopen(argv[1], \"wb\");\n\
         \tfwrite(skel->skeleton->data, 1, skel->skeleton->data_sz, f);\n\
         \tfclose(f);\n\tbootstrap_bpf__destroy(skel);\n\treturn 0;\n}\n",
    )
    .unwrap();
    let exe = dir.path().join("typed");
    build_native(dir.path(), &src, &exe);
    let patched = dir.path().join("patched.o");
    run_ok(Command::new(&exe).arg(&patched));
    let after = std::fs::read(&patched).unwrap();
    let facts = elf_facts(&after, ".rodata").unwrap();
    let at = |sym: &str| {
        let (_, v, s) = facts.symbols.iter().find(|s| s.0 == sym).unwrap();
        let start = (facts.section_offset + v) as usize;
        after[start..start + *s as usize].to_vec()
    };
    assert_eq!(at("min_duration_ns"), 0x1122334455667788u64.to_le_bytes());
    assert_eq!(at("targ_pid"), (-2i32).to_le_bytes());
    assert_eq!(&at("targ_comm")[..6], b"guest\0");
}

#[test]
fn snapshot_perf_wasm_skeleton_in_full() {
    let skel = wasm_skeleton("perf.bpf.o");
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("skeleton_wasm_perf", skel);
    });
}

#[test]
fn snapshot_wasm_skeletons_without_elf_bytes() {
    for name in ["bootstrap", "globals"] {
        let skel = wasm_skeleton(&format!("{name}.bpf.o"));
        let start = skel.find("static unsigned char data[] = \"").unwrap();
        let end = start + skel[start..].find("\";\n").unwrap();
        let redacted = format!("{}<ELF bytes>{}", &skel[..start], &skel[end..]);
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("skeleton_wasm_{name}"), redacted);
        });
    }
}
