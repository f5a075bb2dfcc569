#!/usr/bin/env bash
# Installs what is missing, builds everything in Release and runs the whole test suite.
# Usage: scripts/test.sh          (build directory: build/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-browser
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=ON -DLSTMIDI_BUILD_EXAMPLES=ON \
  "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh)" >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
