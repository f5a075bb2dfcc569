// SPDX-License-Identifier: MIT
// gemm / gemm_add: in the default build exactly Eigen's noalias() products, bit for bit, in
// float and double, for all four transpose combinations and on maps and blocks (the training
// step routes its large products through them and must train bit for bit as written out).
// With -DLSTMIDI_DNNL=ON float products run on oneDNN and agree to float rounding
// (tests/dnnl/ checks that build).
#include <doctest/doctest.h>

#include <limits>
#include <lstmidi/core/gemm.hpp>
#include <lstmidi/core/gemm_nt.hpp>
#include <type_traits>
#include <vector>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {

template <typename T>
void check_same(const Matrix<T>& got, const Matrix<T>& expect, Index k) {
  REQUIRE(got.rows() == expect.rows());
  REQUIRE(got.cols() == expect.cols());
#ifdef LSTMIDI_DNNL_BACKEND
  if constexpr (std::is_same_v<T, float>) {
    const double eps = std::numeric_limits<float>::epsilon();
    CHECK((got - expect).cwiseAbs().maxCoeff() < double(k + 1) * double(k + 1) * eps);
    return;
  }
#endif
  (void)k;
  CHECK(got == expect);
}

template <typename T>
void check_all(Index m, Index k, Index n, Rng& rng) {
  INFO("m " << m << " k " << k << " n " << n);
  const Matrix<T> A = random_matrix<T>(m, k, rng), At = A.transpose();
  const Matrix<T> B = random_matrix<T>(k, n, rng), Bt = B.transpose();
  Matrix<T> expect, C;

  expect.noalias() = A * B;
  gemm(C, A, B);
  check_same<T>(C, expect, k);
  expect.noalias() = At.transpose() * B;
  gemm(C, At.transpose(), B);
  check_same<T>(C, expect, k);
  expect.noalias() = A * Bt.transpose();
  gemm(C, A, Bt.transpose());
  check_same<T>(C, expect, k);
  expect.noalias() = At.transpose() * Bt.transpose();
  gemm(C, At.transpose(), Bt.transpose());
  check_same<T>(C, expect, k);

  // gemm_add on a map over a block's storage and on a block of a larger matrix.
  Matrix<T> start = random_matrix<T>(m, n, rng);
  expect = start;
  expect.noalias() += A * Bt.transpose();
  C = start;
  gemm_add(MatrixMap<T>(C.data(), m, n), A, Bt.transpose());
  check_same<T>(C, expect, k);
  Matrix<T> big = random_matrix<T>(m + 2, n + 1, rng);
  expect = big.block(1, 0, m, n);
  expect.noalias() += ConstMatrixMap<T>(At.data(), k, m).transpose() * B;
  gemm_add(big.block(1, 0, m, n), ConstMatrixMap<T>(At.data(), k, m).transpose(), B);
  check_same<T>(Matrix<T>(big.block(1, 0, m, n)), expect, k);
}

}  // namespace

TEST_CASE("gemm and gemm_add are Eigen's products, bit for bit, in the default build") {
  Rng rng(11);
  for (const Index s : {1, 3, 17, 64, 129}) {
    check_all<float>(s, s + 5, 2 * s + 1, rng);
    check_all<double>(2 * s + 1, s, s + 7, rng);
  }
  check_all<float>(300, 700, 40, rng);  // Eigen's blocked GEMM, several depth blocks
}

TEST_CASE("add_row_sums: the row sums added column after column, for any block") {
  Rng rng(12);
  for (const Index m : {1, 7, 16, 33}) {
    for (const Index n : {1, 2, 100}) {
      CAPTURE(m);
      CAPTURE(n);
      const Matrix<float> M = random_matrix<float>(m, n, rng);
      const Matrix<float> start = random_matrix<float>(m, 1, rng);
      // The definition, written out: one running sum per row over the columns in order.
      Matrix<float> expect = start;
      for (Index i = 0; i < m; ++i) {
        float s = 0;
        for (Index j = 0; j < n; ++j) s += M(i, j);
        expect(i, 0) += s;
      }
      Matrix<float> db = start;
      add_row_sums(db.col(0), M);
      CHECK(db == expect);
      // A column block of a larger matrix (the stride of a whole column of the parent) gives
      // the same sums as the block on its own.
      Matrix<float> parent = random_matrix<float>(m + 3, n + 2, rng);
      parent.block(2, 1, m, n) = M;
      Matrix<float> db_block = start;
      add_row_sums(db_block.col(0), parent.block(2, 1, m, n));
      CHECK(db_block == expect);
      // and agree with Eigen's rowwise sums to float rounding
      const Matrix<float> eigen = start + M.rowwise().sum();
      CHECK((db - eigen).cwiseAbs().maxCoeff() <= 1e-5f * (1 + M.cwiseAbs().sum()));
    }
  }
}

TEST_CASE("add_row_sums: rows split across threads give the same bits as one thread") {
  // Large enough (2^18 elements and more) for the split; rows not a multiple of 16.
  Rng rng(13);
  const int threads_before = Eigen::nbThreads();
  const Matrix<float> M = random_matrix<float>(1000, 300, rng);
  const Matrix<float> start = random_matrix<float>(1000, 1, rng);
  Matrix<float> expect = start;
  for (Index i = 0; i < M.rows(); ++i) {
    float s = 0;
    for (Index j = 0; j < M.cols(); ++j) s += M(i, j);
    expect(i, 0) += s;
  }
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Eigen::setNbThreads(threads);
    Matrix<float> db = start;
    add_row_sums(db.col(0), M);
    CHECK(db == expect);
  }
  Eigen::setNbThreads(threads_before);
}

TEST_CASE("gemm_packed: the same bits for any thread count, the product to float rounding") {
  Rng rng(21);
  const int threads_before = Eigen::nbThreads();
  // Shapes of the training step's wide products, scaled down: 4H x D times D x T*B for the
  // input projection, its transpose for dX, the output layer; widths around the 64-column
  // blocks and the 256-column threshold.
  struct Shape {
    Index m, k, n;
    bool transpose;
  };
  for (const Shape s :
       {Shape{64, 32, 256, false}, Shape{100, 33, 300, false}, Shape{37, 129, 257, true},
        Shape{17, 40, 640, true}, Shape{48, 20, 255, false}}) {
    CAPTURE(s.m);
    CAPTURE(s.k);
    CAPTURE(s.n);
    CAPTURE(s.transpose);
    const Matrix<float> W =
        random_matrix<float>(s.transpose ? s.k : s.m, s.transpose ? s.m : s.k, rng);
    const Matrix<float> X = random_matrix<float>(s.k, s.n, rng);
    const Matrix<float> C0 = random_matrix<float>(s.m, s.n, rng);
    auto product = [&](int threads, bool accumulate) {
      Eigen::setNbThreads(threads);
      Matrix<float> C = C0;
      if (s.transpose) {
        if (accumulate)
          gemm_packed_add(C, W.transpose(), X);
        else
          gemm_packed(C, W.transpose(), X);
      } else {
        if (accumulate)
          gemm_packed_add(C, W, X);
        else
          gemm_packed(C, W, X);
      }
      return C;
    };
    for (const bool accumulate : {false, true}) {
      CAPTURE(accumulate);
      const Matrix<float> one = product(1, accumulate);
      // Thread counts only decide which thread runs which 64-column block.
      CHECK(product(2, accumulate) == one);
      CHECK(product(3, accumulate) == one);
      // Against the product in double, with the dot-product bound of length k.
      const Eigen::MatrixXd Wd = s.transpose ? Eigen::MatrixXd(W.transpose().cast<double>())
                                             : Eigen::MatrixXd(W.cast<double>());
      Eigen::MatrixXd expect = Wd * X.cast<double>();
      if (accumulate) expect += C0.cast<double>();
      const Eigen::MatrixXd scale =
          Wd.cwiseAbs() * X.cast<double>().cwiseAbs() + Eigen::MatrixXd::Ones(s.m, s.n);
      const double eps = std::numeric_limits<float>::epsilon();
      const Eigen::ArrayXXd err = (one.cast<double>() - expect).cwiseAbs().array();
      CHECK((err <= 4.0 * double(s.k + 1) * eps * scale.array()).all());
    }
  }
  // Products narrower than the threshold, and double ones, are gemm()'s, bit for bit.
  const Matrix<double> Wd = random_matrix<double>(40, 30, rng),
                       Xd = random_matrix<double>(30, 300, rng);
  Matrix<double> got, expect;
  gemm_packed(got, Wd, Xd);
  gemm(expect, Wd, Xd);
  CHECK(got == expect);
  const Matrix<float> Wf = random_matrix<float>(40, 30, rng), Xf = random_matrix<float>(30, 1, rng);
  Matrix<float> gotf, expectf;
  gemm_packed(gotf, Wf, Xf);
  gemm(expectf, Wf, Xf);
  CHECK(gotf == expectf);
  // A mismatched product is an error with its shapes, not a crash.
  Matrix<float> bad;
  CHECK_THROWS_AS(gemm_packed(bad, Wf, random_matrix<float>(31, 300, rng)), std::invalid_argument);
  Eigen::setNbThreads(threads_before);
}

// gemm_nt's own kernel runs in AVX-512 builds of the default configuration.
#if defined(LSTMIDI_PACKED_512) && !defined(LSTMIDI_DNNL_BACKEND)
constexpr bool kNtKernel = true;
#else
constexpr bool kNtKernel = false;
#endif

TEST_CASE("gemm_nt: A B^T, the same bits for any thread count, the product to float rounding") {
  if (!kNtKernel) MESSAGE("no 512-bit kernel in this build: thread counts not compared");
  Rng rng(23);
  const int threads_before = Eigen::nbThreads();
  // Weight-gradient shapes scaled down: (4H, T*B) times (D, T*B)^T. Row counts around the
  // 64-row blocks and the 16-row panels, column counts around the 6-column tiles, depths around
  // the 128-deep blocks and the 1,024 threshold.
  struct Shape {
    Index m, n, k;
  };
  for (const Shape s : {Shape{64, 12, 1024}, Shape{100, 37, 1100}, Shape{130, 5, 1337},
                        Shape{17, 64, 2000}, Shape{48, 1, 1024}, Shape{8, 7, 1500}}) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    const Matrix<float> A = random_matrix<float>(s.m, s.k, rng);
    const Matrix<float> B = random_matrix<float>(s.n, s.k, rng);
    const Matrix<float> C0 = random_matrix<float>(s.m, s.n, rng);
    auto product = [&](int threads, bool accumulate) {
      Eigen::setNbThreads(threads);
      Matrix<float> C = C0;
      if (accumulate)
        gemm_nt_add(C, A, B);
      else
        gemm_nt(C, A, B);
      return C;
    };
    for (const bool accumulate : {false, true}) {
      CAPTURE(accumulate);
      const Matrix<float> one = product(1, accumulate);
      // Thread counts only decide which thread runs which 64-row block. (Eigen's product,
      // taken elsewhere, may block the depth differently for other thread counts.)
      if (kNtKernel) {
        CHECK(product(2, accumulate) == one);
        CHECK(product(3, accumulate) == one);
      }
      // Against the product in double, with the dot-product bound of length k.
      Eigen::MatrixXd expect = A.cast<double>() * B.cast<double>().transpose();
      if (accumulate) expect += C0.cast<double>();
      const Eigen::MatrixXd scale =
          A.cast<double>().cwiseAbs() * B.cast<double>().cwiseAbs().transpose() +
          Eigen::MatrixXd::Ones(s.m, s.n);
      const double eps = std::numeric_limits<float>::epsilon();
      const Eigen::ArrayXXd err = (one.cast<double>() - expect).cwiseAbs().array();
      CHECK((err <= 4.0 * double(s.k + 1) * eps * scale.array()).all());
    }
  }
  // On blocks of larger matrices (the training step passes H_prev as leftCols of the states).
  {
    const Matrix<float> A = random_matrix<float>(70, 1200, rng);
    const Matrix<float> Bbig = random_matrix<float>(9, 1300, rng);
    Matrix<float> Cbig = random_matrix<float>(80, 9, rng);
    const Matrix<float> before = Cbig;
    auto Cblock = Cbig.topRows(70);
    gemm_nt_add(Cblock, A, Bbig.leftCols(1200));
    Eigen::MatrixXd expect = A.cast<double>() * Bbig.leftCols(1200).cast<double>().transpose() +
                             before.topRows(70).cast<double>();
    CHECK((Cbig.topRows(70).cast<double>() - expect).cwiseAbs().maxCoeff() < 1e-3);
    CHECK(Cbig.bottomRows(10) == before.bottomRows(10));
  }
  // Double products and shallow ones are gemm()'s of A * B^T, bit for bit.
  const Matrix<double> Ad = random_matrix<double>(40, 1100, rng),
                       Bd = random_matrix<double>(30, 1100, rng);
  Matrix<double> got, expect;
  gemm_nt(got, Ad, Bd);
  gemm(expect, Ad, Bd.transpose());
  CHECK(got == expect);
  const Matrix<float> Af = random_matrix<float>(40, 100, rng),
                      Bf = random_matrix<float>(30, 100, rng);
  Matrix<float> gotf, expectf;
  gemm_nt(gotf, Af, Bf);
  gemm(expectf, Af, Bf.transpose());
  CHECK(gotf == expectf);
  // Mismatched shapes are errors with their shapes, not crashes.
  CHECK_THROWS_AS(gemm_nt(gotf, Af, random_matrix<float>(30, 101, rng)), std::invalid_argument);
  Matrix<float> wrong(3, 3);
  CHECK_THROWS_AS(gemm_nt_add(wrong, Af, Bf), std::invalid_argument);
  Eigen::setNbThreads(threads_before);
}

TEST_CASE("gemm_nt_add_layer: a layer's gradients in one pass, the bits of the separate calls") {
  Rng rng(29);
  const int threads_before = Eigen::nbThreads();
  // (m, K) gradients, two right operands of n1 and n2 rows; the products must be
  // gemm_nt_add()'s bits and the bias gradient add_row_sums()'s, for any thread count.
  struct Shape {
    Index m, n1, n2, k;
  };
  for (const Shape s : {Shape{64, 12, 7, 1024}, Shape{100, 37, 16, 1100}, Shape{130, 5, 40, 1337},
                        Shape{17, 64, 3, 1500}, Shape{40, 8, 8, 100}}) {
    CAPTURE(s.m);
    CAPTURE(s.n1);
    CAPTURE(s.n2);
    CAPTURE(s.k);
    const Matrix<float> A = random_matrix<float>(s.m, s.k, rng);
    const Matrix<float> B1 = random_matrix<float>(s.n1, s.k, rng);
    const Matrix<float> B2 = random_matrix<float>(s.n2, s.k, rng);
    const Matrix<float> C1_0 = random_matrix<float>(s.m, s.n1, rng);
    const Matrix<float> C2_0 = random_matrix<float>(s.m, s.n2, rng);
    const Matrix<float> db0 = random_matrix<float>(s.m, 1, rng);
    for (const int threads : {1, 2, 3}) {
      CAPTURE(threads);
      Eigen::setNbThreads(threads);
      Matrix<float> C1 = C1_0, C2 = C2_0, db = db0;
      gemm_nt_add_layer(A, C1, B1, C2, B2, db.col(0));
      Matrix<float> E1 = C1_0, E2 = C2_0, edb = db0;
      gemm_nt_add(E1, A, B1);
      gemm_nt_add(E2, A, B2);
      add_row_sums(edb.col(0), A);
      CHECK(C1 == E1);
      CHECK(C2 == E2);
      CHECK(db == edb);
      // One weight matrix (a dense layer).
      Matrix<float> D1 = C1_0, ddb = db0;
      gemm_nt_add_layer(A, D1, B1, ddb.col(0));
      CHECK(D1 == E1);
      CHECK(ddb == edb);
    }
  }
  // Mismatched shapes are errors, before anything is written.
  const Matrix<float> A = random_matrix<float>(20, 1100, rng);
  Matrix<float> C1 = Matrix<float>::Zero(20, 4), C2 = Matrix<float>::Zero(20, 5),
                db = Matrix<float>::Zero(20, 1), short_db = Matrix<float>::Zero(19, 1);
  const Matrix<float> B1 = random_matrix<float>(4, 1100, rng),
                      B2 = random_matrix<float>(5, 1101, rng);
  CHECK_THROWS_AS(gemm_nt_add_layer(A, C1, B1, C2, B2, db.col(0)), std::invalid_argument);
  CHECK_THROWS_AS(gemm_nt_add_layer(A, C1, B1, short_db.col(0)), std::invalid_argument);
  CHECK(C1.isZero(0));
  CHECK(db.isZero(0));
  Eigen::setNbThreads(threads_before);
}

TEST_CASE("gemm_nt_add_token_layer: the scatter of a one-hot layer in the same pass, its bits") {
  Rng rng(31);
  const int threads_before = Eigen::nbThreads();
  // (m, K) gradients, one product with n rows, and the scatter of A's K columns into a (m, V)
  // matrix by ids that repeat (each column of S gets several of A's columns, in order).
  struct Shape {
    Index m, n, V, k;
  };
  for (const Shape s : {Shape{64, 12, 9, 1024}, Shape{130, 37, 50, 1100}, Shape{17, 5, 3, 1337},
                        Shape{40, 8, 7, 100}}) {
    CAPTURE(s.m);
    CAPTURE(s.V);
    CAPTURE(s.k);
    const Matrix<float> A = random_matrix<float>(s.m, s.k, rng);
    const Matrix<float> B = random_matrix<float>(s.n, s.k, rng);
    const Matrix<float> C0 = random_matrix<float>(s.m, s.n, rng);
    const Matrix<float> S0 = random_matrix<float>(s.m, s.V, rng);
    const Matrix<float> db0 = random_matrix<float>(s.m, 1, rng);
    std::vector<TokenId> ids(static_cast<size_t>(s.k));
    for (TokenId& id : ids) id = static_cast<TokenId>(rng.below(static_cast<std::uint32_t>(s.V)));
    for (const int threads : {1, 2, 3}) {
      CAPTURE(threads);
      Eigen::setNbThreads(threads);
      Matrix<float> E = C0, ES = S0, edb = db0;
      gemm_nt_add_layer(A, E, B, edb.col(0));
      for (Index j = 0; j < s.k; ++j) ES.col(ids[static_cast<size_t>(j)]) += A.col(j);
      Matrix<float> C = C0, S = S0, db = db0;
      gemm_nt_add_token_layer(A, C, B, S, ids, db.col(0));
      CHECK(C == E);
      CHECK(S == ES);
      CHECK(db == edb);
    }
  }
  // An id outside S's columns, or one id too few, is an error before anything is written.
  const Matrix<float> A = random_matrix<float>(20, 1100, rng);
  const Matrix<float> B = random_matrix<float>(4, 1100, rng);
  Matrix<float> C = Matrix<float>::Zero(20, 4), S = Matrix<float>::Zero(20, 6),
                db = Matrix<float>::Zero(20, 1);
  std::vector<TokenId> ids(1100, 2);
  ids[700] = 6;
  CHECK_THROWS_AS(gemm_nt_add_token_layer(A, C, B, S, ids, db.col(0)), std::invalid_argument);
  ids[700] = -1;
  CHECK_THROWS_AS(gemm_nt_add_token_layer(A, C, B, S, ids, db.col(0)), std::invalid_argument);
  ids.assign(1099, 2);
  CHECK_THROWS_AS(gemm_nt_add_token_layer(A, C, B, S, ids, db.col(0)), std::invalid_argument);
  CHECK(C.isZero(0));
  CHECK(S.isZero(0));
  CHECK(db.isZero(0));
  Eigen::setNbThreads(threads_before);
}
