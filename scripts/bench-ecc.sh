#!/usr/bin/env bash
# Benchmarks `ecc bootstrap.bpf.c bootstrap.h` against a bare clang compile of the same file
# with the same flags (the command line ecc prints with -v), using hyperfine, and prints the
# ratio of mean wall times. Goal: ratio <= 1.10.
#
#   scripts/bench-ecc.sh           ecc vs bare clang
#   scripts/bench-ecc.sh --all     also ecc with llvm-strip (-l) instead of the built-in
#                                  stripper, and ecc without libclang (no doc-comment parse)
#
# Environment: ECC (default: target/release/ecc, built if missing), RUNS (default 20).
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
RUNS="${RUNS:-20}"
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
clang_line="$(grep -E '^ecc: [^[]' "$tmp/verbose.log" | grep -- ' -target bpf ' | head -n1)"
[ -n "$clang_line" ] || { echo "bench-ecc: no clang command in ecc -v output" >&2; cat "$tmp/verbose.log" >&2; exit 1; }
read -r -a words <<<"${clang_line#ecc: }"

# The same command on the user's file instead of ecc's wrapper, writing to our temp dir.
bare=("${words[0]}")
i=1
while [ "$i" -lt "${#words[@]}" ]; do
	w="${words[$i]}"
	case "$w" in
	-o) bare+=(-o "$tmp/bare.o"); i=$((i + 2)); continue ;;
	-c) bare+=(-c); i=$((i + 1)); continue ;;
	*/src/bootstrap.bpf.c) bare+=("$src") ;;
	*) bare+=("$w") ;;
	esac
	i=$((i + 1))
done
printf -v bare_cmd '%q ' "${bare[@]}"
printf -v ecc_cmd '%q ' "$ECC" "$src" "$hdr" -o "$tmp/out"
echo "bare clang: $bare_cmd"
echo "ecc:        $ecc_cmd"

cmds=("$bare_cmd" "$ecc_cmd")
names=("clang" "ecc")
if [ "$all" -eq 1 ]; then
	printf -v strip_cmd '%q ' "$ECC" "$src" "$hdr" -o "$tmp/out-strip" -l "$(command -v llvm-strip)"
	cmds+=("$strip_cmd")
	names+=("ecc -l llvm-strip")
	cmds+=("env LIBCLANG_PATH=$tmp/none $ecc_cmd")
	names+=("ecc without libclang")
fi
args=()
for k in "${!cmds[@]}"; do
	args+=(-n "${names[$k]}" "${cmds[$k]}")
done
hyperfine --style basic --warmup 3 --runs "$RUNS" --export-csv "$tmp/bench.csv" "${args[@]}" 2>&1 | grep -v 'LIBCLANG\|doc comments are left out' || true

# CSV: command,mean,stddev,median,user,system,min,max
awk -F, -v goal=1.10 '
	NR == 1 { next }
	{ name[NR] = $1; mean[NR] = $2 }
	END {
		base = mean[2]
		printf "\n%-24s %10s %8s\n", "command", "mean (s)", "ratio"
		for (k = 2; k <= NR; k++)
			printf "%-24s %10.4f %8.3f\n", name[k], mean[k], mean[k] / base
		r = mean[3] / base
		printf "\necc / bare clang = %.3f (goal <= %.2f): %s\n", r, goal, (r <= goal ? "met" : "NOT met")
	}' "$tmp/bench.csv"
