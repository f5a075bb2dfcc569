// SPDX-License-Identifier: MIT
/// gemm(C, A, B): C = A B, and gemm_add(C, A, B): C += A B, the large matrix products of a
/// training step (the input projections and the weight gradients of the LSTM layers, the output
/// layer forward and backward). A and B are dense column-major matrices, maps or column blocks,
/// or .transpose() of one; C does not alias A or B (the products are Eigen's noalias() ones).
///
/// By default both are exactly C.noalias() = A * B and C.noalias() += A * B: the same Eigen
/// expressions, so the same code and the same bits as writing the product out.
///
/// With LSTMIDI_DNNL_BACKEND (CMake: -DLSTMIDI_DNNL=ON, which links oneDNN) float products of
/// at least 2^20 multiply-adds on directly addressed operands run on oneDNN's dnnl_sgemm
/// instead, on as many OpenMP threads as Eigen::nbThreads() (one inside a parallel region).
/// dnnl_sgemm is row-major: a column-major (m, n) matrix is the row-major (n, m) matrix at the
/// same address and stride, so
///   C = op(A) op(B)   is computed as   C^T = op(B)^T op(A)^T   with the operands swapped.
/// Double products, smaller and empty ones and operands without direct access stay on Eigen.
#pragma once

#include <algorithm>
#include <type_traits>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/parallel.hpp"

#ifdef LSTMIDI_DNNL_BACKEND
#include <oneapi/dnnl/dnnl.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#endif

namespace lstmidi {

namespace detail {

#ifdef LSTMIDI_DNNL_BACKEND
// An operand as dnnl_sgemm sees it: the stored column-major matrix and whether the product
// uses its transpose.
template <typename E>
struct GemmOperand {
  using Stored = E;
  static constexpr bool transposed = false;
  static const E& stored(const E& e) { return e; }
};
template <typename E>
struct GemmOperand<Eigen::Transpose<E>> {
  using Stored = std::remove_const_t<E>;
  static constexpr bool transposed = true;
  static const auto& stored(const Eigen::Transpose<E>& e) { return e.nestedExpression(); }
};

// Float, directly addressed and column-major: what dnnl_sgemm can read (or write) in place.
template <typename E>
constexpr bool dnnl_addressable = std::is_same_v<typename E::Scalar, float> &&
                                  (E::Flags & Eigen::DirectAccessBit) != 0 &&
                                  (E::Flags & Eigen::RowMajorBit) == 0;

// Products below this many multiply-adds stay on Eigen: generation's one-column logits
// (V x H times H x 1) cost less than starting oneDNN's threads for them.
inline constexpr double kDnnlMinProduct = 1 << 20;

template <typename Lhs, typename Rhs>
bool dnnl_worth(const Lhs& A, const Rhs& B) {
  return double(A.rows()) * double(A.cols()) * double(B.cols()) >= kDnnlMinProduct;
}

// C = A B (accumulate false) or C += A B on dnnl_sgemm, whatever the size; false (nothing done)
// when the shapes or strides are not ones it takes, and the caller then runs Eigen's product.
template <typename Dst, typename Lhs, typename Rhs>
bool dnnl_gemm(Dst& C, const Lhs& A, const Rhs& B, bool accumulate) {
  using LA = GemmOperand<Lhs>;
  using LB = GemmOperand<Rhs>;
  if constexpr (dnnl_addressable<Dst> && dnnl_addressable<typename LA::Stored> &&
                dnnl_addressable<typename LB::Stored>) {
    const auto& a = LA::stored(A);
    const auto& b = LB::stored(B);
    const Index m = A.rows(), k = A.cols(), n = B.cols();
    require(B.rows() == k, "gemm: inner sizes differ, ", k, " and ", B.rows());
    if (accumulate)
      require(C.rows() == m && C.cols() == n, "gemm_add: C is ", C.rows(), "x", C.cols(),
              ", the product ", m, "x", n);
    else
      C.resize(m, n);
    if (m == 0 || n == 0 || k == 0 || a.innerStride() != 1 || b.innerStride() != 1 ||
        C.innerStride() != 1)
      return false;
    // Row-major leading dimensions: a column-major matrix's outer stride, at least 1 column.
    const auto ld = [](Index outer, Index rows) {
      return static_cast<dnnl_dim_t>(std::max(outer, std::max<Index>(rows, 1)));
    };
    const dnnl_dim_t lda = ld(a.outerStride(), a.rows()), ldb = ld(b.outerStride(), b.rows()),
                     ldc = ld(C.outerStride(), C.rows());
#ifdef _OPENMP
    const int threads = omp_in_parallel() ? 1 : Eigen::nbThreads();
    const int before = omp_get_max_threads();
    if (threads != before) omp_set_num_threads(threads);
#endif
    const dnnl_status_t status =
        dnnl_sgemm(LB::transposed ? 'T' : 'N', LA::transposed ? 'T' : 'N', n, m, k, 1.0f, b.data(),
                   ldb, a.data(), lda, accumulate ? 1.0f : 0.0f, C.data(), ldc);
#ifdef _OPENMP
    if (threads != before) omp_set_num_threads(before);
#endif
    require(status == dnnl_success, "gemm: dnnl_sgemm failed with status ", int(status), " on ", m,
            "x", k, " times ", k, "x", n);
    return true;
  } else {
    (void)C, (void)A, (void)B, (void)accumulate;
    return false;
  }
}
#endif

}  // namespace detail

/// C = A B (C resized where it is a Matrix). A, B: matrices, maps, column blocks or their
/// .transpose(); C must not alias A or B.
template <typename Dst, typename Lhs, typename Rhs>
void gemm(Dst&& C, const Lhs& A, const Rhs& B) {
#ifdef LSTMIDI_DNNL_BACKEND
  if (detail::dnnl_worth(A, B) && detail::dnnl_gemm(C, A, B, /*accumulate=*/false)) return;
#endif
  C.noalias() = A * B;
}

/// C += A B, as gemm(); C has the product's shape.
template <typename Dst, typename Lhs, typename Rhs>
void gemm_add(Dst&& C, const Lhs& A, const Rhs& B) {
#ifdef LSTMIDI_DNNL_BACKEND
  if (detail::dnnl_worth(A, B) && detail::dnnl_gemm(C, A, B, /*accumulate=*/true)) return;
#endif
  C.noalias() += A * B;
}

namespace detail {

// Left operands as PackedMatrix packs them: W as stored, or W^T from W.
template <typename T, typename E>
void pack_left(PackedMatrix<T>& P, const E& W, int threads) {
  P.pack(W, threads);
}
template <typename T, typename E>
void pack_left(PackedMatrix<T>& P, const Eigen::Transpose<E>& W, int threads) {
  P.pack_transpose(W.nestedExpression(), threads);
}

// gemm_packed() packs only products at least this wide: below it the packing (one pass over
// W) is not repaid, and generation's one-column products stay on Eigen.
inline constexpr Index kPackedMinColumns = 256;

template <typename Dst, typename Lhs, typename Rhs>
void gemm_packed_impl(Dst& C, const Lhs& W, const Rhs& X, bool accumulate) {
  using T = typename Lhs::Scalar;
  // Checked here for every path, the fallback to gemm() included.
  require(W.cols() == X.rows(), "gemm_packed: inner sizes differ, ", W.cols(), " and ", X.rows());
  if (accumulate)
    require(C.rows() == W.rows() && C.cols() == X.cols(), "gemm_packed_add: C is ", C.rows(), "x",
            C.cols(), ", the product ", W.rows(), "x", X.cols());
  if constexpr (PackedMatrix<T>::kernel_active()) {
    if (X.cols() >= kPackedMinColumns && X.innerStride() == 1 && C.innerStride() == 1) {
      if (!accumulate) C.resize(W.rows(), X.cols());
      // One packing buffer per thread, reused by every product of its size or smaller.
      static thread_local PackedMatrix<T> P;
      const int threads = Eigen::nbThreads();
      pack_left(P, W, threads);
      P.multiply_wide(X, C, accumulate, threads);
      return;
    }
  }
  if (accumulate)
    gemm_add(C, W, X);
  else
    gemm(C, W, X);
}

}  // namespace detail

/// C = W X for a weight matrix W (or W.transpose()) and a wide X, a window's T*B columns: the
/// input projections W X, the output layer, and dX = W^T dA in backward. Where the packed
/// register kernel is active (float, AVX2 + FMA builds, core/packed_gemm.hpp) and X has at
/// least 256 columns, W is packed into 16-row panels (one pass over W, on Eigen::nbThreads()
/// threads) and the product runs on the per-step kernel over 64-column blocks of X, split
/// across the same threads (PackedMatrix::multiply_wide): the same bits for any thread count,
/// and gemm()'s product to float rounding. Otherwise (double, narrower X, builds without the
/// kernel) it is gemm(). X and C: column-major with unit inner stride (matrices, maps, column
/// blocks).
template <typename Dst, typename Lhs, typename Rhs>
void gemm_packed(Dst&& C, const Lhs& W, const Rhs& X) {
  detail::gemm_packed_impl(C, W, X, /*accumulate=*/false);
}

/// C += W X, as gemm_packed(); C has the product's shape.
template <typename Dst, typename Lhs, typename Rhs>
void gemm_packed_add(Dst&& C, const Lhs& W, const Rhs& X) {
  detail::gemm_packed_impl(C, W, X, /*accumulate=*/true);
}

/// db += M 1: adds the row sums of M (m, n) to db (m, 1), the bias gradient of a layer whose
/// pre-activation gradients are M's columns. Sums column after column, in order, in one pass
/// over M: the same bits for any thread count and any block of M. (Eigen's rowwise().sum() on
/// a column-major M walks each block of rows across all columns with a stride of a whole
/// column; on a training step's 2048 x 6400 gate gradients that took longer than the products
/// of the bias's own size deserve.) Large M: its rows are split across Eigen::nbThreads()
/// threads (one inside a parallel region), each summing its rows in the same order.
template <typename Dst, typename M>
void add_row_sums(Dst&& db, const M& m) {
  using T = typename M::Scalar;
  const Index rows = m.rows(), cols = m.cols();
  Vector<T> sum = Vector<T>::Zero(rows);
  auto part = [&](Index r0, Index nr) {
    auto s = sum.segment(r0, nr);
    for (Index j = 0; j < cols; ++j) s += m.col(j).segment(r0, nr);
  };
  // Row ranges in whole 16-row blocks (a cache line of floats), so that no two threads
  // write one line of the sums.
  const int threads = rows * cols >= (Index{1} << 18) ? Eigen::nbThreads() : 1;
  const Index blocks = (rows + 15) / 16;
  parallel_for(threads, threads, [&](Index t) {
    const Index r0 = std::min(rows, 16 * (blocks * t / threads));
    const Index r1 = std::min(rows, 16 * (blocks * (t + 1) / threads));
    if (r1 > r0) part(r0, r1 - r0);
  });
  db += sum;
}

}  // namespace lstmidi
