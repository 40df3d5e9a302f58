//! `ecc` on bad input: each case exits with status 1 and one `ecc: error:` line naming the
//! problem, writes no output, and leaves no temp file behind.

mod ecc_harness;

use std::path::Path;

use ecc_harness::*;

const GOOD: &str = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
    char LICENSE[] SEC(\"license\") = \"GPL\";\n\
    SEC(\"tp/sched/sched_process_exec\") int f(void *ctx) { return 0; }\n";

struct Case {
    dir: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl Case {
    fn new(tag: &str, files: &[(&str, &str)]) -> Case {
        let dir = scratch(tag);
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write input");
        }
        Case {
            dir,
            tmp: scratch(&format!("{tag}-tmp")),
        }
    }

    /// Runs ecc (TMPDIR pointed at a private directory) and checks the failure contract:
    /// exit status 1, exactly one `ecc: error:` line containing each of `wanted`, no outputs
    /// and no temp files. Returns the whole stderr.
    fn fails(&self, args: &[&str], wanted: &[&str]) -> String {
        self.fails_with(args, wanted, |_| {})
    }

    fn fails_with(
        &self,
        args: &[&str],
        wanted: &[&str],
        env: impl FnOnce(&mut std::process::Command),
    ) -> String {
        let before = listing(self.dir.path());
        let mut cmd = ecc_cmd(self.dir.path(), Some(self.tmp.path()));
        cmd.args(args);
        env(&mut cmd);
        let out = cmd.output().expect("run ecc");
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "ecc {args:?}: want exit 1\n{err}"
        );
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("ecc: error:"))
            .collect();
        assert_eq!(lines.len(), 1, "ecc {args:?}: want one error line\n{err}");
        assert_eq!(
            err.lines().last(),
            Some(lines[0]),
            "the error line comes last\n{err}"
        );
        for w in wanted {
            assert!(
                lines[0].contains(w),
                "ecc {args:?}: error line lacks {w:?}: {}",
                lines[0]
            );
        }
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            listing(self.dir.path()),
            before,
            "ecc {args:?} left files in the source directory"
        );
        assert!(
            listing(self.tmp.path()).is_empty(),
            "ecc {args:?} left temp files: {:?}",
            listing(self.tmp.path())
        );
        err
    }
}

/// The files under `dir`, recursively, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("prefix").display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn missing_source() {
    let c = Case::new("e-missing", &[]);
    c.fails(&["nope.bpf.c"], &["nope.bpf.c: no such file"]);
}

/// clang's diagnostic reaches the user as clang printed it (file:line:col of the user's
/// file, not of ecc's wrapper), followed by ecc's one line.
#[test]
fn syntax_error_shows_clang_diagnostic() {
    let src = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\nSEC(\"tp/sched/sched_process_exec\")\nint f(void *ctx)\n{\n\treturn 0\n}\n";
    let c = Case::new("e-syntax", &[("bad.bpf.c", src)]);
    let err = c.fails(
        &["bad.bpf.c"],
        &["clang failed to compile bad.bpf.c (exit status 1)"],
    );
    assert!(
        err.starts_with("bad.bpf.c:7:10: error: expected ';' after return statement"),
        "{err}"
    );
    // clang shows the line (tabs expanded) with a caret under column 10.
    assert!(
        err.contains("\n        return 0\n                ^\n"),
        "the source line and caret are shown:\n{err}"
    );
    assert!(!err.contains("In file included from"), "{err}");
    // Same through a subdirectory: the path is the one the user typed.
    let sub = Case::new("e-syntax-sub", &[]);
    std::fs::create_dir(sub.dir.path().join("src")).expect("mkdir");
    std::fs::write(sub.dir.path().join("src/bad.bpf.c"), src).expect("write");
    let err = sub.fails(&["src/bad.bpf.c"], &["src/bad.bpf.c"]);
    assert!(err.starts_with("src/bad.bpf.c:7:10: error:"), "{err}");
}

#[test]
fn missing_header() {
    let c = Case::new("e-nohdr", &[("ok.bpf.c", GOOD)]);
    c.fails(&["ok.bpf.c", "event.h"], &["event.h: no such file"]);
}

#[test]
fn header_without_struct() {
    let c = Case::new(
        "e-nostruct",
        &[
            ("ok.bpf.c", GOOD),
            (
                "event.h",
                "#define X 1\nenum e { A };\nstruct fwd;\ntypedef struct { int a; } anon_t;\n",
            ),
        ],
    );
    c.fails(
        &["ok.bpf.c", "event.h"],
        &["event.h: the header defines no named struct"],
    );
}

#[test]
fn clang_binary_missing() {
    let c = Case::new("e-noclang", &[("ok.bpf.c", GOOD)]);
    c.fails(
        &["ok.bpf.c", "-c", "/nonexistent/clang-99"],
        &["/nonexistent/clang-99 does not exist"],
    );
    c.fails_with(&["ok.bpf.c"], &["clang not found in PATH"], |cmd| {
        cmd.env("PATH", "/nonexistent");
    });
}

/// libbpf's headers missing: an explicit --libbpf-include without them, and a clang whose
/// search path lacks them (a wrapper script that answers `-v` with an include list of one
/// empty directory, as on a machine without libbpf-dev).
#[test]
fn libbpf_headers_missing() {
    let c = Case::new("e-nolibbpf", &[("ok.bpf.c", GOOD)]);
    std::fs::create_dir(c.dir.path().join("empty")).expect("mkdir");
    c.fails(
        &["ok.bpf.c", "--libbpf-include", "empty"],
        &["empty/bpf/bpf_helpers.h does not exist"],
    );

    let bin = scratch("e-nolibbpf-bin");
    let fake = bin.path().join("clang");
    let empty = bin.path().join("include");
    std::fs::create_dir(&empty).expect("mkdir");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncase \"$*\" in *-v*-E*) printf '#include <...> search starts here:\\n {}\\nEnd of search list.\\n' >&2; exit 0;; esac\nexec clang \"$@\"\n",
            empty.display()
        ),
    )
    .expect("write fake clang");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cache = scratch("e-nolibbpf-cache");
    c.fails_with(
        &["ok.bpf.c", "-c", fake.to_str().expect("utf-8")],
        &[
            "libbpf headers are missing",
            "bpf/bpf_helpers.h",
            "install libbpf-dev",
        ],
        |cmd| {
            cmd.env("XDG_CACHE_HOME", cache.path());
        },
    );
}

#[test]
fn output_dir_not_writable() {
    let c = Case::new("e-outdir", &[("ok.bpf.c", GOOD), ("file", "a plain file")]);
    c.fails(
        &["ok.bpf.c", "-o", "file/sub"],
        &["output directory file/sub cannot be written"],
    );
}

#[test]
fn source_without_programs() {
    let src = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nint counter;\n\
        static int helper(void) { return counter; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n";
    let c = Case::new("e-noprogs", &[("none.bpf.c", src)]);
    c.fails(&["none.bpf.c"], &["none.bpf.c: no BPF programs"]);
}

/// --wasm-header needs package.json.
#[test]
fn wasm_header_without_package() {
    let c = Case::new("e-wasm-n", &[("ok.bpf.c", GOOD)]);
    c.fails(
        &["ok.bpf.c", "--wasm-header", "-n"],
        &["--wasm-header embeds package.json"],
    );
}

/// A successful run leaves no temp file behind either, and writes exactly the outputs.
#[test]
fn success_leaves_only_outputs() {
    let c = Case::new("ok-clean", &[("ok.bpf.c", GOOD)]);
    let out = ecc_cmd(c.dir.path(), Some(c.tmp.path()))
        .args(["ok.bpf.c", "-o", "out", "--wasm-header", "-M", "ok.d"])
        .output()
        .expect("run ecc");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        listing(c.dir.path()),
        [
            "ok.bpf.c",
            "ok.d",
            "out",
            "out/ewasm-skel.h",
            "out/ok.bpf.o",
            "out/ok.skel.json",
            "out/package.json"
        ]
    );
    assert!(
        listing(c.tmp.path()).is_empty(),
        "{:?}",
        listing(c.tmp.path())
    );
}

/// A ring buffer without an event header makes a package the runtime rejects: ecc says so
/// (and still writes it, as the original did).
#[test]
fn ring_buffer_without_header_warns() {
    let src = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
        struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(\".maps\");\n\
        char LICENSE[] SEC(\"license\") = \"GPL\";\n\
        SEC(\"tp/sched/sched_process_exec\") int f(void *ctx) { int *e = bpf_ringbuf_reserve(&events, 4, 0); if (e) { *e = 1; bpf_ringbuf_submit(e, 0); } return 0; }\n";
    let c = Case::new("w-ringbuf", &[("rb.bpf.c", src)]);
    let out = ecc(c.dir.path(), &["rb.bpf.c"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("ecc: warning: rb.bpf.c: map events is a ring buffer"),
        "{err}"
    );
}

/// Each misuse of a path gets its own message.
#[test]
fn path_misuse_messages() {
    let c = Case::new("e-paths", &[("ok.bpf.c", GOOD), ("afile", "x")]);
    std::fs::create_dir(c.dir.path().join("srcdir")).expect("mkdir");
    c.fails(&["srcdir"], &["srcdir is a directory"]);
    c.fails(&["ok.bpf.c", "-o", "afile"], &["-o afile: is a file"]);
    c.fails(
        &["ok.bpf.c", "-M", "no/such/dir/x.d"],
        &["-M no/such/dir/x.d: its directory does not exist"],
    );
    c.fails(
        &["ok.bpf.c", "-M", "srcdir"],
        &["-M srcdir: is a directory"],
    );
}

/// A source that declares nothing BTF could describe is told it has no programs, not to
/// compile with -g.
#[test]
fn empty_source_has_no_programs() {
    let c = Case::new("e-empty", &[("empty.bpf.c", "/* nothing */\n")]);
    let err = c.fails(&["empty.bpf.c"], &["empty.bpf.c: no BPF programs"]);
    assert!(!err.contains("-g"), "{err}");
}

/// Bad @cmdarg annotations are reported at their line and dropped, so the package still
/// runs; doc comments are read for a source whose name does not end in `.c`.
#[test]
fn bad_cmdargs_are_reported_at_their_line() {
    let src = format!(
        "{GOOD}/// @cmdarg {{\"short\": \"pp\"}}\nconst volatile int a = 1;\n\
         /// @cmdarg {{\"long\": \"help\"}}\nconst volatile int b = 2;\n\
         /// @cmdarg {{\"long\": \"x\",\nconst volatile int c = 3;\n\
         /// first\n/// @cmdarg {{\"long\": \"dup\"}}\nconst volatile int d = 4;\n\
         /// second\n/// @cmdarg {{\"long\": \"dup\"}}\nconst volatile int e = 5;\n"
    );
    let c = Case::new("e-cmdarg", &[("prog.bpf", src.as_str())]);
    let out = ecc_cmd(c.dir.path(), Some(c.tmp.path()))
        .args(["prog.bpf", "-o", "out"])
        .output()
        .expect("ecc");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for want in [
        "prog.bpf:6: @cmdarg of 'a': \"short\" must be one character",
        "prog.bpf:8: @cmdarg of 'b': --help cannot be an option name",
        "prog.bpf:10: @cmdarg of 'c': not a JSON object",
        "prog.bpf:16: @cmdarg of 'e': --dup is already the option of 'd'",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    let pkg = read_json(&c.dir.path().join("out/package.json"));
    let vars = pkg["meta"]["bpf_skel"]["data_sections"][0]["variables"].clone();
    let var = |n: &str| {
        vars.as_array()
            .and_then(|v| v.iter().find(|x| x["name"] == n))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(var("d")["cmdarg"]["long"], "dup");
    assert!(var("e")["cmdarg"].is_null());
    assert_eq!(var("e")["description"], "second", "docs read from prog.bpf");
}

/// A guarded export header with a syntax error on line 4.
const BROKEN_HEADER: &str =
    "#ifndef EV_H\n#define EV_H\nstruct event {\n\tint pid\n\tchar comm[16];\n};\n#endif\n";
const HEADER: &str = "#ifndef EV_H\n#define EV_H\nstruct event { int pid; };\n#endif\n";

/// What ecc adds after the user's source to get the header's structs into BTF.
fn names_generated_code(err: &str) -> bool {
    err.contains("<ecc:") || err.contains("__eunomia_dummy")
}

/// `GOOD` including `ev.h`.
fn good_including_header() -> String {
    GOOD.replace(
        "#include <bpf/bpf_helpers.h>\n",
        "#include <bpf/bpf_helpers.h>\n#include \"ev.h\"\n",
    )
}

/// A syntax error in the export header is reported once, at its line in the header, whether
/// the source includes the header or only ecc does (after the source).
#[test]
fn header_syntax_error_is_reported_once_in_the_header() {
    let included = good_including_header();
    for (tag, src) in [("e-hdr-inc", included.as_str()), ("e-hdr-noinc", GOOD)] {
        let c = Case::new(tag, &[("p.bpf.c", src), ("ev.h", BROKEN_HEADER)]);
        let err = c.fails(&["p.bpf.c", "ev.h"], &["clang failed to compile p.bpf.c"]);
        assert!(!names_generated_code(&err), "{tag}:\n{err}");
        let clang_errors = err
            .lines()
            .filter(|l| l.contains(": error: ") && !l.starts_with("ecc:"));
        assert_eq!(clang_errors.count(), 1, "{tag}:\n{err}");
        assert!(
            err.contains("ev.h:4:9: error: expected ';' at end of declaration list"),
            "{tag}:\n{err}"
        );
    }
    // A header that leaves its struct (and its include guard) open, which only ecc includes.
    let open = "#ifndef EV_H\n#define EV_H\nstruct event {\n\tint pid;\n";
    let c = Case::new("e-hdr-open", &[("p.bpf.c", GOOD), ("ev.h", open)]);
    let err = c.fails(&["p.bpf.c", "ev.h"], &["clang failed to compile p.bpf.c"]);
    assert!(!names_generated_code(&err), "{err}");
    assert!(
        err.contains("ev.h:1:2: error: unterminated conditional directive"),
        "{err}"
    );
}

/// A source that ends in the middle of a function or of a declaration gets clang's
/// diagnostics for the source itself, not for the declarations ecc adds after it.
#[test]
fn truncated_source_errors_point_into_the_source() {
    let included = good_including_header();
    let open_body = included.replace("{ return 0; }\n", "{\n\tif (ctx) {\n\t\treturn 0;\n}\n");
    let c = Case::new("e-open-body", &[("p.bpf.c", &open_body), ("ev.h", HEADER)]);
    let err = c.fails(&["p.bpf.c", "ev.h"], &["clang failed to compile p.bpf.c"]);
    assert!(!names_generated_code(&err), "{err}");
    assert!(err.starts_with("p.bpf.c:8:2: error: expected '}'"), "{err}");
    assert!(
        err.contains("p.bpf.c:5:"),
        "the note names the open brace:\n{err}"
    );

    let open_init = format!("{included}int x =\n");
    let c = Case::new("e-open-init", &[("p.bpf.c", &open_init), ("ev.h", HEADER)]);
    let err = c.fails(&["p.bpf.c", "ev.h"], &["clang failed to compile p.bpf.c"]);
    assert!(!names_generated_code(&err), "{err}");
    assert!(
        err.starts_with("p.bpf.c:6:8: error: expected expression"),
        "{err}"
    );

    // The header only ecc includes: the end of input is reported at the source's end.
    let open_body = GOOD.replace("{ return 0; }\n", "{\n\tif (ctx) {\n\t\treturn 0;\n}\n");
    let c = Case::new("e-open-noinc", &[("p.bpf.c", &open_body), ("ev.h", HEADER)]);
    let err = c.fails(&["p.bpf.c", "ev.h"], &["clang failed to compile p.bpf.c"]);
    assert!(!names_generated_code(&err), "{err}");
    assert!(
        err.contains("p.bpf.c:") && err.contains("error: expected '}'"),
        "{err}"
    );
}
