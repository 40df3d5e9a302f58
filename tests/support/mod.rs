//! Shared helpers for the loader's kernel tests: running `ecc`, deciding whether this machine
//! may load BPF, building packages from testdata, and spawning uniquely named processes.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback port free right now, for a server the test starts (registry, Prometheus).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(name: &str) -> PathBuf {
    repo().join("testdata").join(name)
}

pub fn ecc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecc"))
}

pub fn run_ecc(args: &[&str]) -> Output {
    ecc().args(args).output().expect("run ecc")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether BPF programs may be loaded here. When they may not, prints a SKIP line and
/// returns false, unless ECC_REQUIRE_KERNEL=1 (CI), which turns the skip into a failure.
/// Any other failure to load a known-good object fails the test.
pub fn kernel_or_skip(test: &str) -> bool {
    let o = run_ecc(&["verify", testdata("hist.bpf.o").to_str().unwrap()]);
    if o.status.success() {
        return true;
    }
    let out = text(&o);
    let denied = out.contains("Operation not permitted") || out.contains("os error 1)");
    if std::env::var("ECC_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("{test}: ECC_REQUIRE_KERNEL=1 but BPF loading failed:\n{out}");
    }
    if denied {
        eprintln!("SKIP: {test}: BPF loading not permitted here (needs root/CAP_BPF): {out}");
        return false;
    }
    panic!("{test}: loading testdata/hist.bpf.o failed:\n{out}");
}

/// A short name no other process on the machine has (comm holds 15 characters).
pub fn unique_name(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut n = format!("e{tag}{:x}{:x}", std::process::id() & 0xfff, nanos & 0xffff);
    n.truncate(15);
    n
}

/// An executable named `name` (a copy of /bin/true) in `dir`.
pub fn named_binary(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy("/bin/true", &p).expect("copy /bin/true");
    p
}

/// Runs `bin` `times` times, a little apart, so each run is its own exec and exit.
pub fn spawn_times(bin: &Path, times: usize) {
    for _ in 0..times {
        let st = Command::new(bin).status().expect("spawn named process");
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `ecc run`, with its output collected by reader threads.
pub struct Running {
    child: Child,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `ecc run ARGS` and waits until it reports that its programs are attached.
    pub fn start(args: &[&str]) -> Running {
        let child = ecc()
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ecc run");
        Running::adopt(child)
    }

    /// Takes over an `ecc run` spawned elsewhere (with piped stdout and stderr) and waits
    /// until it reports that its programs are attached.
    pub fn adopt(mut child: Child) -> Running {
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let r = Running {
            child,
            stdout: rx,
            stderr,
        };
        Running::wait_attached(r, Instant::now())
    }

    fn wait_attached(mut r: Running, start: Instant) -> Running {
        loop {
            if r.stderr.lock().unwrap().contains("attached") {
                return r;
            }
            if let Ok(Some(st)) = r.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("ecc run exited early ({st}):\n{}", r.stderr.lock().unwrap());
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = r.child.kill();
                panic!(
                    "ecc run did not attach in 30s:\n{}",
                    r.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What `ecc run` has written to stderr so far.
    pub fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (up to 30 s) for the process to exit; returns status, stdout and stderr.
    pub fn finish(mut self) -> (ExitStatus, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait for ecc run") {
                break st;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("ecc run did not stop in 30s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader threads end at EOF; give them a moment to drain.
        let mut out = String::new();
        while let Ok(l) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            out.push_str(&l);
            out.push('\n');
        }
        std::thread::sleep(Duration::from_millis(50));
        let err = self.stderr.lock().unwrap().clone();
        (status, out, err)
    }
}

/// Sends a signal to a process by pid, with the `kill` utility.
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success());
}

/// Compiles testdata `source` (with its event `header`) with `ecc` itself into `dir`, as a
/// user would, and returns the package.json it wrote.
pub fn ecc_compile(dir: &Path, source: &str, header: Option<&str>) -> PathBuf {
    let mut cmd = ecc();
    cmd.arg(testdata(source));
    if let Some(h) = header {
        cmd.arg(testdata(h));
    }
    let o = cmd.arg("-o").arg(dir).output().expect("run ecc");
    assert!(o.status.success(), "ecc {source}: {}", text(&o));
    let pkg = dir.join("package.json");
    assert!(
        pkg.exists(),
        "ecc {source} wrote no package.json: {}",
        text(&o)
    );
    pkg
}
