// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <lstmidi/train/run_checkpoints.hpp>

#include "test_helpers.hpp"

using namespace lstmidi;
namespace fs = std::filesystem;

namespace {
ModelConfig tiny_config(Index hidden = 5) {
  ModelConfig cfg;
  cfg.vocab_size = 7;
  cfg.embedding_size = 3;
  cfg.hidden_sizes = {hidden};
  return cfg;
}

fs::path fresh_folder(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("lstmidi_runck_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  return d;
}

// A run part-way: weights moved by two Adam steps, an average, an Rng that has been drawn from,
// and a ResumeState with a history row and running totals.
struct RunSoFar {
  Model<float> model{tiny_config()};
  Adam<float> adam{model.num_params(), AdamConfig{0.01}};
  Rng rng{5};
  WeightAverage<float> average{0.9};
  ResumeState state;
  RunSoFar() {
    model.init(rng);
    for (int s = 0; s < 2; ++s) {
      model.params().grads.setConstant(0.25f * static_cast<float>(s + 1));
      adam.step(model.params().values, model.params().grads);
      average.update(model.params().values);
    }
    (void)rng.next_u64();
    state.position = {1, 3};
    state.best_valid = 1.0 / 3.0;
    state.best_epoch = 1;
    EpochStats es;
    es.epoch = 1;
    es.train_loss = 2.5;
    es.valid_loss = 1.0 / 3.0;
    state.history.push_back(es);
    state.run.nll_sum = 12.125;
    state.run.count = 9;
    state.run_batches = 3;
    state.run_seconds = 0.1;
  }
};
}  // namespace

TEST_CASE("run checkpoints: a resume checkpoint restores weights, Adam, Rng, average and state") {
  const fs::path dir = fresh_folder("roundtrip");
  RunSoFar a;
  RunCheckpoints<float> files(dir.string(), {{"vocab_crc", "1234"}});
  files.create_folder();
  files.save_last(a.model, a.adam, a.rng, &a.average, a.state);
  files.save_history(a.state.history);
  CHECK(fs::exists(dir / "history.csv"));
  CHECK(fs::exists(dir / "loss.svg"));

  Model<float> model(tiny_config());
  Adam<float> adam(model.num_params(), AdamConfig{0.5});
  Rng rng(77);
  WeightAverage<float> average(0.9);
  const ResumeState st = files.restore(model, adam, rng, &average);
  CHECK(model.params().values == a.model.params().values);
  CHECK(adam.m() == a.adam.m());
  CHECK(adam.v() == a.adam.v());
  CHECK(adam.steps() == a.adam.steps());
  CHECK(adam.config().lr == a.adam.config().lr);
  CHECK(rng.next_u64() == a.rng.next_u64());
  CHECK(average.steps() == 2);
  CHECK(average.value() == a.average.value());
  CHECK(st.position.epoch == 1);
  CHECK(st.position.batch == 3);
  CHECK(st.best_valid == a.state.best_valid);  // bit for bit
  CHECK(st.run.nll_sum == a.state.run.nll_sum);
  CHECK(st.run_seconds == a.state.run_seconds);
  REQUIRE(st.history.size() == 1);
  CHECK(st.history[0].valid_loss == a.state.history[0].valid_loss);
  fs::remove_all(dir);
}

TEST_CASE("run checkpoints: another run's checkpoint is refused before anything changes") {
  const fs::path dir = fresh_folder("refused");
  RunSoFar a;
  RunCheckpoints<float> files(dir.string(), {{"vocab_crc", "1234"}});
  files.create_folder();
  files.save_last(a.model, a.adam, a.rng, &a.average, a.state);

  Model<float> model(tiny_config());
  Rng init(3);
  model.init(init);
  const Vector<float> before = model.params().values;
  Adam<float> adam(model.num_params(), AdamConfig{0.01});
  Rng rng(1);
  WeightAverage<float> average(0.9);
  // Other data or vocabulary.
  RunCheckpoints<float> other_data(dir.string(), {{"vocab_crc", "9999"}});
  CHECK_THROWS_WITH_AS(other_data.restore(model, adam, rng, &average),
                       doctest::Contains("'vocab_crc' differs"), std::invalid_argument);
  CHECK(model.params().values == before);
  // A run that does not average its weights.
  CHECK_THROWS_WITH_AS(files.restore(model, adam, rng, nullptr),
                       doctest::Contains("weight-average setting"), std::invalid_argument);
  CHECK(model.params().values == before);
  // A model of another shape.
  Model<float> wider(tiny_config(6));
  Adam<float> adam6(wider.num_params(), AdamConfig{0.01});
  CHECK_THROWS_WITH_AS(files.restore(wider, adam6, rng, &average),
                       doctest::Contains("another shape"), std::invalid_argument);
  // No folder: nothing to resume from.
  RunCheckpoints<float> in_memory("", {});
  CHECK_FALSE(in_memory.writes());
  CHECK_THROWS_AS(in_memory.restore(model, adam, rng, &average), std::invalid_argument);
  fs::remove_all(dir);
}

TEST_CASE("run checkpoints: only the writing process writes, an empty folder name writes nothing") {
  const fs::path dir = fresh_folder("writer");
  RunSoFar a;
  RunCheckpoints<float> files(dir.string(), {});
  files.create_folder();
  files.set_writer(false);
  files.save_best(a.model, {{"epoch", "1"}});
  files.save_last(a.model, a.adam, a.rng, nullptr, a.state);
  CHECK_FALSE(fs::exists(files.best_path()));
  CHECK_FALSE(fs::exists(files.last_path()));
  files.set_writer(true);
  files.save_best(a.model, {{"epoch", "1"}, {"valid_loss", "0.5"}});
  const Checkpoint<float> best = load_checkpoint<float>(files.best_path().string());
  CHECK(best.meta.at("epoch") == "1");
  CHECK(best.meta.at("valid_loss") == "0.5");
  CHECK_FALSE(best.has_optimizer);
  CHECK(best.params == a.model.params().values);
  fs::remove_all(dir);
}

TEST_CASE(
    "with_average_weights: the average inside, the trained weights back after, even on a throw") {
  Vector<float> w = Vector<float>::Constant(4, 1.0f), scratch;
  WeightAverage<float> avg(0.5);
  avg.update(Vector<float>::Constant(4, 3.0f));
  float seen = 0;
  with_average_weights(w, &avg, scratch, [&] { seen = w[0]; });
  CHECK(seen == 3.0f);
  CHECK(w[0] == 1.0f);
  CHECK_THROWS_AS(with_average_weights(w, &avg, scratch, [&] { throw std::runtime_error("x"); }),
                  std::runtime_error);
  CHECK(w[0] == 1.0f);
  with_average_weights(w, static_cast<const WeightAverage<float>*>(nullptr), scratch,
                       [&] { seen = w[0]; });
  CHECK(seen == 1.0f);
}
