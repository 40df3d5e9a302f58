//! `ecc run` and `ecc verify` against the real kernel, on the programs in testdata/run
//! (compiled here by ecc with real clang): decoding by the struct actually sent, the output
//! map the program writes, option forms, `.data` options and `__kconfig` externs, sized
//! table columns, JSON timestamps, histograms with other fields, `verify --log`,
//! `--verbose`, and load failures classified (an unprivileged user among them).

mod support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;

/// Compiles testdata/run/`name`.bpf.c (with `name`.h when there is one) into `dir`/`name`;
/// returns the package and ecc's output.
fn compile(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, Output) {
    let src = testdata(&format!("run/{name}.bpf.c"));
    let header = testdata(&format!("run/{name}.h"));
    let out = dir.join(name);
    let mut cmd = ecc();
    cmd.arg(&src);
    if header.exists() {
        cmd.arg(&header);
    }
    let o = cmd.arg("-o").arg(&out).args(extra).output().unwrap();
    assert!(o.status.success(), "ecc {name}: {}", text(&o));
    (out.join("package.json"), o)
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The kernel's CONFIG_HZ, from /proc/config.gz.
fn config_hz() -> Option<u64> {
    let gz = std::fs::read("/proc/config.gz").ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ="))
        .and_then(|v| v.parse().ok())
}

#[test]
fn nested_events_options_data_and_kconfig() {
    if !kernel_or_skip("nested_events_options_data_and_kconfig") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pkg, o) = compile(dir.path(), "nested", &[]);
    let pkg = pkg.to_str().unwrap();
    // The compile warning says what ecli does and what ecc run does.
    let warn = text(&o);
    assert!(
        warn.contains("section .data (data_mult): the eunomia runtime (ecli) refuses the package")
            && warn.contains("`ecc run` loads it and makes its variables options"),
        "{warn}"
    );
    assert!(
        warn.contains("section .kconfig (CONFIG_HZ)")
            && warn.contains("`ecc run` has libbpf fill them in"),
        "{warn}"
    );
    let name = unique_name("n");
    let bin = named_binary(dir.path(), &name);

    // JSON, `--tag V`, a `.data` option, a bool flag that defaults to false.
    let r = Running::start(&[
        "--json",
        "--duration",
        "3",
        pkg,
        "--tag",
        "41",
        "--data_mult",
        "5",
        "--negate",
    ]);
    spawn_times(&bin, 3);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    // The ring buffer the program writes, not `quiet`, declared after it.
    assert!(err.contains("printing events from map 'events'"), "{err}");
    let mine: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|v| v["comm"] == name.as_str())
        .collect();
    assert!(!mine.is_empty(), "no event for {name}:\n{out}\n{err}");
    for v in &mine {
        // Decoded as `struct event`, not as `struct inner`, the header's first struct.
        assert_eq!(v["in"]["a"], 41, "{v}");
        assert_eq!(v["in"]["b"], -5, "{v}");
        assert!(v["pid"].as_u64().unwrap() > 0, "{v}");
        let ts = v["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 27 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
    }
    // Keys in struct order, after the timestamp (serde_json::Value sorts them, so read the
    // line itself).
    let line = out
        .lines()
        .find(|l| l.contains(&format!("\"comm\":\"{name}\"")))
        .unwrap();
    let at: Vec<usize> = ["\"timestamp\":", "\"pid\":", "\"in\":{\"a\":", "\"comm\":"]
        .iter()
        .map(|k| line.find(k).unwrap_or_else(|| panic!("{k} in {line}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");

    // Table, `--tag=V`: defaults elsewhere (.data keeps 3, negate false).
    let r = Running::start(&["--duration", "3", pkg, "--tag=42"]);
    spawn_times(&bin, 3);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    let header = out.lines().next().unwrap();
    assert!(header.starts_with("TIME     PID        IN "), "{out}");
    let comm_at = header.find("COMM").unwrap();
    let row = out
        .lines()
        .find(|l| l.ends_with(&name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{out}\n{err}"));
    assert!(row.contains("{a: 42, b: 3}"), "{row}");
    assert_eq!(row.find(&name), Some(comm_at), "\n{header}\n{row}");

    // --disable-X turns off a bool that defaults to true; the exit dump shows what libbpf
    // resolved CONFIG_HZ to.
    let r = Running::start(&["--duration", "2", "--dump-at-exit", pkg, "--disable-send"]);
    spawn_times(&bin, 2);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(!out.contains(&name), "events were sent:\n{out}");
    let hz: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("seen_hz = "))
        .unwrap_or_else(|| panic!("no seen_hz in:\n{out}"))
        .trim()
        .parse()
        .unwrap();
    match config_hz() {
        Some(want) => assert_eq!(hz, want),
        None => assert!(hz > 0, "{out}"),
    }
    // --enable-X after --disable-X: the last one wins.
    let r = Running::start(&[
        "--json",
        "--duration",
        "2",
        pkg,
        "--disable-send",
        "--enable-send",
    ]);
    spawn_times(&bin, 2);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(out.contains(&name), "no event for {name}:\n{out}\n{err}");

    // --map chooses the other ring buffer, which nothing writes.
    let r = Running::start(&["--duration", "1", "--map", "quiet", pkg]);
    spawn_times(&bin, 1);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    assert!(err.contains("printing events from map 'quiet'"), "{err}");
    assert!(!out.contains(&name), "{out}");
}

#[test]
fn histograms_keep_the_comm_field() {
    if !kernel_or_skip("histograms_keep_the_comm_field") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pkg, _) = compile(dir.path(), "histcomm", &[]);
    let pkg = pkg.to_str().unwrap();
    let name = unique_name("h");
    let bin = named_binary(dir.path(), &name);
    let r = Running::start(&["--duration", "2", pkg]);
    spawn_times(&bin, 2);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("comm = {name}"))
        .unwrap_or_else(|| panic!("no comm = {name} in:\n{out}"));
    assert!(lines[at - 1].starts_with("key = "), "{out}");
    assert!(lines[at + 1].contains("execs") && lines[at + 1].contains("distribution"));
    assert!(lines[at + 4].trim_start().starts_with("4 -> 7"), "{out}");

    let r = Running::start(&["--json", "--duration", "2", pkg]);
    spawn_times(&bin, 2);
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
    let v = json_lines(&out)
        .into_iter()
        .find(|v| v["fields"]["comm"] == name.as_str())
        .unwrap_or_else(|| panic!("no entry for {name}:\n{out}"));
    assert!(v["slots"][2].as_u64().unwrap() >= 1, "{v}");
    assert!(v["timestamp"].as_str().unwrap().ends_with('Z'), "{v}");
}

#[test]
fn verify_log_prints_every_line() {
    if !kernel_or_skip("verify_log_prints_every_line") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pkg, _) = compile(dir.path(), "nested", &[]);
    let o = run_ecc(&["verify", "--log", pkg.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.starts_with("handle_exec"), "{out}");
    assert!(out.contains("  verifier log ("), "{out}");
    assert!(
        out.contains("processed ") && out.contains(" insns"),
        "{out}"
    );
    // Level 2 lists the instructions of every path, verified ones too.
    assert!(
        out.contains("    0: (") || out.contains("    0: R1"),
        "{out}"
    );
    let j = run_ecc(&["verify", "--json", "--log", pkg.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert!(v["programs"][0]["log"].as_array().unwrap().len() > 5, "{v}");
    // Without --log, nothing but the verdict.
    let o = run_ecc(&["verify", pkg.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);

    // A rejection: the whole log, more than the 20-line tail shown without --log.
    let bad = testdata("err_unbounded.bpf.o");
    let o = run_ecc(&["verify", "--log", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("rejected: R0 unbounded memory access"),
        "{out}"
    );
    let n: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("  verifier log (")?.strip_suffix(" lines):"))
        .unwrap_or_else(|| panic!("{out}"))
        .parse()
        .unwrap();
    assert!(n > 20, "{out}");
    assert!(!out.contains("(last 20 lines)"), "{out}");
}

#[test]
fn verbose_passes_libbpfs_debug_log() {
    if !kernel_or_skip("verbose_passes_libbpfs_debug_log") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pkg, _) = compile(dir.path(), "nested", &[]);
    let pkg = pkg.to_str().unwrap();
    let o = run_ecc(&["run", "--verbose", "--duration", "0.5", pkg]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    // Debug messages about maps libbpf creates (it never warns about these).
    assert!(
        err.contains("libbpf: ") && err.contains("created successfully"),
        "{err}"
    );
    let o = run_ecc(&["run", "--duration", "0.5", pkg]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("libbpf: "), "{err}");
}

#[test]
fn load_failures_are_classified_and_named() {
    if !kernel_or_skip("load_failures_are_classified_and_named") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A helper no kernel has: the verifier refuses it, and that is a missing feature.
    let (pkg, _) = compile(dir.path(), "failures", &["--", "-DBAD_HELPER"]);
    let o = run_ecc(&["run", "--duration", "1", pkg.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("handle_exec")
            && out.contains("failed to load (not supported by this kernel)"),
        "{out}"
    );
    assert!(out.contains("hint: the running kernel lacks"), "{out}");
    // A map type the kernel does not have: named by program and map.
    std::fs::remove_dir_all(dir.path().join("failures")).unwrap();
    let (pkg, _) = compile(dir.path(), "failures", &["--", "-DBAD_MAP"]);
    let o = run_ecc(&["run", "--duration", "1", pkg.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("'handle_exec'")
            && out.contains("map 'newmap'")
            && out.contains("not supported by this kernel"),
        "{out}"
    );
}

#[test]
fn unprivileged_user_gets_the_capability_hint() {
    if !kernel_or_skip("unprivileged_user_gets_the_capability_hint") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: unprivileged_user_gets_the_capability_hint: needs root to drop to nobody");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (pkg, _) = compile(dir.path(), "nested", &[]);
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_ecc"))
            .args(args)
            .output()
            .expect("run setpriv (util-linux)")
    };
    let o = as_nobody(&["run", "--duration", "1", pkg.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("'handle_exec'") && out.contains("permission denied"),
        "{out}"
    );
    assert!(
        out.contains("needs root, or CAP_BPF and CAP_PERFMON"),
        "{out}"
    );
    assert!(!out.contains("RLIMIT_MEMLOCK"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let o = as_nobody(&["verify", pkg.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("handle_exec  tracepoint  failed to load (permission denied)"),
        "{out}"
    );
    assert!(
        out.contains("1 of 1 programs failed to load (permission denied)"),
        "{out}"
    );
    assert!(!out.contains("rejected by the verifier"), "{out}");
}
