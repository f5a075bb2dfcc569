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
/// The product runs, for each block of kKc columns of M (rows of X), over groups of panels,
/// and for each group over blocks of up to kNr = 6 columns of X: a register tile of C (16 or
/// 32 rows x up to 6 columns) is accumulated over the block, broadcasting X(k, j) from memory.
/// A block's panel slice is reused by every tile of X's columns while it is in L1.
///
/// Two register kernels share these loops (multiply_panels()):
///   - 256-bit (core/packed_kernel_256.hpp), builds with AVX2 and FMA (`-mavx2 -mfma`, see
///     LSTMIDI_ARCH): one panel per tile, kKc = 512 (a 32 KB slice); the kernel also reads
///     16-bit panels for LstmStepper's 16-bit generation weights (nn/lstm_step.hpp);
///   - 512-bit (core/packed_kernel_512.hpp), AVX-512 builds: four panels per tile, kKc = 128
///     (again a 32 KB slice). Each element is the same FMAs in the same order within a depth
///     block; for K > 128 the blocks are summed in other groups than the 256-bit kernel's, so
///     the two agree to float rounding (bit for bit when K <= 128).
/// Both depths were chosen by timing (docs/performance.md, "What the implementation does").
///
/// Without AVX2 and FMA, and for double, products fall back to Eigen's GEMM on a plain copy,
/// so results agree with Eigen's to float rounding either way. Which layout an object holds
/// is recorded in it, so a program whose translation units were built with different flags
/// still gets correct products (see multiply()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/half.hpp"
#include "lstmidi/core/packed_kernel_256.hpp"
#include "lstmidi/core/packed_kernel_512.hpp"
#include "lstmidi/core/parallel.hpp"

namespace lstmidi {

namespace detail {

inline constexpr Index kPackMr = 16;   // rows per panel: two 8-float AVX registers
inline constexpr Index kPackNr = 6;    // columns of X per register tile
inline constexpr Index kPackKc = 512;  // depth of one pass over the panels (256-bit kernel)
// The 512-bit kernel reads four panels per tile (kPackGroup512): a depth block of 128 keeps
// their slice (32 KB) in L1 as kPackKc does for the 256-bit kernel's one panel.
inline constexpr Index kPackGroup512 = 4;
inline constexpr Index kPackKc512 = 128;
// multiply_wide() cuts X into blocks of this many columns: the block of X (K x 64 floats, 128 KB
// for K = 512) stays in L2 while the panels stream past it, as in the per-step products.
// Chosen by timing 32..192 (docs/performance.md).
inline constexpr Index kPackWideBlock = 64;

// Panel storage aligned as Eigen aligns its matrices (64 bytes in AVX-512 builds, 32 in AVX
// builds), so that the kernels' panel loads never straddle two cache lines (malloc alone
// gives 16).
template <typename E>
using PanelVector = std::vector<E, Eigen::aligned_allocator<E>>;
static_assert(kPackMr == 16, "the register kernels hold a panel's 16 rows per depth");

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

  /// Stores M (rows x cols). threads > 1 packs the panels on that many OpenMP threads (one
  /// inside a parallel region); the layout is the same.
  void pack(const Eigen::Ref<const Matrix<T>>& M, int threads = 1) {
    pack_impl(M, false, threads);
  }
  /// Stores M^T (M.cols() x M.rows()), so that products give M^T X.
  void pack_transpose(const Eigen::Ref<const Matrix<T>>& M, int threads = 1) {
    pack_impl(M, true, threads);
  }

  Index rows() const {
    return rows_;
  }
  Index cols() const {
    return cols_;
  }
  /// The 16-row panels (empty when the matrix is held as a plain copy).
  const detail::PanelVector<T>& panels() const {
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
      const Index ldx = X.outerStride(), ldc = C.outerStride();
#ifdef LSTMIDI_PACKED_512
      if (max_bits >= 512) {
        // Tiles of four panels (64 rows), the last one with the 1-3 panels left over.
        const Index stride = detail::kPackMr * cols_;  // from one panel to the next
        multiply_panels(X, C, accumulate, detail::kPackGroup512, detail::kPackKc512,
                        [&](Index nr, Index kc, const float* a, Index panels, const float* x,
                            float* c, Index rows, bool assign) {
                          detail::packed_tile_512(panels, nr, kc, a, stride, x, ldx, c, ldc, rows,
                                                  assign);
                        });
        return;
      }
#endif
      multiply_panels(
          X, C, accumulate, 1, detail::kPackKc,
          [&](Index nr, Index kc, const float* a, Index, const float* x, float* c, Index rows,
              bool assign) { detail::packed_tile_f32(nr, kc, a, x, ldx, c, ldc, rows, assign); });
      return;
    }
#endif
    detail::packed_panels_portable(packed_.data(), rows_, cols_, X.data(), X.outerStride(),
                                   X.cols(), C.data(), C.outerStride(), accumulate);
  }

  /// C (+)= P X for a wide X (a window's T*B columns): X and C are cut into blocks of
  /// kPackWideBlock columns, each block one multiply(), and the blocks are dealt to `threads`
  /// OpenMP threads in contiguous runs (one thread inside a parallel region). A block is
  /// computed the same way whichever thread runs it, so the result is the same bits for any
  /// thread count.
  void multiply_wide(const ConstStridedRef& X, StridedRef C, bool accumulate, int threads) const {
    require(X.rows() == cols_ && C.rows() == rows_ && C.cols() == X.cols(),
            "PackedMatrix::multiply_wide: (", rows_, "x", cols_, ") times (", X.rows(), "x",
            X.cols(), ") into (", C.rows(), "x", C.cols(), ")");
    const Index n = X.cols(), blocks = (n + detail::kPackWideBlock - 1) / detail::kPackWideBlock;
    parallel_for(blocks, threads, [&](Index b) {
      const Index c0 = b * detail::kPackWideBlock, w = std::min(detail::kPackWideBlock, n - c0);
      multiply(X.middleCols(c0, w), C.middleCols(c0, w), accumulate);
    });
  }

 private:
  void pack_impl(const Eigen::Ref<const Matrix<T>>& M, bool transpose,
                 [[maybe_unused]] int threads) {
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
      parallel_for(panels, threads, [&](Index p) {
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
      });
    }
  }

#ifdef LSTMIDI_PACKED_AVX2
  // C (+)= P X with a register kernel. Both kernels walk the same loops: blocks of `depth`
  // columns of P (rows of X); in each, groups of `group` neighbouring panels (the last group
  // smaller when the panel count is not a multiple); for each group, tiles of X's columns of
  // nearly equal width (32 columns: 6 6 5 5 5 5, not 6 6 6 6 6 2). A block's panel slice is
  // reused by every tile while it is in cache. tile(nr, kc, a, panels, x, c, rows, assign)
  // multiplies one register tile: `panels` panels from `a` (their values at the block's first
  // depth), nr columns of X from `x`, into rows <= 16 panels of C at `c`; assign only in the
  // first block when not accumulating.
  template <typename Tile>
  void multiply_panels(const ConstStridedRef& X, StridedRef C, bool accumulate, Index group,
                       Index depth, Tile&& tile) const {
    using detail::kPackMr;
    using detail::kPackNr;
    const Index n = X.cols(), K = cols_, ldx = X.outerStride(), ldc = C.outerStride();
    const Index panels = (rows_ + kPackMr - 1) / kPackMr;
    const Index tiles = (n + kPackNr - 1) / kPackNr;
    for (Index k0 = 0; k0 < K; k0 += depth) {
      const Index kc = std::min(depth, K - k0);
      const bool assign = !accumulate && k0 == 0;
      for (Index p = 0; p < panels; p += group) {
        const float* a = packed_.data() + p * kPackMr * K + k0 * kPackMr;
        const Index count = std::min(group, panels - p);
        const Index r0 = p * kPackMr, nrows = std::min(count * kPackMr, rows_ - r0);
        for (Index t = 0, j0 = 0; t < tiles; ++t) {
          const Index nr = n / tiles + (t < n % tiles ? 1 : 0);
          tile(nr, kc, a, count, X.data() + j0 * ldx + k0, C.data() + j0 * ldc + r0, nrows, assign);
          j0 += nr;
        }
      }
    }
  }
#endif

  Index rows_ = 0, cols_ = 0;
  bool panels_ = false;            // which of the two layouts below holds the matrix
  detail::PanelVector<T> packed_;  // panels, when packed where the register kernel is active
  Matrix<T> plain_;                // a copy for Eigen's GEMM otherwise
};

}  // namespace lstmidi
