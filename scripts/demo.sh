#!/usr/bin/env bash
# The main job on the bundled example: compile testdata/bootstrap with ecc, show what it wrote,
# then dump this machine's vmlinux.h with wasm-bpftool.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
out="${1:-target/demo}"
mkdir -p "$out"
target/release/ecc testdata/bootstrap.bpf.c testdata/bootstrap.h -o "$out"
echo "ecc wrote to $out:"
ls -l "$out"
echo
echo "package.json in short:"
python3 - "$out/package.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
skel = p["meta"]["bpf_skel"]
print(f"  obj_name      {skel['obj_name']}  (object: {p['bpf_object_size']} bytes, zlib+base64 in bpf_object)")
print(f"  progs         " + ", ".join(f"{x['name']} <- {x['attach']}" for x in skel["progs"]))
print(f"  maps          " + ", ".join(m["name"] for m in skel["maps"]))
for d in skel["data_sections"]:
    print(f"  {d['name']:<13} " + ", ".join(f"{v['type']} {v['name']}" for v in d["variables"]))
for t in p["meta"].get("export_types", []):
    print(f"  export type   struct {t['name']} ({t['size']} bytes, {len(t['members'])} members, BTF id {t['type_id']})")
PY
if [ -r /sys/kernel/btf/vmlinux ]; then
  target/release/wasm-bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$out/vmlinux.h"
  echo
  echo "wasm-bpftool wrote $out/vmlinux.h ($(wc -l <"$out/vmlinux.h") lines)"
fi
