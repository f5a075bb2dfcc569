// SPDX-License-Identifier: MIT
// The ceiling: sustained float32 GEMM rate with Eigen at the shapes the LSTM uses
// (classic model: H = 512, B = 64, T = 100, V = 358). Threads: LSTMIDI_THREADS=n.
//   Recurrent   (4H x H)   * (H x B)       per step, forward
//   RecurrentT  (4H x H)^T * (4H x B)      per step, backward (U^T da)
//   InputProj   (4H x H)   * (H x T*B)     all steps of a layer at once
//   WeightGrad  (4H x T*B) * (T*B x H)     dW = dA X^T after the sweep
//   Output      (V x H)    * (H x T*B)     the dense layer
//   OutputGrad  (V x T*B)  * (T*B x H)     its weight gradient
//   InputGrad   (4H x H)^T * (4H x T*B)    dX = W^T dA after the sweep
//   OutputInGrad (V x H)^T * (V x T*B)     the dense layer's dX = W^T dZ
//   ...Split    the large products with C's columns dealt out, one block per thread, each a
//               one-thread product: Eigen's own two-thread split against a static one.
//   Slice       the per-step products on one thread's half of the batch (B/2 = 32 columns):
//               U h, W x and their transposes in the time loops; run with LSTMIDI_THREADS=1
//               for the one-core rate each of the two threads gets.
//   Packed      the same slice products the way the LSTM runs them: U (or U^T) packed once
//               (core/packed_gemm.hpp, packing not timed), one thread.
//   FmaPeak     the machine's float FMA rate: 10 independent chains of 8-wide FMAs in
//               registers, per thread, on 1 and 2 threads (the hardware limit every GEMM
//               figure is a fraction of; AVX2 + FMA builds only); FmaPeak512: 16-wide FMAs
//               (AVX-512 builds only).
//   PackedWide  the weight-matrix products (InputProj, InputGrad, Output, OutputInGrad) through
//               gemm_packed, as the training step runs them: W packed per call (timed), X in
//               64-column blocks on LSTMIDI_THREADS threads; against the unsplit Eigen rows.
//   WeightGradNt the weight gradients as the training step runs them: gemm_nt_add (C += A B^T,
//               core/gemm_nt.hpp; in AVX-512 builds A packed in 64 x 128 blocks, timed),
//               dU and dW (2048 x 512 over 6,400 columns) and the output layer's (358 x 512).
//   Packed256   Packed in an AVX-512 build, held to the 256-bit kernel: what 512 bits gain.
//   WeightRead  the floor under generating one event: one pass reading as many bytes as a
//               generation step of the classic model reads in weights (U of the three layers,
//               W of layers 2 and 3, the output layer: 5,426,176 numbers; float 21.7 MB, 16-bit
//               10.9 MB), summed on 1 and 2 OpenMP threads, each its half. Reports GB/s; the
//               time per pass is the least a step with those weights can take on this machine.
//   Dnnl/...    the unsplit large shapes through core/gemm.hpp on oneDNN's dnnl_sgemm, in a
//               -DLSTMIDI_DNNL=ON build only (the Eigen ones then run in the same process).
#include "bench_common.hpp"

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

using namespace lstmidi;

// split: instead of Eigen's own threading, each OpenMP thread computes a contiguous block of
// C's columns with a one-thread product (Eigen runs single-threaded inside a parallel region).
static void gemm(benchmark::State& st, Index m, Index k, Index n, bool transpose_a,
                 bool transpose_b, bool split = false) {
  bench::set_threads(bench::threads_from_env());
  Rng rng(1);
  Matrix<float> A = Matrix<float>::Random(transpose_a ? k : m, transpose_a ? m : k);
  Matrix<float> Bm = Matrix<float>::Random(transpose_b ? n : k, transpose_b ? k : n);
  Matrix<float> C(m, n);
  auto product = [&](Index c0, Index nc) {
    if (transpose_a)
      C.middleCols(c0, nc).noalias() = A.transpose() * Bm.middleCols(c0, nc);
    else if (transpose_b)
      C.middleCols(c0, nc).noalias() = A * Bm.middleRows(c0, nc).transpose();
    else
      C.middleCols(c0, nc).noalias() = A * Bm.middleCols(c0, nc);
  };
  const int threads = split ? Eigen::nbThreads() : 1;
  for (auto _ : st) {
    if (threads <= 1) {
      product(0, n);
    } else {
#pragma omp parallel num_threads(threads)
      {
#ifdef _OPENMP
        const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const Index t = 0, nt = 1;
#endif
        const Index c0 = n * t / nt, c1 = n * (t + 1) / nt;
        product(c0, c1 - c0);
      }
    }
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
}

#ifdef LSTMIDI_DNNL_BACKEND
// The same products through lstmidi::gemm, on dnnl_sgemm.
static void backend_gemm(benchmark::State& st, Index m, Index k, Index n, bool transpose_a,
                         bool transpose_b) {
  bench::set_threads(bench::threads_from_env());
  Matrix<float> A = Matrix<float>::Random(transpose_a ? k : m, transpose_a ? m : k);
  Matrix<float> Bm = Matrix<float>::Random(transpose_b ? n : k, transpose_b ? k : n);
  Matrix<float> C(m, n);
  for (auto _ : st) {
    if (transpose_a)
      gemm(C, A.transpose(), Bm);
    else if (transpose_b)
      gemm(C, A, Bm.transpose());
    else
      gemm(C, A, Bm);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
}
#endif

// One thread's per-step product with the packed recurrent weights: C = U X or U^T X.
static void packed(benchmark::State& st, Index m, Index k, Index n, bool transpose,
                   int max_bits = 512) {
  Matrix<float> U = Matrix<float>::Random(transpose ? k : m, transpose ? m : k);
  Matrix<float> X = Matrix<float>::Random(k, n), C(m, n);
  PackedMatrix<float> P;
  if (transpose)
    P.pack_transpose(U);
  else
    P.pack(U);
  for (auto _ : st) {
    P.multiply(X, C, false, max_bits);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["kernel_bits"] = std::min(max_bits, PackedMatrix<float>::kernel_bits());
}

// The weight-matrix products of a window as the training step runs them: gemm_packed (W or
// W^T packed per call, packing timed; 64-column blocks of X on Eigen::nbThreads() threads).
static void packed_wide(benchmark::State& st, Index m, Index k, Index n, bool transpose) {
  bench::set_threads(bench::threads_from_env());
  const Matrix<float> W = Matrix<float>::Random(transpose ? k : m, transpose ? m : k);
  const Matrix<float> X = Matrix<float>::Random(k, n);
  Matrix<float> C(m, n);
  for (auto _ : st) {
    if (transpose)
      gemm_packed(C, W.transpose(), X);
    else
      gemm_packed(C, W, X);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
  st.counters["kernel_bits"] = PackedMatrix<float>::kernel_bits();
}

// The weight gradients through gemm_nt_add, as the training step runs them.
static void weight_grad_nt(benchmark::State& st, Index m, Index k, Index n) {
  bench::set_threads(bench::threads_from_env());
  const Matrix<float> A = Matrix<float>::Random(m, k);
  const Matrix<float> Bm = Matrix<float>::Random(n, k);
  Matrix<float> C = Matrix<float>::Zero(m, n);
  for (auto _ : st) {
    gemm_nt_add(C, A, Bm);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
  st.counters["kernel_bits"] = PackedMatrix<float>::kernel_bits();
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

// 10 chains: FMA latency 4-5 cycles x 2 units, so every cycle can issue two.
static float fma_chains(long iterations) {
  __m256 acc[10];
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
  return _mm_cvtss_f32(_mm256_castps256_ps128(s));
}

#ifdef __AVX512F__
static float fma_chains_512(long iterations) {
  __m512 acc[10];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 10; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
#endif

// width: floats per FMA (8: 256-bit, 16: 512-bit).
static void fma_peak(benchmark::State& st, int threads, int width) {
  const long iterations = 20'000'000 / (width / 8);  // 3.2 GFLOP per thread
  std::vector<float> sink(static_cast<size_t>(threads));
  for (auto _ : st) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
#ifdef __AVX512F__
        if (width == 16) {
          sink[static_cast<size_t>(t)] = fma_chains_512(iterations);
          return;
        }
#endif
        sink[static_cast<size_t>(t)] = fma_chains(iterations);
      });
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(sink.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * width * 10 * double(iterations) * threads * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = threads;
}
BENCHMARK_CAPTURE(fma_peak, FmaPeak / 1 thread, 1, 8)->UseRealTime();
BENCHMARK_CAPTURE(fma_peak, FmaPeak / 2 threads, 2, 8)->UseRealTime();
#ifdef __AVX512F__
BENCHMARK_CAPTURE(fma_peak, FmaPeak512 / 1 thread, 1, 16)->UseRealTime();
BENCHMARK_CAPTURE(fma_peak, FmaPeak512 / 2 threads, 2, 16)->UseRealTime();
#endif
#endif

BENCHMARK_CAPTURE(gemm, Recurrent / 2048x512x64, 2048, 512, 64, false, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, RecurrentT / 512x2048x64, 512, 2048, 64, true, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, InputProj / 2048x512x6400, 2048, 512, 6400, false, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, WeightGrad / 2048x6400x512, 2048, 6400, 512, false, true)->UseRealTime();
BENCHMARK_CAPTURE(gemm, Output / 358x512x6400, 358, 512, 6400, false, false)->UseRealTime();
// The same large products with the columns of C split between the threads.
BENCHMARK_CAPTURE(gemm, InputProjSplit / 2048x512x6400, 2048, 512, 6400, false, false, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(gemm, WeightGradSplit / 2048x6400x512, 2048, 6400, 512, false, true, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(gemm, OutputSplit / 358x512x6400, 358, 512, 6400, false, false, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(gemm, OutputGradSplit / 358x6400x512, 358, 6400, 512, false, true, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(gemm, OutputGrad / 358x6400x512, 358, 6400, 512, false, true)->UseRealTime();
BENCHMARK_CAPTURE(gemm, InputGrad / 512x2048x6400, 512, 2048, 6400, true, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, OutputInGrad / 512x358x6400, 512, 358, 6400, true, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, Slice / 2048x512x32, 2048, 512, 32, false, false)->UseRealTime();
BENCHMARK_CAPTURE(gemm, SliceT / 512x2048x32, 512, 2048, 32, true, false)->UseRealTime();
BENCHMARK_CAPTURE(packed, Packed / 2048x512x32, 2048, 512, 32, false)->UseRealTime();
BENCHMARK_CAPTURE(packed, PackedT / 512x2048x32, 512, 2048, 32, true)->UseRealTime();
#ifdef __AVX512F__
BENCHMARK_CAPTURE(packed, Packed256 / 2048x512x32, 2048, 512, 32, false, 256)->UseRealTime();
BENCHMARK_CAPTURE(packed, Packed256T / 512x2048x32, 512, 2048, 32, true, 256)->UseRealTime();
#endif
BENCHMARK_CAPTURE(packed_wide, PackedWide / InputProj / 2048x512x6400, 2048, 512, 6400, false)
    ->UseRealTime();
BENCHMARK_CAPTURE(packed_wide, PackedWide / InputGrad / 512x2048x6400, 512, 2048, 6400, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(packed_wide, PackedWide / Output / 358x512x6400, 358, 512, 6400, false)
    ->UseRealTime();
BENCHMARK_CAPTURE(packed_wide, PackedWide / OutputInGrad / 512x358x6400, 512, 358, 6400, true)
    ->UseRealTime();

BENCHMARK_CAPTURE(weight_grad_nt, WeightGradNt / 2048x6400x512, 2048, 6400, 512)->UseRealTime();
BENCHMARK_CAPTURE(weight_grad_nt, WeightGradNt / Output / 358x6400x512, 358, 6400, 512)
    ->UseRealTime();

BENCHMARK_CAPTURE(gemm, Square / 1024, 1024, 1024, 1024, false, false)->UseRealTime();
#ifdef LSTMIDI_DNNL_BACKEND
BENCHMARK_CAPTURE(backend_gemm, Dnnl / InputProj / 2048x512x6400, 2048, 512, 6400, false, false)
    ->UseRealTime();
BENCHMARK_CAPTURE(backend_gemm, Dnnl / WeightGrad / 2048x6400x512, 2048, 6400, 512, false, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(backend_gemm, Dnnl / Output / 358x512x6400, 358, 512, 6400, false, false)
    ->UseRealTime();
BENCHMARK_CAPTURE(backend_gemm, Dnnl / InputGrad / 512x2048x6400, 512, 2048, 6400, true, false)
    ->UseRealTime();
BENCHMARK_CAPTURE(backend_gemm, Dnnl / OutputGrad / 358x6400x512, 358, 6400, 512, false, true)
    ->UseRealTime();
BENCHMARK_CAPTURE(backend_gemm, Dnnl / OutputInGrad / 512x358x6400, 512, 358, 6400, true, false)
    ->UseRealTime();
#endif

// Sums `n` floats from `p` with 64 independent partial sums (vectorised by the compiler), so
// that the loop waits on memory, not on the latency of one accumulator.
static float sum_floats(const float* p, std::size_t n) {
  float acc[64] = {};
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 64; ++j) acc[j] += p[i + static_cast<std::size_t>(j)];
  for (; i < n; ++i) acc[0] += p[i];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

static void weight_read(benchmark::State& st, int threads, std::size_t bytes) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> w(n, 1.0f);
  std::vector<float> sink(static_cast<std::size_t>(threads));
  for (auto _ : st) {
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
#else
      const std::size_t t = 0, nt = 1;
#endif
      const std::size_t chunk = (n / nt + 15) / 16 * 16;  // whole 64-byte lines per thread
      const std::size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
      sink[t] = sum_floats(w.data() + begin, end - begin);
    }
    benchmark::DoNotOptimize(sink.data());
  }
  st.counters["GB/s"] =
      benchmark::Counter(double(bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["MB"] = double(bytes) * 1e-6;
  st.counters["threads"] = threads;
}
// Classic model: 5 matrices of 4H x H (H = 512) and V x H (V = 358).
constexpr std::size_t kStepWeights = 5ull * 2048 * 512 + 358ull * 512;
BENCHMARK_CAPTURE(weight_read, WeightRead / float / 1 thread, 1, 4 * kStepWeights)->UseRealTime();
BENCHMARK_CAPTURE(weight_read, WeightRead / float / 2 threads, 2, 4 * kStepWeights)->UseRealTime();
BENCHMARK_CAPTURE(weight_read, WeightRead / f16 / 1 thread, 1, 2 * kStepWeights)->UseRealTime();
BENCHMARK_CAPTURE(weight_read, WeightRead / f16 / 2 threads, 2, 2 * kStepWeights)->UseRealTime();

BENCHMARK_MAIN();
