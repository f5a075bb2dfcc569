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
# The optional GEMM backends, each with its own small suite in its own build folder (about two
# minutes each); where a backend's development files are missing its suite is reported as
# skipped. backend_suite NAME OPTION PACKAGE
backend_suite() {
  if cmake -S . -B "build-$1" -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=ON \
    -DLSTMIDI_BUILD_EXAMPLES=OFF -DLSTMIDI_BUILD_STUDIO=OFF -DLSTMIDI_MUSIC=OFF -DLSTMIDI_MPI=OFF \
    "-D$2=ON" "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh 2>/dev/null)" >/dev/null 2>&1; then
    cmake --build "build-$1" --target "lstmidi_$1_tests" -j"$jobs"
    ctest --test-dir "build-$1" -R "^$1/" --output-on-failure
  else
    echo "SKIPPED: the $1 backend's tests ($2 needs $3: apt-get install $3)"
  fi
}
backend_suite blas LSTMIDI_BLAS libopenblas-dev   # OpenBLAS under Eigen's products
backend_suite dnnl LSTMIDI_DNNL libdnnl-dev       # oneDNN's dnnl_sgemm in core/gemm.hpp
