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
echo "package.json (bpf_object elided):"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); p["bpf_object"]=p["bpf_object"][:32]+"..."; print(json.dumps(p, indent=2)[:3000])' "$out/package.json"
if [ -r /sys/kernel/btf/vmlinux ]; then
  target/release/wasm-bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$out/vmlinux.h"
  echo
  echo "wasm-bpftool wrote $out/vmlinux.h ($(wc -l <"$out/vmlinux.h") lines)"
fi
