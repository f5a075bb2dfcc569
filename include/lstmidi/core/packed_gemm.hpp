// SPDX-License-Identifier: MIT
/// PackedMatrix<T>: a matrix laid out once for many products with it, C (+)= M X.
///
/// The recurrence of an LSTM multiplies the same recurrent weights U (4H, H) by a new, narrow
/// h_{t-1} (H, B) at every step, and backward multiplies U^T by every da_t. A general GEMM
/// (Eigen's included) re-packs the large operand into cache-friendly panels on every call:
/// 4 MB read and 4 MB written per step for U of the classic 3 x 512 model, per thread. Packing
/// once per window and reusing the panels for all T steps removes that work.
///
/// Layout (BLIS-style): the rows of M are cut into panels of kMr = 16 rows (the last padded
/// with zeros); panel p holds M[16p .. 16p+15, k] for k = 0..K-1, 16 consecutive values per k.
/// The product runs, for each block of kKc columns of M (rows of X), over the panels, and for
/// each panel over blocks of up to kNr = 6 columns of X: a 16 x 6 register tile of C is
/// accumulated over the block with 12 AVX2 FMA registers, broadcasting X(k, j) from memory.
/// A panel slice (kKc = 512: 32 KB) is reused by every tile of X's columns while it is in
/// cache; kKc was chosen by timing 128..1024 (docs/performance.md, "What the implementation
/// does").
///
/// The register kernel is used for float when the build targets AVX2 and FMA
/// (`-mavx2 -mfma`, see LSTMIDI_ARCH); otherwise, and for double, products fall back to
/// Eigen's GEMM on a plain copy, so results agree with Eigen's to float rounding either way.
/// Which layout an object holds is recorded in it, so a program whose translation units were
/// built with different flags still gets correct products (see multiply()).
///
/// AVX-512 builds (`-mavx512f`) multiply with a 512-bit version of the same kernel instead
/// (core/packed_kernel_512.hpp): the same panels, two at a time, and bit-identical products.
///
/// The same kernel also reads panels of 16-bit floats (Half), widening each 16 values to
/// float with F16C (`-mf16c`) as it loads them: LstmStepper's 16-bit generation weights
/// (nn/lstm_step.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/half.hpp"
#include "lstmidi/core/packed_kernel_512.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LSTMIDI_PACKED_AVX2 1
#if defined(__F16C__)
#define LSTMIDI_PACKED_F16 1  // panels may also hold 16-bit floats (see Half)
#endif
#endif

namespace lstmidi {

namespace detail {

inline constexpr Index kPackMr = 16;   // rows per panel: two 8-float AVX registers
inline constexpr Index kPackNr = 6;    // columns of X per register tile
inline constexpr Index kPackKc = 512;  // depth of one pass over the panels
static_assert(kPackMr == 16, "the register kernels hold a panel's 16 rows per depth");

#ifdef LSTMIDI_PACKED_AVX2
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
#endif

// The panel product without the register kernel: C[0:rows, 0:n] (+)= panels X, K deep. Only
// reached when panels packed by a translation unit built with AVX2 + FMA are multiplied in
// one built without them (mixed flags in one program); slow, but the same result.
template <typename E, typename T>
void packed_panels_portable(const E* panels, Index rows, Index K, const T* x, Index ldx, Index n,
                            T* c, Index ldc, bool accumulate) {
  for (Index p = 0; p * kPackMr < rows; ++p) {
    const E* a = panels + p * kPackMr * K;
    const Index r0 = p * kPackMr, nrows = std::min(kPackMr, rows - r0);
    for (Index j = 0; j < n; ++j) {
      T acc[kPackMr] = {};
      for (Index k = 0; k < K; ++k)
        for (Index r = 0; r < kPackMr; ++r) acc[r] += widen(a[k * kPackMr + r]) * x[j * ldx + k];
      T* cj = c + j * ldc + r0;
      for (Index r = 0; r < nrows; ++r) cj[r] = accumulate ? cj[r] + acc[r] : acc[r];
    }
  }
}

}  // namespace detail

template <typename T>
class PackedMatrix {
 public:
  using StridedRef = Eigen::Ref<Matrix<T>, 0, Eigen::OuterStride<>>;
  using ConstStridedRef = Eigen::Ref<const Matrix<T>, 0, Eigen::OuterStride<>>;

  /// True when products run on the packed register kernel (float, AVX2 + FMA build).
  static constexpr bool kernel_active() {
#ifdef LSTMIDI_PACKED_AVX2
    return std::is_same_v<T, float>;
#else
    return false;
#endif
  }
  /// The register width of the kernel products run on: 512 (AVX-512 builds), 256, or 0 (none).
  static constexpr int kernel_bits() {
#ifdef LSTMIDI_PACKED_512
    if (kernel_active()) return 512;
#endif
    return kernel_active() ? 256 : 0;
  }

  /// Stores M (rows x cols).
  void pack(const Eigen::Ref<const Matrix<T>>& M) {
    pack_impl(M, false);
  }
  /// Stores M^T (M.cols() x M.rows()), so that products give M^T X.
  void pack_transpose(const Eigen::Ref<const Matrix<T>>& M) {
    pack_impl(M, true);
  }

  Index rows() const {
    return rows_;
  }
  Index cols() const {
    return cols_;
  }
  /// The 16-row panels (empty when the matrix is held as a plain copy).
  const std::vector<T>& panels() const {
    return packed_;
  }

  /// C = P X (accumulate = false) or C += P X. P: (m, k) as packed; X: (k, n); C: (m, n).
  /// X and C may be column blocks of larger column-major matrices (any column stride).
  /// max_bits = 256 keeps an AVX-512 build on the 256-bit kernel (to compare the two).
  void multiply(const ConstStridedRef& X, StridedRef C, bool accumulate,
                [[maybe_unused]] int max_bits = 512) const {
    require(X.rows() == cols_ && C.rows() == rows_ && C.cols() == X.cols(),
            "PackedMatrix::multiply: (", rows_, "x", cols_, ") times (", X.rows(), "x", X.cols(),
            ") into (", C.rows(), "x", C.cols(), ")");
    // The layout is a property of the object, not of this translation unit: in a program
    // whose parts were built with different -m flags, whichever definition runs gives the
    // right product.
    if (!panels_) {
      if (accumulate)
        C.noalias() += plain_ * X;
      else
        C.noalias() = plain_ * X;
      return;
    }
    if (rows_ == 0 || X.cols() == 0) return;
    if (cols_ == 0) {
      if (!accumulate) C.setZero();
      return;
    }
#ifdef LSTMIDI_PACKED_AVX2
    if constexpr (std::is_same_v<T, float>) {
#ifdef LSTMIDI_PACKED_512
      if (max_bits >= 512) {
        multiply_panels_512(X, C, accumulate);
        return;
      }
#endif
      multiply_panels(X, C, accumulate);
      return;
    }
#endif
    detail::packed_panels_portable(packed_.data(), rows_, cols_, X.data(), X.outerStride(),
                                   X.cols(), C.data(), C.outerStride(), accumulate);
  }

 private:
  void pack_impl(const Eigen::Ref<const Matrix<T>>& M, bool transpose) {
    rows_ = transpose ? M.cols() : M.rows();
    cols_ = transpose ? M.rows() : M.cols();
    panels_ = kernel_active();
    if constexpr (!kernel_active()) {
      packed_.clear();
      if (transpose)
        plain_ = M.transpose();
      else
        plain_ = M;
    } else {
      plain_.resize(0, 0);
      using detail::kPackMr;
      const Index panels = (rows_ + kPackMr - 1) / kPackMr;
      packed_.resize(static_cast<size_t>(panels * kPackMr * cols_));
      for (Index p = 0; p < panels; ++p) {
        T* dst = packed_.data() + p * kPackMr * cols_;
        const Index r0 = p * kPackMr, nrows = std::min(kPackMr, rows_ - r0);
        // Every value is overwritten below except the padding rows of a partial last panel.
        if (nrows < kPackMr) std::fill(dst, dst + kPackMr * cols_, T(0));
        if (transpose) {
          // Row r of M^T is column r of M: contiguous reads, 16 interleaved streams.
          for (Index r = 0; r < nrows; ++r) {
            const T* src = M.data() + (r0 + r) * M.outerStride();
            for (Index k = 0; k < cols_; ++k) dst[k * kPackMr + r] = src[k];
          }
        } else {
          for (Index k = 0; k < cols_; ++k) {
            const T* src = M.data() + k * M.outerStride() + r0;
            std::memcpy(dst + k * kPackMr, src, static_cast<size_t>(nrows) * sizeof(T));
          }
        }
      }
    }
  }

#ifdef LSTMIDI_PACKED_AVX2
  void multiply_panels(const ConstStridedRef& X, StridedRef C, bool accumulate) const {
    using detail::kPackKc;
    using detail::kPackMr;
    using detail::kPackNr;
    const Index n = X.cols(), K = cols_, ldx = X.outerStride(), ldc = C.outerStride();
    const Index panels = (rows_ + kPackMr - 1) / kPackMr;
    const Index tiles = (n + kPackNr - 1) / kPackNr;
    for (Index k0 = 0; k0 < K; k0 += kPackKc) {
      const Index kc = std::min(kPackKc, K - k0);
      const bool assign = !accumulate && k0 == 0;
      for (Index p = 0; p < panels; ++p) {
        const float* a = packed_.data() + p * kPackMr * K + k0 * kPackMr;
        const Index r0 = p * kPackMr, nrows = std::min(kPackMr, rows_ - r0);
        // Tiles of nearly equal width (32 columns: 6 6 5 5 5 5, not 6 6 6 6 6 2).
        for (Index t = 0, j0 = 0; t < tiles; ++t) {
          const Index nr = n / tiles + (t < n % tiles ? 1 : 0);
          detail::packed_tile_f32(nr, kc, a, X.data() + j0 * ldx + k0, ldx,
                                  C.data() + j0 * ldc + r0, ldc, nrows, assign);
          j0 += nr;
        }
      }
    }
  }
#endif

#ifdef LSTMIDI_PACKED_512
  // multiply_panels() with the 512-bit kernel: the same loops over the same tiles, over pairs
  // of panels (the last one alone when their count is odd).
  void multiply_panels_512(const ConstStridedRef& X, StridedRef C, bool accumulate) const {
    using detail::kPackKc;
    using detail::kPackMr;
    using detail::kPackNr;
    const Index n = X.cols(), K = cols_, ldx = X.outerStride(), ldc = C.outerStride();
    const Index panels = (rows_ + kPackMr - 1) / kPackMr;
    const Index tiles = (n + kPackNr - 1) / kPackNr;
    for (Index k0 = 0; k0 < K; k0 += kPackKc) {
      const Index kc = std::min(kPackKc, K - k0);
      const bool assign = !accumulate && k0 == 0;
      for (Index p = 0; p < panels; p += 2) {
        const float* a = packed_.data() + p * kPackMr * K + k0 * kPackMr;
        const Index r0 = p * kPackMr, nrows = std::min(2 * kPackMr, rows_ - r0);
        for (Index t = 0, j0 = 0; t < tiles; ++t) {
          const Index nr = n / tiles + (t < n % tiles ? 1 : 0);
          const float* x = X.data() + j0 * ldx + k0;
          float* c = C.data() + j0 * ldc + r0;
          if (p + 1 < panels)
            detail::packed_tile_512<2>(nr, kc, a, kPackMr * K, x, ldx, c, ldc, nrows, assign);
          else
            detail::packed_tile_512<1>(nr, kc, a, kPackMr * K, x, ldx, c, ldc, nrows, assign);
          j0 += nr;
        }
      }
    }
  }
#endif

  Index rows_ = 0, cols_ = 0;
  bool panels_ = false;    // which of the two layouts below holds the matrix
  std::vector<T> packed_;  // panels, when packed where the register kernel is active
  Matrix<T> plain_;        // a copy for Eigen's GEMM otherwise
};

}  // namespace lstmidi
