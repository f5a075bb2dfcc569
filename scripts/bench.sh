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
# Training and generation in separate processes, as the trainer and the generator are: after
# the training benchmarks the heap is large and fragmented, and a generation step measured in
# the same process took 430 us against 254-333 us on its own.
for what in TrainStep Generate; do
  LSTMIDI_THREADS=$threads build-bench/bench/bench_lstm --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_min_time=1 --benchmark_filter=$what
done
LSTMIDI_THREADS=$threads build-bench/bench/bench_gemm --benchmark_min_time=0.5
echo "== lstmidi with glibc's default allocator settings (LSTMIDI_KEEP_FREED_MEMORY=0)"
LSTMIDI_KEEP_FREED_MEMORY=0 LSTMIDI_THREADS=$threads build-bench/bench/bench_lstm --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_filter=TrainStep
# PyTorch at its fastest settings here: 1 intra-op thread with OpenBLAS on $threads threads, and
# the same allocator settings as lstmidi (glibc tunables), which save it even more time.
pytorch() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" "$@" \
  /usr/bin/python3 bench/pytorch_lstm.py --threads 1; }
echo "== PyTorch, default allocator"
pytorch
echo "== PyTorch, MALLOC_MMAP_THRESHOLD_=MALLOC_TRIM_THRESHOLD_=1 GiB (as lstmidi's programs)"
pytorch MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824
