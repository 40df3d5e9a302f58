#!/usr/bin/env bash
# Byte-for-byte comparison of every output against reference binaries (e.g. a build of an
# earlier main), for refactors that must not change output:
#
#   scripts/compare-outputs.sh REF_BIN_DIR [NEW_BIN_DIR]
#
# REF_BIN_DIR and NEW_BIN_DIR (default: target/release, built here) each hold `ecc` and
# `wasm-bpftool`. Compared: vmlinux `btf dump` as `format c`, `-j format c` and `raw`; for every
# testdata object `gen skeleton`, `-j gen skeleton`, `format c`, `-j format c` and `raw`; and
# `ecc` (plain and --wasm-header) on every testdata program: package.json, .skel.json, .bpf.o,
# ewasm-skel.h. Prints one line per difference and a summary; exits 1 if anything differs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"
[ $# -ge 1 ] || { echo "usage: $0 REF_BIN_DIR [NEW_BIN_DIR]" >&2; exit 2; }
ref="$(cd "$1" && pwd -P)"
if [ $# -ge 2 ]; then
	new="$(cd "$2" && pwd -P)"
else
	cargo build --release --quiet --bin ecc --bin wasm-bpftool
	new="$repo/target/release"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
same=0
diffs=0

# compare NAME CMD...: runs CMD with both tools' wasm-bpftool, compares stdout and status.
compare() {
	local name="$1"
	shift
	local st_ref=0 st_new=0
	"$ref/wasm-bpftool" "$@" >"$tmp/ref.out" 2>/dev/null || st_ref=$?
	"$new/wasm-bpftool" "$@" >"$tmp/new.out" 2>/dev/null || st_new=$?
	if [ "$st_ref" != "$st_new" ] || ! cmp -s "$tmp/ref.out" "$tmp/new.out"; then
		echo "DIFF $name (status $st_ref vs $st_new)"
		diffs=$((diffs + 1))
	else
		same=$((same + 1))
	fi
}

vmlinux=/sys/kernel/btf/vmlinux
if [ -r "$vmlinux" ]; then
	compare "vmlinux format c" btf dump file "$vmlinux" format c
	compare "vmlinux -j format c" -j btf dump file "$vmlinux" format c
	compare "vmlinux raw" btf dump file "$vmlinux" format raw
else
	echo "SKIP: $vmlinux not readable, vmlinux dumps not compared"
fi

for obj in testdata/*.bpf.o; do
	compare "$obj gen skeleton" gen skeleton "$obj"
	compare "$obj -j gen skeleton" -j gen skeleton "$obj"
	compare "$obj format c" btf dump file "$obj" format c
	compare "$obj -j format c" -j btf dump file "$obj" format c
	compare "$obj raw" btf dump file "$obj" format raw
done

# ecc on every testdata program, each tool in its own copy of the sources (outputs land beside them).
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
for src in testdata/*.bpf.c testdata/skeleton/*.bpf.c; do
	base="$(basename "$src" .bpf.c)"
	hdr="$(dirname "$src")/$base.h"
	for flavour in plain wasm; do
		flags=()
		[ "$flavour" = wasm ] && flags=(--wasm-header)
		for tool in ref new; do
			dir="$tmp/ecc-$tool"
			rm -rf "$dir" && mkdir -p "$dir"
			cp "$src" "$dir/"
			args=("$dir/$base.bpf.c")
			if [ -f "$hdr" ]; then
				cp "$hdr" "$dir/"
				args+=("$dir/$base.h")
			fi
			bin="$ref"
			[ "$tool" = new ] && bin="$new"
			st=0
			(cd "$dir" && "$bin/ecc" "${args[@]}" "${flags[@]}" >/dev/null 2>&1) || st=$?
			echo "$st" >"$dir/status"
		done
		for f in status "$base.bpf.o" "$base.skel.json" package.json ewasm-skel.h; do
			a="$tmp/ecc-ref/$f" b="$tmp/ecc-new/$f"
			[ -e "$a" ] || [ -e "$b" ] || continue
			if [ -e "$a" ] && [ -e "$b" ] && cmp -s "$a" "$b"; then
				same=$((same + 1))
			else
				echo "DIFF ecc $flavour $src: $f"
				diffs=$((diffs + 1))
			fi
		done
	done
done

echo "compare-outputs: $same identical, $diffs different (ref $ref, new $new)"
[ "$diffs" = 0 ]
