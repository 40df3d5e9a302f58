//! `ecc verify` / `ecc run` on bad input: one line naming the file, exit 1, nothing on
//! stdout. No kernel needed: every case fails before anything is loaded.

mod support;

use support::*;

fn expect_one_line_error(args: &[&str], file: &str, words: &str) {
    expect_one_line_status(args, file, words, 1);
}

/// Bad option values are usage errors: exit 2.
fn expect_one_line_usage_error(args: &[&str], file: &str, words: &str) {
    expect_one_line_status(args, file, words, 2);
}

fn expect_one_line_status(args: &[&str], file: &str, words: &str, code: i32) {
    let o = run_ecc(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", o.stdout);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(file) && err.contains(words), "{args:?}: {err}");
}

#[test]
fn bad_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let not_json = write("a.json", b"hello");
    let bad_b64 = write(
        "b.json",
        br#"{"bpf_object": "!!", "bpf_object_size": 2, "meta": {"bpf_skel": {"obj_name": "x", "data_sections": []}}}"#,
    );
    let no_sections = write(
        "c.json",
        br#"{"bpf_object": "", "bpf_object_size": 0, "meta": {"bpf_skel": {"obj_name": "x"}}}"#,
    );
    let bad_elf = write("d.bpf.o", b"\x7fELF truncated");
    for cmd in ["verify", "run"] {
        expect_one_line_error(
            &[cmd, &not_json],
            &not_json,
            "not a BPF object or a package.json",
        );
        expect_one_line_error(&[cmd, &bad_b64], &bad_b64, "not valid base64");
        expect_one_line_error(
            &[cmd, &no_sections],
            &no_sections,
            "missing field `data_sections`",
        );
        expect_one_line_error(&[cmd, &bad_elf], &bad_elf, "truncated ELF header");
        expect_one_line_error(
            &[cmd, "/nonexistent/p.json"],
            "/nonexistent/p.json",
            "No such file",
        );
    }
    let obj = testdata("bootstrap.bpf.o");
    expect_one_line_error(
        &[
            "verify",
            "--btf",
            "/nonexistent/vmlinux",
            obj.to_str().unwrap(),
        ],
        "/nonexistent/vmlinux",
        "no such file",
    );
}

#[test]
fn bad_program_options_are_rejected_before_loading() {
    let obj = testdata("maps.bpf.o");
    let p = obj.to_str().unwrap();
    expect_one_line_usage_error(
        &["run", p, "--targ_pid", "-5"],
        "--targ_pid",
        "expected a non-negative integer",
    );
    expect_one_line_usage_error(
        &["run", p, "--targ_uid", "4294967296"],
        "--targ_uid",
        "out of range",
    );
    let o = run_ecc(&["run", p, "--no-such-option"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--no-such-option"));
    let o = run_ecc(&["run", "--duration", "0", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--duration must be a positive number"));
    // The Wasm host's options, listed by `ecc help run`, are refused for a package.
    expect_one_line_usage_error(
        &["run", "--dir", "/tmp", p],
        "ecc run",
        "--dir, --env and --no-cache are options of Wasm apps, not of packages",
    );
}
