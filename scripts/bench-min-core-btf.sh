#!/usr/bin/env bash
# Benchmarks `wasm-bpftool gen min_core_btf` against Debian's bpftool on the same inputs:
# the kernel's BTF and every testdata object in one run. Interleaved hyperfine rounds
# (ours, theirs, ours, ...) so that load on this shared machine hits both alike, then the
# median ratio (goal: <= 0.5) and the output sizes side by side (ours must be no larger).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet --bin wasm-bpftool

btf="${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}"
rounds="${ROUNDS:-5}"
objs=(testdata/*.bpf.o)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ours="target/release/wasm-bpftool gen min_core_btf $btf $tmp/ours.btf ${objs[*]}"
theirs="bpftool gen min_core_btf $btf $tmp/bpftool.btf ${objs[*]}"

for r in $(seq "$rounds"); do
  hyperfine -N --style none -w 3 -r 20 --export-json "$tmp/round$r.json" \
    "$ours" "$theirs" >/dev/null
done

# Sizes: all objects together, and each object on its own (summed).
ours_each=0; theirs_each=0
for o in "${objs[@]}"; do
  target/release/wasm-bpftool gen min_core_btf "$btf" "$tmp/o1.btf" "$o"
  bpftool gen min_core_btf "$btf" "$tmp/b1.btf" "$o"
  ours_each=$((ours_each + $(stat -c %s "$tmp/o1.btf")))
  theirs_each=$((theirs_each + $(stat -c %s "$tmp/b1.btf")))
done

echo "load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
python3 - "$tmp" "$rounds" "${#objs[@]}" "$(stat -c %s "$tmp/ours.btf")" \
  "$(stat -c %s "$tmp/bpftool.btf")" "$ours_each" "$theirs_each" <<'PY'
import json, statistics, sys
tmp, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
all_o, all_t, each_o, each_t = map(int, sys.argv[4:8])
ours, theirs, ratios, cpu = [], [], [], []
for r in range(1, rounds + 1):
    res = json.load(open(f"{tmp}/round{r}.json"))["results"]
    o, t = res[0]["median"], res[1]["median"]
    ours.append(o); theirs.append(t); ratios.append(o / t)
    cpu.append((res[0]["user"] + res[0]["system"], res[1]["user"] + res[1]["system"]))
m = statistics.median
print(f"gen min_core_btf, kernel BTF + {n} objects: ours {m(ours)*1e3:.1f} ms, "
      f"bpftool {m(theirs)*1e3:.1f} ms, ratio ours/bpftool {m(ratios):.3f} "
      f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)}; goal <= 0.5)")
co, ct = m(c[0] for c in cpu), m(c[1] for c in cpu)
print(f"CPU time (user+sys): ours {co*1e3:.1f} ms, bpftool {ct*1e3:.1f} ms, ratio {co/ct:.3f}")
print(f"output size: all objects {all_o} bytes vs bpftool's {all_t}; "
      f"one object at a time, summed: {each_o} vs {each_t}")
PY
