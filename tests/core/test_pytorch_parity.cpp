// SPDX-License-Identifier: MIT
// Parity with an independent implementation: PyTorch's nn.LSTM, given the same weights, must
// produce the same loss, final states and gradients as lstmidi's Model (fixture written once by
// tests/parity/make_pytorch_fixture.py; the test itself needs no PyTorch).
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;

using lstmidi::test::read_fixture;

TEST_CASE("parity: loss, final state and every gradient match PyTorch nn.LSTM") {
  auto f = read_fixture(std::string(LSTMIDI_TEST_DATA_DIR) + "/pytorch_parity.txt");
  const Matrix<double>& s = f.at("sizes");
  const Index V = Index(s(0, 0)), E = Index(s(0, 1)), H = Index(s(0, 2)), L = Index(s(0, 3)),
              T = Index(s(0, 4)), B = Index(s(0, 5));
  ModelConfig cfg;
  cfg.vocab_size = V;
  cfg.embedding_size = E;
  cfg.hidden_sizes.assign(static_cast<size_t>(L), H);
  cfg.dropout = 0;
  Model<double> model(cfg);
  auto& p = model.params();
  model.embedding()->table().in(p.values) = f.at("embedding").transpose();
  auto state = model.zero_state(B);
  for (Index l = 0; l < L; ++l) {
    const std::string k = std::to_string(l);
    model.layer(l).W().in(p.values) = f.at("W" + k);
    model.layer(l).U().in(p.values) = f.at("U" + k);
    model.layer(l).b().in(p.values) = f.at("b" + k);
    state.h[static_cast<size_t>(l)] = f.at("h0_" + k);
    state.c[static_cast<size_t>(l)] = f.at("c0_" + k);
  }
  model.dense().W().in(p.values) = f.at("dense.W");
  model.dense().b().in(p.values) = f.at("dense.b");

  TokenBatch batch(T, B);
  for (Index t = 0; t < T; ++t)
    for (Index b = 0; b < B; ++b) {
      batch.input(t, b) = static_cast<TokenId>(f.at("inputs")(t, b));
      batch.target(t, b) = static_cast<TokenId>(f.at("targets")(t, b));
    }
  Rng rng(0);
  p.zero_grad();
  const LossTotals tot = model.forward_backward(batch, state, rng, false);
  CHECK(tot.mean() == doctest::Approx(f.at("loss")(0, 0)).epsilon(1e-12));

  auto close = [](const auto& a, const Matrix<double>& b) {
    return (Matrix<double>(a) - b).cwiseAbs().maxCoeff() <=
           1e-12 * std::max(1.0, b.cwiseAbs().maxCoeff());
  };
  CHECK(close(model.embedding()->table().in(p.grads), f.at("embedding.grad").transpose()));
  for (Index l = 0; l < L; ++l) {
    const std::string k = std::to_string(l);
    CAPTURE(l);
    CHECK(close(state.h[static_cast<size_t>(l)], f.at("hT_" + k)));
    CHECK(close(state.c[static_cast<size_t>(l)], f.at("cT_" + k)));
    CHECK(close(model.layer(l).W().in(p.grads), f.at("W" + k + ".grad")));
    CHECK(close(model.layer(l).U().in(p.grads), f.at("U" + k + ".grad")));
    CHECK(close(model.layer(l).b().in(p.grads), f.at("b" + k + ".grad")));
  }
  CHECK(close(model.dense().W().in(p.grads), f.at("dense.W.grad")));
  CHECK(close(model.dense().b().in(p.grads), f.at("dense.b.grad")));
}
