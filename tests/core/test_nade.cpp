// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include <lstmidi/debug/grad_check.hpp>
#include <lstmidi/nn/nade.hpp>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {
Matrix<float> random_keys(Index K, Index N, Rng& rng) {
  Matrix<float> x(K, N);
  for (Index j = 0; j < N; ++j)
    for (Index k = 0; k < K; ++k) x(k, j) = rng.below(3) == 0 ? 1.0f : 0.0f;
  return x;
}

// A NADE alone, its weights drawn at a scale where every term matters (V nonzero).
struct NadeFixture {
  Index H, K, Nh;
  ParamAllocator alloc;
  Nade<double> nade;
  ParamBuffer<double> p;
  NadeFixture(Index h, Index k, Index nh, std::uint64_t seed)
      : H(h), K(k), Nh(nh), nade(alloc, h, k, nh) {
    p.resize(alloc.size());
    Rng rng(seed);
    p.values = random_matrix<double>(p.size(), 1, rng, 1.0);
  }
};

// -log p(x) of one frame from the equations of nn/nade.hpp, one key at a time.
double frame_nll_direct(const NadeFixture& f, const Matrix<double>& y, const Matrix<double>& bv,
                        const Matrix<double>& x) {
  const auto Wc = f.nade.Wc().in(f.p.values);
  const auto bc = f.nade.bc().in(f.p.values);
  const auto W = f.nade.W().in(f.p.values);
  const auto V = f.nade.V().in(f.p.values);
  Vector<double> a = Wc * y.col(0) + bc.col(0);
  double nll = 0;
  for (Index k = 0; k < f.K; ++k) {
    Vector<double> h = (1.0 / (1.0 + (-a.array()).exp())).matrix();
    const double z = bv(k, 0) + V.row(k).dot(h);
    const double pk = 1 / (1 + std::exp(-z));
    nll -= x(k, 0) == 1 ? std::log(pk) : std::log(1 - pk);
    a += W.col(k) * x(k, 0);
  }
  return nll;
}
}  // namespace

TEST_CASE("nade: the loss is the sum of the key-by-key conditionals") {
  NadeFixture f(4, 6, 5, 3);
  Rng rng(8);
  const Index N = 5;
  const Matrix<double> Y = random_matrix<double>(f.H, N, rng, 1.0);
  const Matrix<double> Bv = random_matrix<double>(f.K, N, rng, 1.0);
  const Matrix<float> X = random_keys(f.K, N, rng);
  const std::vector<std::uint8_t> mask{1, 0, 1, 1, 1};
  const LossTotals tot = f.nade.forward(f.p, Y, Bv, X, mask, nullptr);
  double expect = 0;
  for (Index j = 0; j < N; ++j)
    if (mask[static_cast<size_t>(j)])
      expect += frame_nll_direct(f, Y.col(j), Bv.col(j), X.col(j).cast<double>());
  CHECK(tot.count == 4);
  CHECK(tot.nll_sum == doctest::Approx(expect).epsilon(1e-12));
}

TEST_CASE("nade: the likelihood is exact: the 2^K frames' probabilities sum to 1") {
  NadeFixture f(3, 7, 4, 5);
  Rng rng(2);
  const Matrix<double> y = random_matrix<double>(f.H, 1, rng, 1.0);
  const Matrix<double> bv = random_matrix<double>(f.K, 1, rng, 1.0);
  const Index frames = Index{1} << f.K;
  Matrix<float> X(f.K, frames);
  for (Index j = 0; j < frames; ++j)
    for (Index k = 0; k < f.K; ++k) X(k, j) = (j >> k) & 1 ? 1.0f : 0.0f;
  const Matrix<double> Y = y.replicate(1, frames), Bv = bv.replicate(1, frames);
  double total = 0;
  for (Index j = 0; j < frames; ++j)
    total += std::exp(-f.nade.forward(f.p, Y.col(j), Bv.col(j), X.col(j), {}, nullptr).nll_sum);
  CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("nade: gradient check in double over every parameter block and both inputs") {
  NadeFixture f(4, 6, 5, 21);
  Rng rng(22);
  const Index N = 5;
  Matrix<double> Y = random_matrix<double>(f.H, N, rng, 1.0);
  Matrix<double> Bv = random_matrix<double>(f.K, N, rng, 1.0);
  const Matrix<float> X = random_keys(f.K, N, rng);
  const std::vector<std::uint8_t> mask{1, 1, 0, 1, 1};
  Matrix<double> dBv;
  f.p.zero_grad();
  f.nade.forward(f.p, Y, Bv, X, mask, &dBv);
  Matrix<double> dY = Matrix<double>::Zero(f.H, N);
  f.nade.backward(f.p, Y, dY);
  auto loss = [&] { return f.nade.forward(f.p, Y, Bv, X, mask, nullptr).mean(); };

  const std::map<std::string, const ParamSlot*> blocks{
      {"W_c", &f.nade.Wc()}, {"b_c", &f.nade.bc()}, {"W", &f.nade.W()}, {"V", &f.nade.V()}};
  for (const auto& [name, slot] : blocks) {
    CAPTURE(name);
    std::vector<Index> which;
    for (Index i = 0; i < slot->rows * slot->cols; ++i) which.push_back(slot->offset + i);
    const GradCheckResult res = gradient_check(f.p.values, f.p.grads, loss, which);
    CHECK(res.checked == slot->rows * slot->cols);
    CHECK(res.max_rel_error < 1e-6);
  }
  for (auto* input : {&Y, &Bv}) {
    const Matrix<double>& analytic = input == &Y ? dY : dBv;
    Vector<double> theta = Eigen::Map<Vector<double>>(input->data(), input->size());
    auto input_loss = [&] {
      Eigen::Map<Vector<double>>(input->data(), input->size()) = theta;
      return loss();
    };
    const GradCheckResult res = gradient_check(
        theta, Eigen::Map<const Vector<double>>(analytic.data(), analytic.size()), input_loss);
    Eigen::Map<Vector<double>>(input->data(), input->size()) = theta;
    CHECK(res.checked == input->size());
    CHECK(res.max_rel_error < 1e-6);
  }
}

TEST_CASE("nade: frames beyond one chunk give the loss and gradient of each frame alone") {
  NadeFixture f(3, 5, 4, 31);
  Rng rng(32);
  const Index N = Nade<double>::kChunk + 17;
  const Matrix<double> Y = random_matrix<double>(f.H, N, rng, 1.0);
  const Matrix<double> Bv = random_matrix<double>(f.K, N, rng, 1.0);
  const Matrix<float> X = random_keys(f.K, N, rng);
  std::vector<std::uint8_t> mask(static_cast<size_t>(N), 1);
  mask[3] = mask[Nade<double>::kChunk + 2] = 0;
  Matrix<double> dBv;
  f.p.zero_grad();
  const LossTotals all = f.nade.forward(f.p, Y, Bv, X, mask, &dBv);
  Matrix<double> dY = Matrix<double>::Zero(f.H, N);
  f.nade.backward(f.p, Y, dY);
  const Vector<double> grads = f.p.grads;
  double nll = 0;
  Vector<double> sum = Vector<double>::Zero(f.p.size());
  for (Index j = 0; j < N; ++j) {
    if (!mask[static_cast<size_t>(j)]) {
      CHECK(dBv.col(j).cwiseAbs().maxCoeff() == 0.0);
      continue;
    }
    Matrix<double> d1;
    f.p.zero_grad();
    nll += f.nade.forward(f.p, Y.col(j), Bv.col(j), X.col(j), {}, &d1).nll_sum;
    Matrix<double> dy1 = Matrix<double>::Zero(f.H, 1);
    f.nade.backward(f.p, Y.col(j), dy1);
    sum += f.p.grads;
    const double n = static_cast<double>(all.count);
    CHECK((d1 / n - dBv.col(j)).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((dy1 / n - dY.col(j)).cwiseAbs().maxCoeff() < 1e-14);
  }
  CHECK(all.count == N - 2);
  CHECK(all.nll_sum == doctest::Approx(nll).epsilon(1e-12));
  CHECK((sum / static_cast<double>(all.count) - grads).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("nade: sampling draws each key from the conditional given the keys below") {
  // With a draw that records each logit and answers from a fixed frame, sample() must see the
  // logits of forward() for that frame; the empirical frequencies of random draws must match
  // the exact probabilities.
  NadeFixture f(3, 4, 5, 41);
  Rng rng(42);
  const Matrix<double> y = random_matrix<double>(f.H, 1, rng, 1.0);
  const Matrix<double> bv = random_matrix<double>(f.K, 1, rng, 1.0);
  const Index frames = Index{1} << f.K;
  std::vector<double> prob(static_cast<size_t>(frames));
  for (Index j = 0; j < frames; ++j) {
    Matrix<float> x(f.K, 1);
    for (Index k = 0; k < f.K; ++k) x(k, 0) = (j >> k) & 1 ? 1.0f : 0.0f;
    prob[static_cast<size_t>(j)] = std::exp(-f.nade.forward(f.p, y, bv, x, {}, nullptr).nll_sum);
  }
  std::vector<double> count(static_cast<size_t>(frames), 0.0);
  const int draws = 40000;
  Rng draw_rng(43);
  Matrix<double> x;
  for (int i = 0; i < draws; ++i) {
    f.nade.sample(
        f.p, y, bv, [&](double z) { return draw_rng.uniform() < 1 / (1 + std::exp(-z)); }, x);
    Index j = 0;
    for (Index k = 0; k < f.K; ++k) j |= x(k, 0) != 0 ? Index{1} << k : 0;
    count[static_cast<size_t>(j)] += 1;
  }
  for (Index j = 0; j < frames; ++j) {
    CAPTURE(j);
    const double pj = prob[static_cast<size_t>(j)];
    CHECK(std::abs(count[static_cast<size_t>(j)] / draws - pj) <
          4 * std::sqrt(pj * (1 - pj) / draws) + 1e-9);
  }
}

TEST_CASE("nade head: loss and every gradient match PyTorch") {
  // tests/parity/make_pytorch_nade_fixture.py: the head (dense layer for the visible biases,
  // then the NADE) written as a per-frame loop over the keys, float64, autograd gradients.
  auto f = lstmidi::test::read_fixture(std::string(LSTMIDI_TEST_DATA_DIR) + "/pytorch_nade.txt");
  const Matrix<double>& Y = f.at("y");
  const Index H = Y.rows(), N = Y.cols(), K = f.at("W_o").rows(), Nh = f.at("W").rows();
  ParamAllocator alloc;
  OutputHead<double> head(alloc, H, K, ModelMode::pianoroll, Nh);
  REQUIRE(head.nade() != nullptr);
  ParamBuffer<double> p;
  p.resize(alloc.size());
  const std::map<std::string, const ParamSlot*> slots{
      {"W_o", &head.dense().W()},  {"b_o", &head.dense().b()}, {"W_c", &head.nade()->Wc()},
      {"b_c", &head.nade()->bc()}, {"W", &head.nade()->W()},   {"V", &head.nade()->V()}};
  for (const auto& [name, slot] : slots) slot->in(p.values) = f.at(name);
  FrameBatch batch(N, 1, K);
  batch.targets = f.at("targets").cast<float>();
  for (Index j = 0; j < N; ++j) batch.mask[static_cast<size_t>(j)] = f.at("mask")(0, j) != 0;
  p.zero_grad();
  const LossTotals tot = head.forward(p, Y, batch, true);
  Matrix<double> dY;
  head.backward(p, Y, dY);
  CHECK(tot.count == 5);
  CHECK(tot.mean() == doctest::Approx(f.at("loss")(0, 0)).epsilon(1e-13));
  CHECK((dY - f.at("y.grad")).cwiseAbs().maxCoeff() < 1e-13);
  for (const auto& [name, slot] : slots) {
    CAPTURE(name);
    CHECK((slot->in(p.grads) - f.at(name + ".grad")).cwiseAbs().maxCoeff() < 1e-13);
  }
  for (Index j = 0; j < N; ++j) {  // each frame's NLL on its own
    CAPTURE(j);
    FrameBatch one(1, 1, K);
    one.targets = batch.targets.col(j);
    one.mask[0] = 1;
    CHECK(head.forward(p, Y.col(j), one, false).nll_sum ==
          doctest::Approx(f.at("frame_nll")(0, j)).epsilon(1e-13));
  }
}
