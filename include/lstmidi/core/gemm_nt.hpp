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
/// gemm_nt_add_layer(A, dU, H_prev, dW, X, db) computes a layer's weight gradients together:
/// each packed block of A serves both products and adds its columns to the bias gradient, so
/// the step reads dA once for all three instead of three times (and a dense layer's variant,
/// (A, dW, X, db), once for two). gemm_nt_add_token_layer(A, dU, H_prev, dW, ids, db) is the
/// one-hot layer's: its dW += dA X^T is a scatter of A's columns, dW[:, ids[j]] += A[:, j],
/// which rides on the packing as the bias sums do.
///
/// Where it runs: float, AVX-512 builds (the 512-bit kernel), depth at least 1,024, and the
/// default build only. Otherwise it is gemm()/gemm_add() of A * B.transpose(): double, small
/// products, the 256-bit builds (where Eigen was as fast for the large products, see
/// docs/performance.md), and the oneDNN backend (dnnl_sgemm).
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

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
// One product of a pass: C[0:m, 0:n] += A B^T for B (n, K), column-major, unit inner stride.
struct NtProduct {
  float* c;
  Index ldc;
  const float* b;
  Index ldb;
  Index n;
};

// A scatter of A's columns: C[:, ids[j]] += A[:, j] for j = 0..K-1 (C column-major; every id
// is a valid column of C).
struct NtScatter {
  float* c;
  Index ldc;
  const TokenId* ids;
};

// Every product of `products` (count of them, all with the same A[0:m, 0:K]), where sums is
// not null sums[0:m] += A 1, and where scatter is not null its scatter, in one pass over A:
// each block of A is packed once and serves them all. The row sums and the scatter add A's
// columns in order, one element at a time, as add_row_sums() and a loop of
// C.col(ids[j]) += A.col(j) do, so they are those bits.
inline void gemm_nt_512(const float* a, Index lda, Index m, Index K, const NtProduct* products,
                        int count, float* sums, const NtScatter* scatter, int threads) {
  const Index blocks = (m + kNtRows - 1) / kNtRows;
  parallel_for(blocks, threads, [&](Index ib) {
    static thread_local PanelVector<float> buf;
    buf.resize(static_cast<size_t>(kNtRows * kNtDepth));
    const Index i0 = ib * kNtRows, rows = std::min(kNtRows, m - i0);
    const Index panels = (rows + kPackMr - 1) / kPackMr;
    __m512 sum[kNtRows / kPackMr];
    for (Index p = 0; p < panels; ++p) sum[p] = _mm512_setzero_ps();
    for (Index k0 = 0; k0 < K; k0 += kNtDepth) {
      const Index kc = std::min(kNtDepth, K - k0);
      // Panel p holds A(i0 + 16p + r, k0 + kk) at 16 kk + r; rows past m are zeros.
      for (Index p = 0; p < panels; ++p) {
        const Index live = std::min(kPackMr, rows - p * kPackMr);
        const __mmask16 mask = live >= 16 ? __mmask16(0xffff) : __mmask16((1u << live) - 1);
        const float* src = a + k0 * lda + i0 + p * kPackMr;
        float* dst = buf.data() + p * kPackMr * kc;
        __m512 s = sum[p];
        for (Index kk = 0; kk < kc; ++kk) {
          // The columns 16 ahead: A is read once, from memory, 8 KB apart for 4H = 2048.
          if (k0 + kk + 16 < K)
            _mm_prefetch(reinterpret_cast<const char*>(src + 16 * lda), _MM_HINT_T0);
          const __m512 v = _mm512_maskz_loadu_ps(mask, src);
          _mm512_store_ps(dst + kPackMr * kk, v);
          if (sums) s = _mm512_add_ps(s, v);
          if (scatter) {
            float* d = scatter->c + scatter->ids[k0 + kk] * scatter->ldc + i0 + p * kPackMr;
            _mm512_mask_storeu_ps(d, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, d), v));
          }
          src += lda;
        }
        sum[p] = s;
      }
      for (int q = 0; q < count; ++q) {
        const NtProduct& pr = products[q];
        const Index tiles = (pr.n + kPackNr - 1) / kPackNr;
        const float* x = pr.b + k0 * pr.ldb;  // B^T(k0, 0): row stride ldb
        for (Index t = 0, j0 = 0; t < tiles; ++t) {
          const Index nr = pr.n / tiles + (t < pr.n % tiles ? 1 : 0);
          packed_tile_512<float, true>(panels, nr, kc, buf.data(), kPackMr * kc, x + j0, pr.ldb,
                                       pr.c + j0 * pr.ldc + i0, pr.ldc, rows, /*assign=*/false);
          j0 += nr;
        }
      }
    }
    if (sums) {
      for (Index p = 0; p < panels; ++p) {
        const Index live = std::min(kPackMr, rows - p * kPackMr);
        const __mmask16 mask = live >= 16 ? __mmask16(0xffff) : __mmask16((1u << live) - 1);
        float* d = sums + i0 + p * kPackMr;
        _mm512_mask_storeu_ps(d, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, d), sum[p]));
      }
    }
  });
}

// Whether gemm_nt_512 takes these operands (float, deep enough, unit inner strides).
template <typename Lhs, typename Rhs, typename Dst>
bool nt_kernel_takes(const Lhs& A, const Rhs& B, const Dst& C) {
  if constexpr (std::is_same_v<typename Lhs::Scalar, float>)
    return A.cols() >= kNtMinDepth && A.rows() > 0 && B.rows() > 0 && A.innerStride() == 1 &&
           B.innerStride() == 1 && C.innerStride() == 1;
  else
    return false;
}

template <typename Dst, typename Rhs>
NtProduct nt_product(Dst& C, const Rhs& B) {
  return NtProduct{C.data(), C.outerStride(), B.data(), B.outerStride(), B.rows()};
}
#endif

template <typename Dst, typename Lhs, typename Rhs>
void require_nt_shapes(const Dst& C, const Lhs& A, const Rhs& B, const char* what) {
  require(A.cols() == B.cols(), what, ": depths differ, ", A.cols(), " and ", B.cols());
  require(C.rows() == A.rows() && C.cols() == B.rows(), what, ": C is ", C.rows(), "x", C.cols(),
          ", the product ", A.rows(), "x", B.rows());
}

template <typename Dst, typename Lhs, typename Rhs>
void gemm_nt_impl(Dst& C, const Lhs& A, const Rhs& B, bool accumulate) {
  if (!accumulate) {
    require(A.cols() == B.cols(), "gemm_nt: depths differ, ", A.cols(), " and ", B.cols());
    C.resize(A.rows(), B.rows());
  }
  require_nt_shapes(C, A, B, accumulate ? "gemm_nt_add" : "gemm_nt");
#if defined(LSTMIDI_PACKED_512) && !defined(LSTMIDI_DNNL_BACKEND)
  if constexpr (std::is_same_v<typename Lhs::Scalar, float>) {
    if (nt_kernel_takes(A, B, C)) {
      if (!accumulate) C.setZero();
      const NtProduct product = nt_product(C, B);
      gemm_nt_512(A.data(), A.outerStride(), A.rows(), A.cols(), &product, 1, nullptr, nullptr,
                  Eigen::nbThreads());
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

namespace detail {

// C2 += A B2^T when C2 is not null; S[:, ids[j]] += A[:, j] when S is not null (ids: A.cols()
// ids, checked to be columns of S).
template <typename Lhs, typename Dst1, typename Rhs1, typename Dst2, typename Rhs2, typename Db,
          typename Dst3 = Dst1>
void gemm_nt_layer_impl(const Lhs& A, Dst1& C1, const Rhs1& B1, Dst2* C2, const Rhs2* B2, Db& db,
                        Dst3* S = nullptr, const std::vector<TokenId>* ids = nullptr) {
  require_nt_shapes(C1, A, B1, "gemm_nt_add_layer");
  if (C2) require_nt_shapes(*C2, A, *B2, "gemm_nt_add_layer");
  require(db.rows() == A.rows() && db.cols() == 1, "gemm_nt_add_layer: db is ", db.rows(), "x",
          db.cols(), ", expected ", A.rows(), "x1");
  if (S) {
    require(S->rows() == A.rows() && static_cast<Index>(ids->size()) == A.cols(),
            "gemm_nt_add_token_layer: dW has ", S->rows(), " rows and there are ", ids->size(),
            " ids, for A ", A.rows(), "x", A.cols());
    for (TokenId id : *ids)
      require(id >= 0 && id < S->cols(), "gemm_nt_add_token_layer: token id ", id, " outside [0, ",
              S->cols(), ")");
  }
#if defined(LSTMIDI_PACKED_512) && !defined(LSTMIDI_DNNL_BACKEND)
  if constexpr (std::is_same_v<typename Lhs::Scalar, float>) {
    if (nt_kernel_takes(A, B1, C1) && (!C2 || nt_kernel_takes(A, *B2, *C2)) &&
        db.innerStride() == 1 && (!S || S->innerStride() == 1)) {
      NtProduct products[2] = {nt_product(C1, B1), {}};
      if (C2) products[1] = nt_product(*C2, *B2);
      NtScatter scatter{};
      if (S) scatter = NtScatter{S->data(), S->outerStride(), ids->data()};
      gemm_nt_512(A.data(), A.outerStride(), A.rows(), A.cols(), products, C2 ? 2 : 1, db.data(),
                  S ? &scatter : nullptr, Eigen::nbThreads());
      return;
    }
  }
#endif
  gemm_nt_impl(C1, A, B1, /*accumulate=*/true);
  if (C2) gemm_nt_impl(*C2, A, *B2, /*accumulate=*/true);
  add_row_sums(db, A);
  if (S)
    for (Index j = 0; j < A.cols(); ++j) S->col((*ids)[static_cast<size_t>(j)]) += A.col(j);
}

}  // namespace detail

/// A layer's weight gradients from its pre-activation gradients A (m, K), in one pass over A:
///   C1 += A B1^T     C2 += A B2^T     db += A 1
/// (an LSTM layer: dW += dA X^T, dU += dA H_prev^T, db += dA 1). Each product is
/// gemm_nt_add()'s, the same bits, and db gets add_row_sums()'s bits: where the 512-bit kernel
/// runs, each packed block of A serves all three; elsewhere they are those three calls.
template <typename Lhs, typename Dst1, typename Rhs1, typename Dst2, typename Rhs2, typename Db>
void gemm_nt_add_layer(const Lhs& A, Dst1&& C1, const Rhs1& B1, Dst2&& C2, const Rhs2& B2,
                       Db&& db) {
  detail::gemm_nt_layer_impl(A, C1, B1, &C2, &B2, db);
}

/// The same for a layer with one weight matrix (a dense layer: dW += dZ X^T, db += dZ 1).
template <typename Lhs, typename Dst1, typename Rhs1, typename Db>
void gemm_nt_add_layer(const Lhs& A, Dst1&& C1, const Rhs1& B1, Db&& db) {
  using D = std::remove_reference_t<Dst1>;
  detail::gemm_nt_layer_impl(A, C1, B1, static_cast<D*>(nullptr), static_cast<const Rhs1*>(nullptr),
                             db);
}

/// A one-hot layer's weight gradients from A (m, K), in one pass over A:
///   C1 += A B1^T     S[:, ids[j]] += A[:, j] for j = 0..K-1     db += A 1
/// (an LSTM layer on token ids: dU += dA H_prev^T, dW += dA X^T for the one-hot columns X of
/// ids, db += dA 1). The scatter adds in the order of j, as the loop above does, so its bits
/// are that loop's; C1 and db are gemm_nt_add_layer()'s. Ids outside S's columns are errors.
template <typename Lhs, typename Dst1, typename Rhs1, typename Dst3, typename Db>
void gemm_nt_add_token_layer(const Lhs& A, Dst1&& C1, const Rhs1& B1, Dst3&& S,
                             const std::vector<TokenId>& ids, Db&& db) {
  using D = std::remove_reference_t<Dst1>;
  using D3 = std::remove_reference_t<Dst3>;
  detail::gemm_nt_layer_impl(A, C1, B1, static_cast<D*>(nullptr), static_cast<const Rhs1*>(nullptr),
                             db, static_cast<D3*>(&S), &ids);
}

}  // namespace lstmidi
