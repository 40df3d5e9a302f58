#!/usr/bin/env bash
# Benchmarks `wasm-bpftool btf dump file /sys/kernel/btf/vmlinux format c` against Debian's
# bpftool in the same session: several interleaved hyperfine rounds (ours, theirs, ours, ...)
# so that load on this shared machine hits both alike, then the median ratio and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet --bin wasm-bpftool

btf="${1:-/sys/kernel/btf/vmlinux}"
rounds="${ROUNDS:-5}"
# WASM_BPFTOOL: another build to measure (e.g. a reference binary), default this tree's.
ours=("${WASM_BPFTOOL:-target/release/wasm-bpftool}" btf dump file "$btf" format c)
theirs=(bpftool btf dump file "$btf" format c)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq "$rounds"); do
  hyperfine -N --style none -w 2 -r 10 --export-json "$tmp/round$r.json" \
    "${ours[*]}" "${theirs[*]}" >/dev/null
done

python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
ratios, ours, theirs = [], [], []
for r in range(1, rounds + 1):
    res = json.load(open(f"{tmp}/round{r}.json"))["results"]
    o, t = res[0]["median"], res[1]["median"]
    ours.append(o); theirs.append(t); ratios.append(o / t)
print(f"format c, vmlinux: ours {statistics.median(ours)*1e3:.1f} ms, "
      f"bpftool {statistics.median(theirs)*1e3:.1f} ms, "
      f"ratio ours/bpftool {statistics.median(ratios):.3f} (rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
PY

rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "peak RSS: ours $(rss "${ours[@]}") KB, bpftool $(rss "${theirs[@]}") KB"
