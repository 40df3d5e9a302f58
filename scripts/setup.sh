#!/usr/bin/env bash
# Installs what ecc needs on a fresh Debian 12 machine; does nothing that is already done.
set -euo pipefail

pkgs=(make clang llvm lld libbpf-dev libelf-dev zlib1g-dev pkg-config wasi-libc
      libclang-rt-14-dev-wasm32 libclang1-14 bpftool hyperfine iproute2 prometheus
      liblzma-dev libssl-dev openssl docker-registry apache2-utils skopeo)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Tracepoint attach needs tracefs; mount it when we are allowed to.
if [ -d /sys/kernel/tracing ] && [ ! -e /sys/kernel/tracing/events ]; then
  if [ "$(id -u)" -eq 0 ]; then
    mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs" >&2
  fi
fi
