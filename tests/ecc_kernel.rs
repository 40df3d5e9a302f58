//! The packaged object under libbpf, as the runtime uses it: opened from memory with
//! `object_name = obj_name`, libbpf must see exactly the package's maps (internal map names
//! included) and programs, in order; then it is loaded into the kernel for real.

mod ecc_harness;

use std::process::Command;

use ecc_harness::*;

/// Runs tests/support/list_object.c on `object`; returns its output lines.
fn libbpf_view(object: &[u8], obj_name: &str, load: bool) -> Vec<String> {
    let dir = scratch("libbpf-view");
    let file = dir.path().join("packaged.o");
    std::fs::write(&file, object).expect("write object");
    let mut cmd = Command::new(list_object_tool());
    cmd.arg(&file).arg(obj_name);
    if load {
        cmd.arg("load");
    }
    let out = cmd.output().expect("run list_object");
    assert!(out.status.success(), "list_object failed: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn package_view(package: &serde_json::Value) -> Vec<String> {
    let skel = &package["meta"]["bpf_skel"];
    // libbpf keeps at most 15 characters of the object name (BPF_OBJ_NAME_LEN - 1).
    let obj_name: String = skel["obj_name"]
        .as_str()
        .expect("obj_name")
        .chars()
        .take(15)
        .collect();
    let mut v = vec![format!("name {obj_name}")];
    for m in skel["maps"].as_array().expect("maps") {
        v.push(format!("map {}", m["name"].as_str().expect("map name")));
    }
    for p in skel["progs"].as_array().expect("progs") {
        v.push(format!(
            "prog {} {}",
            p["name"].as_str().expect("prog name"),
            p["attach"].as_str().expect("attach")
        ));
    }
    v
}

#[test]
fn libbpf_sees_the_packaged_maps_and_programs() {
    let mut cases = vec![
        ("maps", Some("maps.h")),
        ("globals", None),
        ("perf", Some("perf.h")),
        ("hist", None),
        ("types", Some("types.h")),
        ("err_unbounded", None),
    ];
    if std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        cases.push(("bootstrap", Some("bootstrap.h")));
    } else {
        skip_or_fail("bootstrap needs /sys/kernel/btf/vmlinux for vmlinux.h");
    }
    let mut load_skipped = false;
    for (name, header) in cases {
        let out = compile_testdata(name, header);
        let package = read_json(&out.path().join("package.json"));
        let object = decode_object(&package);
        let obj_name = package["meta"]["bpf_skel"]["obj_name"]
            .as_str()
            .expect("obj_name")
            .to_string();
        let expected = package_view(&package);
        // err_unbounded is rejected by the verifier on purpose; open only.
        let load = name != "err_unbounded" && !load_skipped;
        let mut seen = libbpf_view(&object, &obj_name, load);
        if load {
            let result = seen.pop().expect("a load line");
            if result == "load error 1" {
                skip_or_fail("loading BPF programs needs root (EPERM); only the open was checked");
                load_skipped = true;
            } else {
                assert_eq!(
                    result, "load ok",
                    "{name}: the kernel rejected the packaged object"
                );
            }
        }
        assert_eq!(
            seen, expected,
            "{name}: libbpf's view differs from package.json"
        );
        assert_eq!(
            libbpf_rs_view(&object, &obj_name),
            expected,
            "{name}: libbpf-rs's view differs from package.json"
        );
    }
}

/// The same view through libbpf-rs (its vendored libbpf), as `ecc verify`/`ecc run` open it.
fn libbpf_rs_view(object: &[u8], obj_name: &str) -> Vec<String> {
    let mut builder = libbpf_rs::ObjectBuilder::default();
    builder
        .name(obj_name)
        .expect("obj_name is a valid C string");
    let open = builder
        .open_memory(object)
        .expect("libbpf-rs opens the packaged object");
    let name = open.name().map(|n| n.to_string_lossy().into_owned());
    let mut v = vec![format!("name {}", name.unwrap_or_default())];
    for m in open.maps() {
        v.push(format!("map {}", m.name().to_string_lossy()));
    }
    for p in open.progs() {
        v.push(format!(
            "prog {} {}",
            p.name().to_string_lossy(),
            p.section().to_string_lossy()
        ));
    }
    v
}
