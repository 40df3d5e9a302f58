#!/usr/bin/env bash
# Benchmarks `wasm-bpftool gen skeleton` on the largest testdata object against Debian's
# bpftool in the same session: interleaved hyperfine rounds (ours, theirs, ours, ...) so that
# load on this shared machine hits both alike, then the median ratio. Goal: <= 0.3.
# Also times `gen skeleton -j` (bpftool has no Wasm mode; same baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet --bin wasm-bpftool

obj="${1:-$(ls -S testdata/*.bpf.o | head -1)}"
rounds="${ROUNDS:-5}"
ours="target/release/wasm-bpftool gen skeleton $obj"
ours_j="target/release/wasm-bpftool -j gen skeleton $obj"
theirs="bpftool gen skeleton $obj"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq "$rounds"); do
  hyperfine -N --style none -w 3 -r 20 --export-json "$tmp/round$r.json" \
    "$ours" "$theirs" "$ours_j" >/dev/null
done

python3 - "$tmp" "$rounds" "$obj" "$(stat -c %s "$obj")" <<'PY'
import json, statistics, sys
tmp, rounds, obj, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ours, theirs, ours_j, ratios, ratios_j = [], [], [], [], []
for r in range(1, rounds + 1):
    res = json.load(open(f"{tmp}/round{r}.json"))["results"]
    o, t, j = res[0]["median"], res[1]["median"], res[2]["median"]
    ours.append(o); theirs.append(t); ours_j.append(j)
    ratios.append(o / t); ratios_j.append(j / t)
m = statistics.median
print(f"gen skeleton, {obj} ({size} bytes): ours {m(ours)*1e3:.1f} ms, "
      f"bpftool {m(theirs)*1e3:.1f} ms, "
      f"ratio ours/bpftool {m(ratios):.3f} (rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
print(f"gen skeleton -j: ours {m(ours_j)*1e3:.1f} ms, ratio vs bpftool's native {m(ratios_j):.3f}")
PY
