//! Wasm apps end to end: guests built with `ecc build-wasm` from testdata/wasm against the
//! `-j` skeleton of a program compiled by `ecc`, run by `ecc run app.wasm` on the real
//! kernel. Kernel tests skip with a SKIP line when BPF loading is not permitted, unless
//! ECC_REQUIRE_KERNEL=1.
#![cfg(feature = "wasm")]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::*;

/// Kernel tests run one at a time: they count process events machine-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn bpftool_j() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasm-bpftool"))
}

/// Compiles testdata `source` with ecc into `dir` (package.json and the object), writes
/// the `-j` skeleton `<name>_bpf.skel.h` beside it, and builds `guest` with
/// `ecc build-wasm` into `dir/<guest>.wasm`.
fn build_guest(dir: &Path, source: &str, header: Option<&str>, guest: &str) -> PathBuf {
    let pkg = ecc_compile(dir, source, header);
    let name = source.trim_end_matches(".bpf.c");
    let obj = dir.join(format!("{name}.bpf.o"));
    let o = bpftool_j()
        .args(["-j", "gen", "skeleton"])
        .arg(&obj)
        .output()
        .unwrap();
    assert!(o.status.success(), "gen skeleton -j: {}", text(&o));
    std::fs::write(dir.join(format!("{name}_bpf.skel.h")), &o.stdout).unwrap();
    assert!(pkg.exists());
    build_plain(dir, guest)
}

/// `ecc build-wasm` of testdata/wasm/<guest>.c with `dir` on the include path.
fn build_plain(dir: &Path, guest: &str) -> PathBuf {
    let out = dir.join(format!("{guest}.wasm"));
    let o = ecc()
        .arg("build-wasm")
        .arg("-o")
        .arg(&out)
        .arg(testdata(&format!("wasm/{guest}.c")))
        .args(["--", "-Wall", "-Werror", "-I"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "build-wasm {guest}: {}", text(&o));
    assert!(std::fs::read(&out).unwrap().starts_with(b"\0asm"));
    out
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `(pid, ppid, comm, filename, exit_event)` of the events about `comm`.
fn exec_events(out: &str, comm: &str) -> Vec<(i64, i64, String, String, bool)> {
    json_lines(out)
        .iter()
        .filter(|v| v["comm"] == comm)
        .map(|v| {
            (
                v["pid"].as_i64().unwrap(),
                v["ppid"].as_i64().unwrap(),
                v["comm"].as_str().unwrap().to_string(),
                v["filename"].as_str().unwrap_or_default().to_string(),
                v["exit_event"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn exec_tracer_guest_sees_what_the_native_runner_sees() {
    let _g = serial();
    if !kernel_or_skip("exec_tracer_guest_sees_what_the_native_runner_sees") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(
        dir.path(),
        "bootstrap.bpf.c",
        Some("bootstrap.h"),
        "exec_guest",
    );
    let pkg = dir.path().join("package.json");
    let name = unique_name("wx");
    let bin = named_binary(dir.path(), &name);
    let native = Running::start(&["--json", "--duration", "4", pkg.to_str().unwrap()]);
    let guest = Running::start(&["--duration", "4", wasm.to_str().unwrap()]);
    spawn_times(&bin, 5);
    let (st_n, out_n, err_n) = native.finish();
    let (st_g, out_g, err_g) = guest.finish();
    assert!(st_n.success(), "native: {err_n}");
    assert_eq!(st_g.code(), Some(0), "guest: {err_g}");
    let mut n = exec_events(&out_n, &name);
    let mut g = exec_events(&out_g, &name);
    n.sort();
    g.sort();
    assert_eq!(n.iter().filter(|e| !e.4).count(), 5, "native:\n{out_n}");
    assert_eq!(n.iter().filter(|e| e.4).count(), 5, "native:\n{out_n}");
    assert_eq!(g, n, "guest:\n{out_g}\nnative:\n{out_n}");
}

#[test]
fn rodata_filter_set_by_the_guest_takes_effect() {
    let _g = serial();
    if !kernel_or_skip("rodata_filter_set_by_the_guest_takes_effect") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(
        dir.path(),
        "bootstrap.bpf.c",
        Some("bootstrap.h"),
        "exec_guest",
    );
    let (a, b) = (unique_name("wa"), unique_name("wb"));
    let (bin_a, bin_b) = (named_binary(dir.path(), &a), named_binary(dir.path(), &b));
    let guest = Running::start(&["--duration", "3", wasm.to_str().unwrap(), &a]);
    spawn_times(&bin_a, 3);
    spawn_times(&bin_b, 3);
    let (st, out, err) = guest.finish();
    assert_eq!(st.code(), Some(0), "{err}");
    let all = json_lines(&out);
    assert_eq!(exec_events(&out, &a).len(), 6, "{out}");
    // The filter drops everything else in the kernel, this machine's other work included.
    assert!(all.iter().all(|v| v["comm"] == a.as_str()), "{out}");
}

#[test]
fn perf_buffer_guest_gets_every_exec() {
    let _g = serial();
    if !kernel_or_skip("perf_buffer_guest_gets_every_exec") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(dir.path(), "perf.bpf.c", Some("perf.h"), "perf_guest");
    let name = unique_name("wp");
    let bin = named_binary(dir.path(), &name);
    let guest = Running::start(&["--duration", "3", wasm.to_str().unwrap()]);
    let mut pids = BTreeSet::new();
    for _ in 0..4 {
        let mut c = Command::new(&bin).spawn().unwrap();
        pids.insert(c.id() as i64);
        assert!(c.wait().unwrap().success());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (st, out, err) = guest.finish();
    assert_eq!(st.code(), Some(0), "{err}");
    let seen: BTreeSet<i64> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, c)| *c == name)
        .map(|(p, _)| p.parse().unwrap())
        .collect();
    assert_eq!(seen, pids, "{out}");
}

#[test]
fn guest_reads_a_hash_map_into_a_histogram() {
    let _g = serial();
    if !kernel_or_skip("guest_reads_a_hash_map_into_a_histogram") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(dir.path(), "hist.bpf.c", None, "hist_guest");
    let guest = Running::start(&["--duration", "20", wasm.to_str().unwrap(), "15", "12"]);
    // Processes that live 50-60 ms: log2 slot 15 (32768..65535 us).
    for _ in 0..12 {
        let st = Command::new("sleep").arg("0.05").status().unwrap();
        assert!(st.success());
    }
    let (st, out, err) = guest.finish();
    assert_eq!(st.code(), Some(0), "{err}");
    let mut slots = vec![0u64; 26];
    let mut total = None;
    for l in out.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["keys", k] => assert_eq!(*k, "1", "{out}"),
            ["total", t] => total = Some(t.parse::<u64>().unwrap()),
            [i, c] => slots[i.parse::<usize>().unwrap()] = c.parse().unwrap(),
            _ => panic!("unexpected line {l:?} in\n{out}"),
        }
    }
    assert_eq!(total, Some(slots.iter().sum()), "{out}");
    assert!(slots[15] >= 12, "{out}");
}

#[test]
fn guest_args_env_dirs_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_plain(dir.path(), "args_guest");
    let w = wasm.to_str().unwrap();
    let o = run_ecc(&["run", w, "7", "two words", "--json"]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("argc=4 [7] [two words] [--json]"), "{out}");
    // Nothing from the host unless asked.
    assert!(
        out.contains("FOO=(unset)") && out.contains("open=denied"),
        "{out}"
    );
    let o = run_ecc(&["run", "--env", "FOO=bar", "--dir", "/etc", w, "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("FOO=bar") && out.contains("open=ok"), "{out}");
    // Every exit status is the guest's, also those a shell gives meanings to.
    for code in [1, 125, 126, 127, 200, 255] {
        let o = run_ecc(&["run", w, &code.to_string()]);
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        assert!(o.stderr.is_empty(), "{}", text(&o));
    }
    // A status no process can have is a failure, said in one line.
    for code in ["300", "-1"] {
        let o = run_ecc(&["run", w, code]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("ecc run: error: ") && err.contains("not an exit status"),
            "{err}"
        );
        assert!(!err.contains("trapped"), "{err}");
    }
}

#[test]
fn usage_errors_of_a_wasm_run_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_plain(dir.path(), "args_guest");
    let w = wasm.to_str().unwrap();
    for args in [
        &["run", "--duration", "0", w][..],
        &["run", "--duration", "soon", w],
        &["run", "--env", "NOVALUE", w],
        &["run", "--bogus", w],
    ] {
        let o = run_ecc(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("ecc run: error: "), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}: the guest must not run");
    }
    // A module that cannot be read is a failure, not a usage error.
    let o = run_ecc(&["run", "/nonexistent/app.wasm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn a_signal_stops_a_sleeping_guest_within_100ms() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_plain(dir.path(), "sleep_guest");
    let w = wasm.to_str().unwrap();
    for (how, sig) in [("sleep", "INT"), ("nano", "TERM")] {
        let guest = Running::start(&[w, "60", how]);
        // Let it reach the sleep.
        std::thread::sleep(Duration::from_millis(200));
        let signo = if sig == "INT" {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let t = Instant::now();
        // SAFETY: a plain kill(2) of our own child.
        assert_eq!(unsafe { libc::kill(guest.pid() as i32, signo) }, 0);
        let (st, out, err) = guest.finish();
        let took = t.elapsed();
        assert_eq!(st.code(), Some(0), "{how}: {err}");
        assert!(!out.contains("woke up"), "{how}: {out}");
        eprintln!("{how}: stopped {took:?} after SIG{sig}");
        // The host looks every 50 ms; on top come the process exit and finish()'s 20 ms
        // polling, which on this shared 2-CPU machine (load 12) add up to ~100 ms more.
        assert!(took < Duration::from_millis(250), "{how}: took {took:?}");
    }
    // A short sleep ends by itself: the clock is kept, not cut short.
    let t = Instant::now();
    let o = run_ecc(&["run", w, "1", "nano"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "woke up\n");
    assert!(t.elapsed() >= Duration::from_secs(1));
}

#[test]
fn a_trap_ends_the_run_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_plain(dir.path(), "trap_guest");
    let o = run_ecc(&["run", wasm.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "before the trap\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("guest trapped"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("crash_in_guest"), "{err}");
}

#[test]
fn bad_modules_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0\x99garbage").unwrap();
    let notwasm = dir.path().join("text.wasm");
    std::fs::write(&notwasm, b"hello").unwrap();
    // Imports something no host provides.
    let odd = dir.path().join("odd.wasm");
    let wat = r#"(module (import "env" "nope" (func)) (memory (export "memory") 1)
                 (func (export "_start")))"#;
    std::fs::write(&odd, wat::parse_str(wat).unwrap()).unwrap();
    for (p, want) in [
        (&junk, "junk.wasm"),
        (&notwasm, "not a Wasm module"),
        (&odd, "nope"),
    ] {
        let o = run_ecc(&["run", p.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn out_of_range_pointers_get_errnos_for_every_import() {
    let _g = serial();
    if !kernel_or_skip("out_of_range_pointers_get_errnos_for_every_import") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(
        dir.path(),
        "bootstrap.bpf.c",
        Some("bootstrap.h"),
        "badptr_guest",
    );
    let o = run_ecc(&["run", wasm.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let get = |k: &str| -> i64 {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in\n{out}"))
            .parse()
            .unwrap()
    };
    let (efault, einval, enoent, ebadf) = (-14, -22, -2, -9);
    for (k, want) in [
        ("load_bad_buf", 0),
        ("load_neg_len", 0),
        ("load_garbage", 0),
        ("attach_bad_name", efault),
        ("attach_bad_target", efault),
        ("attach_no_prog", enoent),
        ("attach_bad_obj", enoent),
        ("fd_bad_name", efault),
        ("fd_no_map", enoent),
        ("op_bad_key", efault),
        ("op_bad_value", efault),
        ("op_update_bad_value", efault),
        ("op_delete_bad_key", efault),
        ("op_bad_next_key", efault),
        ("op_bad_cmd", einval),
        ("op_bad_fd", ebadf),
        ("op_update_ok", 0),
        ("op_lookup_ok", 0),
        ("poll_bad_data", efault),
        ("poll_neg_size", einval),
        ("poll_bad_fn", einval),
        ("poll_not_buffer", einval),
        ("close_bad_obj", enoent),
    ] {
        assert_eq!(get(k), want, "{k}\n{out}");
    }
    assert!(get("poll_ok") >= 0, "{out}");
    assert!(out.ends_with("survived\n"), "{out}");
}

#[test]
fn sigint_stops_a_guest_blocked_in_poll() {
    let _g = serial();
    if !kernel_or_skip("sigint_stops_a_guest_blocked_in_poll") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(
        dir.path(),
        "bootstrap.bpf.c",
        Some("bootstrap.h"),
        "exec_guest",
    );
    // A comm nothing has: the guest waits in a 1 s poll that never returns an event.
    let guest = Running::start(&[wasm.to_str().unwrap(), "enothinghasthis"]);
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    signal(guest.pid(), "INT");
    let (st, _, err) = guest.finish();
    let took = t.elapsed();
    assert_eq!(st.code(), Some(0), "{err}");
    eprintln!("stopped {took:?} after SIGINT");
    // Includes detaching (an RCU grace period per tracepoint, long on a loaded machine);
    // a_signal_stops_a_sleeping_guest_within_100ms measures the stop itself.
    assert!(took < Duration::from_millis(500), "took {took:?}");
    // Everything is detached: no link of ours is left.
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn burst_of_execs_counted_exactly_as_the_native_runner_counts() {
    let _g = serial();
    if !kernel_or_skip("burst_of_execs_counted_exactly_as_the_native_runner_counts") {
        return;
    }
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_guest(
        dir.path(),
        "bootstrap.bpf.c",
        Some("bootstrap.h"),
        "exec_guest",
    );
    let pkg = dir.path().join("package.json");
    let name = unique_name("wn");
    let bin = named_binary(dir.path(), &name);
    let native = Running::start(&["--json", pkg.to_str().unwrap(), "-c", &name]);
    let guest = Running::start(&[wasm.to_str().unwrap(), &name]);
    let t = Instant::now();
    for _ in 0..N {
        let st = Command::new(&bin).stdout(Stdio::null()).status().unwrap();
        assert!(st.success());
    }
    eprintln!("{N} execs in {:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(1500));
    signal(native.pid(), "INT");
    signal(guest.pid(), "INT");
    let (st_n, out_n, err_n) = native.finish();
    let (st_g, out_g, err_g) = guest.finish();
    assert!(st_n.success(), "{err_n}");
    assert_eq!(st_g.code(), Some(0), "{err_g}");
    let count = |out: &str| exec_events(out, &name).iter().filter(|e| !e.4).count();
    assert_eq!(count(&out_n), N, "native runner");
    assert_eq!(count(&out_g), count(&out_n), "guest vs native");
}

/// The Go (TinyGo) SDK's shape, written by hand: `callback-wrapper` poll with six
/// parameters and an exported `go-callback`, on perf.bpf.o embedded as a data segment.
fn go_style_guest(elf: &[u8]) -> String {
    let mut data = String::new();
    for b in elf {
        data.push_str(&format!("\\{b:02x}"));
    }
    format!(
        r#"(module
  (import "wasm_bpf" "wasm_load_bpf_object" (func $load (param i32 i32) (result i64)))
  (import "wasm_bpf" "wasm_attach_bpf_program" (func $attach (param i64 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_fd_by_name" (func $fd (param i64 i32) (result i32)))
  (import "callback-wrapper" "wasm_bpf_buffer_poll"
    (func $poll (param i64 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 64)
  (data (i32.const 64) "handle_exec\00")
  (data (i32.const 96) "events\00")
  (data (i32.const 112) "attached\0a")
  (data (i32.const 128) "\0a")
  (data (i32.const 65536) "{data}")
  (func $out (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 16))))
  ;; (ctx, data, size): prints the event's comm (bytes 8..24) and a newline.
  (func (export "go-callback") (param i32 i32 i32) (result i32)
    (call $out (i32.const 1) (i32.add (local.get 1) (i32.const 8)) (i32.const 16))
    (call $out (i32.const 1) (i32.const 128) (i32.const 1))
    (i32.const 0))
  (func (export "_start") (local $h i64) (local $fd i32)
    (local.set $h (call $load (i32.const 65536) (i32.const {len})))
    (if (i64.eqz (local.get $h)) (then (call $exit (i32.const 2))))
    (if (call $attach (local.get $h) (i32.const 64) (i32.const 0))
      (then (call $exit (i32.const 3))))
    (local.set $fd (call $fd (local.get $h) (i32.const 96)))
    (call $out (i32.const 2) (i32.const 112) (i32.const 9))
    (loop $l
      (drop (call $poll (local.get $h) (local.get $fd) (i32.const 0) (i32.const 2048)
        (i32.const 1024) (i32.const 100)))
      (br $l))))"#,
        len = elf.len()
    )
}

#[test]
fn go_sdk_guest_with_callback_wrapper_runs_without_a_flag() {
    let _g = serial();
    if !kernel_or_skip("go_sdk_guest_with_callback_wrapper_runs_without_a_flag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let elf = std::fs::read(testdata("perf.bpf.o")).unwrap();
    let wasm = dir.path().join("go.wasm");
    std::fs::write(&wasm, wat::parse_str(go_style_guest(&elf)).unwrap()).unwrap();
    let name = unique_name("wg");
    let bin = named_binary(dir.path(), &name);
    let guest = Running::start(&["--duration", "2", wasm.to_str().unwrap()]);
    spawn_times(&bin, 3);
    let (st, out, err) = guest.finish();
    assert_eq!(st.code(), Some(0), "{err}");
    let hits = out
        .lines()
        .filter(|l| l.trim_end_matches('\0') == name)
        .count();
    assert_eq!(hits, 3, "{out:?}");
}

#[test]
fn build_wasm_names_a_missing_package() {
    let dir = tempfile::tempdir().unwrap();
    // A clang that knows no wasm32 libc: what clang says without wasi-libc.
    let fake = dir.path().join("clang");
    std::fs::write(&fake, "#!/bin/sh\necho libc.a\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = testdata("wasm/args_guest.c");
    let out = dir.path().join("a.wasm");
    let o = ecc()
        .args(["build-wasm", "--clang-bin"])
        .arg(&fake)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("wasi-libc"), "{err}");
    assert!(!out.exists());
    let o = run_ecc(&["build-wasm", "/nonexistent/app.c"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("/nonexistent/app.c"), "{}", text(&o));
}

/// The README's "Writing a Wasm app" example as written: the tracer's `minitrace.h` and
/// `minitrace.bpf.c`, the section's `app.c`, and its four commands (with our binaries, as
/// root), the last stopped by SIGINT once it printed an exec of ours.
#[test]
fn readme_wasm_example_runs_as_written() {
    let _g = serial();
    let doc = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = |title: &str| -> &str {
        doc.split("\n## ")
            .find(|s| s.starts_with(title))
            .unwrap_or_else(|| panic!("README section {title}"))
    };
    // Each ```c block follows a paragraph whose last backquoted word names its file.
    let blocks = |text: &str| -> Vec<(String, String)> {
        let (mut out, mut para, mut lines) = (Vec::new(), String::new(), text.lines());
        let mut ended = false;
        while let Some(line) = lines.next() {
            if line == "```c" {
                let name = para
                    .split('`')
                    .rev()
                    .nth(1)
                    .expect("a file name")
                    .to_string();
                let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
                out.push((name, body.join("\n") + "\n"));
            } else if line.trim().is_empty() {
                ended = true;
            } else {
                if std::mem::take(&mut ended) {
                    para.clear();
                }
                para.push_str(line);
                para.push('\n');
            }
        }
        out
    };
    let wasm_section = section("Writing a Wasm app");
    let mut files = blocks(section("Writing a tracer"));
    files.extend(blocks(wasm_section));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["minitrace.h", "minitrace.bpf.c", "app.c"]);
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in &files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let commands: Vec<Vec<&str>> = wasm_section
        .split("The four commands:")
        .nth(1)
        .and_then(|s| s.split("```console\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the four commands")
        .lines()
        .map(|l| {
            let l = l.strip_prefix("$ ").expect("a command line");
            let l = l.split(" #").next().unwrap();
            l.split_whitespace().filter(|w| *w != "sudo").collect()
        })
        .collect();
    assert_eq!(commands.len(), 4, "{commands:?}");
    let bin = |w: &str| match w {
        "ecc" => PathBuf::from(env!("CARGO_BIN_EXE_ecc")),
        "wasm-bpftool" => PathBuf::from(env!("CARGO_BIN_EXE_wasm-bpftool")),
        other => panic!("the README runs {other}"),
    };
    let (last, build) = commands.split_last().unwrap();
    for words in build {
        let (args, redirect) = match words.iter().position(|w| *w == ">") {
            Some(i) => (&words[1..i], Some(words[i + 1])),
            None => (&words[1..], None),
        };
        let o = Command::new(bin(words[0]))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{words:?}: {}", text(&o));
        if let Some(file) = redirect {
            std::fs::write(dir.path().join(file), &o.stdout).unwrap();
        }
    }
    assert!(dir.path().join("app.wasm").is_file());
    if !kernel_or_skip("readme_wasm_example_runs_as_written") {
        return;
    }
    assert_eq!(last, &["ecc", "run", "app.wasm"]);
    let mut child = Command::new(bin(last[0]))
        .args(&last[1..])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let comm = unique_name("rm");
    let exe = named_binary(dir.path(), &comm);
    let start = Instant::now();
    let mut seen = Vec::new();
    // The header comes once the guest has attached; then an exec of ours shows up.
    while !seen.iter().any(|l: &String| l.contains(&comm)) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no event for {comm}: {seen:?}"
        );
        if seen.iter().any(|l| l.starts_with("PID")) {
            let _ = Command::new(&exe).status();
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    signal(child.id(), "INT");
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "{seen:?}");
    let line = seen.iter().find(|l| l.contains(&comm)).unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols.len(), 3, "{line}");
    assert!(
        cols[0].parse::<u32>().is_ok() && cols[1].parse::<u32>().is_ok(),
        "{line}"
    );
    assert_eq!(cols[2], comm, "{line}");
}
