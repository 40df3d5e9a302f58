#!/usr/bin/env bash
# Compares this tree's wasm-bpftool and ecc outputs byte for byte against reference binaries
# (default /work/ref, built from main) on vmlinux and every testdata object.
#   scripts/compare-ref.sh [REF_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ref="${1:-/work/ref}"
new="$root/target/release"
vmlinux=/sys/kernel/btf/vmlinux
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail=0
n=0
check() { # label, then the argument vector for wasm-bpftool
  local label="$1"; shift
  local a=0 b=0
  "$ref/wasm-bpftool" "$@" >"$out/ref" 2>"$out/ref.err" || a=$?
  "$new/wasm-bpftool" "$@" >"$out/new" 2>"$out/new.err" || b=$?
  n=$((n + 1))
  if [ "$a" != "$b" ] || ! cmp -s "$out/ref" "$out/new"; then
    echo "DIFF: $label (exit $a vs $b)"; fail=1
  fi
}
for fmt in c raw; do
  check "vmlinux format $fmt" btf dump file "$vmlinux" format "$fmt"
done
check "vmlinux format c -j" -j btf dump file "$vmlinux" format c
for o in "$root"/testdata/*.bpf.o; do
  b="$(basename "$o")"
  check "$b format c" btf dump file "$o" format c
  check "$b format c -j" -j btf dump file "$o" format c
  check "$b format raw" btf dump file "$o" format raw
  check "$b gen skeleton" gen skeleton "$o"
  check "$b gen skeleton -j" -j gen skeleton "$o"
done
echo "compare-ref: $n outputs compared against $ref"
[ "$fail" = 0 ] && echo "compare-ref: all identical"
exit "$fail"
