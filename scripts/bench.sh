#!/usr/bin/env bash
# Builds the benchmarks with the fastest flags for this CPU (scripts/arch-flags.sh times 256- and
# 512-bit kernels) and runs lstmidi, PyTorch and oneDNN side by side on the same shapes and
# threads. Usage: [ROUNDS=n] [CLASSIC_ONLY=1] [PYTORCH_OPENBLAS_CORETYPE=kernel] scripts/bench.sh [threads]
# (default 2 threads, 5 interleaved rounds of the training comparison; PYTORCH_OPENBLAS_CORETYPE
# sets OPENBLAS_CORETYPE for PyTorch only, e.g. SkylakeX where OpenBLAS does not know the CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-bench
threads=${1:-2}
arch=$(scripts/arch-flags.sh)
echo "== build flags: $arch"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_TESTS=OFF -DLSTMIDI_BUILD_EXAMPLES=OFF \
  -DLSTMIDI_BUILD_BENCHMARKS=ON "-DLSTMIDI_ARCH=$arch" >/dev/null
cmake --build build-bench -j2
echo "== lstmidi generation, $threads thread(s)"
# Generation in its own process, as the generator program runs: after the training benchmarks
# the heap is large and fragmented, and a generation step measured in the same process is slower.
LSTMIDI_THREADS=$threads build-bench/bench/bench_lstm --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_filter=Generate
echo "== the ceiling: FMA peak (256- and 512-bit) and Eigen's GEMM at the LSTM's shapes"
LSTMIDI_THREADS=$threads build-bench/bench/bench_gemm --benchmark_min_time=0.5
echo "== lstmidi with glibc's default allocator settings (LSTMIDI_KEEP_FREED_MEMORY=0)"
LSTMIDI_KEEP_FREED_MEMORY=0 LSTMIDI_THREADS=$threads build-bench/bench/bench_lstm --benchmark_filter=TrainStep
echo "== PyTorch generation (1 intra-op thread, OpenBLAS on $threads threads)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" \
  ${PYTORCH_OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$PYTORCH_OPENBLAS_CORETYPE} \
  /usr/bin/python3 bench/pytorch_lstm.py --threads 1 --no-train
# Training side by side, interleaved round by round (lstmidi; PyTorch at its fastest thread
# setting, token input through an embedding, with glibc's default allocator and with lstmidi's
# allocator settings; oneDNN's LSTM primitive), so that load from other tenants hits every side
# alike; ratios are taken inside each round.
echo "== training steps, lstmidi, PyTorch and oneDNN interleaved, $threads thread(s)"
/usr/bin/python3 bench/side_by_side.py --rounds "${ROUNDS:-5}" --threads "$threads" \
  ${CLASSIC_ONLY:+--classic-only} ${PYTORCH_OPENBLAS_CORETYPE:+--openblas-coretype "$PYTORCH_OPENBLAS_CORETYPE"}
