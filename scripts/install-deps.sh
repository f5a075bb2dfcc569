#!/usr/bin/env bash
# Installs the Debian 12 packages lstmidi needs to build, test and run its demo.
# Usage: scripts/install-deps.sh [--with-bench|--with-fuzz|--with-browser]
#        (as root, or with sudo available; --with-browser: Chromium for lstmidi-studio's tests)
set -euo pipefail

# ocl-icd-opencl-dev: Debian's oneDNN CMake package looks for OpenCL (it only recommends it, and
# without it find_package(dnnl) fails, so the oneDNN backend and bench/dnnl_lstm would be skipped).
pkgs=(g++ make cmake pkg-config libeigen3-dev libsmf-dev doctest-dev libcli11-dev
      python3-mido midicsv python3-numpy libcpp-httplib-dev libopenmpi-dev openmpi-bin
      libopenblas-dev libdnnl-dev ocl-icd-opencl-dev clang-format)
case "${1:-}" in
  --with-bench) pkgs+=(libbenchmark-dev python3-torch libopenblas0-pthread) ;;
  --with-fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
  --with-browser) pkgs+=(chromium chromium-driver python3-selenium) ;;
  "") ;;
  *) echo "usage: $0 [--with-bench|--with-fuzz|--with-browser]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "error: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
