#!/usr/bin/env bash
# Benchmarks `ecc run app.wasm` (the Wasm host) against `ecc run package.json` (the native
# runner) on the same program, testdata/bootstrap.bpf.c, and prints ratios:
#
# 1. start-up to the first poll, with hyperfine: the exec tracer guest (testdata/wasm/
#    exec_guest.c, `once` mode: load, attach, one poll, exit) with a cold module cache
#    (emptied before each run) and a warm one, against `ecc run --duration 0.001` of the
#    package (load, attach, one poll, exit). Goal: warm <= 1.5x native.
# 2. events under a burst: N execs of a uniquely named binary (default 2000), each runner
#    tracing only that name; prints events seen, events per wall second, and events per CPU
#    second of the runner process (its utime + stime), whose ratio is the fair one since
#    spawning bounds the wall rate. Goal: guest >= 0.8x native.
#
# Needs root (BPF). Environment: ECC (default target/release/ecc), N, RUNS (default 10).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"
ECC="${ECC:-$repo/target/release/ecc}"
BPFTOOL="${BPFTOOL:-$repo/target/release/wasm-bpftool}"
N="${N:-2000}"
RUNS="${RUNS:-10}"
if [ ! -x "$ECC" ] || [ ! -x "$BPFTOOL" ]; then
	cargo build --release >&2
fi
command -v hyperfine >/dev/null || { echo "bench-wasm-run: hyperfine not found (run scripts/setup.sh)" >&2; exit 1; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_CACHE_HOME="$tmp/cache"

"$ECC" testdata/bootstrap.bpf.c testdata/bootstrap.h -o "$tmp" >/dev/null
"$BPFTOOL" -j gen skeleton "$tmp/bootstrap.bpf.o" >"$tmp/bootstrap_bpf.skel.h"
"$ECC" build-wasm -o "$tmp/exec.wasm" testdata/wasm/exec_guest.c -- -I "$tmp"
"$ECC" run --duration 0.001 "$tmp/package.json" >/dev/null 2>&1 || {
	echo "bench-wasm-run: ecc run of the package failed (root and BPF needed)" >&2; exit 1; }

echo "== start-up to first poll (guest: exec_guest '' once)"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$tmp/startup.json" \
	-n native "$ECC run --duration 0.001 $tmp/package.json" \
	-n wasm-warm "$ECC run $tmp/exec.wasm '' once" \
	>/dev/null
hyperfine --runs "$RUNS" --export-json "$tmp/cold.json" \
	--prepare "rm -rf $XDG_CACHE_HOME/ecc/wasm-modules" \
	-n wasm-cold "$ECC run $tmp/exec.wasm '' once >/dev/null 2>&1" >/dev/null
python3 - "$tmp/startup.json" "$tmp/cold.json" <<'PY'
import json, sys
r = {x["command"]: x for f in sys.argv[1:] for x in json.load(open(f))["results"]}
nat = r["native"]["mean"]
for name in ["native", "wasm-warm", "wasm-cold"]:
    m, s = r[name]["mean"], r[name]["stddev"] or 0
    print(f"{name:10} {m*1000:8.1f} ms ± {s*1000:5.1f}   {m/nat:5.2f}x native")
print(f"goal: wasm-warm <= 1.5x native: {'met' if r['wasm-warm']['mean'] <= 1.5*nat else 'NOT met'}")
PY

# Waits for "attached" in $1 (stderr log), up to 30 s.
wait_attached() {
	for _ in $(seq 300); do grep -q attached "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench-wasm-run: runner did not attach: $(cat "$1")" >&2; exit 1
}

# cpu_seconds PID: utime + stime of a live process.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

burst() { # burst KIND -> prints "events wall_s cpu_s"
	local kind=$1 name
	name="eb$(printf %x $$)$(date +%N | cut -c1-5)"
	name="${name:0:15}"
	cp /bin/true "$tmp/$name"
	if [ "$kind" = native ]; then
		"$ECC" run --json "$tmp/package.json" -c "$name" >"$tmp/$kind.out" 2>"$tmp/$kind.err" &
	else
		"$ECC" run "$tmp/exec.wasm" "$name" >"$tmp/$kind.out" 2>"$tmp/$kind.err" &
	fi
	local pid=$!
	pids+=("$pid")
	wait_attached "$tmp/$kind.err"
	local c0 t0 t1 c1
	c0=$(cpu_seconds "$pid")
	t0=$(date +%s.%N)
	for _ in $(seq "$N"); do "$tmp/$name"; done
	# Wait until every exec event is out (or 10 s).
	for _ in $(seq 100); do
		[ "$(grep -c "\"comm\":\"$name\".*\"exit_event\":false" "$tmp/$kind.out" || true)" -ge "$N" ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	c1=$(cpu_seconds "$pid")
	kill -INT "$pid"
	wait "$pid" || true
	local ev
	ev=$(grep -c "\"comm\":\"$name\".*\"exit_event\":false" "$tmp/$kind.out" || true)
	python3 -c "import sys; a=list(map(float, sys.argv[2:])); print(sys.argv[1], a[1]-a[0], a[3]-a[2])" \
		"$ev" "$t0" "$t1" "$c0" "$c1"
}

echo "== burst: $N execs"
read -r ne nw nc < <(burst native)
read -r we ww wc < <(burst wasm)
python3 - "$N" "$ne" "$nw" "$nc" "$we" "$ww" "$wc" <<'PY'
import sys
n, ne, nw, nc, we, ww, wc = sys.argv[1:]
n, ne, we = int(n), int(ne), int(we)
nw, nc, ww, wc = map(float, (nw, nc, ww, wc))
for name, e, w, c in [("native", ne, nw, nc), ("wasm", we, ww, wc)]:
    print(f"{name:7} events {e:5}/{n}  {e/w:8.0f} events/s wall  {e/max(c,1e-3):9.0f} events per CPU-s")
print(f"wasm/native events per CPU-s: {(we/max(wc,1e-3))/(ne/max(nc,1e-3)):.2f}x (goal >= 0.8x); "
      f"wall: {(we/ww)/(ne/nw):.2f}x")
PY
