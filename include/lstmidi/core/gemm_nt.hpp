// SPDX-License-Identifier: MIT
/// gemm_nt(C, A, B): C = A B^T, and gemm_nt_add(C, A, B): C += A B^T, the weight gradients of a
/// training step: dU += dA H_prev^T and dW += dA X^T, with A = dA (4H, T*B) and B = H_prev or X
/// (n, T*B): a short, wide result summed over a window's T*B columns, a depth of thousands.
///
/// Neither the per-step kernel's loops (core/packed_gemm.hpp, which block the depth by 128 and
/// walk all of C for each block: at a depth of 6,400 that is 50 passes over a 4 MB C) nor
/// Eigen's GEMM (about 75% of the 512-bit peak for these shapes inside a training step, see
/// docs/performance.md) suit this shape. Here C is cut into blocks of 64 rows; for each
/// block, the depth is walked in steps of 128:
///   - A[rows, k0:k0+128] is packed into four 16-row panels (32 KB, the per-step kernel's
///     layout, so it stays in L1);
///   - every tile of up to 6 columns of C is accumulated by the 512-bit register kernel
///     (core/packed_kernel_512.hpp), broadcasting B^T(k, j) = B(j, k) straight from B, whose
///     rows j..j+5 are neighbours in one column;
/// so C's block (64 x n, 128 KB for n = 512) stays in L2 for the whole depth, and A is read
/// once. The row blocks are dealt to Eigen::nbThreads() OpenMP threads (one inside a parallel
/// region) in contiguous runs; each block is computed the same way whichever thread runs it,
/// so the result is the same bits for any thread count, and Eigen's product to float rounding.
///
/// Where it runs: float, AVX-512 builds (the 512-bit kernel), depth at least 1,024, and the
/// default build only. Otherwise it is gemm()/gemm_add() of A * B.transpose(): double, small
/// products, the 256-bit builds (where Eigen was as fast for the large products, see
/// docs/performance.md), and the oneDNN backend (dnnl_sgemm).
#pragma once

#include <algorithm>
#include <type_traits>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/gemm.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/parallel.hpp"

namespace lstmidi {

namespace detail {

inline constexpr Index kNtRows = 64;        // rows of C per block: four panels, one tile high
inline constexpr Index kNtDepth = 128;      // depth per packed block: 32 KB of panels
inline constexpr Index kNtMinDepth = 1024;  // below it, Eigen's product

#if defined(LSTMIDI_PACKED_512) && !defined(LSTMIDI_DNNL_BACKEND)
// C[0:m, 0:n] += A[0:m, 0:K] B[0:n, 0:K]^T, all column-major with unit inner stride.
inline void gemm_nt_512(float* c, Index ldc, const float* a, Index lda, const float* b, Index ldb,
                        Index m, Index n, Index K, int threads) {
  const Index blocks = (m + kNtRows - 1) / kNtRows;
  const Index tiles = (n + kPackNr - 1) / kPackNr;
  parallel_for(blocks, threads, [&](Index ib) {
    static thread_local PanelVector<float> buf;
    buf.resize(static_cast<size_t>(kNtRows * kNtDepth));
    const Index i0 = ib * kNtRows, rows = std::min(kNtRows, m - i0);
    const Index panels = (rows + kPackMr - 1) / kPackMr;
    for (Index k0 = 0; k0 < K; k0 += kNtDepth) {
      const Index kc = std::min(kNtDepth, K - k0);
      // Panel p holds A(i0 + 16p + r, k0 + kk) at 16 kk + r; rows past m are zeros.
      for (Index p = 0; p < panels; ++p) {
        const Index live = std::min(kPackMr, rows - p * kPackMr);
        const __mmask16 mask = live >= 16 ? __mmask16(0xffff) : __mmask16((1u << live) - 1);
        const float* src = a + k0 * lda + i0 + p * kPackMr;
        float* dst = buf.data() + p * kPackMr * kc;
        for (Index kk = 0; kk < kc; ++kk) {
          // The columns 16 ahead: A is read once, from memory, 8 KB apart for 4H = 2048.
          if (k0 + kk + 16 < K)
            _mm_prefetch(reinterpret_cast<const char*>(src + 16 * lda), _MM_HINT_T0);
          _mm512_store_ps(dst + kPackMr * kk, _mm512_maskz_loadu_ps(mask, src));
          src += lda;
        }
      }
      const float* x = b + k0 * ldb;  // B^T(k0, 0): row stride ldb
      for (Index t = 0, j0 = 0; t < tiles; ++t) {
        const Index nr = n / tiles + (t < n % tiles ? 1 : 0);
        packed_tile_512<float, true>(panels, nr, kc, buf.data(), kPackMr * kc, x + j0, ldb,
                                     c + j0 * ldc + i0, ldc, rows, /*assign=*/false);
        j0 += nr;
      }
    }
  });
}
#endif

template <typename Dst, typename Lhs, typename Rhs>
void gemm_nt_impl(Dst& C, const Lhs& A, const Rhs& B, bool accumulate) {
  require(A.cols() == B.cols(), "gemm_nt: depths differ, ", A.cols(), " and ", B.cols());
  if (accumulate)
    require(C.rows() == A.rows() && C.cols() == B.rows(), "gemm_nt_add: C is ", C.rows(), "x",
            C.cols(), ", the product ", A.rows(), "x", B.rows());
#if defined(LSTMIDI_PACKED_512) && !defined(LSTMIDI_DNNL_BACKEND)
  if constexpr (std::is_same_v<typename Lhs::Scalar, float>) {
    if (A.cols() >= kNtMinDepth && A.rows() > 0 && B.rows() > 0 && A.innerStride() == 1 &&
        B.innerStride() == 1 && C.innerStride() == 1) {
      if (!accumulate) {
        C.resize(A.rows(), B.rows());
        C.setZero();
      }
      gemm_nt_512(C.data(), C.outerStride(), A.data(), A.outerStride(), B.data(), B.outerStride(),
                  A.rows(), B.rows(), A.cols(), Eigen::nbThreads());
      return;
    }
  }
#endif
  if (accumulate)
    gemm_add(C, A, B.transpose());
  else
    gemm(C, A, B.transpose());
}

}  // namespace detail

/// C = A B^T. A (m, K), B (n, K): column-major with unit inner stride (matrices, maps, column
/// blocks); C (m, n) is resized where it is a Matrix and must not alias A or B.
template <typename Dst, typename Lhs, typename Rhs>
void gemm_nt(Dst&& C, const Lhs& A, const Rhs& B) {
  detail::gemm_nt_impl(C, A, B, /*accumulate=*/false);
}

/// C += A B^T, as gemm_nt(); C has the product's shape.
template <typename Dst, typename Lhs, typename Rhs>
void gemm_nt_add(Dst&& C, const Lhs& A, const Rhs& B) {
  detail::gemm_nt_impl(C, A, B, /*accumulate=*/true);
}

}  // namespace lstmidi
