// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <lstmidi/sample/generator.hpp>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

namespace {
TokenBatch random_batch(Index T, Index B, Index V, Rng& rng) {
  TokenBatch b(T, B);
  b.inputs = random_ids(T * B, V, rng);
  b.targets = random_ids(T * B, V, rng);
  b.targets[1] = -1;  // a position without a target
  return b;
}

// Checks every parameter of the model against central differences, with dropout masks frozen
// after one forward pass and a carried (non-zero) initial state.
void check_model_gradient(const ModelConfig& cfg, std::uint64_t seed) {
  Model<double> model(cfg);
  Rng rng(seed);
  model.init(rng);
  // Move the biases off their initial values so no gate sits at a special point.
  model.params().values += random_matrix<double>(model.num_params(), 1, rng, 0.05);
  const Index T = 4, B = 3;
  const TokenBatch batch = random_batch(T, B, cfg.vocab_size, rng);
  auto state0 = model.zero_state(B);
  for (auto& h : state0.h) h = random_matrix<double>(h.rows(), B, rng, 0.5);
  for (auto& c : state0.c) c = random_matrix<double>(c.rows(), B, rng, 0.5);

  auto state = state0;
  Rng drop_rng(99);
  model.params().zero_grad();
  model.forward_backward(batch, state, drop_rng, true);
  for (Index l = 0; l < model.num_layers(); ++l) {
    model.dropout(l).freeze_mask(true);
    model.layer(l).weight_drop().freeze_mask(true);
  }
  model.params().zero_grad();
  state = state0;
  model.forward_backward(batch, state, drop_rng, true);
  const Vector<double> analytic = model.params().grads;
  auto loss = [&] {
    auto s = state0;
    Rng r(0);
    Model<double>& m = model;
    // forward_backward also accumulates gradients; only the returned loss is used here.
    return m.forward_backward(batch, s, r, true).mean();
  };
  const GradCheckResult res = gradient_check(model.params().values, analytic, loss);
  INFO("worst index " << res.worst_index << " of " << model.num_params() << ": analytic "
                      << res.analytic_at_worst << " numeric " << res.numeric_at_worst);
  CHECK(res.checked == model.num_params());
  CHECK(res.max_rel_error < 1e-6);
}
}  // namespace

TEST_CASE("model: whole-stack gradient check, embedding input, 2 layers, frozen dropout") {
  ModelConfig cfg;
  cfg.vocab_size = 7;
  cfg.embedding_size = 4;
  cfg.hidden_sizes = {5, 3};
  cfg.dropout = 0.3;
  check_model_gradient(cfg, 1);
}

TEST_CASE("model: whole-stack gradient check, one-hot input, 3 layers, last-position loss") {
  ModelConfig cfg;
  cfg.vocab_size = 6;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = {4, 3, 5};
  cfg.dropout = 0.2;
  cfg.loss_positions = LossPositions::last;
  check_model_gradient(cfg, 2);
}

TEST_CASE("model: whole-stack gradient check, embedding input, 2 layers, weight drop") {
  ModelConfig cfg;
  cfg.vocab_size = 7;
  cfg.embedding_size = 4;
  cfg.hidden_sizes = {5, 3};
  cfg.dropout = 0.1;
  cfg.weight_drop = 0.4;
  check_model_gradient(cfg, 3);
}

TEST_CASE("model: step-by-step generation equals the window forward") {
  ModelConfig cfg;
  cfg.vocab_size = 9;
  cfg.embedding_size = 5;
  cfg.hidden_sizes = {6, 6};
  cfg.dropout = 0.5;  // off at inference
  Model<float> model(cfg);
  Rng rng(5);
  model.init(rng);
  const Index T = 7, B = 2;
  TokenBatch batch(T, B);
  batch.inputs = random_ids(T * B, 9, rng);
  batch.targets = random_ids(T * B, 9, rng);
  auto s_window = model.zero_state(B);
  const LossTotals window = model.evaluate(batch, s_window);
  auto s_step = model.zero_state(B);
  double nll = 0;
  for (Index t = 0; t < T; ++t) {
    std::vector<TokenId> ids(batch.inputs.begin() + t * B, batch.inputs.begin() + (t + 1) * B);
    const Matrix<float> logits = model.step(ids, s_step);
    for (Index b = 0; b < B; ++b) {
      const Vector<float> lp = log_softmax<float>(logits.col(b));
      nll -= lp[batch.target(t, b)];
    }
  }
  CHECK(nll / double(T * B) == doctest::Approx(window.mean()).epsilon(1e-5));
  CHECK((s_step.h[1] - s_window.h[1]).cwiseAbs().maxCoeff() < 1e-5f);
}

TEST_CASE("model: learns a repeating sequence to near-zero loss") {
  ModelConfig cfg;
  cfg.vocab_size = 5;
  cfg.embedding_size = 8;
  cfg.hidden_sizes = {24};
  cfg.dropout = 0.0;
  Model<float> model(cfg);
  Rng rng(1);
  model.init(rng);
  Adam<float> adam(model.num_params(), AdamConfig{0.02});
  const std::vector<TokenId> pattern = {0, 1, 2, 3, 4, 2, 1};  // period 7: needs memory
  const Index T = 14, B = 4;
  double loss = 10;
  for (int it = 0; it < 300; ++it) {
    TokenBatch batch(T, B);
    for (Index b = 0; b < B; ++b) {
      const Index off = rng.below(7);
      for (Index t = 0; t < T; ++t) {
        batch.input(t, b) = pattern[static_cast<size_t>((off + t) % 7)];
        batch.target(t, b) = pattern[static_cast<size_t>((off + t + 1) % 7)];
      }
    }
    auto state = model.zero_state(B);
    model.params().zero_grad();
    loss = model.forward_backward(batch, state, rng).mean();
    clip_global_norm(model.params().grads, 5.0);
    adam.step(model.params().values, model.params().grads);
  }
  // Only the first step of each window is ambiguous (token 1 and 2 each occur twice).
  CHECK(loss < 0.15);
}

TEST_CASE("model: the same seed gives a bit-identical training run") {
  auto run = [](std::uint64_t seed) {
    ModelConfig cfg;
    cfg.vocab_size = 11;
    cfg.embedding_size = 6;
    cfg.hidden_sizes = {16, 16};
    cfg.dropout = 0.3;
    Model<float> model(cfg);
    Rng rng(seed);
    model.init(rng);
    Adam<float> adam(model.num_params());
    auto state = model.zero_state(3);
    for (int it = 0; it < 10; ++it) {
      TokenBatch b(8, 3);
      b.inputs = random_ids(24, 11, rng);
      b.targets = random_ids(24, 11, rng);
      model.params().zero_grad();
      model.forward_backward(b, state, rng);
      clip_global_norm(model.params().grads, 1.0);
      adam.step(model.params().values, model.params().grads);
    }
    return Vector<float>(model.params().values);
  };
  const Vector<float> a = run(3), b = run(3), c = run(4);
  CHECK(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0);
  CHECK(a != c);
}

TEST_CASE("model: bad configs and batches throw") {
  ModelConfig cfg;
  CHECK_THROWS_AS(Model<float>{cfg}, std::invalid_argument);  // vocab 0
  cfg.vocab_size = 4;
  cfg.hidden_sizes = {};
  CHECK_THROWS_AS(Model<float>{cfg}, std::invalid_argument);
  cfg.hidden_sizes = {3};
  cfg.dropout = 1.5;
  CHECK_THROWS_AS(Model<float>{cfg}, std::invalid_argument);
  cfg.dropout = 0;
  Model<float> m(cfg);
  CHECK(m.num_params() == cfg.num_params());
  auto s = m.zero_state(2);
  TokenBatch b(3, 2);
  b.inputs[0] = 4;  // outside the vocabulary
  CHECK_THROWS_AS(m.evaluate(b, s), std::invalid_argument);
  auto wrong = m.zero_state(3);
  TokenBatch ok(3, 2);
  CHECK_THROWS_AS(m.evaluate(ok, wrong), std::invalid_argument);
}

TEST_CASE("model: generation packing drops its snapshot when the weights are taken for change") {
  ModelConfig cfg;
  cfg.vocab_size = 9;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = {24, 16};
  Model<float> model(cfg);
  Rng rng(5);
  model.init(rng);
  const std::vector<TokenId> ids{3};
  auto logits_now = [&] {
    auto state = model.zero_state(1);
    model.step({1}, state);
    return Matrix<float>(model.step(ids, state));
  };
  const Matrix<float> plain = logits_now();
  model.pack_for_generation();
  CHECK(model.packed_for_generation() == PackedMatrix<float>::kernel_active());
  CHECK((logits_now() - plain).cwiseAbs().maxCoeff() < 1e-5f);
  model.params().values *= 0.5f;  // non-const params(): the snapshot is dropped first
  CHECK_FALSE(model.packed_for_generation());
  const Matrix<float> halved = logits_now();
  CHECK((halved - plain).cwiseAbs().maxCoeff() > 1e-3f);
  {
    const GenerationPack<float> scope(model);
    CHECK(model.packed_for_generation() == PackedMatrix<float>::kernel_active());
    CHECK((logits_now() - halved).cwiseAbs().maxCoeff() < 1e-5f);
  }
  CHECK_FALSE(model.packed_for_generation());
}

TEST_CASE("model: generation with 16-bit weights, and the pack guard restores what was there") {
  ModelConfig cfg;
  cfg.vocab_size = 12;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = {32, 24};
  Model<float> model(cfg);
  Rng rng(7);
  model.init(rng);
  GenerateOptions go;
  go.length = 40;
  go.weights = GenerationWeights::float16;
  if (!LstmStepper<float>::half_supported()) {
    Rng r(1);
    CHECK_THROWS_WITH_AS(generate(model, {1, 2}, go, r), doctest::Contains("F16C"),
                         std::invalid_argument);
    CHECK_FALSE(model.packed_for_generation());
    return;
  }
  // Weights on a grid a 16-bit float holds exactly: the same tokens as float generation.
  model.params().values =
      (model.params().values.array() * 1024.0f).round().cwiseMax(-1023.0f).cwiseMin(1023.0f) /
      1024.0f;
  Rng r16(3), r32(3);
  const std::vector<TokenId> t16 = generate(model, {1, 2, 3}, go, r16);
  CHECK_FALSE(model.packed_for_generation());  // unpacked again afterwards
  go.weights = GenerationWeights::float32;
  const std::vector<TokenId> t32 = generate(model, {1, 2, 3}, go, r32);
  CHECK(t16.size() == 40);
  CHECK(t16 == t32);

  // A model packed by its user keeps its snapshot through generate() in another format.
  model.pack_for_generation(GenerationWeights::float16);
  {
    const GenerationPack<float> scope(model, GenerationWeights::float32);
    CHECK(model.generation_weights() == GenerationWeights::float32);
  }
  CHECK(model.packed_for_generation());
  CHECK(model.generation_weights() == GenerationWeights::float16);
  {
    const GenerationPack<float> scope(model, GenerationWeights::float16);  // already so
    CHECK(model.generation_weights() == GenerationWeights::float16);
  }
  CHECK(model.generation_weights() == GenerationWeights::float16);
  model.unpack_for_generation();
  CHECK(model.generation_weights() == GenerationWeights::float32);

  Model<double> dmodel(cfg);
  CHECK_THROWS_WITH_AS(dmodel.pack_for_generation(GenerationWeights::float16),
                       doctest::Contains("float model"), std::invalid_argument);
}
