//! Guests built by `ecc build-wasm` against our SDK need nothing the wasm-bpf runtime does
//! not provide: every import is WASI preview 1 or one of the six `wasm_bpf` functions, with
//! the signatures of the ABI (../shared/spec/wasm.md), and the module exports the memory and
//! function table the runtime reads. The guest below calls every function of the SDK.

mod support;

use support::{ecc, text};
use wasmparser::{Parser, Payload, TypeRef, ValType};

const GUEST: &str = r#"
#include <stdio.h>
#include "libbpf-wasm.h"

static int on_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	return size > 0 && ((char *)data)[0] == 'x';
}

static char object[64];
static struct bpf_map *map;
static struct bpf_program *prog;
static struct bpf_map_skeleton maps[1] = { { "events", &map, 0 } };
static struct bpf_prog_skeleton progs[1] = { { "handle", &prog } };
static struct bpf_object_skeleton skel = {
	.sz = sizeof(skel), .name = "abi", .data = object, .data_sz = sizeof(object),
	.map_cnt = 1, .map_skel_sz = sizeof(maps[0]), .maps = maps,
	.prog_cnt = 1, .prog_skel_sz = sizeof(progs[0]), .progs = progs,
};

int main(void)
{
	unsigned key = 0, next = 0;
	unsigned long long value = 0;
	struct bpf_buffer *buf;

	if (bpf_object__open_skeleton(&skel, NULL) || bpf_object__load_skeleton(&skel))
		return 1;
	bpf_set_prog_attach_target(prog, "lo");
	if (bpf_object__attach_skeleton(&skel))
		return 1;
	bpf_map_lookup_elem(bpf_map__fd(map), &key, &value);
	bpf_map_update_elem(bpf_map__fd(map), &key, &value, 0);
	bpf_map_delete_elem(bpf_map__fd(map), &key);
	bpf_map_get_next_key(bpf_map__fd(map), &key, &next);
	buf = bpf_buffer__open(map, on_sample, NULL);
	if (buf) {
		bpf_buffer__poll(buf, 10);
		bpf_buffer__free(buf);
	}
	bpf_object__detach_skeleton(&skel);
	bpf_object__destroy_skeleton(&skel);
	printf("%s\n", bpf_map__name(map));
	return 0;
}
"#;

/// The `wasm_bpf` imports of the ABI: name, parameters, results.
fn abi() -> Vec<(&'static str, Vec<ValType>, Vec<ValType>)> {
    use ValType::{I32, I64};
    vec![
        ("wasm_load_bpf_object", vec![I32, I32], vec![I64]),
        ("wasm_attach_bpf_program", vec![I64, I32, I32], vec![I32]),
        (
            "wasm_bpf_buffer_poll",
            vec![I64, I32, I32, I32, I32, I32, I32],
            vec![I32],
        ),
        ("wasm_bpf_map_fd_by_name", vec![I64, I32], vec![I32]),
        (
            "wasm_bpf_map_operate",
            vec![I32, I32, I32, I32, I32, I64],
            vec![I32],
        ),
        ("wasm_close_bpf_object", vec![I64], vec![I32]),
    ]
}

#[test]
fn sdk_guests_import_only_the_wasm_bpf_abi_and_wasi() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("abi.c");
    std::fs::write(&src, GUEST).unwrap();
    let out = dir.path().join("abi.wasm");
    let o = ecc()
        .args(["build-wasm", "-o"])
        .arg(&out)
        .arg(&src)
        .args(["--", "-Wall", "-Werror"])
        .output()
        .unwrap();
    assert!(o.status.success(), "build-wasm: {}", text(&o));
    let bytes = std::fs::read(&out).unwrap();

    let mut types = Vec::new();
    let mut bpf_imports = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.expect("our guest is a valid module") {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    let f = ty.unwrap();
                    types.push((f.params().to_vec(), f.results().to_vec()));
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp.unwrap();
                    match imp.module {
                        "wasi_snapshot_preview1" => {}
                        "wasm_bpf" => {
                            let TypeRef::Func(t) = imp.ty else {
                                panic!("wasm_bpf.{} is not a function", imp.name)
                            };
                            bpf_imports.push((imp.name.to_string(), t));
                        }
                        other => panic!("import {other}.{} is not in the ABI", imp.name),
                    }
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    exports.push(e.unwrap().name.to_string());
                }
            }
            _ => {}
        }
    }
    let abi = abi();
    for (name, t) in &bpf_imports {
        let (_, params, results) = abi
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("wasm_bpf.{name} is not in the ABI"));
        let usize_t = usize::try_from(*t).unwrap();
        assert_eq!(
            &types[usize_t],
            &(params.clone(), results.clone()),
            "signature of wasm_bpf.{name}"
        );
    }
    // The SDK reaches every function of the ABI through the calls above.
    let mut used: Vec<&str> = bpf_imports.iter().map(|(n, _)| n.as_str()).collect();
    used.sort_unstable();
    let mut all: Vec<&str> = abi.iter().map(|(n, _, _)| *n).collect();
    all.sort_unstable();
    assert_eq!(used, all);
    for e in ["memory", "__indirect_function_table", "_start"] {
        assert!(exports.iter().any(|x| x == e), "no export {e}: {exports:?}");
    }
}
