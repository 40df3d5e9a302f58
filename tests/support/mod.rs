//! Shared helpers for the loader's kernel tests: running `ecc`, deciding whether this machine
//! may load BPF, building packages from testdata, and spawning uniquely named processes.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ecc::btf::{Btf, Kind};
use ecc::object::Object;

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
        let mut child = ecc()
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ecc run");
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

/// Metadata the package builder adds to what it reads from the object.
#[derive(Default)]
pub struct PkgSpec<'a> {
    /// testdata source, e.g. "bootstrap.bpf.c".
    pub source: &'a str,
    /// The struct to export through BTF (`struct event`), forced into BTF like ecc does.
    pub export: Option<&'a str>,
    /// Per-variable metadata (`description`, `cmdarg`, …), keyed by variable name.
    pub vars: serde_json::Value,
    /// Per-map metadata (`sample`), keyed by map name.
    pub maps: serde_json::Value,
}

/// Compiles a testdata source and writes a package.json per the package spec into `dir`.
/// This stands in for `ecc` itself until the compile driver lands.
pub fn build_package(dir: &Path, spec: &PkgSpec<'_>) -> PathBuf {
    let stem = spec.source.trim_end_matches(".c");
    let src = testdata(spec.source);
    let wrapper = dir.join(spec.source);
    let mut w = format!("#include \"{}\"\n", src.display());
    if let Some(s) = spec.export {
        // The same trick as ecc: a pointer global keeps the struct in BTF; the runtime
        // hides `__eunomia_dummy_*` variables.
        w.push_str(&format!(
            "const volatile struct {s} *__eunomia_dummy_{s}_ptr __attribute__((unused));\n"
        ));
    }
    std::fs::write(&wrapper, w).unwrap();
    let text = std::fs::read_to_string(&src).unwrap();
    if text.contains("\"vmlinux.h\"") {
        let o = Command::new("bpftool")
            .args([
                "btf",
                "dump",
                "file",
                "/sys/kernel/btf/vmlinux",
                "format",
                "c",
            ])
            .output()
            .expect("bpftool");
        assert!(
            o.status.success(),
            "bpftool: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(dir.join("vmlinux.h"), &o.stdout).unwrap();
    }
    let multiarch = Command::new("clang")
        .arg("-print-multiarch")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "x86_64-linux-gnu".into());
    let obj_path = dir.join(format!("{stem}.o"));
    let o = Command::new("clang")
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-Wall",
            "-c",
        ])
        .arg("-I")
        .arg(repo().join("testdata"))
        .arg("-I")
        .arg(dir)
        .arg("-idirafter")
        .arg(format!("/usr/include/{multiarch}"))
        .arg(&wrapper)
        .arg("-o")
        .arg(&obj_path)
        .output()
        .expect("clang");
    assert!(
        o.status.success(),
        "clang: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let st = Command::new("llvm-strip")
        .arg("-g")
        .arg(&obj_path)
        .status()
        .expect("llvm-strip");
    assert!(st.success());
    let elf = std::fs::read(&obj_path).unwrap();
    let pkg = package_json(&elf, &format!("{stem}.o"), spec);
    let out = dir.join("package.json");
    std::fs::write(&out, serde_json::to_string_pretty(&pkg).unwrap()).unwrap();
    out
}

fn c_type(btf: &Btf<'_>, id: u32) -> String {
    let t = btf.ty(id).unwrap();
    match t.kind() {
        Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => c_type(btf, t.type_id()),
        Kind::Array => {
            let a = t.array().unwrap();
            format!("{}[{}]", c_type(btf, a.elem), a.nelems)
        }
        Kind::Ptr => format!("{} *", c_type(btf, t.type_id())),
        Kind::Struct => format!("struct {}", t.name()),
        Kind::Enum | Kind::Enum64 => format!("enum {}", t.name()),
        Kind::Void => "void".into(),
        _ => t.name().to_string(),
    }
}

fn package_json(elf: &[u8], file: &str, spec: &PkgSpec<'_>) -> serde_json::Value {
    use serde_json::json;
    let obj = Object::parse(elf).unwrap();
    let obj_name = ecc::loader::input::obj_name_for(Path::new(file));
    let merge = |base: serde_json::Value, extra: Option<&serde_json::Value>| {
        let mut b = base;
        if let (Some(m), Some(serde_json::Value::Object(e))) = (b.as_object_mut(), extra) {
            m.extend(e.clone());
        }
        b
    };
    let mut maps: Vec<serde_json::Value> = obj
        .maps
        .iter()
        .map(|m| {
            merge(
                json!({"name": m.name, "ident": m.name}),
                spec.maps.get(&m.name),
            )
        })
        .collect();
    let mut sections = Vec::new();
    for d in obj
        .datasecs
        .iter()
        .filter(|d| d.name == ".rodata" || d.name == ".bss")
    {
        maps.push(json!({
            "name": ecc::loader::input::internal_map_name(&obj_name, &d.name),
            "ident": d.name.trim_start_matches('.'),
            "mmaped": true
        }));
        let vars: Vec<serde_json::Value> = d
            .vars
            .iter()
            .map(|v| {
                merge(
                    json!({"name": v.name, "type": c_type(&obj.btf, v.type_id)}),
                    spec.vars.get(&v.name),
                )
            })
            .collect();
        sections.push(json!({"name": d.name, "variables": vars}));
    }
    let progs: Vec<serde_json::Value> = obj
        .programs
        .iter()
        .map(|p| json!({"name": p.name, "attach": p.section, "link": true}))
        .collect();
    let export_types: Vec<serde_json::Value> = spec
        .export
        .map(|s| {
            let t = obj.btf.find(s, Kind::Struct).expect("export struct in BTF");
            let members: Vec<serde_json::Value> = t
                .members()
                .map(|m| json!({"name": m.name, "type": c_type(&obj.btf, m.type_id)}))
                .collect();
            vec![json!({"name": s, "size": t.size(), "type_id": t.id, "members": members})]
        })
        .unwrap_or_default();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, elf).unwrap();
    json!({
        "bpf_object": base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap()),
        "bpf_object_size": elf.len(),
        "meta": {
            "bpf_skel": {"obj_name": obj_name, "maps": maps, "progs": progs, "data_sections": sections},
            "export_types": export_types,
            "eunomia_version": "test"
        }
    })
}
