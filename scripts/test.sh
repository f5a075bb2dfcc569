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
# The optional BLAS backend (-DLSTMIDI_BLAS=ON, OpenBLAS): its own small suite in its own build
# folder (about two minutes). Without OpenBLAS's development files it is reported as skipped.
if cmake -S . -B build-blas -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=ON \
  -DLSTMIDI_BUILD_EXAMPLES=OFF -DLSTMIDI_BUILD_STUDIO=OFF -DLSTMIDI_MUSIC=OFF -DLSTMIDI_MPI=OFF \
  -DLSTMIDI_BLAS=ON "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh 2>/dev/null)" >/dev/null 2>&1; then
  cmake --build build-blas --target lstmidi_blas_tests -j"$jobs"
  ctest --test-dir build-blas -R '^blas/' --output-on-failure
else
  echo "SKIPPED: the BLAS backend's tests (OpenBLAS not found: apt-get install libopenblas-dev)"
fi
# The optional oneDNN backend (-DLSTMIDI_DNNL=ON): its own small suite in its own build folder.
# Without oneDNN's development files it is reported as skipped.
if cmake -S . -B build-dnnl -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=ON \
  -DLSTMIDI_BUILD_EXAMPLES=OFF -DLSTMIDI_BUILD_STUDIO=OFF -DLSTMIDI_MUSIC=OFF -DLSTMIDI_MPI=OFF \
  -DLSTMIDI_DNNL=ON "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh 2>/dev/null)" >/dev/null 2>&1; then
  cmake --build build-dnnl --target lstmidi_dnnl_tests -j"$jobs"
  ctest --test-dir build-dnnl -R '^dnnl/' --output-on-failure
else
  echo "SKIPPED: the oneDNN backend's tests (oneDNN not found: apt-get install libdnnl-dev)"
fi
