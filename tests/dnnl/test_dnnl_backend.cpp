// SPDX-License-Identifier: MIT
// The optional oneDNN backend (-DLSTMIDI_DNNL=ON: the products of core/gemm.hpp on
// dnnl_sgemm). Built only with the option; checks that the backend is really in use and that
// what runs on it is still right: the oneDNN path of gemm and gemm_add in all four transpose
// combinations, on odd shapes and on blocks with a larger outer stride, against a double
// reference; which products take it (2^20 multiply-adds and more, in float); double products
// left to Eigen bit for bit; thread counts; and whole models' float losses and gradients against
// the double models' (which run on Eigen).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <lstmidi/core/gemm.hpp>
#include <lstmidi/model/model.hpp>

#include "../core/test_helpers.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

#ifndef LSTMIDI_DNNL_BACKEND
#error "tests/dnnl is built only with -DLSTMIDI_DNNL=ON (LSTMIDI_DNNL_BACKEND)"
#endif

namespace {
struct Shape {
  Index m, k, n;
};

// Odd sizes (none a multiple of a vector width), a vector-like product, and one at the LSTM's
// weight-gradient shape (a long inner dimension).
const Shape kShapes[] = {{37, 53, 29}, {1, 17, 5}, {64, 1, 33}, {9, 300, 1}, {130, 700, 24}};

// |error| <= k eps sum |a||b| <= k^2 eps for entries in [-1, 1] (plus C's own entries when
// accumulating).
double bound(Index k) {
  return double(k + 1) * double(k + 1) * std::numeric_limits<float>::epsilon();
}

// C (m, n) = op(A) op(B) [+ C] on oneDNN (the path gemm and gemm_add take for products of
// 2^20 multiply-adds and more, here on every size), against the double product.
template <bool TA, bool TB>
void check_products(Rng& rng) {
  for (const Shape s : kShapes) {
    INFO("m " << s.m << " k " << s.k << " n " << s.n << " transposes " << TA << TB);
    const Matrix<float> A = random_matrix<float>(TA ? s.k : s.m, TA ? s.m : s.k, rng);
    const Matrix<float> B = random_matrix<float>(TB ? s.n : s.k, TB ? s.k : s.n, rng);
    const Matrix<double> Ad = A.cast<double>(), Bd = B.cast<double>();
    Matrix<double> expect(s.m, s.n);
    if constexpr (TA && TB)
      expect = Ad.transpose() * Bd.transpose();
    else if constexpr (TA)
      expect = Ad.transpose() * Bd;
    else if constexpr (TB)
      expect = Ad * Bd.transpose();
    else
      expect = Ad * Bd;
    const auto opA = [&] {
      if constexpr (TA)
        return A.transpose();
      else
        return A.topRows(A.rows());
    }();
    const auto opB = [&] {
      if constexpr (TB)
        return B.transpose();
      else
        return B.topRows(B.rows());
    }();

    Matrix<float> C;                                              // resized by gemm
    CHECK(detail::dnnl_gemm(C, opA, opB, /*accumulate=*/false));  // on oneDNN, not Eigen
    REQUIRE(C.rows() == s.m);
    REQUIRE(C.cols() == s.n);
    CHECK((C.cast<double>() - expect).cwiseAbs().maxCoeff() < bound(s.k));

    // gemm_add into a block of a larger matrix: outer stride m + 3, the rest untouched.
    Matrix<float> big = random_matrix<float>(s.m + 3, s.n + 2, rng);
    const Matrix<float> before = big;
    auto block = big.block(1, 1, s.m, s.n);
    CHECK(detail::dnnl_gemm(block, opA, opB, /*accumulate=*/true));
    const Matrix<double> added = before.block(1, 1, s.m, s.n).cast<double>() + expect;
    CHECK((big.block(1, 1, s.m, s.n).cast<double>() - added).cwiseAbs().maxCoeff() < bound(s.k));
    CHECK(big.topRows(1) == before.topRows(1));
    CHECK(big.bottomRows(2) == before.bottomRows(2));
    CHECK(big.leftCols(1) == before.leftCols(1));
    CHECK(big.rightCols(1) == before.rightCols(1));

    // gemm over existing contents: beta 0 (no NaN from C's old values leaks through).
    Matrix<float> D = Matrix<float>::Constant(s.m, s.n, std::numeric_limits<float>::quiet_NaN());
    CHECK(detail::dnnl_gemm(D, opA, opB, /*accumulate=*/false));
    CHECK((D.cast<double>() - expect).cwiseAbs().maxCoeff() < bound(s.k));
  }
}

// The models are just large enough that every product routed through gemm reaches oneDNN
// (at least 2^20 multiply-adds, detail::kDnnlMinProduct) at T * B = 128 and 256 columns.
ModelConfig token_config() {
  ModelConfig cfg;
  cfg.vocab_size = 100;
  cfg.embedding_size = 32;
  cfg.hidden_sizes = {128, 96};
  cfg.dropout = 0;
  return cfg;
}

ModelConfig nade_config() {
  ModelConfig cfg;
  cfg.mode = ModelMode::pianoroll;
  cfg.output = FrameOutput::nade;
  cfg.vocab_size = 88;
  cfg.embedding_size = 0;
  cfg.nade_hidden = 48;
  cfg.hidden_sizes = {128, 96};
  cfg.dropout = 0;
  cfg.weight_drop = 0.3;  // the dA H_prev^T product into its own matrix
  return cfg;
}

// The float model's gradient against the double model's from the same parameters; both run
// with training on (weight drop, when configured, draws the same masks from the same seed).
template <typename Batch>
void check_model(const ModelConfig& cfg, const Batch& batch, Index B) {
  Model<double> md(cfg);
  Model<float> mf(cfg);
  Rng rng(5);
  md.init(rng);
  md.params().values += random_matrix<double>(md.num_params(), 1, rng, 0.05);
  mf.params().values = md.params().values.cast<float>();
  auto sd = md.zero_state(B);
  auto sf = mf.zero_state(B);
  md.params().zero_grad();
  mf.params().zero_grad();
  Rng rd(1), rf(1);
  const double ld = md.forward_backward(batch, sd, rd, true).mean();
  const double lf = mf.forward_backward(batch, sf, rf, true).mean();
  CHECK(std::abs(ld - lf) < 1e-5 * std::abs(ld));
  const Vector<double> gd = md.params().grads;
  const Vector<double> gf = mf.params().grads.cast<double>();
  INFO("gradient norm " << gd.norm() << ", difference " << (gf - gd).norm());
  CHECK(gd.norm() > 0);
  CHECK((gf - gd).norm() < 1e-5 * gd.norm());
}
}  // namespace

TEST_CASE("oneDNN backend: C = A B and C += A B in all four transpose combinations") {
  Rng rng(1);
  check_products<false, false>(rng);
  check_products<false, true>(rng);
  check_products<true, false>(rng);
  check_products<true, true>(rng);
}

TEST_CASE("oneDNN backend: gemm takes products of 2^20 multiply-adds and more to oneDNN") {
  const Matrix<float> A(64, 128), B(128, 128), B1(128, 127);
  CHECK(detail::dnnl_worth(A, B));  // 64 * 128 * 128 = 2^20
  CHECK_FALSE(detail::dnnl_worth(A, B1));
  CHECK_FALSE(detail::dnnl_worth(A.transpose(), Matrix<float>(64, 1)));  // generation's logits
}

TEST_CASE("oneDNN backend: double products and empty ones are Eigen's") {
  Rng rng(2);
  const Matrix<double> A = random_matrix<double>(23, 31, rng),
                       B = random_matrix<double>(31, 19, rng);
  Matrix<double> C, expect;
  CHECK_FALSE(detail::dnnl_gemm(C, A, B, false));
  gemm(C, A, B);
  expect.noalias() = A * B;
  CHECK(C == expect);
  gemm_add(C, A, B);
  expect.noalias() += A * B;
  CHECK(C == expect);

  const Matrix<float> E(7, 0), F(0, 5);
  Matrix<float> Z = Matrix<float>::Ones(7, 5);
  gemm(Z, E, F);  // inner size 0: C = 0
  CHECK(Z == Matrix<float>::Zero(7, 5));
  Z.setOnes();
  gemm_add(Z, E, F);  // C += 0
  CHECK(Z == Matrix<float>::Ones(7, 5));
}

#ifdef _OPENMP
TEST_CASE("oneDNN backend: products on Eigen's thread count, repeatable, OpenMP's left as it was") {
  const int before = omp_get_max_threads();
  const int eigen_before = Eigen::nbThreads();
  Rng rng(3);
  const Matrix<float> A = random_matrix<float>(200, 300, rng),
                      B = random_matrix<float>(300, 150, rng);
  Matrix<float> C, one;
  Eigen::setNbThreads(1);
  gemm(one, A, B);
  Eigen::setNbThreads(2);
  gemm(C, A, B);
  CHECK(omp_get_max_threads() == before);
  Matrix<float> again;
  gemm(again, A, B);
  CHECK(again == C);  // repeatable at a fixed thread count
  CHECK((C - one).cwiseAbs().maxCoeff() < bound(300));
  Eigen::setNbThreads(eigen_before);
}
#endif

TEST_CASE("oneDNN backend: a token model's loss and gradients match the double model's") {
  const ModelConfig cfg = token_config();
  Rng rng(4);
  TokenBatch batch(8, 16);
  batch.inputs = random_ids(8 * 16, cfg.vocab_size, rng);
  batch.targets = random_ids(8 * 16, cfg.vocab_size, rng);
  check_model(cfg, batch, 16);
}

TEST_CASE("oneDNN backend: a piano-roll nade model's loss and gradients match the double model's") {
  const ModelConfig cfg = nade_config();
  Rng rng(6);
  FrameBatch batch(8, 32, cfg.vocab_size);
  for (Index j = 0; j < batch.inputs.cols(); ++j)
    for (Index k = 0; k < cfg.vocab_size; ++k) {
      batch.inputs(k, j) = rng.uniform(0, 1) < 0.2 ? 1.0f : 0.0f;
      batch.targets(k, j) = rng.uniform(0, 1) < 0.2 ? 1.0f : 0.0f;
    }
  std::fill(batch.mask.begin(), batch.mask.end(), std::uint8_t{1});
  check_model(cfg, batch, 32);
}
