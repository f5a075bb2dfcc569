// SPDX-License-Identifier: MIT
/// The 256-bit register kernel of PackedMatrix (core/packed_gemm.hpp), for builds with AVX2 and
/// FMA (`-mavx2 -mfma`, see LSTMIDI_ARCH).
///
/// A register tile is 16 rows (one panel: two 8-float registers per depth) by NR <= 6 columns
/// of X: 12 accumulators, and per depth 2 panel loads and NR broadcasts of X(k, j) from memory
/// for 2 NR FMAs. With F16C (`-mf16c`) the same kernel also reads panels of 16-bit floats
/// (Half), widening each 16 values to float exactly as it loads them: LstmStepper's 16-bit
/// generation weights (nn/lstm_step.hpp).
#pragma once

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/half.hpp"

#define LSTMIDI_PACKED_AVX2 1
#if defined(__F16C__)
#define LSTMIDI_PACKED_F16 1  // panels may also hold 16-bit floats (see Half)
#endif

namespace lstmidi::detail {

// The 16 panel values at one depth as two registers of 8 floats.
inline void load_panel_column(const float* a, __m256& lo, __m256& hi) {
  lo = _mm256_loadu_ps(a);
  hi = _mm256_loadu_ps(a + 8);
}
#ifdef LSTMIDI_PACKED_F16
inline void load_panel_column(const Half* a, __m256& lo, __m256& hi) {
  lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
  hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 8)));
}
#endif

// C[0:rows, 0:NR] (+)= A_panel[:, k0:k0+kc] X[k0:k0+kc, 0:NR]. `a` points at the panel's
// values for k0 (16 per k, float or Half), `x` at X(k0, 0) with column stride ldx, `c` at
// C(0, 0) with column stride ldc; rows <= 16 are written (the rest of the panel is padding).
// Half values are widened to float exactly, so the sums are the float kernel's sums of the
// rounded weights.
template <int NR, typename E>
inline void packed_tile_f32(Index kc, const E* a, const float* x, Index ldx, float* c, Index ldc,
                            Index rows, bool assign) {
  // An FMA takes 4 cycles and two issue each cycle: 8 independent accumulators keep both units
  // busy. Narrow tiles therefore split k into S interleaved parts (NR = 1: 4, NR = 2: 2), summed
  // in order of s at the end.
  constexpr int S = NR == 1 ? 4 : NR == 2 ? 2 : 1;
  __m256 lo[S * NR], hi[S * NR];
#pragma GCC unroll 12
  for (int j = 0; j < S * NR; ++j) lo[j] = hi[j] = _mm256_setzero_ps();
  auto depth = [&](Index kk, int s) {
    __m256 a0, a1;
    load_panel_column(a + 16 * kk, a0, a1);
#pragma GCC unroll 6
    for (int j = 0; j < NR; ++j) {
      const __m256 xb = _mm256_broadcast_ss(x + j * ldx + kk);
      lo[s * NR + j] = _mm256_fmadd_ps(a0, xb, lo[s * NR + j]);
      hi[s * NR + j] = _mm256_fmadd_ps(a1, xb, hi[s * NR + j]);
    }
  };
  Index k = 0;
  for (; k + S <= kc; k += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) depth(k + s, s);
  }
  if constexpr (S > 1) {
    for (; k < kc; ++k) depth(k, 0);  // the last kc % S depths
#pragma GCC unroll 6
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 4
      for (int s = 1; s < S; ++s) {
        lo[j] = _mm256_add_ps(lo[j], lo[s * NR + j]);
        hi[j] = _mm256_add_ps(hi[j], hi[s * NR + j]);
      }
  }
  if (rows == 16) {
#pragma GCC unroll 6
    for (int j = 0; j < NR; ++j) {
      float* cj = c + j * ldc;
      if (!assign) {
        lo[j] = _mm256_add_ps(lo[j], _mm256_loadu_ps(cj));
        hi[j] = _mm256_add_ps(hi[j], _mm256_loadu_ps(cj + 8));
      }
      _mm256_storeu_ps(cj, lo[j]);
      _mm256_storeu_ps(cj + 8, hi[j]);
    }
    return;
  }
  // A partial panel (the last one, when the row count is not a multiple of 16).
  alignas(32) float tile[16 * NR];
#pragma GCC unroll 6
  for (int j = 0; j < NR; ++j) {
    _mm256_store_ps(tile + 16 * j, lo[j]);
    _mm256_store_ps(tile + 16 * j + 8, hi[j]);
  }
  for (int j = 0; j < NR; ++j) {
    float* cj = c + j * ldc;
    for (Index r = 0; r < rows; ++r) cj[r] = assign ? tile[16 * j + r] : cj[r] + tile[16 * j + r];
  }
}

template <typename E>
inline void packed_tile_f32(Index nr, Index kc, const E* a, const float* x, Index ldx, float* c,
                            Index ldc, Index rows, bool assign) {
  switch (nr) {
    case 6:
      return packed_tile_f32<6, E>(kc, a, x, ldx, c, ldc, rows, assign);
    case 5:
      return packed_tile_f32<5, E>(kc, a, x, ldx, c, ldc, rows, assign);
    case 4:
      return packed_tile_f32<4, E>(kc, a, x, ldx, c, ldc, rows, assign);
    case 3:
      return packed_tile_f32<3, E>(kc, a, x, ldx, c, ldc, rows, assign);
    case 2:
      return packed_tile_f32<2, E>(kc, a, x, ldx, c, ldc, rows, assign);
    default:
      return packed_tile_f32<1, E>(kc, a, x, ldx, c, ldc, rows, assign);
  }
}

}  // namespace lstmidi::detail
#endif
