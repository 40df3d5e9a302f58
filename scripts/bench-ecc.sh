#!/usr/bin/env bash
# Benchmarks `ecc bootstrap.bpf.c bootstrap.h` (compile, strip, docs, package) against one bare
# clang compile of the same file with the same flags (the command line ecc prints with -v,
# without its precompiled vmlinux.h), using hyperfine, and prints the ratios of median wall
# time and of total CPU time (user + sys of the process and all its threads and children).
# Goals, warm cache: wall <= 0.60x and CPU <= 1.00x clang's.
# Then the cold case (a fresh cache: vmlinux.h generated, vmlinux.h precompiled) with and
# without the precompiled header, which shows what the first compile against a kernel pays.
#
#   scripts/bench-ecc.sh           ecc vs bare clang
#   scripts/bench-ecc.sh --all     also ecc with llvm-strip (-l) instead of the built-in
#                                  stripper, and ecc without libclang (no doc-comment parse)
#
# Environment: ECC (default: target/release/ecc, built if missing), ROUNDS (default 5) and
# RUNS per round (default 10).
# vmlinux.h and the clang probe are cached in a private XDG_CACHE_HOME, warmed up first,
# as they are for a user after the first run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"
all=0
case "${1:-}" in
--all) all=1 ;;
"") ;;
*) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac

ECC="${ECC:-$repo/target/release/ecc}"
RUNS="${RUNS:-10}"
ROUNDS="${ROUNDS:-5}"
if [ ! -x "$ECC" ]; then
	cargo build --release --bin ecc >&2
fi
for tool in hyperfine clang llvm-strip; do
	command -v "$tool" >/dev/null || { echo "bench-ecc: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
[ -r /sys/kernel/btf/vmlinux ] || { echo "bench-ecc: needs /sys/kernel/btf/vmlinux for bootstrap's vmlinux.h" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
src=testdata/bootstrap.bpf.c
hdr=testdata/bootstrap.h

# Warm the caches and capture ecc's clang command line.
"$ECC" -v "$src" "$hdr" -o "$tmp/warm" 2>"$tmp/verbose.log"
clang_line="$(grep -E '^ecc: \(in ' "$tmp/verbose.log" | grep -- ' -target bpf ' | head -n1)"
[ -n "$clang_line" ] || { echo "bench-ecc: no clang command in ecc -v output" >&2; cat "$tmp/verbose.log" >&2; exit 1; }
clang_line="${clang_line#ecc: (in *) }"
read -r -a words <<<"$clang_line"

# The same command on the user's file instead of ecc's wrapper, writing to our temp dir.
bare=("${words[0]}")
i=1
while [ "$i" -lt "${#words[@]}" ]; do
	w="${words[$i]}"
	case "$w" in
	-o) bare+=(-o "$tmp/bare.o"); i=$((i + 2)); continue ;;
	-include-pch | -MF | -MT) i=$((i + 2)); continue ;;
	-MD) i=$((i + 1)); continue ;;
	-c) bare+=(-c); i=$((i + 1)); continue ;;
	*/src/bootstrap.bpf.c) bare+=("$repo/$src") ;;
	*) bare+=("$w") ;;
	esac
	i=$((i + 1))
done
bare_cmd="${bare[*]}"
ecc_cmd="$ECC $src $hdr -o $tmp/out"
echo "bare clang: $bare_cmd"
echo "ecc:        $ecc_cmd"

cmds=("$bare_cmd" "$ecc_cmd")
names=("clang" "ecc")
if [ "$all" -eq 1 ]; then
	cmds+=("$ECC $src $hdr -o $tmp/out-strip -l $(command -v llvm-strip)")
	names+=("ecc -l llvm-strip")
	cmds+=("env LIBCLANG_PATH=$tmp/none $ecc_cmd")
	names+=("ecc without libclang")
fi

# Interleaved rounds (clang, ecc, clang, ecc, ...) so that load on a shared machine hits both
# alike; -N runs the commands without a shell (no paths here contain spaces).
for r in $(seq "$ROUNDS"); do
	hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-csv "$tmp/round$r.csv" "${cmds[@]}" \
		>/dev/null 2>&1
done

# CSV: command,mean,stddev,median,user,system,min,max. Per round, each command's median
# over the clang median; the result is the median of the rounds.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
awk -F, -v goal=0.60 -v cpugoal=1.00 -v n="${#cmds[@]}" -v names="$(IFS='|'; echo "${names[*]}")" '
	FNR == 1 { round++; next }
	{ k = FNR - 1; med[round, k] = $4; cpu[round, k] = $5 + $6 }
	function median(a, m,    i, j, t) {
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		split(names, name, "|")
		printf "%-22s %12s %12s %8s   %s\n", "command", "median (ms)", "cpu (ms)", "ratio", "per round"
		for (k = 1; k <= n; k++) {
			rounds = ""
			for (r = 1; r <= round; r++) {
				ratio[r] = med[r, k] / med[r, 1]; t[r] = med[r, k]; c[r] = cpu[r, k]
				rounds = rounds sprintf(" %.3f", ratio[r])
			}
			mt = median(t, round); mc = median(c, round); mr = median(ratio, round)
			printf "%-22s %12.1f %12.1f %8.3f  %s\n", name[k], mt * 1000, mc * 1000, mr, rounds
			if (k == 1) cpu1 = mc
			if (k == 2) { result = mr; cpu2 = mc }
		}
		printf "\necc / bare clang wall = %.3f (median of %d interleaved rounds; goal <= %.2f): %s\n", result, round, goal, (result <= goal ? "met" : "NOT met")
		printf "ecc / bare clang CPU  = %.3f (goal <= %.2f): %s\n", cpu2 / cpu1, cpugoal, (cpu2 / cpu1 <= cpugoal ? "met" : "NOT met")
	}' $(for r in $(seq "$ROUNDS"); do echo "$tmp/round$r.csv"; done)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Cold: every run starts from an empty cache (vmlinux.h generated from the kernel's BTF).
cold="$tmp/cold"
hyperfine -N --style none --runs "${COLD_RUNS:-3}" --prepare "rm -rf $cold" \
	--export-csv "$tmp/cold.csv" \
	"env XDG_CACHE_HOME=$cold $ecc_cmd" "env XDG_CACHE_HOME=$cold $ecc_cmd --no-pch" >/dev/null 2>&1
awk -F, 'NR == 2 { w1 = $4; c1 = $5 + $6 } NR == 3 { w2 = $4; c2 = $5 + $6 }
	END {
		printf "\ncold (empty cache)      median (ms)     cpu (ms)\n"
		printf "ecc                    %12.1f %12.1f\n", w1 * 1000, c1 * 1000
		printf "ecc --no-pch           %12.1f %12.1f\n", w2 * 1000, c2 * 1000
		printf "building the PCH costs the first compile %.0f ms of wall time, %.0f ms of CPU\n", (w1 - w2) * 1000, (c1 - c2) * 1000
	}' "$tmp/cold.csv"
