#!/usr/bin/env bash
# Installs ecc and wasm-bpftool with their man pages (clap_mangen, from the same command
# descriptions the binaries parse with) and bash/zsh/fish completions (clap_complete).
#   PREFIX=/usr/local (default) bash scripts/install.sh
# BIN_DIR=DIR installs already built binaries from DIR instead of building them.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${PREFIX:-/usr/local}"
if [ -z "${BIN_DIR:-}" ]; then
  cargo build --release --locked --bins
  BIN_DIR=target/release
fi
man="$prefix/share/man/man1"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
mkdir -p "$prefix/bin" "$man" "$bash_dir" "$zsh_dir" "$fish_dir"
# Each file through a temp file and a rename, so a failure leaves no partial file.
put() { # put DEST CMD...
  local dest=$1; shift
  "$@" > "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest" || { rm -f "$dest.tmp.$$"; return 1; }
}
for bin in ecc wasm-bpftool; do
  install -m 755 "$BIN_DIR/$bin" "$prefix/bin/$bin.tmp.$$"
  mv -f "$prefix/bin/$bin.tmp.$$" "$prefix/bin/$bin"
  "$prefix/bin/$bin" man "$man"
  put "$bash_dir/$bin" "$prefix/bin/$bin" completions bash
  put "$zsh_dir/_$bin" "$prefix/bin/$bin" completions zsh
  put "$fish_dir/$bin.fish" "$prefix/bin/$bin" completions fish
done
echo "install: ecc and wasm-bpftool in $prefix/bin, man pages in $man, completions for bash, zsh and fish"
