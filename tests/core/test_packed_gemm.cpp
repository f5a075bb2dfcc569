// SPDX-License-Identifier: MIT
// PackedMatrix: products with a matrix packed once agree with a double-precision reference for
// every edge of the blocking (partial panels, partial register tiles, partial depth blocks),
// for column blocks of larger matrices, for assignment and accumulation, and for M^T.
#include <doctest/doctest.h>

#include <limits>
#include <lstmidi/core/packed_gemm.hpp>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {

// Checks P X (+ C0) against the product in double, element by element, with the classic
// bound for a dot product of length k in precision eps: |error| <= c k eps sum_l |m_il x_lj|.
template <typename T>
void check_product(const Matrix<T>& M, bool transpose, Index n, bool accumulate, Rng& rng) {
  const Matrix<T> Mop = transpose ? Matrix<T>(M.transpose()) : M;
  const Index m = Mop.rows(), k = Mop.cols();
  PackedMatrix<T> P;
  if (transpose)
    P.pack_transpose(M);
  else
    P.pack(M);
  REQUIRE(P.rows() == m);
  REQUIRE(P.cols() == k);

  // X and C are column blocks inside larger matrices: outer strides differ from the row counts.
  Matrix<T> Xbig = random_matrix<T>(k + 3, n + 4, rng);
  Matrix<T> Cbig = random_matrix<T>(m + 5, n + 2, rng);
  const Matrix<T> Cbefore = Cbig;
  auto X = Xbig.block(2, 3, k, n);
  P.multiply(X, Cbig.block(1, 1, m, n), accumulate);

  const Eigen::MatrixXd Md = Mop.template cast<double>(), Xd = X.template cast<double>();
  Eigen::MatrixXd expect = Md * Xd;
  if (accumulate) expect += Cbefore.block(1, 1, m, n).template cast<double>();
  const Eigen::MatrixXd scale = Md.cwiseAbs() * Xd.cwiseAbs();
  const double eps = std::numeric_limits<T>::epsilon();
  double worst = 0;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      const double err = std::abs(static_cast<double>(Cbig(1 + i, 1 + j)) - expect(i, j));
      const double bound = 4.0 * static_cast<double>(k + 1) * eps * (scale(i, j) + 1.0);
      worst = std::max(worst, err / bound);
    }
  CHECK(worst <= 1.0);
  // Nothing outside the target block was touched.
  Matrix<T> outside = Cbig;
  outside.block(1, 1, m, n) = Cbefore.block(1, 1, m, n);
  CHECK(outside == Cbefore);
}

template <typename T>
void check_shapes() {
  Rng rng(7);
  const Index row_counts[] = {1, 4, 15, 16, 17, 36, 100};
  const Index depths[] = {1, 5, 255, 256, 257, 600};
  const Index widths[] = {1, 5, 6, 7, 13};
  for (Index m : row_counts)
    for (Index k : depths)
      for (Index n : widths)
        for (bool accumulate : {false, true}) {
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(accumulate);
          check_product<T>(random_matrix<T>(m, k, rng), false, n, accumulate, rng);
          check_product<T>(random_matrix<T>(k, m, rng), true, n, accumulate, rng);
        }
}

}  // namespace

TEST_CASE("PackedMatrix<float>: every blocking edge matches the double reference") {
  MESSAGE("register kernel active: " << PackedMatrix<float>::kernel_active());
  check_shapes<float>();
}

TEST_CASE("PackedMatrix<double>: matches the reference") {
  check_shapes<double>();
}

TEST_CASE("PackedMatrix: the LSTM's shapes, repacked after the matrix changes") {
  Rng rng(3);
  Matrix<float> U = random_matrix<float>(2048, 512, rng);
  PackedMatrix<float> P;
  P.pack(U);
  const Matrix<float> X = random_matrix<float>(512, 32, rng);
  Matrix<float> C(2048, 32);
  P.multiply(X, C, false);
  CHECK((C.cast<double>() - U.cast<double>() * X.cast<double>()).cwiseAbs().maxCoeff() < 1e-3);
  U *= 2.0f;  // the packed copy is a snapshot until packed again
  P.multiply(X, C, false);
  CHECK((C.cast<double>() - 0.5 * U.cast<double>() * X.cast<double>()).cwiseAbs().maxCoeff() <
        1e-3);
  P.pack_transpose(U);
  Matrix<float> D(512, 32);
  const Matrix<float> Y = random_matrix<float>(2048, 32, rng);
  P.multiply(Y, D, false);
  CHECK((D.cast<double>() - U.transpose().cast<double>() * Y.cast<double>()).cwiseAbs().maxCoeff() <
        2e-3);
}

TEST_CASE("PackedMatrix: panels multiplied where the kernel is not built give the same product") {
  // A program whose translation units were built with different -m flags can pack with the
  // register kernel's layout and multiply in code without the kernel: the portable loop.
  if (!PackedMatrix<float>::kernel_active()) {
    MESSAGE("no register kernel in this build: nothing is packed into panels");
    return;
  }
  Rng rng(11);
  for (Index m : {Index{5}, Index{16}, Index{40}})
    for (bool accumulate : {false, true}) {
      const Matrix<float> M = random_matrix<float>(m, 37, rng);
      PackedMatrix<float> P;
      P.pack(M);
      REQUIRE(P.panels().size() == static_cast<size_t>((m + 15) / 16 * 16 * 37));
      const Matrix<float> X = random_matrix<float>(37, 7, rng);
      const Matrix<float> C0 = random_matrix<float>(m, 7, rng);
      Matrix<float> C = C0, D = C0;
      P.multiply(X, C, accumulate);
      detail::packed_panels_portable(P.panels().data(), m, Index{37}, X.data(), X.outerStride(),
                                     X.cols(), D.data(), D.outerStride(), accumulate);
      Eigen::MatrixXd expect = M.cast<double>() * X.cast<double>();
      if (accumulate) expect += C0.cast<double>();
      CHECK((D.cast<double>() - expect).cwiseAbs().maxCoeff() < 1e-4);
      CHECK((C - D).cwiseAbs().maxCoeff() < 1e-4f);
    }
}

TEST_CASE("PackedMatrix: shape mismatches are rejected with a message") {
  Rng rng(1);
  PackedMatrix<double> P;
  P.pack(random_matrix<double>(8, 5, rng));
  Matrix<double> X(4, 3), C(8, 3);
  CHECK_THROWS_WITH_AS(P.multiply(X, C, false), doctest::Contains("(8x5) times (4x3)"),
                       std::invalid_argument);
  Matrix<double> X2(5, 3), C2(8, 2);
  CHECK_THROWS_AS(P.multiply(X2, C2, true), std::invalid_argument);
}
