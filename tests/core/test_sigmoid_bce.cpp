// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <lstmidi/debug/grad_check.hpp>
#include <lstmidi/nn/sigmoid_bce.hpp>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {
Matrix<float> random_targets(Index K, Index N, Rng& rng) {
  Matrix<float> y(K, N);
  for (Index j = 0; j < N; ++j)
    for (Index k = 0; k < K; ++k) y(k, j) = rng.below(3) == 0 ? 1.0f : 0.0f;
  return y;
}
}  // namespace

TEST_CASE("sigmoid_bce: loss equals the direct Bernoulli formula, masked columns ignored") {
  Rng rng(4);
  const Index K = 5, N = 6;
  const Matrix<double> Z = random_matrix<double>(K, N, rng, 3.0);
  const Matrix<float> Y = random_targets(K, N, rng);
  const std::vector<std::uint8_t> mask{1, 0, 1, 1, 0, 1};
  Matrix<double> dZ;
  const LossTotals tot = sigmoid_bce<double>(Z, Y, mask, &dZ);
  double expect = 0;
  for (Index j = 0; j < N; ++j) {
    if (!mask[static_cast<size_t>(j)]) {
      CHECK(dZ.col(j).cwiseAbs().maxCoeff() == 0.0);
      continue;
    }
    for (Index k = 0; k < K; ++k) {
      const double p = 1 / (1 + std::exp(-Z(k, j)));
      expect -= Y(k, j) == 1 ? std::log(p) : std::log(1 - p);
    }
  }
  CHECK(tot.count == 4);
  CHECK(tot.nll_sum == doctest::Approx(expect).epsilon(1e-12));
  CHECK(tot.mean() == doctest::Approx(expect / 4).epsilon(1e-12));
  // An empty mask counts every column.
  CHECK(sigmoid_bce<double>(Z, Y, {}, nullptr).count == N);
}

TEST_CASE("sigmoid_bce: gradient check in double") {
  Rng rng(9);
  const Index K = 7, N = 5;
  Matrix<double> Z = random_matrix<double>(K, N, rng, 4.0);
  const Matrix<float> Y = random_targets(K, N, rng);
  const std::vector<std::uint8_t> mask{1, 1, 0, 1, 1};
  Matrix<double> dZ;
  sigmoid_bce<double>(Z, Y, mask, &dZ);
  Vector<double> theta = Eigen::Map<Vector<double>>(Z.data(), Z.size());
  const Vector<double> analytic = Eigen::Map<const Vector<double>>(dZ.data(), dZ.size());
  auto loss = [&] {
    const Matrix<double> z = Eigen::Map<const Matrix<double>>(theta.data(), K, N);
    return sigmoid_bce<double>(z, Y, mask, nullptr).mean();
  };
  const GradCheckResult res = gradient_check(theta, analytic, loss);
  CHECK(res.checked == K * N);
  CHECK(res.max_rel_error < 1e-6);
}

TEST_CASE("sigmoid_bce: logits of magnitude 1e4 stay finite, exact frames are counted") {
  Matrix<float> Z(3, 2);
  Z << 1e4f, -1e4f,  //
      -1e4f, 1e4f,   //
      1e4f, 1e4f;
  Matrix<float> Y(3, 2);
  Y << 1, 0,  //
      0, 1,   //
      1, 0;   // column 1 is wrong on key 2 with z = 1e4
  Matrix<float> dZ;
  const LossTotals tot = sigmoid_bce<float>(Z, Y, {1, 1}, &dZ);
  CHECK(std::isfinite(tot.nll_sum));
  CHECK(tot.nll_sum == doctest::Approx(1e4).epsilon(1e-6));  // only the wrong key costs
  CHECK(tot.correct == 1);
  CHECK(dZ.allFinite());
  CHECK(dZ(2, 1) == doctest::Approx(0.5));  // (sigmoid(1e4) - 0) / 2
  CHECK(dZ(0, 0) == doctest::Approx(0.0));
  Matrix<double> Zd = Z.cast<double>();
  const LossTotals td = sigmoid_bce<double>(Zd, Y, {}, nullptr);
  CHECK(std::isfinite(td.nll_sum));
  CHECK(td.nll_sum == doctest::Approx(1e4));
}

TEST_CASE("sigmoid_bce: shape and target errors are reported") {
  Matrix<float> Z = Matrix<float>::Zero(2, 2), Y = Matrix<float>::Zero(2, 3);
  CHECK_THROWS_AS(sigmoid_bce<float>(Z, Y, {}, nullptr), std::invalid_argument);
  Matrix<float> Y2 = Matrix<float>::Constant(2, 2, 0.5f);
  CHECK_THROWS_AS(sigmoid_bce<float>(Z, Y2, {}, nullptr), std::invalid_argument);
  Matrix<float> Y3 = Matrix<float>::Zero(2, 2);
  CHECK_THROWS_AS(sigmoid_bce<float>(Z, Y3, {1}, nullptr), std::invalid_argument);
}

TEST_CASE("sigmoid_bce: loss, per-frame NLL and gradient match PyTorch's BCE with logits") {
  // tests/parity/make_pytorch_bce_fixture.py: binary_cross_entropy_with_logits summed over keys,
  // averaged over the counted frames, float64, with logits up to |z| = 40.
  auto f = lstmidi::test::read_fixture(std::string(LSTMIDI_TEST_DATA_DIR) + "/pytorch_bce.txt");
  const Matrix<double>& Z = f.at("logits");
  const Matrix<double>& Y = f.at("targets");
  std::vector<std::uint8_t> mask;
  for (Index j = 0; j < f.at("mask").cols(); ++j) mask.push_back(f.at("mask")(0, j) != 0 ? 1 : 0);
  Matrix<double> dZ;
  const LossTotals tot = sigmoid_bce<double>(Z, Y, mask, &dZ);
  CHECK(tot.count == 5);
  CHECK(tot.mean() == doctest::Approx(f.at("loss")(0, 0)).epsilon(1e-14));
  CHECK((dZ - f.at("logits.grad")).cwiseAbs().maxCoeff() < 1e-15);
  for (Index j = 0; j < Z.cols(); ++j) {  // each frame's NLL on its own
    CAPTURE(j);
    const LossTotals one = sigmoid_bce<double>(Z.col(j), Y.col(j), {}, nullptr);
    CHECK(one.nll_sum == doctest::Approx(f.at("frame_nll")(0, j)).epsilon(1e-14));
  }
}
