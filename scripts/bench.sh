#!/usr/bin/env bash
# Builds the benchmarks with the fastest safe flags and runs lstmidi and PyTorch side by side on
# the same shapes and threads. Usage: scripts/bench.sh [threads]   (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-bench
threads=${1:-2}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=OFF -DLSTMIDI_BUILD_EXAMPLES=OFF \
  -DLSTMIDI_BUILD_BENCHMARKS=ON "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh)" >/dev/null
cmake --build build-bench -j2
echo "== lstmidi, $threads thread(s)"
LSTMIDI_THREADS=$threads build-bench/bench/bench_lstm --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=1
LSTMIDI_THREADS=$threads build-bench/bench/bench_gemm --benchmark_min_time=0.5
echo "== PyTorch (its fastest setting here: 1 intra-op thread, OpenBLAS on $threads)"
OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 bench/pytorch_lstm.py --threads 1
