//! The built-in DWARF stripper against `llvm-strip -g` on every committed testdata object:
//! the same sections with the same bytes, the same symbols and the same relocations (by
//! symbol name, since indices may differ), and an unchanged BPF model.

mod ecc_harness;

use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

use ecc_harness::*;

type Elf<'a> = object::read::elf::ElfFile64<'a, object::LittleEndian>;

fn llvm_strip(input: &std::path::Path) -> Vec<u8> {
    let out = scratch("llvm-strip").path().join("o");
    let dir = out.parent().expect("dir").to_path_buf();
    std::fs::create_dir_all(&dir).expect("dir");
    let st = std::process::Command::new("llvm-strip")
        .arg("-g")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("llvm-strip is installed by scripts/setup.sh");
    assert!(st.success());
    std::fs::read(&out).expect("stripped object")
}

fn sym_desc(
    elf: &Elf<'_>,
    s: &object::read::elf::ElfSymbol64<'_, '_, object::LittleEndian>,
) -> String {
    let sec = s
        .section_index()
        .and_then(|i| elf.section_by_index(i).ok())
        .and_then(|x| x.name().ok().map(str::to_string))
        .unwrap_or_default();
    format!(
        "{} kind={:?} sec={sec} value={} size={} global={}",
        s.name().unwrap_or("?"),
        s.kind(),
        s.address(),
        s.size(),
        s.is_global()
    )
}

/// Everything about an object that stripping must preserve, as comparable text.
fn describe(bytes: &[u8]) -> Vec<String> {
    let elf = Elf::parse(bytes).expect("valid ELF");
    let mut out = Vec::new();
    for s in elf.sections() {
        let name = s.name().expect("name");
        let kind = format!("{:?}", s.kind());
        // Tables whose bytes legitimately differ (indices, string offsets) are compared
        // through the symbols and relocations below instead.
        let data = match name {
            ".symtab" | ".strtab" | ".shstrtab" | ".llvm_addrsig" => String::from("-"),
            _ if s.kind() == object::SectionKind::Elf(9) || name.starts_with(".rel") => {
                String::from("-")
            }
            _ => {
                use sha2::Digest as _;
                let h = sha2::Sha256::digest(s.data().expect("data"));
                h.iter().take(12).map(|b| format!("{b:02x}")).collect()
            }
        };
        out.push(format!("section {name} {kind} align={} {data}", s.align()));
        for (off, r) in s.relocations() {
            let target = match r.target() {
                object::RelocationTarget::Symbol(i) => {
                    sym_desc(&elf, &elf.symbol_by_index(i).expect("symbol"))
                }
                t => format!("{t:?}"),
            };
            out.push(format!("  reloc {off:#x} {:?} -> {target}", r.flags()));
        }
    }
    for s in elf.symbols() {
        out.push(format!("symbol {}", sym_desc(&elf, &s)));
    }
    out
}

#[test]
fn matches_llvm_strip_on_testdata() {
    let objects = std::fs::read_dir(repo().join("testdata"))
        .expect("testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect::<Vec<_>>();
    assert!(objects.len() >= 6);
    for path in objects {
        let original = std::fs::read(&path).expect("object");
        let ours = ecc::elf::strip::strip_debug(&original).expect("strips");
        let theirs = llvm_strip(&path);
        let (a, b) = (describe(&ours), describe(&theirs));
        assert!(
            a.iter().all(|l| !l.contains(".debug")),
            "{}: DWARF left",
            path.display()
        );
        let only_a: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(8).collect();
        let only_b: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(8).collect();
        assert!(
            a == b,
            "{}: differs from llvm-strip -g\nours only: {only_a:#?}\nllvm-strip only: {only_b:#?}",
            path.display()
        );
        assert!(
            ours.len() <= theirs.len() + 64,
            "{}: {} bytes, llvm-strip {} bytes",
            path.display(),
            ours.len(),
            theirs.len()
        );
        // The BPF view of the object is unchanged.
        let before = ecc::elf::object::Object::parse(&original).expect("original parses");
        let after = ecc::elf::object::Object::parse(&ours).expect("stripped parses");
        assert_eq!(before.programs.len(), after.programs.len());
        for (x, y) in before.programs.iter().zip(&after.programs) {
            assert_eq!(
                (&x.name, &x.section, x.offset, x.insn_count),
                (&y.name, &y.section, y.offset, y.insn_count)
            );
        }
        assert_eq!(before.maps, after.maps);
        assert_eq!(
            before
                .datasecs
                .iter()
                .map(|d| (&d.name, d.size, &d.vars))
                .collect::<Vec<_>>(),
            after
                .datasecs
                .iter()
                .map(|d| (&d.name, d.size, &d.vars))
                .collect::<Vec<_>>()
        );
        // Stripping is idempotent.
        assert_eq!(
            ecc::elf::strip::strip_debug(&ours).expect("strips again"),
            ours
        );
    }
}

#[test]
fn rejects_truncated_objects() {
    let original = std::fs::read(repo().join("testdata/maps.bpf.o")).expect("object");
    for len in [0, 10, 63, 64, original.len() / 2] {
        assert!(
            ecc::elf::strip::strip_debug(&original[..len]).is_err(),
            "truncated at {len}"
        );
    }
}

/// Corrupted objects give an error or a result, never a panic: header and table bytes are
/// overwritten with pseudo-random values (a fixed LCG, so failures reproduce).
#[test]
fn survives_corrupted_objects() {
    let original = std::fs::read(repo().join("testdata/maps.bpf.o")).expect("object");
    let shoff = u64::from_le_bytes(original[40..48].try_into().expect("8 bytes")) as usize;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    for _ in 0..20_000 {
        let mut data = original.clone();
        for _ in 0..1 + next() % 4 {
            // Mostly the ELF header and the section header table, where the structure lives.
            let at = match next() % 3 {
                0 => next() % 64,
                1 => shoff + next() % (data.len() - shoff),
                _ => next() % data.len(),
            };
            data[at] = next() as u8;
        }
        let _ = ecc::elf::strip::strip_debug(&data);
    }
}
