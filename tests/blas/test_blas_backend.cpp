// SPDX-License-Identifier: MIT
// The optional BLAS backend (-DLSTMIDI_BLAS=ON: Eigen's products on OpenBLAS through
// EIGEN_USE_BLAS). Built only with the option; checks that the backend is really in use and
// that what runs on it is still right: products at the LSTM's shapes against a double
// reference, a whole model's gradients against finite differences, and a float model's loss
// against the double model's.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <lstmidi/debug/grad_check.hpp>
#include <lstmidi/model/model.hpp>

#include "../core/test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

#ifndef EIGEN_USE_BLAS
#error "tests/blas is built only with -DLSTMIDI_BLAS=ON (EIGEN_USE_BLAS)"
#endif

namespace {
TokenBatch random_batch(Index T, Index B, Index V, Rng& rng) {
  TokenBatch b(T, B);
  b.inputs = random_ids(T * B, V, rng);
  b.targets = random_ids(T * B, V, rng);
  return b;
}

ModelConfig small_config() {
  ModelConfig cfg;  // large enough that Eigen hands the products to the BLAS (not coefficient-wise)
  cfg.vocab_size = 30;
  cfg.embedding_size = 12;
  cfg.hidden_sizes = {24, 20};
  cfg.dropout = 0.2;
  return cfg;
}
}  // namespace

TEST_CASE("BLAS backend: float products at the LSTM's shapes match the double reference") {
  Rng rng(1);
  struct Shape {
    Index m, k, n;
    bool ta, tb;
  };
  // The input projection, the weight gradient dA X^T and the backward W^T dA.
  for (const Shape s : {Shape{512, 256, 640, false, false}, Shape{512, 640, 256, false, true},
                        Shape{256, 512, 640, true, false}}) {
    const Matrix<float> A = random_matrix<float>(s.ta ? s.k : s.m, s.ta ? s.m : s.k, rng);
    const Matrix<float> B = random_matrix<float>(s.tb ? s.n : s.k, s.tb ? s.k : s.n, rng);
    Matrix<float> C(s.m, s.n);
    Eigen::MatrixXd expect;
    if (s.ta) {
      C.noalias() = A.transpose() * B;
      expect = A.cast<double>().transpose() * B.cast<double>();
    } else if (s.tb) {
      C.noalias() = A * B.transpose();
      expect = A.cast<double>() * B.cast<double>().transpose();
    } else {
      C.noalias() = A * B;
      expect = A.cast<double>() * B.cast<double>();
    }
    // |error| <= k eps sum |a||b| <= k eps k for entries in [-1, 1].
    const double bound = double(s.k) * double(s.k) * std::numeric_limits<float>::epsilon();
    CHECK((C.cast<double>() - expect).cwiseAbs().maxCoeff() < bound);
    CHECK((C.cast<double>() - expect).cwiseAbs().maxCoeff() > 0);  // float, not a double copy
  }
}

TEST_CASE("BLAS backend: a 2-layer model's gradients match finite differences") {
  const ModelConfig cfg = small_config();
  Model<double> model(cfg);
  Rng rng(3);
  model.init(rng);
  model.params().values += random_matrix<double>(model.num_params(), 1, rng, 0.05);
  const TokenBatch batch = random_batch(5, 8, cfg.vocab_size, rng);
  const auto state0 = model.zero_state(8);
  auto state = state0;
  Rng drop_rng(7);
  model.forward_backward(batch, state, drop_rng, true);
  for (Index l = 0; l < model.num_layers(); ++l) model.dropout(l).freeze_mask(true);
  model.params().zero_grad();
  state = state0;
  model.forward_backward(batch, state, drop_rng, true);
  const Vector<double> analytic = model.params().grads;
  auto loss = [&] {
    auto s = state0;
    Rng r(0);
    return model.forward_backward(batch, s, r, true).mean();
  };
  std::vector<Index> which;  // every 7th parameter: each matrix and bias of each layer
  for (Index j = 0; j < model.num_params(); j += 7) which.push_back(j);
  // Gradients below 1e-5 are compared on an absolute scale: this model's loss is a mean over
  // 40 positions, and its finite differences resolve such entries only to about 1e-11.
  const GradCheckResult res =
      gradient_check(model.params().values, analytic, loss, which, 1e-3, 1e-5);
  INFO("worst index " << res.worst_index << ": analytic " << res.analytic_at_worst << " numeric "
                      << res.numeric_at_worst);
  CHECK(res.checked == static_cast<Index>(which.size()));
  CHECK(res.max_rel_error < 1e-6);
}

TEST_CASE("BLAS backend: float and double models agree to float rounding") {
  const ModelConfig cfg = small_config();
  Model<double> md(cfg);
  Model<float> mf(cfg);
  Rng rng(5);
  md.init(rng);
  mf.params().values = md.params().values.cast<float>();
  const TokenBatch batch = random_batch(6, 8, cfg.vocab_size, rng);
  auto sd = md.zero_state(8);
  auto sf = mf.zero_state(8);
  Rng rd(1), rf(1);
  const double ld = md.forward_backward(batch, sd, rd, false).mean();
  const double lf = mf.forward_backward(batch, sf, rf, false).mean();
  CHECK(std::abs(ld - lf) < 1e-5 * std::abs(ld));
}
