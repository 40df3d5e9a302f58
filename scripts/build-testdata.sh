#!/usr/bin/env bash
# Rebuilds the committed BPF objects testdata/<name>.bpf.o from testdata/*.bpf.c
# with pinned flags so that the result is byte-for-byte reproducible.
#
#   scripts/build-testdata.sh           rebuild every object in place and record
#                                       the sha256 of the kernel BTF used for
#                                       vmlinux.h in testdata/vmlinux.btf.sha256
#   scripts/build-testdata.sh --check   rebuild into a temporary directory and
#                                       compare with the committed objects; exit 1
#                                       if any is stale. Objects that include
#                                       vmlinux.h are skipped (with a message) when
#                                       this machine's kernel BTF differs from the
#                                       recorded one.
#
# Environment:
#   CLANG          clang binary (default: clang)
#   LLVM_OBJCOPY   llvm-objcopy binary (default: llvm-objcopy)
#   VMLINUX_BTF    kernel BTF that vmlinux.h is generated from
#                  (default: /sys/kernel/btf/vmlinux)
#   VMLINUX_H_CMD  command that prints vmlinux.h on stdout; split on whitespace,
#                  no shell quoting (default: "bpftool btf dump file $VMLINUX_BTF format c")
#
# The objects keep their DWARF (tools are tested on DWARF-bearing objects too);
# only the .comment section, which holds the compiler's version string, is removed.
# DWARF's DW_AT_producer still names the compiler, so rebuilding byte-identical
# objects needs the same clang (Debian 12: clang 14.0.6).
set -euo pipefail

usage() {
	echo "usage: $0 [--check]" >&2
	exit 2
}

mode=build
case "$#" in
0) ;;
1) [ "$1" = "--check" ] || usage; mode=check ;;
*) usage ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

CLANG="${CLANG:-clang}"
LLVM_OBJCOPY="${LLVM_OBJCOPY:-llvm-objcopy}"
VMLINUX_BTF="${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}"
VMLINUX_H_CMD="${VMLINUX_H_CMD:-bpftool btf dump file $VMLINUX_BTF format c}"
sha_file="testdata/vmlinux.btf.sha256"

for tool in "$CLANG" "$LLVM_OBJCOPY" sha256sum cmp; do
	command -v "$tool" >/dev/null || { echo "build-testdata: $tool not found" >&2; exit 1; }
done

# <asm/types.h> (needed by <linux/bpf.h>) lives in the multiarch directory,
# which clang does not search for -target bpf.
multiarch="$("$CLANG" -print-multiarch 2>/dev/null || true)"
[ -n "$multiarch" ] || multiarch="$(uname -m)-linux-gnu"
asm_dir="/usr/include/$multiarch"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gen_dir="$tmp/generated"
out_dir="$tmp/out"
mkdir -p "$gen_dir" "$out_dir"

uses_vmlinux() {
	grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]vmlinux\.h[">]' "$1"
}

shopt -s nullglob
sources=(testdata/*.bpf.c)
shopt -u nullglob
[ "${#sources[@]}" -gt 0 ] || { echo "build-testdata: no testdata/*.bpf.c" >&2; exit 1; }

need_vmlinux=0
for src in "${sources[@]}"; do
	if uses_vmlinux "$src"; then need_vmlinux=1; fi
done

# Decide whether vmlinux.h-based objects can be built (and, in --check mode,
# whether the committed ones can be compared).
vmlinux_ok=0
btf_sha=""
if [ "$need_vmlinux" -eq 1 ]; then
	if [ -r "$VMLINUX_BTF" ]; then
		btf_sha="$(sha256sum <"$VMLINUX_BTF" | cut -d' ' -f1)"
		vmlinux_ok=1
	else
		echo "build-testdata: $VMLINUX_BTF not readable" >&2
	fi
	if [ "$mode" = check ] && [ "$vmlinux_ok" -eq 1 ]; then
		recorded=""
		[ -f "$sha_file" ] && recorded="$(cut -d' ' -f1 "$sha_file")"
		if [ "$recorded" != "$btf_sha" ]; then
			echo "build-testdata: kernel BTF sha256 $btf_sha differs from recorded '${recorded:-none}' in $sha_file" >&2
			vmlinux_ok=0
		fi
	fi
	if [ "$mode" = build ] && [ "$vmlinux_ok" -eq 0 ]; then
		echo "build-testdata: cannot build objects that include vmlinux.h" >&2
		exit 1
	fi
	if [ "$vmlinux_ok" -eq 1 ]; then
		read -r -a vmlinux_cmd <<<"$VMLINUX_H_CMD"
		"${vmlinux_cmd[@]}" >"$gen_dir/vmlinux.h"
		[ -s "$gen_dir/vmlinux.h" ] || { echo "build-testdata: '$VMLINUX_H_CMD' printed nothing" >&2; exit 1; }
	fi
fi

cflags=(
	-g -O2 -target bpf -D__TARGET_ARCH_x86
	-Wall -Werror
	-I testdata -I "$gen_dir" -idirafter "$asm_dir"
	-fdebug-prefix-map="$repo"=.
	-fdebug-prefix-map="$gen_dir"=generated
	-fdebug-compilation-dir=.
)

build_one() { # src out
	local src="$1" out="$2" log="$tmp/clang.log"
	if ! "$CLANG" "${cflags[@]}" -c "$src" -o "$out.tmp" 2>"$log"; then
		cat "$log" >&2
		echo "build-testdata: $src failed to compile" >&2
		return 1
	fi
	if [ -s "$log" ]; then
		cat "$log" >&2
		echo "build-testdata: $src printed diagnostics" >&2
		return 1
	fi
	"$LLVM_OBJCOPY" --remove-section=.comment "$out.tmp" "$out"
	rm -f "$out.tmp"
	if grep -aqF -- "$repo" "$out" || grep -aqF -- "$tmp" "$out"; then
		echo "build-testdata: $out contains an absolute build path" >&2
		return 1
	fi
}

stale=0
skipped=0
for src in "${sources[@]}"; do
	name="$(basename "$src" .c)"	# foo.bpf
	committed="testdata/$name.o"
	if uses_vmlinux "$src" && [ "$vmlinux_ok" -eq 0 ]; then
		echo "SKIP  $committed (includes vmlinux.h; kernel BTF unavailable or not the recorded one)"
		skipped=$((skipped + 1))
		continue
	fi
	build_one "$src" "$out_dir/$name.o"
	if [ "$mode" = build ]; then
		cp "$out_dir/$name.o" "$committed"
		echo "built $committed"
	elif [ ! -f "$committed" ]; then
		echo "STALE $committed (missing)"
		stale=$((stale + 1))
	elif cmp -s "$out_dir/$name.o" "$committed"; then
		echo "ok    $committed"
	else
		echo "STALE $committed (differs from a rebuild of $src)"
		stale=$((stale + 1))
	fi
done

if [ "$mode" = check ]; then
	shopt -s nullglob
	for obj in testdata/*.bpf.o; do
		[ -f "${obj%.o}.c" ] || { echo "STALE $obj (no ${obj%.o}.c)"; stale=$((stale + 1)); }
	done
	shopt -u nullglob
	if [ "$stale" -gt 0 ]; then
		echo "build-testdata: $stale stale object(s); run scripts/build-testdata.sh" >&2
		exit 1
	fi
	echo "build-testdata: all objects up to date ($skipped skipped)"
else
	if [ "$need_vmlinux" -eq 1 ]; then
		printf '%s  %s\n' "$btf_sha" "$VMLINUX_BTF" >"$sha_file"
		echo "recorded $sha_file"
	fi
fi
