// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {
FrameBatch random_frames(Index T, Index B, Index K, Rng& rng) {
  FrameBatch b(T, B, K);
  for (Index j = 0; j < T * B; ++j) {
    for (Index k = 0; k < K; ++k) {
      b.inputs(k, j) = rng.below(3) == 0 ? 1.0f : 0.0f;
      b.targets(k, j) = rng.below(3) == 0 ? 1.0f : 0.0f;
    }
    b.mask[static_cast<size_t>(j)] = 1;
  }
  b.mask[1] = 0;  // a padded position
  return b;
}

ModelConfig roll_config(Index K, std::vector<Index> hidden, double dropout) {
  ModelConfig cfg;
  cfg.mode = ModelMode::pianoroll;
  cfg.vocab_size = K;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = std::move(hidden);
  cfg.dropout = dropout;
  return cfg;
}

// Every parameter against central differences, dropout masks frozen, carried initial state.
void check_roll_gradient(const ModelConfig& cfg, std::uint64_t seed) {
  Model<double> model(cfg);
  Rng rng(seed);
  model.init(rng);
  model.params().values += random_matrix<double>(model.num_params(), 1, rng, 0.05);
  const Index T = 4, B = 3;
  const FrameBatch batch = random_frames(T, B, cfg.vocab_size, rng);
  auto state0 = model.zero_state(B);
  for (auto& h : state0.h) h = random_matrix<double>(h.rows(), B, rng, 0.5);
  for (auto& c : state0.c) c = random_matrix<double>(c.rows(), B, rng, 0.5);
  auto state = state0;
  Rng drop_rng(99);
  model.params().zero_grad();
  model.forward_backward(batch, state, drop_rng, true);
  for (Index l = 0; l < model.num_layers(); ++l) model.dropout(l).freeze_mask(true);
  model.input_dropout().freeze_mask(true);
  for (Index l = 0; l < model.num_layers(); ++l) model.layer(l).weight_drop().freeze_mask(true);
  model.params().zero_grad();
  state = state0;
  model.forward_backward(batch, state, drop_rng, true);
  const Vector<double> analytic = model.params().grads;
  auto loss = [&] {
    auto s = state0;
    Rng r(0);
    return model.forward_backward(batch, s, r, true).mean();
  };
  const GradCheckResult res = gradient_check(model.params().values, analytic, loss);
  INFO("worst index " << res.worst_index << " of " << model.num_params() << ": analytic "
                      << res.analytic_at_worst << " numeric " << res.numeric_at_worst);
  CHECK(res.checked == model.num_params());
  CHECK(res.max_rel_error < 1e-6);
}

// Model a (config `with`) and model b (`without`, the same but for one training-only
// regulariser), with the same weights: their validation losses must be equal and their
// training losses (same Rng seed) must differ.
void check_training_only(Model<double>& a, Model<double>& b, std::uint64_t seed) {
  Rng init(seed);
  a.init(init);
  b.params().values = a.params().values;
  Rng data_rng(seed + 1);
  const FrameBatch batch = random_frames(5, 2, a.config().vocab_size, data_rng);
  auto sa = a.zero_state(2), sb = b.zero_state(2);
  CHECK(a.evaluate(batch, sa).mean() == b.evaluate(batch, sb).mean());
  Rng r1(5), r2(5);
  sa = a.zero_state(2);
  sb = b.zero_state(2);
  CHECK(a.forward_backward(batch, sa, r1, true).mean() !=
        b.forward_backward(batch, sb, r2, true).mean());
}
}  // namespace

TEST_CASE("model pianoroll: whole-stack gradient check, 2 layers, frozen dropout") {
  check_roll_gradient(roll_config(6, {5, 4}, 0.3), 11);
}

TEST_CASE("model pianoroll: whole-stack gradient check with input dropout, frozen masks") {
  ModelConfig cfg = roll_config(6, {5, 4}, 0.2);
  cfg.input_dropout = 0.4;
  check_roll_gradient(cfg, 13);
}

TEST_CASE("model pianoroll: whole-stack gradient check with weight drop, frozen masks") {
  ModelConfig cfg = roll_config(6, {5, 4}, 0.2);
  cfg.weight_drop = 0.3;
  cfg.input_dropout = 0.2;
  check_roll_gradient(cfg, 14);
}

TEST_CASE("model pianoroll: whole-stack gradient check with the nade output") {
  ModelConfig cfg = roll_config(6, {5, 4}, 0.2);
  cfg.output = FrameOutput::nade;
  cfg.nade_hidden = 3;
  cfg.weight_drop = 0.2;
  check_roll_gradient(cfg, 15);
}

TEST_CASE("model pianoroll: a new nade output predicts what the independent output does") {
  // V = 0 at init: the conditional part adds nothing until training moves it. The parameters
  // of the independent model are the first ones of the nade model's.
  ModelConfig ind = roll_config(7, {6}, 0.0), nade = ind;
  nade.output = FrameOutput::nade;
  nade.nade_hidden = 4;
  Model<double> a(ind), b(nade);
  Rng rng(3);
  b.init(rng);
  a.params().values = b.params().values.head(a.num_params());
  Rng data(4);
  const FrameBatch batch = random_frames(5, 2, 7, data);
  auto sa = a.zero_state(2), sb = b.zero_state(2);
  CHECK(a.evaluate(batch, sa).nll_sum ==
        doctest::Approx(b.evaluate(batch, sb).nll_sum).epsilon(1e-12));
  // After one step of training the frames' keys inform each other.
  b.params().zero_grad();
  sb = b.zero_state(2);
  b.forward_backward(batch, sb, rng, true);
  const auto V = b.head().nade()->V().in(b.params().grads);
  CHECK(V.cwiseAbs().maxCoeff() > 0);
}

TEST_CASE("model: weight drop is on in training only, and is saved with the model") {
  ModelConfig with = roll_config(6, {5, 4}, 0.0), without = with;
  with.weight_drop = 0.5;
  Model<double> a(with), b(without);
  check_training_only(a, b, 31);
  CHECK(a.layer(0).weight_drop().rate() == 0.5);
  CHECK(a.layer(1).weight_drop().rate() == 0.5);
  const auto bytes = encode_checkpoint(make_checkpoint(a));
  const Checkpoint<double> ck = decode_checkpoint<double>(bytes.data(), bytes.size(), "wd");
  CHECK(ck.config.weight_drop == 0.5);
  CHECK(model_from_checkpoint(ck)->layer(1).weight_drop().rate() == 0.5);
  with.weight_drop = -0.1;
  CHECK_THROWS_WITH(with.validate(), doctest::Contains("weight drop"));
}

TEST_CASE("model pianoroll: input dropout hides input keys in training only") {
  ModelConfig with = roll_config(6, {5}, 0.0), without = with;
  with.input_dropout = 0.5;
  Model<double> a(with), b(without);
  // Inference and validation never drop inputs; training does, and it changes the loss.
  check_training_only(a, b, 21);
  // The mask is 0 or 1/(1 - q), about half zeros.
  const Matrix<double>& m = a.input_dropout().mask();
  REQUIRE(m.rows() == 6);
  REQUIRE(m.cols() == 10);
  Index zeros = 0;
  for (Index k = 0; k < m.size(); ++k) {
    CHECK((m.data()[k] == 0.0 || m.data()[k] == 2.0));
    zeros += m.data()[k] == 0.0 ? 1 : 0;
  }
  CHECK(zeros > 15);
  CHECK(zeros < 45);
  CHECK(a.activation_floats() > b.activation_floats());
  // Token models have no input frames to drop; bad rates are refused.
  ModelConfig tokens;
  tokens.vocab_size = 10;
  tokens.input_dropout = 0.1;
  CHECK_THROWS_WITH(tokens.validate(), doctest::Contains("input dropout is for pianoroll"));
  with.input_dropout = 1.0;
  CHECK_THROWS_AS(with.validate(), std::invalid_argument);
}

TEST_CASE("model pianoroll: whole-stack gradient check, 1 layer, last-position loss") {
  ModelConfig cfg = roll_config(5, {4}, 0.0);
  cfg.loss_positions = LossPositions::last;
  check_roll_gradient(cfg, 12);
}

TEST_CASE("model pianoroll: step_frame equals the window forward, in float") {
  const Index K = 8, T = 6, B = 2;
  Model<float> model(roll_config(K, {7, 5}, 0.5));
  Rng rng(5);
  model.init(rng);
  FrameBatch batch = random_frames(T, B, K, rng);
  batch.mask.assign(static_cast<size_t>(T * B), 1);
  auto s_window = model.zero_state(B);
  const LossTotals window = model.evaluate(batch, s_window);
  auto s_step = model.zero_state(B);
  double nll = 0;
  for (Index t = 0; t < T; ++t) {
    const Matrix<float> logits = model.step_frame(batch.inputs.middleCols(t * B, B), s_step);
    nll += sigmoid_bce<float>(logits, batch.targets.middleCols(t * B, B), {}, nullptr).nll_sum;
  }
  CHECK(window.count == T * B);
  CHECK(nll / double(T * B) == doctest::Approx(window.mean()).epsilon(1e-5));
  CHECK((s_step.h[1] - s_window.h[1]).cwiseAbs().maxCoeff() < 1e-5f);
}

TEST_CASE("model pianoroll: modes do not mix, and the embedding must be 0") {
  ModelConfig bad = roll_config(4, {3}, 0.0);
  bad.embedding_size = 2;
  CHECK_THROWS_AS(Model<float>{bad}, std::invalid_argument);
  Model<float> roll(roll_config(4, {3}, 0.0));
  auto s = roll.zero_state(1);
  TokenBatch tb(2, 1);
  tb.inputs = {0, 1};
  tb.targets = {1, 2};
  CHECK_THROWS_WITH(roll.evaluate(tb, s), doctest::Contains("given token ids"));
  CHECK_THROWS_AS(roll.step({0}, s), std::invalid_argument);
  ModelConfig tc;
  tc.vocab_size = 4;
  tc.hidden_sizes = {3};
  Model<float> tok(tc);
  auto s2 = tok.zero_state(1);
  FrameBatch fb(2, 1, 4);
  CHECK_THROWS_WITH(tok.evaluate(fb, s2), doctest::Contains("given piano-roll frames"));
}

TEST_CASE("model pianoroll: learns a repeating chord progression") {
  const Index K = 6, T = 12, B = 1;
  ModelConfig cfg = roll_config(K, {16}, 0.0);
  Model<float> model(cfg);
  Rng rng(2);
  model.init(rng);
  // frames cycle through 3 chords: {0,2}, {1,3,5}, {4}
  const std::vector<std::vector<int>> chords{{0, 2}, {1, 3, 5}, {4}};
  FrameBatch batch(T, B, K);
  for (Index t = 0; t < T; ++t) {
    for (int k : chords[static_cast<size_t>(t % 3)]) batch.inputs(k, t) = 1;
    for (int k : chords[static_cast<size_t>((t + 1) % 3)]) batch.targets(k, t) = 1;
    batch.mask[static_cast<size_t>(t)] = 1;
  }
  Adam<float> adam(model.num_params(), AdamConfig{0.02});
  double loss = 0;
  for (int it = 0; it < 300; ++it) {
    auto s = model.zero_state(B);
    model.params().zero_grad();
    loss = model.forward_backward(batch, s, rng, true).mean();
    adam.step(model.params().values, model.params().grads);
  }
  CHECK(loss < 0.05);
  auto s = model.zero_state(B);
  CHECK(model.evaluate(batch, s).correct == T);
}
