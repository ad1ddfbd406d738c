#!/usr/bin/env bash
# Install every Debian package ditto needs (idempotent) and build it.
# Usage: scripts/setup.sh [BUILDDIR [meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential pkg-config meson ninja-build
  libdpdk-dev dpdk libldns-dev ldnsutils libssl-dev liburcu-dev
  libjemalloc-dev libcunit1-dev libyaml-dev libjson-c-dev libmicrohttpd-dev
  clang libclang-rt-14-dev
  knot knot-dnsutils bind9 bind9-dnsutils bind9-utils dnsperf nsd unbound python3 python3-dnspython bird2
  iproute2 ethtool iputils-ping socat
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD=${1:-build}
shift || true
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$@"
fi
ninja -C "$BUILD"
