#!/usr/bin/env bash
# Benchmarks the Wasm layout header of the whole kernel,
# `wasm-bpftool btf dump file /sys/kernel/btf/vmlinux format c -j`, against the nearest
# reference tool: Debian's bpftool writing vmlinux.h (`format c`; bpftool has no Wasm mode).
# Several interleaved hyperfine rounds (ours, theirs, ours, ...) so that load on this shared
# machine hits both alike; prints the medians, the ratio, the 100 ms budget verdict and what
# the header holds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet --bin wasm-bpftool

btf="${1:-/sys/kernel/btf/vmlinux}"
rounds="${ROUNDS:-5}"
budget_ms="${BUDGET_MS:-100}"
# WASM_BPFTOOL: another build to measure (e.g. a reference binary), default this tree's.
ours=("${WASM_BPFTOOL:-target/release/wasm-bpftool}" btf dump file "$btf" format c -j)
theirs=(bpftool btf dump file "$btf" format c)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq "$rounds"); do
  hyperfine -N --style none -w 2 -r 10 --export-json "$tmp/round$r.json" \
    "${ours[*]}" "${theirs[*]}" >/dev/null
done

"${ours[@]}" >"$tmp/wasm.h"
records=$(grep -cE '^static_assert\(sizeof\((struct|union) ' "$tmp/wasm.h" || true)
offsets=$(grep -c '^static_assert(offsetof(' "$tmp/wasm.h" || true)

python3 - "$tmp" "$rounds" "$budget_ms" <<'PY'
import json, statistics, sys
tmp, rounds, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ratios, ours, theirs, user = [], [], [], []
for r in range(1, rounds + 1):
    res = json.load(open(f"{tmp}/round{r}.json"))["results"]
    o, t = res[0]["median"], res[1]["median"]
    ours.append(o); theirs.append(t); ratios.append(o / t)
    user.append(res[0]["user"] + res[0]["system"])
med = statistics.median(ours) * 1e3
print(f"format c -j, vmlinux: ours {med:.1f} ms (cpu {statistics.median(user)*1e3:.1f} ms), "
      f"bpftool format c {statistics.median(theirs)*1e3:.1f} ms, "
      f"ratio ours/bpftool {statistics.median(ratios):.3f} "
      f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
print(f"budget {budget:.0f} ms: {'within' if med < budget else 'OVER'}")
PY
echo "header: $(wc -c <"$tmp/wasm.h") bytes, $records struct/union size asserts, $offsets offsetof asserts"
