// SPDX-License-Identifier: MIT
/// The 512-bit register kernel of PackedMatrix (core/packed_gemm.hpp), for AVX-512 builds
/// (`-mavx512f`, chosen by scripts/arch-flags.sh where timing shows 512-bit vectors pay).
///
/// It reads the same 16-row panels as the 256-bit kernel: one panel's 16 values at a depth are
/// one 512-bit register, and a tile covers up to four neighbouring panels (64 rows): each depth
/// costs P panel loads and NR broadcasts for P NR FMAs of 16 floats each. A tile of P = 4 panels
/// and NR <= 6 columns keeps 24 accumulators (of 32 registers); wider tiles in rows mean fewer
/// broadcasts per FMA and, with the caller's depth block of 128, a 32 KB panel slice that stays
/// in L1 while every column tile of X reuses it.
///
/// Invariant: within one depth block every element of C is computed by the same operations,
/// in the same order, as the 256-bit kernel computes it (the same FMA per depth, the same split
/// of k into S interleaved parts for narrow tiles and the same order of adding them); the
/// number of panels per tile only decides which rows share the broadcasts. The caller blocks k
/// by 128 instead of the 256-bit kernel's 512, so the two kernels' products are bit-identical
/// for K <= 128 and agree to float rounding beyond (tests/core/test_packed_gemm.cpp).
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/half.hpp"

#define LSTMIDI_PACKED_512 1

namespace lstmidi::detail {

// The 16 panel values at one depth, widened to float.
inline __m512 load_panel_column_512(const float* a) {
  return _mm512_loadu_ps(a);
}
inline __m512 load_panel_column_512(const Half* a) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
}

// C[0:rows, 0:NR] (+)= A[:, k0:k0+kc] X[k0:k0+kc, 0:NR] for the P = 1..4 panels of A that
// start at `a` (their values at depth k0, 16 per k), `a + panel_stride` (the next panel at the
// same depth), and so on: rows <= 16 P. `x` points at X(k0, 0) with column stride ldx
// (XByRow: with row stride ldx, X(k, j) at x[k ldx + j], as when X is B^T for a column-major
// B), `c` at C(0, 0) with column stride ldc. assign: C = product; otherwise C += product.
template <int NR, int P, typename E, bool XByRow = false>
inline void packed_tile_512(Index kc, const E* a, Index panel_stride, const float* x, Index ldx,
                            float* c, Index ldc, Index rows, bool assign) {
  // As in the 256-bit kernel: narrow tiles split k into S interleaved parts (NR = 1: 4,
  // NR = 2: 2) to keep enough independent FMAs in flight, added in order of s at the end.
  constexpr int S = NR == 1 ? 4 : NR == 2 ? 2 : 1;
  static_assert(P >= 1 && P <= 4 && P * S * NR <= 24, "accumulators must leave room for panels");
  __m512 acc[P][S * NR];
#pragma GCC unroll 12
  for (int j = 0; j < S * NR; ++j)
#pragma GCC unroll 4
    for (int q = 0; q < P; ++q) acc[q][j] = _mm512_setzero_ps();
  auto depth = [&](Index kk, int s) {
    __m512 panel[P];
#pragma GCC unroll 4
    for (int q = 0; q < P; ++q) panel[q] = load_panel_column_512(a + q * panel_stride + 16 * kk);
#pragma GCC unroll 6
    for (int j = 0; j < NR; ++j) {
      const __m512 xb = _mm512_set1_ps(XByRow ? x[kk * ldx + j] : x[j * ldx + kk]);
#pragma GCC unroll 4
      for (int q = 0; q < P; ++q)
        acc[q][s * NR + j] = _mm512_fmadd_ps(panel[q], xb, acc[q][s * NR + j]);
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
      for (int s = 1; s < S; ++s)
#pragma GCC unroll 4
        for (int q = 0; q < P; ++q) acc[q][j] = _mm512_add_ps(acc[q][j], acc[q][s * NR + j]);
  }
  // Rows past `rows` (the padding of a partial last panel) are masked off, never written.
#pragma GCC unroll 4
  for (int q = 0; q < P; ++q) {
    const Index n = rows - 16 * q;
    const __mmask16 mask = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
#pragma GCC unroll 6
    for (int j = 0; j < NR; ++j) {
      float* cj = c + j * ldc + 16 * q;
      __m512 v = acc[q][j];
      if (!assign) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, cj));
      _mm512_mask_storeu_ps(cj, mask, v);
    }
  }
}

// The same with the tile width nr (1..6) chosen at run time.
template <int P, typename E, bool XByRow = false>
inline void packed_tile_512(Index nr, Index kc, const E* a, Index panel_stride, const float* x,
                            Index ldx, float* c, Index ldc, Index rows, bool assign) {
  switch (nr) {
    case 6:
      return packed_tile_512<6, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 5:
      return packed_tile_512<5, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 4:
      return packed_tile_512<4, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 3:
      return packed_tile_512<3, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 2:
      return packed_tile_512<2, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    default:
      return packed_tile_512<1, P, E, XByRow>(kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
  }
}

// The same with the number of panels (1..4) also chosen at run time.
template <typename E, bool XByRow = false>
inline void packed_tile_512(Index panels, Index nr, Index kc, const E* a, Index panel_stride,
                            const float* x, Index ldx, float* c, Index ldc, Index rows,
                            bool assign) {
  switch (panels) {
    case 4:
      return packed_tile_512<4, E, XByRow>(nr, kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 3:
      return packed_tile_512<3, E, XByRow>(nr, kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    case 2:
      return packed_tile_512<2, E, XByRow>(nr, kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
    default:
      return packed_tile_512<1, E, XByRow>(nr, kc, a, panel_stride, x, ldx, c, ldc, rows, assign);
  }
}

}  // namespace lstmidi::detail
#endif
