//! The byte-for-byte promise, checked by running code: one native x86_64 program links the
//! original definitions (BPF layout: x86_64 is LP64 like bpf) and our `-j` header in two
//! translation units. It fills memory with random bytes and reads every field, bitfields
//! included, through both; every read must agree. Inputs: testdata/types.h, random
//! definitions (tests/cgen), and every uniquely named struct/union of the running kernel
//! (original side: our vmlinux.h). The fields to read are enumerated from BTF by the walker
//! below, which uses only the BTF reader, not the layout engine under test.

mod cgen;
mod common;

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use ecc::btf::{Btf, Kind};

/// How one field is read on both sides.
enum Read {
    /// `(long long)x`: integers and integer bitfields, so sign extension is compared too.
    Value,
    /// An enum-typed bitfield or a plain `char`, masked to its width: clang 14 writes no
    /// enum signedness to BTF, so the header reads such bits as unsigned while C may
    /// sign-extend them; likewise a kernel `char` is unsigned in BTF, `char` in vmlinux.h.
    Masked(u32),
    /// The bytes of pointers, floats, enums, `_Bool` and 128-bit integers (as two words).
    Bytes(u32),
}

struct Leaf {
    path: String,
    read: Read,
}

/// Every readable field under type `id`, reached by the C expression `path`.
fn leaves(btf: &Btf<'_>, id: u32, path: &mut String, out: &mut Vec<Leaf>) {
    if out.len() > 400 {
        return;
    }
    let Some(t) = btf.skip_mods_and_typedefs(id) else {
        return;
    };
    let mut leaf = |path: &str, read| {
        out.push(Leaf {
            path: path.to_string(),
            read,
        })
    };
    match t.kind() {
        Kind::Struct | Kind::Union => {
            for m in t.members() {
                let len = path.len();
                if t.kind_flag() && m.bitfield_size > 0 {
                    if !m.name.is_empty() {
                        let base = btf.skip_mods_and_typedefs(m.type_id).map(|b| b.kind());
                        let read = match base {
                            Some(Kind::Enum | Kind::Enum64) => {
                                Read::Masked(u32::from(m.bitfield_size))
                            }
                            _ => Read::Value,
                        };
                        let _ = write!(path, ".{}", m.name);
                        out.push(Leaf {
                            path: path.clone(),
                            read,
                        });
                    }
                } else {
                    if !m.name.is_empty() {
                        let _ = write!(path, ".{}", m.name);
                    }
                    leaves(btf, m.type_id, path, out);
                }
                path.truncate(len);
            }
        }
        Kind::Array => {
            let Some(a) = t.array() else { return };
            let n = a.nelems;
            let idx: Vec<u32> = if n <= 4 {
                (0..n).collect()
            } else {
                vec![0, 1, n - 1]
            };
            for i in idx {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                leaves(btf, a.elem, path, out);
                path.truncate(len);
            }
        }
        Kind::Int => {
            let info = t.int().unwrap_or_default();
            if t.size() == 1 && t.name() == "char" {
                // BTF may say the kernel's plain `char` is unsigned (-funsigned-char) while a
                // vmlinux.h prints `char`: compare the bits.
                leaf(path, Read::Masked(8))
            } else if t.size() == 16 || info.is_bool() {
                leaf(path, Read::Bytes(t.size()))
            } else {
                leaf(path, Read::Value)
            }
        }
        Kind::Enum | Kind::Enum64 | Kind::Float => leaf(path, Read::Bytes(t.size())),
        Kind::Ptr => leaf(path, Read::Bytes(8)),
        _ => {}
    }
}

fn run(cmd: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", cmd.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed in {}:\n{}{}",
        cmd.display(),
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the BPF object and our header for `defs` (C text defining `roots`), then a native
/// program that compares every field of every root. Returns the program's report line.
fn check(dir: &Path, defs: &str, roots: &[String], include: &[&str]) -> String {
    std::fs::write(dir.join("defs.h"), defs).expect("write");
    let mut force = String::from("#include \"defs.h\"\n");
    for (i, r) in roots.iter().enumerate() {
        let _ = writeln!(force, "{r} __ecc_force_{i};");
    }
    std::fs::write(dir.join("bpf.c"), force).expect("write");
    let mut args = vec![
        "-target", "bpf", "-g", "-O2", "-w", "-c", "bpf.c", "-o", "bpf.o",
    ];
    args.extend(include);
    run(Path::new("clang"), &args, dir);
    let header = run(
        &common::bpftool_bin(),
        &["btf", "dump", "file", "bpf.o", "format", "c", "-j"],
        dir,
    );
    std::fs::write(dir.join("gen.wasm.h"), header).expect("write");
    let data = std::fs::read(dir.join("bpf.o")).expect("object");
    let (blob, _) = ecc::elf::object::btf_section(&data).expect(".BTF");
    let btf = Btf::parse(blob).expect("BTF");
    let ids: Vec<u32> = roots
        .iter()
        .map(|root| {
            let (kind, name) = match root.split_once(' ') {
                Some(("struct", n)) => (Kind::Struct, n),
                Some(("union", n)) => (Kind::Union, n),
                _ => (Kind::Typedef, root.as_str()),
            };
            btf.find(name, kind)
                .unwrap_or_else(|| panic!("{root} not in BTF"))
                .id
        })
        .collect();
    compare(dir, &btf, roots, &ids, "defs.h", include, 16)
}

/// Writes and runs the native program: `orig.c` includes `orig_header`, `wasm.c` our
/// `gen.wasm.h`, both the same readers for `roots` (type `ids` in `btf`).
fn compare(
    dir: &Path,
    btf: &Btf<'_>,
    roots: &[String],
    ids: &[u32],
    orig_header: &str,
    include: &[&str],
    rounds: u32,
) -> String {
    let mut readers = String::from(
        "#define RV(x) (out[n++] = (long long)(x))\n\
         #define RM(x, bits) (out[n++] = (long long)((unsigned long long)(x) & (~0ULL >> (64 - (bits)))))\n\
         #define RB(x, size) do { unsigned long long w_[2] = {0, 0}; memcpy(w_, &(x), size); \
         out[n++] = (long long)w_[0]; out[n++] = (long long)w_[1]; } while (0)\n",
    );
    let mut labels = String::new();
    let mut max_size = 0;
    let mut fields = 0;
    for (r, (root, &id)) in roots.iter().zip(ids).enumerate() {
        max_size = max_size.max(btf.size_of(id).expect("sized"));
        let mut list = Vec::new();
        leaves(btf, id, &mut "(*p)".to_string(), &mut list);
        fields += list.len();
        let _ = writeln!(
            readers,
            "unsigned long SIDE(size_{r})(void) {{ return sizeof({root}); }}\n\
             int SIDE(read_{r})(const void *buf, long long *out) {{\n    const {root} *p = buf;\n    int n = 0;"
        );
        let _ = write!(labels, "static const char *labels_{r}[] = {{");
        for l in &list {
            let (call, slots) = match l.read {
                Read::Value => (format!("RV({})", l.path), 1),
                Read::Masked(b) => (format!("RM({}, {b})", l.path), 1),
                Read::Bytes(s) => (format!("RB({}, {s})", l.path), 2),
            };
            let _ = writeln!(readers, "    {call};");
            for _ in 0..slots {
                let _ = write!(labels, "\"{}\", ", l.path);
            }
        }
        let _ = writeln!(readers, "    return n;\n}}");
        let _ = writeln!(labels, "0 }};");
    }
    std::fs::write(dir.join("readers.inc"), readers).expect("write");
    let side = |name: &str, include: &str| {
        format!(
            "#include <string.h>\n#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include \"{include}\"\n\
             #define SIDE(x) {name}_##x\n#include \"readers.inc\"\n"
        )
    };
    std::fs::write(dir.join("orig.c"), side("orig", orig_header)).expect("write");
    std::fs::write(dir.join("wasm.c"), side("wasm", "gen.wasm.h")).expect("write");

    let mut main = String::from("#include <stdio.h>\n#include <string.h>\n");
    for r in 0..roots.len() {
        for s in ["orig", "wasm"] {
            let _ = writeln!(
                main,
                "unsigned long {s}_size_{r}(void);\nint {s}_read_{r}(const void *, long long *);"
            );
        }
    }
    main.push_str(&labels);
    let list = |f: &dyn Fn(usize) -> String| (0..roots.len()).map(f).collect::<Vec<_>>().join(", ");
    let _ = write!(
        main,
        "static unsigned long (*osize[])(void) = {{ {} }};\n\
         static unsigned long (*wsize[])(void) = {{ {} }};\n\
         static int (*oread[])(const void *, long long *) = {{ {} }};\n\
         static int (*wread[])(const void *, long long *) = {{ {} }};\n\
         static const char **labels[] = {{ {} }};\n\
         static const char *roots[] = {{ {} }};\n\
         static unsigned char buf[{}] __attribute__((aligned(64)));\n\
         static long long a[8192], b[8192];\n\
         int main(void) {{\n\
         \x20   unsigned long long s = 0x2545f4914f6cdd1dULL;\n\
         \x20   long reads = 0; int bad = 0;\n\
         \x20   for (int round = 0; round < {rounds}; round++)\n\
         \x20   for (int r = 0; r < {}; r++) {{\n\
         \x20       for (unsigned long i = 0; i < osize[r]() + 64 && i < sizeof buf; i++) {{ s ^= s << 13; s ^= s >> 7; s ^= s << 17; buf[i] = (unsigned char)s; }}\n\
         \x20       if (osize[r]() != wsize[r]()) {{ printf(\"SIZE %s: %lu vs %lu\\n\", roots[r], osize[r](), wsize[r]()); bad++; continue; }}\n\
         \x20       int na = oread[r](buf, a), nb = wread[r](buf, b);\n\
         \x20       if (na != nb) {{ printf(\"COUNT %s: %d vs %d\\n\", roots[r], na, nb); bad++; continue; }}\n\
         \x20       for (int i = 0; i < na; i++)\n\
         \x20           if (a[i] != b[i] && bad++ < 20) printf(\"MISMATCH %s %s: %llx vs %llx\\n\", roots[r], labels[r][i], (unsigned long long)a[i], (unsigned long long)b[i]);\n\
         \x20       reads += na;\n\
         \x20   }}\n\
         \x20   printf(\"%d roots, {fields} fields, %ld reads, %d mismatches\\n\", {}, reads, bad);\n\
         \x20   return bad != 0;\n\
         }}\n",
        list(&|r| format!("orig_size_{r}")),
        list(&|r| format!("wasm_size_{r}")),
        list(&|r| format!("orig_read_{r}")),
        list(&|r| format!("wasm_read_{r}")),
        list(&|r| format!("labels_{r}")),
        list(&|r| format!("\"{}\"", roots[r])),
        max_size + 64,
        roots.len(),
        roots.len(),
    );
    std::fs::write(dir.join("main.c"), main).expect("write");
    let clang = Path::new("clang");
    // The two sides compile in parallel: for the kernel each is a large translation unit.
    std::thread::scope(|s| {
        for (src, obj) in [("orig.c", "orig.o"), ("wasm.c", "wasm.o")] {
            s.spawn(move || {
                let mut args = vec!["-O0", "-w", "-c", src, "-o", obj];
                args.extend(include);
                run(clang, &args, dir);
            });
        }
    });
    run(
        clang,
        &["-O0", "-w", "main.c", "orig.o", "wasm.o", "-o", "semantic"],
        dir,
    );
    run(&dir.join("semantic"), &[], dir)
}

#[test]
fn testdata_types_read_back_equal_through_both_definitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inc = common::testdata("");
    let inc = inc.to_str().expect("utf-8");
    let roots: Vec<String> = [
        "struct bits",
        "struct inner",
        "union number",
        "struct nested",
        "struct ptrs",
        "struct wide",
        "struct aligned_members",
        "struct over_aligned",
        "struct has_over_aligned",
        "struct packed",
        "struct packed_aligned",
        "struct packed_bits",
        "struct flex",
        "struct with_empty",
        "struct everything",
        "point_t",
        "word_t",
    ]
    .map(String::from)
    .to_vec();
    let report = check(dir.path(), "#include \"types.h\"\n", &roots, &["-I", inc]);
    eprintln!("types.h: {report}");
    assert!(report.contains("17 roots"), "{report}");
}

#[test]
fn random_structs_read_back_equal_through_both_definitions() {
    // ECC_SEMANTIC_SEED / ECC_SEMANTIC_BATCHES explore further than the default three.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (first, count) = (env("ECC_SEMANTIC_SEED", 11), env("ECC_SEMANTIC_BATCHES", 3));
    for seed in first..first + count {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rng = cgen::Rng::new(seed);
        let prog = cgen::program(&mut rng, "s_", 40);
        let mut roots = prog.roots.clone();
        roots.push("s_anon_t".into());
        let report = check(dir.path(), &prog.source, &roots, &[]);
        eprintln!("seed {seed}: {report}");
        assert!(report.contains("41 roots"), "{report}");
    }
}

#[test]
fn vmlinux_fields_read_back_equal_through_both_definitions() {
    if !common::vmlinux_available() {
        common::skip_or_fail("/sys/kernel/btf/vmlinux is not readable");
        return;
    }
    // The original definitions are our vmlinux.h (format c, checked against bpftool and
    // compiled natively, where x86_64 has the BPF layout); the other side is our -j header.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let vmlinux = common::VMLINUX;
    let orig = common::wasm_bpftool_ok(&["btf", "dump", "file", vmlinux, "format", "c"]);
    let ours = common::wasm_bpftool_ok(&["btf", "dump", "file", vmlinux, "format", "c", "-j"]);
    std::fs::write(d.join("vmlinux.h"), &orig).expect("write");
    std::fs::write(d.join("gen.wasm.h"), &ours).expect("write");
    let data = std::fs::read(vmlinux).expect("vmlinux BTF");
    let btf = Btf::parse(&data).expect("BTF");
    // Every struct/union whose name is unique in BTF and defined once in both headers.
    let defs = |text: &str| {
        let mut n = std::collections::HashMap::<String, usize>::new();
        for l in text.lines() {
            if let Some(d) = l.strip_suffix(" {") {
                if d.starts_with("struct ") || d.starts_with("union ") {
                    *n.entry(d.to_string()).or_default() += 1;
                }
            }
        }
        n
    };
    let (ours, orig) = (defs(&ours), defs(&orig));
    let (mut roots, mut ids) = (Vec::new(), Vec::new());
    for id in btf.ids() {
        let Some(t) = btf.ty(id) else { continue };
        let kw = match t.kind() {
            Kind::Struct => "struct",
            Kind::Union => "union",
            _ => continue,
        };
        let composites = btf.find_by_name(t.name()).filter(|&i| {
            btf.ty(i)
                .is_some_and(|u| matches!(u.kind(), Kind::Struct | Kind::Union))
        });
        if t.name().is_empty() || composites.count() != 1 {
            continue;
        }
        let root = format!("{kw} {}", t.name());
        if ours.get(&root) != Some(&1) || orig.get(&root) != Some(&1) {
            continue;
        }
        roots.push(root);
        ids.push(id);
    }
    assert!(roots.len() > 8_000, "{} roots", roots.len());
    let report = compare(d, &btf, &roots, &ids, "vmlinux.h", &[], 2);
    eprintln!("vmlinux: {report}");
}
