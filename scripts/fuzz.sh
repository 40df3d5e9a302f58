#!/usr/bin/env bash
# Runs each fuzz target for N seconds (default 60), one after the other with a single worker
# (the machine is shared), and prints how many inputs each executed and the total.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   targets: btf_parse btf_gen elf_parse strip package decode (default: all)
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain provide them.
# FUZZ_SANITIZER=none builds without AddressSanitizer (several times the executions per second).
# Crash inputs land in fuzz/artifacts/TARGET/; copy them to fuzz/regressions/TARGET-NAME so
# `cargo test` (tests/fuzz_regressions.rs) replays them.
set -euo pipefail

secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(btf_parse btf_gen elf_parse strip package decode)

root="$(cd "$(dirname "$0")/.." && pwd)"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"

# Build every target once (-a: debug assertions, so integer overflow panics instead of
# wrapping silently), then run the binaries: one build for the whole campaign.
# FUZZ_NO_BUILD=1 runs the binaries already built (e.g. while the sources are being edited).
# FUZZ_SANITIZER=none builds without AddressSanitizer for throughput: the parsers are safe
# Rust, and debug assertions stay on, so overflow still panics (default: address).
sanitizer="${FUZZ_SANITIZER:-address}"
[ "${FUZZ_NO_BUILD:-0}" = 1 ] || cargo fuzz build -a -s "$sanitizer" >/dev/null
bin_dir="target/$(rustc -vV | sed -n 's/^host: //p')/release"

total=0
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  # Committed seeds, plus the small testdata objects for the ELF targets.
  if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "$corpus"/; fi
  case "$t" in
    elf_parse|strip) find "$root/testdata" -name '*.bpf.o' -size -32k -exec cp -n {} "$corpus"/ \; ;;
  esac
  # Structure-aware and BTF inputs stay small (fast runs); objects need room.
  case "$t" in
    btf_gen) max_len=512 ;;
    elf_parse|strip|package) max_len=40000 ;;
    *) max_len=8192 ;;
  esac
  log="$(mktemp)"
  if ! "$bin_dir/$t" "$corpus" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" \
      -max_len="$max_len" -dict=btf_elf.dict -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t FAILED (crash input under fuzz/artifacts/$t)" >&2
    rm -f "$log"
    exit 1
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  echo "fuzz: $t ran ${secs}s, ${execs:-?} executions, corpus $(ls "$corpus" | wc -l) inputs"
  total=$((total + ${execs:-0}))
  rm -f "$log"
done
echo "fuzz: total ${total} executions over ${#targets[@]} targets, 0 crashes"
