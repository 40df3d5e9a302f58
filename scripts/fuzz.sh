#!/usr/bin/env bash
# Runs each fuzz target for N seconds (default 60), one after the other with a single worker
# (the machine is shared), and prints how many inputs each executed.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: btf_parse elf_parse
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain provide them.
set -euo pipefail

secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(btf_parse elf_parse)

root="$(cd "$(dirname "$0")/.." && pwd)"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"

for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus" artifacts
  # Committed seeds, plus the small testdata objects for the ELF target.
  [ -d "seeds/$t" ] && cp -n "seeds/$t"/* "$corpus"/
  if [ "$t" = elf_parse ]; then
    find "$root/testdata" -name '*.bpf.o' -size -32k -exec cp -n {} "$corpus"/ \;
  fi
  log="$(mktemp)"
  # -a: debug assertions, so integer overflow panics instead of wrapping silently.
  if ! cargo fuzz run -a "$t" "$corpus" -- -max_total_time="$secs" -workers=1 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t FAILED (crash input under fuzz/artifacts/$t)" >&2
    rm -f "$log"
    exit 1
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  echo "fuzz: $t ran ${secs}s, ${execs:-?} executions, corpus $(ls "$corpus" | wc -l) inputs"
  rm -f "$log"
done
