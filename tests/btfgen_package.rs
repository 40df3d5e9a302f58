//! `ecc --btfgen` with a BTFHub-layout archive built here: this machine's kernel (as a
//! `.btf.tar.xz`) and a synthetic kernel where `task_struct.tgid` sits at another offset.
//! `ecc run --btf-from-package` must pick this kernel's BTF and read the right data; a
//! package without it must fail naming what it looked for.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use ecc::btfgen::archive::{self, KernelId};
use support::{ecc, kernel_or_skip, run_ecc, testdata, text, Running};

/// This machine's BTF with `task_struct.tgid` moved onto `exit_code` (0 while running).
fn synthetic_kernel(full: &[u8]) -> Vec<u8> {
    let btf = ecc::btf::Btf::parse(full).unwrap();
    let task = btf.find("task_struct", ecc::btf::Kind::Struct).unwrap();
    let exit_code = task.members().find(|m| m.name == "exit_code").unwrap();
    let mut w = ecc::btf::write::Writer::new();
    for id in btf.ids() {
        let t = btf.ty(id).unwrap();
        if id != task.id {
            w.copy(&t, |i| i).unwrap();
            continue;
        }
        w.begin(t.name(), t.kind(), 0, false, t.size()).unwrap();
        for m in t.members() {
            let off = if m.name == "tgid" {
                exit_code.bit_offset
            } else {
                m.bit_offset
            };
            w.member(m.name, m.type_id, off, m.bitfield_size).unwrap();
        }
    }
    w.finish().unwrap()
}

/// `RELEASE.btf.tar.xz` as BTFHub ships it: a tar holding `RELEASE.btf`.
fn tar_xz(release: &str, btf: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(btf.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, format!("{release}.btf"), btf)
        .unwrap();
    let tar = b.into_inner().unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 0);
    xz.write_all(&tar).unwrap();
    xz.finish().unwrap()
}

fn put(root: &Path, k: &KernelId, name: &str, data: &[u8]) {
    let dir = root.join(&k.id).join(&k.version_id).join(&k.arch);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

/// Events of `ecc run --json ARGS` for one exec of /bin/true: (pid, event).
fn run_and_exec(args: &[&str]) -> (u32, Vec<serde_json::Value>) {
    let mut a = vec!["--json", "--duration", "3"];
    a.extend(args);
    let r = Running::start(&a);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let (st, out, err) = r.finish();
    assert!(st.success(), "ecc run {args:?}: {err}");
    let events = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["pid"].as_u64() == Some(u64::from(pid)))
        .collect();
    (pid, events)
}

#[test]
fn package_tar_picks_this_kernels_btf() {
    if !kernel_or_skip("package_tar_picks_this_kernels_btf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, out) = (dir.path().join("hub"), dir.path().join("out"));
    let full = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let this = KernelId::running().unwrap();
    let other = KernelId {
        release: "0.0.1-synthetic".into(),
        ..this.clone()
    };
    put(
        &hub,
        &this,
        &format!("{}.btf.tar.xz", this.release),
        &tar_xz(&this.release, &full),
    );
    put(
        &hub,
        &other,
        &format!("{}.btf", other.release),
        &synthetic_kernel(&full),
    );
    // Another architecture's kernel is not packed for an x86 program.
    let foreign = KernelId {
        arch: "s390x".into(),
        ..this.clone()
    };
    put(&hub, &foreign, "9.9.btf", &full[..100]);

    let o = ecc()
        .arg("--btfgen")
        .arg("--btfhub-archive")
        .arg(&hub)
        .arg(testdata("btfgen.bpf.c"))
        .arg(testdata("btfgen.h"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let tar_path = out.join("btfgen.tar");
    let tar = std::fs::read(&tar_path).unwrap();
    let pkg = archive::read_package_tar(&tar_path, &tar).unwrap();
    assert_eq!(
        pkg.package_json,
        std::fs::read(out.join("package.json")).unwrap()
    );
    let kernels: Vec<&KernelId> = pkg.btfs.iter().map(|(k, _)| k).collect();
    let mut want = vec![&this, &other];
    want.sort();
    assert_eq!(kernels, want);
    for (_, b) in &pkg.btfs {
        assert!(b.len() < 4096, "minimal BTF of {} bytes", b.len());
    }
    let tar_s = tar_path.to_str().unwrap();

    // This kernel's entry: tgid is read at the right offset.
    let (pid, events) = run_and_exec(&["--btf-from-package", tar_s]);
    assert!(!events.is_empty(), "no event for pid {pid}");
    for e in &events {
        assert_eq!(e["tgid"].as_u64(), Some(u64::from(pid)), "{e}");
        assert_eq!(
            e["ppid"].as_u64(),
            Some(u64::from(std::process::id())),
            "{e}"
        );
        assert_eq!(e["has_state"], 1, "{e}");
        assert_eq!(e["has_old_state"], 0, "{e}");
    }

    // The synthetic kernel's entry really differs: forced onto this kernel, tgid reads
    // exit_code instead.
    let synth = dir.path().join("synthetic.min.btf");
    let (_, b) = pkg.btfs.iter().find(|(k, _)| *k == other).unwrap();
    std::fs::write(&synth, b).unwrap();
    let (pid, events) = run_and_exec(&["--btf", synth.to_str().unwrap(), tar_s]);
    assert!(!events.is_empty(), "no event for pid {pid}");
    assert!(events.iter().all(|e| e["tgid"] == 0), "{events:?}");

    // A package without this kernel fails, naming what it looked for.
    let only_other = dir.path().join("other.tar");
    let kept: Vec<_> = pkg.btfs.into_iter().filter(|(k, _)| *k == other).collect();
    std::fs::write(
        &only_other,
        archive::write_package_tar(&pkg.package_json, &kept),
    )
    .unwrap();
    let wanted = format!("btfhub-archive/{}", this.path());
    for sub in ["run", "verify"] {
        let o = run_ecc(&[sub, "--btf-from-package", only_other.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{sub}: {t}");
        assert!(t.contains(&wanted) && t.contains("other.tar"), "{sub}: {t}");
    }
    // Without --btf-from-package, a kernel with BTF uses its own.
    let o = run_ecc(&["verify", only_other.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn btfgen_errors_name_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-hub");
    let o = ecc()
        .args(["--btfgen", "--btfhub-archive"])
        .arg(&missing)
        .arg(testdata("btfgen.bpf.c"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no-such-hub"), "{}", text(&o));
    let empty = dir.path().join("empty-hub");
    std::fs::create_dir(&empty).unwrap();
    let o = ecc()
        .args(["--btfgen", "--btfhub-archive"])
        .arg(&empty)
        .arg(testdata("btfgen.bpf.c"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("empty-hub") && t.contains("BTFHub"), "{t}");
    assert!(
        !dir.path().join("out/package.json").exists(),
        "partial output"
    );
}

#[test]
fn bad_archives_and_tars_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().join("hub");
    let k = KernelId::from_path("ubuntu/20.04/x86_64/5.4.0-1-generic.btf").unwrap();
    put(&hub, &k, "5.4.0-1-generic.btf.tar.xz", b"not xz at all");
    let out = dir.path().join("out");
    let o = ecc()
        .args(["--btfgen", "--target-arch", "x86", "--btfhub-archive"])
        .arg(&hub)
        .arg(testdata("btfgen.bpf.c"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("5.4.0-1-generic.btf.tar.xz"), "{t}");
    assert!(!out.join("package.json").exists(), "partial output");

    let mut bad = archive::write_package_tar(b"{}", &[]);
    bad[600] ^= 0xff;
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, &bad[..1024]).unwrap();
    for sub in ["verify", "run"] {
        let o = run_ecc(&[sub, junk.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{sub}: {t}");
        assert!(
            t.contains("junk.tar") && t.trim().lines().count() == 1,
            "{sub}: {t}"
        );
    }
}
