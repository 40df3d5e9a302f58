//! `ecc verify` and `ecc run` against the real kernel. Each test skips with a SKIP line when
//! BPF loading is not permitted, unless ECC_REQUIRE_KERNEL=1.

mod support;

use support::*;

/// Every testdata object that is meant to load does, and each program gets a line.
#[test]
fn verify_accepts_every_loadable_testdata_object() {
    if !kernel_or_skip("verify_accepts_every_loadable_testdata_object") {
        return;
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("testdata")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".bpf.o") || name.starts_with("err_") {
            continue;
        }
        seen += 1;
        let o = run_ecc(&["verify", path.to_str().unwrap()]);
        let out = text(&o);
        assert!(o.status.success(), "{name}:\n{out}");
        let data = std::fs::read(&path).unwrap();
        let obj = ecc::elf::object::Object::parse(&data).unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(stdout.lines().count(), obj.programs.len(), "{name}:\n{out}");
        for p in &obj.programs {
            let line = stdout
                .lines()
                .find(|l| l.split_whitespace().next() == Some(p.name.as_str()))
                .unwrap_or_else(|| panic!("{name}: no line for {}:\n{out}", p.name));
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[1], "tracepoint", "{line}");
            assert!(words[2].parse::<u32>().unwrap() > 0, "{line}");
            assert_eq!(&words[3..], ["insns", "verified"], "{line}");
        }
        let j = run_ecc(&["verify", "--json", path.to_str().unwrap()]);
        assert!(j.status.success());
        let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
        assert_eq!(v["programs"].as_array().unwrap().len(), obj.programs.len());
        assert!(v["programs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "verified" && p["insns"].as_u64().unwrap() > 0));
    }
    assert!(seen >= 6, "only {seen} testdata objects");
}

#[test]
fn verify_reports_the_rejection_with_its_source_line() {
    if !kernel_or_skip("verify_reports_the_rejection_with_its_source_line") {
        return;
    }
    let path = testdata("err_unbounded.bpf.o");
    let o = run_ecc(&["verify", path.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("handle_exec"), "{out}");
    assert!(
        out.contains("rejected: R0 unbounded memory access"),
        "{out}"
    );
    // Mapped through BTF line_info to the unchecked index.
    assert!(
        out.contains("err_unbounded.bpf.c:31: c->slots[idx] += 1;"),
        "{out}"
    );
    assert!(out.contains("verifier log (last"), "{out}");
    let j = run_ecc(&["verify", "--json", path.to_str().unwrap()]);
    assert_eq!(j.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let p = &v["programs"][0];
    assert_eq!(p["status"], "rejected");
    assert_eq!(p["source"]["line"], 31);
    assert!(p["reason"]
        .as_str()
        .unwrap()
        .contains("unbounded memory access"));
    assert!(!p["log_tail"].as_array().unwrap().is_empty());
}

#[test]
fn run_rejects_what_the_verifier_rejects() {
    if !kernel_or_skip("run_rejects_what_the_verifier_rejects") {
        return;
    }
    let path = testdata("err_unbounded.bpf.o");
    let o = run_ecc(&["run", "--duration", "1", path.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("R0 unbounded memory access"), "{out}");
    assert!(out.contains("err_unbounded.bpf.c:31"), "{out}");
    assert!(!out.contains("attached"), "{out}");
}

#[test]
fn verify_reads_packages() {
    if !kernel_or_skip("verify_reads_packages") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    let o = run_ecc(&["verify", pkg.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("handle_exec") && out.contains("handle_exit"),
        "{out}"
    );
    assert_eq!(out.matches("verified").count(), 2, "{out}");
}

#[test]
fn run_prints_a_spawned_process() {
    if !kernel_or_skip("run_prints_a_spawned_process") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    let name = unique_name("b");
    let bin = named_binary(dir.path(), &name);
    let r = Running::start(&["--duration", "3", pkg.to_str().unwrap()]);
    spawn_times(&bin, 5);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(
            "TIME     PID         PPID        EXIT_CODE  DURATION_NS          COMM            FILENAME"
        ),
        "{out}"
    );
    let mine: Vec<&&str> = lines.iter().filter(|l| l.contains(&name)).collect();
    assert!(!mine.is_empty(), "no event for {name}:\n{out}\n{err}");
    // The exec event carries the binary's path as the filename.
    assert!(
        mine.iter().any(|l| l.contains(bin.to_str().unwrap())),
        "{out}"
    );
}

#[test]
fn run_json_lines_parse_in_btf_order() {
    if !kernel_or_skip("run_json_lines_parse_in_btf_order") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    let name = unique_name("j");
    let bin = named_binary(dir.path(), &name);
    let r = Running::start(&["--json", "--duration", "3", pkg.to_str().unwrap()]);
    spawn_times(&bin, 5);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    let order = [
        "pid",
        "ppid",
        "exit_code",
        "duration_ns",
        "comm",
        "filename",
        "exit_event",
    ];
    let mut mine = 0;
    for line in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let pos: Vec<usize> = order
            .iter()
            .map(|k| {
                line.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k}: {line}"))
            })
            .collect();
        assert!(
            pos.windows(2).all(|w| w[0] < w[1]),
            "members out of order: {line}"
        );
        assert!(v["exit_event"].is_boolean() && v["pid"].is_i64(), "{line}");
        if v["comm"] == name.as_str() {
            mine += 1;
        }
    }
    assert!(mine > 0, "no event for {name}:\n{out}");
}

#[test]
fn rodata_comm_filter_really_filters() {
    if !kernel_or_skip("rodata_comm_filter_really_filters") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    let wanted = unique_name("w");
    let other = unique_name("o");
    let (bw, bo) = (
        named_binary(dir.path(), &wanted),
        named_binary(dir.path(), &other),
    );
    // `--events_seen` sets a .bss variable: the run fails if that section's map is missed.
    let r = Running::start(&[
        "--duration",
        "3",
        pkg.to_str().unwrap(),
        "--comm",
        &wanted,
        "--events_seen",
        "5",
    ]);
    for _ in 0..4 {
        spawn_times(&bw, 1);
        spawn_times(&bo, 1);
    }
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(out.contains(&wanted), "{out}");
    assert!(!out.contains(&other), "filtered process printed:\n{out}");
    // Every event is the wanted command: the filter runs in the kernel.
    assert!(out.lines().skip(1).all(|l| l.contains(&wanted)), "{out}");
}

#[test]
fn perf_event_array_prints_events() {
    if !kernel_or_skip("perf_event_array_prints_events") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "perf.bpf.c", Some("perf.h"));
    let name = unique_name("p");
    let bin = named_binary(dir.path(), &name);
    let r = Running::start(&["--duration", "3", pkg.to_str().unwrap()]);
    spawn_times(&bin, 5);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(err.contains("printing events from map 'events'"), "{err}");
    assert!(
        out.starts_with("TIME     PID         OLD_PID     COMM"),
        "{out}"
    );
    assert!(out.contains(&name), "no event for {name}:\n{out}\n{err}");
}

#[test]
fn sampled_log2_map_prints_a_histogram() {
    if !kernel_or_skip("sampled_log2_map_prints_a_histogram") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "hist.bpf.c", None);
    let bin = named_binary(dir.path(), &unique_name("h"));
    let r = Running::start(&["--duration", "3", pkg.to_str().unwrap()]);
    spawn_times(&bin, 10);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(err.contains("sampling map 'hists'"), "{err}");
    assert!(
        out.contains("     usecs               : count    distribution"),
        "{out}"
    );
    let rows: Vec<&str> = out.lines().filter(|l| l.contains(" -> ")).collect();
    assert!(!rows.is_empty(), "{out}");
    // Each row is `low -> high : count |stars|`, 40 wide; the biggest slot is full.
    assert!(
        rows.iter().all(|r| r.ends_with('|') && r.len() > 40),
        "{out}"
    );
    assert!(rows.iter().any(|r| r.contains(&"*".repeat(40))), "{out}");
}

#[test]
fn sigterm_and_sigint_stop_cleanly() {
    if !kernel_or_skip("sigterm_and_sigint_stop_cleanly") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    for sig in ["TERM", "INT"] {
        let r = Running::start(&[pkg.to_str().unwrap()]);
        signal(r.pid(), sig);
        let (st, _out, err) = r.finish();
        assert_eq!(st.code(), Some(0), "SIG{sig}: {st}\n{err}");
    }
}

/// Program options come from the package; no kernel needed.
#[test]
fn run_help_lists_the_generated_options() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "bootstrap.bpf.c", Some("bootstrap.h"));
    let o = run_ecc(&["run", pkg.to_str().unwrap(), "-h"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("-p, --pid <pid_t>"), "{out}");
    // @cmdarg's help wins over the doc comment, as in the eunomia runtime.
    assert!(out.contains("process id to trace"), "{out}");
    assert!(out.contains("-c, --comm <char[16]>"), "{out}");
    // The program's own --duration (min_duration_ns), separate from the runner's.
    assert!(out.contains("-d, --duration <unsigned long long>"), "{out}");
    assert!(!out.contains("__eunomia_dummy"), "{out}");
    let bad = run_ecc(&["run", pkg.to_str().unwrap(), "--pid", "notanumber"]);
    // A bad option value is a usage error: exit 2, one line in the common prefix style.
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim(),
        "ecc run: error: invalid value 'notanumber' for '--pid': expected an integer"
    );
    assert!(bad.stdout.is_empty());
}

/// `--btf` chooses the BTF that CO-RE relocations resolve against.
#[test]
fn verify_relocates_against_the_given_btf() {
    if !kernel_or_skip("verify_relocates_against_the_given_btf") {
        return;
    }
    let obj = testdata("bootstrap.bpf.o");
    let o = run_ecc(&[
        "verify",
        "--btf",
        "/sys/kernel/btf/vmlinux",
        obj.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // A BTF without task_struct's fields cannot resolve BPF_CORE_READ(task, real_parent).
    let wrong = testdata("hist.bpf.o");
    let o = run_ecc(&[
        "verify",
        "--btf",
        wrong.to_str().unwrap(),
        obj.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("rejected: failed to resolve CO-RE relocation") && out.contains("real_parent"),
        "{out}"
    );
}

/// One bad program does not hide the verdict on the others: each is loaded on its own.
#[test]
fn verify_gives_each_program_its_own_verdict() {
    if !kernel_or_skip("verify_gives_each_program_its_own_verdict") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("two.bpf.c");
    std::fs::write(
        &src,
        r#"#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tp/sched/sched_process_exec")
int good(void *ctx) { return 0; }
SEC("tp/sched/sched_process_exit")
int bad(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();
	return *p;
}
"#,
    )
    .unwrap();
    let obj = dir.path().join("two.bpf.o");
    let multiarch = std::process::Command::new("clang")
        .arg("-print-multiarch")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap();
    let st = std::process::Command::new("clang")
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg("-idirafter")
        .arg(format!("/usr/include/{multiarch}"))
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let o = run_ecc(&["verify", "--json", obj.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by = |n: &str| {
        v["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("good")["status"], "verified");
    assert!(by("good")["insns"].as_u64().unwrap() >= 2);
    let bad = by("bad");
    assert_eq!(bad["status"], "rejected");
    assert!(
        bad["reason"]
            .as_str()
            .unwrap()
            .contains("invalid mem access"),
        "{bad}"
    );
    assert_eq!(bad["source"]["text"], "return *p;", "{bad}");
    assert_eq!(bad["source"]["line"], 10, "{bad}");
    assert!(
        bad["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("two.bpf.c"),
        "{bad}"
    );
}
