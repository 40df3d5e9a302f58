#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs prerequisites, checks formatting and
# lints, verifies that the committed testdata objects are current, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v cargo >/dev/null; then
  echo "test: cargo is required (install Rust with rustup)" >&2
  exit 1
fi
cargo fmt --check
cargo clippy --all-targets --release --quiet -- -D warnings
# The BTF/skeleton library alone: builds without libbpf and libclang.
cargo clippy --all-targets --release --quiet --no-default-features -- -D warnings
if cargo tree --no-default-features -e normal,build | grep -Eq 'libbpf|clang'; then
  echo "test: --no-default-features still depends on libbpf or libclang" >&2
  exit 1
fi
bash scripts/build-testdata.sh --check
INSTA_UPDATE=no cargo test --release 2>&1
# Again with overflow checks and debug assertions on (the dev profile): the fuzz regressions
# and the deep-and-huge corpus, where an unchecked overflow or a broken nesting bound
# panics. Only the loader feature (the package reader and event decoder), so neither
# wasmtime nor libclang is built a second time.
INSTA_UPDATE=no cargo test --no-default-features --features loader \
	--test fuzz_regressions --test hostile_corpus 2>&1
