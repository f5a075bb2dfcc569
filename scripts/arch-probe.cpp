// SPDX-License-Identifier: MIT
// Times the same register-blocked GEMM kernel with 256-bit and with 512-bit vectors on this CPU,
// for scripts/arch-flags.sh. Prints "<GFLOP/s 256> <GFLOP/s 512>" (512: 0 where the CPU has no
// AVX-512F). One core, data in the L1 cache: the rate the packed LSTM kernel and Eigen's GEMM
// micro-kernels can reach, which is what the choice of vector width is about. Some CPUs run
// 512-bit FMAs at the 256-bit rate (two halves per instruction) or lower their clock for them;
// timing shows it where the CPU flags do not.
//
// Kernel: C (MR x 6) += A (MR x K) B (K x 6), MR = 16 (2 x 8 floats) or 32 (2 x 16 floats):
// 12 accumulators, 2 vector loads and 6 broadcasts per depth, as in core/packed_gemm.hpp.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr int kK = 256, kNr = 6, kRepeats = 400;  // about 1 ms a call: shorter than a time slice

__attribute__((target("avx2,fma"))) float tile_256(const float* a, const float* b) {
  __m256 lo[kNr], hi[kNr];
  for (int j = 0; j < kNr; ++j) lo[j] = hi[j] = _mm256_setzero_ps();
  for (int r = 0; r < kRepeats; ++r)
    for (int k = 0; k < kK; ++k) {
      const __m256 a0 = _mm256_loadu_ps(a + 16 * k), a1 = _mm256_loadu_ps(a + 16 * k + 8);
      for (int j = 0; j < kNr; ++j) {
        const __m256 x = _mm256_broadcast_ss(b + j * kK + k);
        lo[j] = _mm256_fmadd_ps(a0, x, lo[j]);
        hi[j] = _mm256_fmadd_ps(a1, x, hi[j]);
      }
    }
  __m256 s = lo[0];
  for (int j = 0; j < kNr; ++j) s = _mm256_add_ps(s, _mm256_add_ps(lo[j], hi[j]));
  return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) float tile_512(const float* a, const float* b) {
  __m512 lo[kNr], hi[kNr];
  for (int j = 0; j < kNr; ++j) lo[j] = hi[j] = _mm512_setzero_ps();
  for (int r = 0; r < kRepeats; ++r)
    for (int k = 0; k < kK; ++k) {
      const __m512 a0 = _mm512_loadu_ps(a + 32 * k), a1 = _mm512_loadu_ps(a + 32 * k + 16);
      for (int j = 0; j < kNr; ++j) {
        const __m512 x = _mm512_set1_ps(b[j * kK + k]);
        lo[j] = _mm512_fmadd_ps(a0, x, lo[j]);
        hi[j] = _mm512_fmadd_ps(a1, x, hi[j]);
      }
    }
  __m512 s = lo[0];
  for (int j = 0; j < kNr; ++j) s = _mm512_add_ps(s, _mm512_add_ps(lo[j], hi[j]));
  return _mm512_reduce_add_ps(s);
}

// GFLOP/s of one call of `kernel` over an MR-row panel.
template <typename F>
double rate(F kernel, int mr, const std::vector<float>& a, const std::vector<float>& b,
            float& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  sink += kernel(a.data(), b.data());
  const std::chrono::duration<double> s = std::chrono::steady_clock::now() - t0;
  return 2.0 * mr * kNr * kK * kRepeats / s.count() * 1e-9;
}

}  // namespace

int main() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::printf("0 0\n");
    return 0;
  }
  const bool has512 = __builtin_cpu_supports("avx512f");
  std::vector<float> a(32 * kK, 1e-3f), b(kNr * kK, 1e-3f);
  float sink = 0;
  // Interleaved rounds, best of each: a neighbour's load slows either side alike, and the best
  // round is the closest to what the core can do. The first rounds also warm up the clock.
  double best256 = 0, best512 = 0;
  for (int round = 0; round < 60; ++round) {
    best256 = std::max(best256, rate(tile_256, 16, a, b, sink));
    if (has512) best512 = std::max(best512, rate(tile_512, 32, a, b, sink));
  }
  std::printf("%.1f %.1f\n", best256, best512);
  return sink == 12345.f ? 1 : 0;
}
