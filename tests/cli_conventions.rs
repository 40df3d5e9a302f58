//! The command-line conventions both binaries follow: help and version everywhere, one
//! exit-status policy (0 ok, 1 failure, 2 usage error), one error prefix, completions and
//! man pages, clang flags passed through, and the original ecc's options explained.
//! No kernel needed.

mod ecc_harness;

use std::path::Path;
use std::process::{Command, Output};

use ecc_harness::{ecc, ecc_bin, repo, scratch, stderr};

fn bpftool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasm-bpftool"))
        .args(args)
        .output()
        .expect("run wasm-bpftool")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn here() -> std::path::PathBuf {
    repo()
}

/// Asserts exit status `code` and, for failures, an error line starting with `prefix`.
#[track_caller]
fn expect(o: &Output, code: i32, prefix: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    if code != 0 {
        assert!(
            err.starts_with(&format!("{prefix}: error: ")),
            "expected '{prefix}: error: ...', got: {err}"
        );
    }
}

#[test]
fn ecc_help_lists_and_explains_every_command() {
    let top = ecc(&here(), &["--help"]);
    expect(&top, 0, "ecc");
    let text = stdout(&top);
    for cmd in ["init", "verify", "run", "help", "completions", "man"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "`ecc --help` does not list {cmd}:\n{text}"
        );
        // `ecc help CMD` and `ecc CMD --help` print the same help, on stdout, exit 0.
        let a = ecc(&here(), &["help", cmd]);
        let b = ecc(&here(), &[cmd, "--help"]);
        expect(&a, 0, "ecc");
        expect(&b, 0, "ecc");
        assert_eq!(stdout(&a), stdout(&b), "{cmd}");
        assert!(
            stdout(&a).contains(&format!("Usage: ecc {cmd}")),
            "{cmd}: {}",
            stdout(&a)
        );
    }
    let h = ecc(&here(), &["help"]);
    expect(&h, 0, "ecc");
    assert_eq!(stdout(&h), text, "`ecc help` is `ecc --help`");
    let v = ecc(&here(), &["--version"]);
    expect(&v, 0, "ecc");
    assert_eq!(stdout(&v), format!("ecc {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn wasm_bpftool_help_and_version_per_object() {
    for args in [&["--version"][..], &["version"], &["-V"]] {
        let o = bpftool(args);
        expect(&o, 0, "wasm-bpftool");
        assert_eq!(
            stdout(&o),
            format!("wasm-bpftool {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
    for args in [&["help"][..], &["--help"], &["-h"]] {
        let o = bpftool(args);
        expect(&o, 0, "wasm-bpftool");
        assert!(stdout(&o).contains("OBJECT := { btf | gen }"), "{args:?}");
    }
    for (obj, what) in [("btf", "btf dump file FILE"), ("gen", "gen skeleton FILE")] {
        for args in [vec![obj, "help"], vec![obj, "--help"], vec![obj]] {
            let o = bpftool(&args);
            expect(&o, 0, "wasm-bpftool");
            assert!(stdout(&o).contains(what), "{args:?}: {}", stdout(&o));
            assert!(
                !stdout(&o).contains("OBJECT :="),
                "{args:?}: the global usage"
            );
        }
    }
}

#[test]
fn one_exit_status_policy_and_error_prefix() {
    let dir = scratch("conv");
    let d = dir.path();
    let missing = d.join("missing.bpf.c");
    let missing = missing.to_str().unwrap();
    // Usage errors: 2.
    for (args, prefix) in [
        (&["--frobnicate", "x.bpf.c"][..], "ecc"),
        (&[][..], "ecc"),
        (&["run"], "ecc run"),
        (&["run", "--frobnicate", "p.json"], "ecc run"),
        (&["run", "--duration", "0", "p.json"], "ecc run"),
        (&["verify"], "ecc verify"),
        (&["init"], "ecc init"),
        (&["init", "x", "--template", "cobol"], "ecc init"),
        (&["completions", "tcsh"], "ecc completions"),
        (&["help", "frob"], "ecc help"),
    ] {
        expect(&ecc(d, args), 2, prefix);
    }
    for args in [
        &["frob"][..],
        &["-x"],
        &["btf", "dump"],
        &["btf", "dump", "file"],
        &["btf", "dump", "file", "f", "format", "yaml"],
        &["gen", "skeleton"],
        &["completions"],
        &[],
    ] {
        expect(&bpftool(args), 2, "wasm-bpftool");
    }
    // Failures: 1.
    expect(&ecc(d, &[missing]), 1, "ecc");
    expect(&ecc(d, &["run", "/nonexistent/p.json"]), 1, "ecc run");
    expect(&ecc(d, &["verify", "/nonexistent/p.json"]), 1, "ecc verify");
    expect(
        &bpftool(&["btf", "dump", "file", "/nonexistent"]),
        1,
        "wasm-bpftool",
    );
    expect(
        &bpftool(&["gen", "skeleton", "/nonexistent.o"]),
        1,
        "wasm-bpftool",
    );
}

#[test]
fn runner_option_after_the_package_is_explained() {
    let obj = repo().join("testdata/maps.bpf.o");
    let p = obj.to_str().unwrap();
    for (opt, shown) in [
        (&["--json"][..], "ecc run --json PACKAGE"),
        (
            &["--btf", "/sys/kernel/btf/vmlinux"],
            "ecc run --btf FILE PACKAGE",
        ),
        (&["--duration", "1"], "ecc run --duration SECS PACKAGE"),
    ] {
        let mut args = vec!["run", p];
        args.extend(opt);
        let o = ecc(&repo(), &args);
        expect(&o, 2, "ecc run");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("is an option of ecc run") && err.contains(shown),
            "{err}"
        );
    }
    // bootstrap has its own --duration: the program gets it, and a note says so. (The
    // unknown option after it stops the run before anything is loaded.)
    let out = ecc_harness::compile_testdata("bootstrap", Some("bootstrap.h"));
    let pkg = out.path().join("package.json");
    let o = ecc(
        &repo(),
        &["run", pkg.to_str().unwrap(), "--duration", "1", "--frob"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "ecc run: note: --duration after the package sets the program's own --duration"
        ),
        "{err}"
    );
    assert!(
        err.contains("ecc run: error: unexpected argument '--frob'"),
        "{err}"
    );
}

#[test]
fn original_ecc_options_say_what_to_use_instead() {
    for (args, instead) in [
        (&["-w", "ws", "x.bpf.c"][..], "--libbpf-include"),
        (&["x.bpf.c", "--workspace-path=ws"], "--libbpf-include"),
        (&["-y", "x.bpf.c"], "package.json"),
        (&["x.bpf.c", "--yaml"], "package.json"),
        (&["-s", "x.bpf.c"], "wasm-bpftool gen skeleton"),
        (&["--subskeleton", "x.bpf.c"], "wasm-bpftool gen skeleton"),
    ] {
        let o = ecc(&here(), args);
        expect(&o, 2, "ecc");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("is not implemented") && err.contains(instead),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn clang_flags_are_passed_in_order() {
    let dir = scratch("clangflags");
    let d = dir.path();
    // Compiles only if every flag arrived, in order: -UB after -DB=1 undefines it, and the
    // -D after `--` comes last.
    std::fs::create_dir(d.join("inc")).unwrap();
    std::fs::write(d.join("inc/extra.h"), "#define FROM_INCLUDE 1\n").unwrap();
    std::fs::write(
        d.join("flags.bpf.c"),
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include \"extra.h\"\n\
         #if !defined(A) || defined(B) || C != 3 || !FROM_INCLUDE || LAST != 2\n\
         #error flags did not arrive in order\n#endif\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n\
         SEC(\"tp/sched/sched_process_exec\") int f(void *ctx) { int unused; return 0; }\n",
    )
    .unwrap();
    let o = ecc(
        d,
        &[
            "-DA",
            "-D",
            "B=1",
            "-a",
            "-UB -DC=1",
            "-U",
            "C",
            "-DC=3",
            "-I",
            "inc",
            "-Wall",
            "-Werror",
            "-Wno-unused-variable",
            "-O2",
            "flags.bpf.c",
            "-DLAST=1",
            "--",
            "-ULAST",
            "-DLAST=2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("flags.bpf.o").exists());
    // Without the -W flag, -Werror turns the unused variable into an error: the -W flags
    // really reach clang.
    let o = ecc(
        d,
        &[
            "-DA",
            "-DC=3",
            "-Iinc",
            "-Wall",
            "-Werror",
            "flags.bpf.c",
            "--",
            "-DLAST=2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("unused"), "{}", stderr(&o));
}

#[test]
fn completions_for_both_binaries() {
    for bin in ["ecc", "wasm-bpftool"] {
        let exe = match bin {
            "ecc" => ecc_bin(),
            _ => env!("CARGO_BIN_EXE_wasm-bpftool").into(),
        };
        for shell in ["bash", "zsh", "fish"] {
            let o = Command::new(&exe)
                .args(["completions", shell])
                .output()
                .unwrap();
            assert!(o.status.success(), "{bin} {shell}: {}", stderr(&o));
            assert!(stdout(&o).contains(bin), "{bin} {shell}");
        }
    }
    // bash really completes subcommands and options from the script.
    let dir = scratch("compl");
    let script = dir.path().join("ecc.bash");
    let o = Command::new(ecc_bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    std::fs::write(&script, &o.stdout).unwrap();
    let complete = |words: &str| -> String {
        let prog = format!(
            "source {s}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
             f=$(complete -p ecc | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             $f ecc \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             echo \"${{COMPREPLY[@]}}\"",
            s = script.display()
        );
        let o = Command::new("bash").args(["-c", &prog]).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(complete("ecc in").trim(), "init");
    assert!(complete("ecc init --te").contains("--template"));
    assert!(complete("ecc run --js").contains("--json"));
}

#[test]
fn man_pages_and_install_script() {
    let dir = scratch("install");
    let prefix = dir.path().join("prefix");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ecc")).parent().unwrap();
    let o = Command::new("bash")
        .arg(repo().join("scripts/install.sh"))
        .env("PREFIX", &prefix)
        .env("BIN_DIR", bin_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let man = prefix.join("share/man/man1");
    for page in [
        "ecc.1",
        "ecc-init.1",
        "ecc-run.1",
        "ecc-verify.1",
        "ecc-completions.1",
        "wasm-bpftool.1",
        "wasm-bpftool-btf.1",
        "wasm-bpftool-gen.1",
    ] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: not roff"
        );
        let stem = page.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {stem} 1")), "{page}");
    }
    // ecc-run.1 documents both kinds of input: a package's runner options and a Wasm app's.
    let run1 = std::fs::read_to_string(man.join("ecc-run.1")).unwrap();
    for opt in [
        "\\-\\-metrics",
        "\\-\\-dir",
        "\\-\\-env",
        "\\-\\-no\\-cache",
    ] {
        assert!(run1.contains(opt), "ecc-run.1 lacks {opt}");
    }
    let ecc1 = std::fs::read_to_string(man.join("ecc.1")).unwrap();
    assert!(
        ecc1.contains("ecc\\-init(1)") || ecc1.contains("init"),
        "ecc.1 names its commands"
    );
    for f in [
        "bin/ecc",
        "bin/wasm-bpftool",
        "share/bash-completion/completions/ecc",
        "share/bash-completion/completions/wasm-bpftool",
        "share/zsh/site-functions/_ecc",
        "share/fish/vendor_completions.d/wasm-bpftool.fish",
    ] {
        assert!(prefix.join(f).is_file(), "{f}");
    }
    let v = Command::new(prefix.join("bin/ecc"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(v.status.success());
}
