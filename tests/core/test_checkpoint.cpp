// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "lstmidi/io/crc32c.hpp"
#include "test_helpers.hpp"

using namespace lstmidi;
namespace fs = std::filesystem;

namespace {
ModelConfig small_config() {
  ModelConfig cfg;
  cfg.vocab_size = 6;
  cfg.embedding_size = 3;
  cfg.hidden_sizes = {4, 5};
  cfg.dropout = 0.1;
  return cfg;
}

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("checkpoint: save -> load gives identical outputs and optimizer state") {
  Model<float> model(small_config());
  Rng rng(12);
  model.init(rng);
  Adam<float> adam(model.num_params(), AdamConfig{0.003});
  model.params().grads.setConstant(0.1f);
  adam.step(model.params().values, model.params().grads);
  const std::string path = temp_path("m.lstmidi");
  save_checkpoint(path, make_checkpoint(model, &adam, &rng, {{"epoch", "3"}}));
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);

  const Checkpoint<float> ck = load_checkpoint<float>(path);
  CHECK(ck.config == model.config());
  CHECK(ck.has_optimizer);
  CHECK(ck.adam_steps == 1);
  CHECK(ck.adam.lr == doctest::Approx(0.003));
  CHECK(ck.adam_m == adam.m());
  CHECK(ck.rng.state == rng.state().state);
  CHECK(ck.meta.at("epoch") == "3");
  CHECK(ck.written_by_version == static_cast<std::uint32_t>(kVersion));
  auto loaded = model_from_checkpoint(ck);
  TokenBatch b(5, 2);
  for (Index j = 0; j < 10; ++j) b.inputs[static_cast<size_t>(j)] = static_cast<TokenId>(j % 6);
  for (Index j = 0; j < 10; ++j)
    b.targets[static_cast<size_t>(j)] = static_cast<TokenId>((j + 1) % 6);
  auto s1 = model.zero_state(2), s2 = loaded->zero_state(2);
  CHECK(model.evaluate(b, s1).mean() == loaded->evaluate(b, s2).mean());
  CHECK(s1.h[1] == s2.h[1]);

  // A float file loads into a double model with the same values.
  const auto as_double = load_model<double>(path);
  CHECK((as_double->params().values.cast<float>() - model.params().values).cwiseAbs().maxCoeff() ==
        0.0f);
}

TEST_CASE("checkpoint: a weight average is saved and checked, files without one still load") {
  Model<float> model(small_config());
  Rng rng(2);
  model.init(rng);
  Checkpoint<float> ck = make_checkpoint(model);
  CHECK_FALSE(ck.has_average);
  ck.has_average = true;
  ck.average_steps = 17;
  ck.average = model.params().values * 0.5f;
  std::vector<std::uint8_t> bytes = encode_checkpoint(ck);
  const Checkpoint<float> back = decode_checkpoint<float>(bytes.data(), bytes.size(), "avg");
  CHECK(back.has_average);
  CHECK(back.average_steps == 17);
  CHECK(back.average == ck.average);
  CHECK(back.params == ck.params);
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK_THROWS_AS(decode_checkpoint<float>(bytes.data(), n, "cut"), FormatError);
  ck.average.resize(3);
  CHECK_THROWS_AS(encode_checkpoint(ck), std::invalid_argument);

  // A format-2 file (written before weight averaging) has no average field and loads as before.
  const std::string v2 = std::string(LSTMIDI_TEST_DATA_DIR) + "/checkpoint_v2.lstmidi";
  const Checkpoint<float> old = load_checkpoint<float>(v2);
  CHECK_FALSE(old.has_average);
  CHECK(old.has_optimizer);
  CHECK(old.adam_steps == 1);
  CHECK(old.meta.at("note") == "format version 2 fixture");
  CHECK(old.config.mode == ModelMode::pianoroll);
  CHECK(old.config.input_dropout == 0.0);
  CHECK(old.config.output == FrameOutput::independent);  // files before the nade output
  CHECK(old.config.nade_hidden == 0);
  const std::vector<std::uint8_t> raw = read_file_bytes(v2, kMaxCheckpointBytes);
  for (size_t n = 0; n < raw.size(); ++n)
    CHECK_THROWS_AS(decode_checkpoint<float>(raw.data(), n, "cut"), FormatError);
}

TEST_CASE("checkpoint: every truncation, a flipped byte, a wrong version and junk are rejected") {
  Model<float> model(small_config());
  Rng rng(1);
  model.init(rng);
  const std::vector<std::uint8_t> good = encode_checkpoint(make_checkpoint(model));
  CHECK_NOTHROW(decode_checkpoint<float>(good.data(), good.size(), "good"));
  for (size_t n = 0; n < good.size(); ++n) {
    CHECK_THROWS_AS(decode_checkpoint<float>(good.data(), n, "cut"), FormatError);
  }
  for (size_t pos : {size_t{3}, size_t{30}, good.size() / 2, good.size() - 1}) {
    auto bad = good;
    bad[pos] ^= 0x40;
    CHECK_THROWS_AS(decode_checkpoint<float>(bad.data(), bad.size(), "flip"), FormatError);
  }
  auto future = good;
  future[8] = static_cast<std::uint8_t>(kFormatVersion + 1);
  CHECK_THROWS_WITH(decode_checkpoint<float>(future.data(), future.size(), "future"),
                    doctest::Contains("format version 5"));
  static_assert(kFormatVersion == 4, "update the future-version check above");
  auto zero = good;
  zero[8] = 0;
  CHECK_THROWS_AS(decode_checkpoint<float>(zero.data(), zero.size(), "v0"), FormatError);
  std::vector<std::uint8_t> junk(1000);
  Rng r(5);
  for (auto& x : junk) x = static_cast<std::uint8_t>(r.below(256));
  CHECK_THROWS_WITH(decode_checkpoint<float>(junk.data(), junk.size(), "junk.bin"),
                    doctest::Contains("junk.bin: not an lstmidi model file"));
  auto extra = good;
  extra.insert(extra.end() - 4, std::uint8_t{0});
  CHECK_THROWS_AS(decode_checkpoint<float>(extra.data(), extra.size(), "extra"), FormatError);
}

TEST_CASE("checkpoint: a format-version-1 file (no mode field) loads as a tokens model") {
  // Written by the format-1 code: V=5, E=3, H={4}, dropout 0.1, Rng(7) init.
  const std::string path = std::string(LSTMIDI_TEST_DATA_DIR) + "/checkpoint_v1.lstmidi";
  const Checkpoint<float> ck = load_checkpoint<float>(path);
  CHECK(ck.config.mode == ModelMode::tokens);
  CHECK(ck.config.vocab_size == 5);
  CHECK(ck.config.embedding_size == 3);
  CHECK(ck.config.hidden_sizes == std::vector<Index>{4});
  CHECK(ck.meta.at("note") == "format version 1 fixture");
  auto model = model_from_checkpoint(ck);
  TokenBatch b(3, 1);
  b.inputs = {0, 1, 2};
  b.targets = {1, 2, 3};
  auto s = model->zero_state(1);
  CHECK(model->evaluate(b, s).nll_sum == doctest::Approx(4.83347881).epsilon(1e-6));
  // Re-saved, it becomes a current-version file with the same config.
  const std::vector<std::uint8_t> bytes = encode_checkpoint(ck);
  CHECK(bytes[8] == kFormatVersion);
  CHECK(decode_checkpoint<float>(bytes.data(), bytes.size(), "resaved").config == ck.config);
  // Every truncation of the old file is still rejected.
  const std::vector<std::uint8_t> old = read_file_bytes(path, kMaxCheckpointBytes);
  for (size_t n = 0; n < old.size(); ++n)
    CHECK_THROWS_AS(decode_checkpoint<float>(old.data(), n, "cut"), FormatError);
}

TEST_CASE("checkpoint: the pianoroll mode is saved and checked") {
  ModelConfig cfg;
  cfg.vocab_size = 88;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = {6};
  cfg.mode = ModelMode::pianoroll;
  cfg.input_dropout = 0.25;
  Model<float> model(cfg);
  Rng rng(3);
  model.init(rng);
  const auto bytes = encode_checkpoint(make_checkpoint(model));
  const Checkpoint<float> ck = decode_checkpoint<float>(bytes.data(), bytes.size(), "roll");
  CHECK(ck.config.mode == ModelMode::pianoroll);
  CHECK(ck.config.input_dropout == 0.25);
  CHECK(ck.config == cfg);
  Checkpoint<float> nan_rate = make_checkpoint(model);
  nan_rate.config.input_dropout = std::nan("");
  const auto nan_bytes = encode_checkpoint(nan_rate);
  CHECK_THROWS_WITH(decode_checkpoint<float>(nan_bytes.data(), nan_bytes.size(), "nan"),
                    doctest::Contains("input dropout"));
  Checkpoint<float> bad = make_checkpoint(model);
  bad.config.mode = static_cast<ModelMode>(2);
  const auto bad_bytes = encode_checkpoint(bad);
  CHECK_THROWS_WITH(decode_checkpoint<float>(bad_bytes.data(), bad_bytes.size(), "mode"),
                    doctest::Contains("unknown model mode"));
  Checkpoint<float> emb = make_checkpoint(model);
  emb.config.embedding_size = 4;  // pianoroll takes dense frames: rejected by validate()
  const auto emb_bytes = encode_checkpoint(emb);
  CHECK_THROWS_AS(decode_checkpoint<float>(emb_bytes.data(), emb_bytes.size(), "emb"), FormatError);
}

TEST_CASE("checkpoint: the nade frame output is saved and checked") {
  ModelConfig cfg;
  cfg.vocab_size = 10;
  cfg.embedding_size = 0;
  cfg.hidden_sizes = {6};
  cfg.mode = ModelMode::pianoroll;
  cfg.output = FrameOutput::nade;
  cfg.nade_hidden = 5;
  Model<float> model(cfg);
  CHECK(model.num_params() == cfg.num_params());
  Rng rng(3);
  model.init(rng);
  const auto bytes = encode_checkpoint(make_checkpoint(model));
  const Checkpoint<float> ck = decode_checkpoint<float>(bytes.data(), bytes.size(), "nade");
  CHECK(ck.config == cfg);
  CHECK(ck.params == model.params().values);
  CHECK(model_from_checkpoint(ck)->head().nade() != nullptr);
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK_THROWS_AS(decode_checkpoint<float>(bytes.data(), n, "cut"), FormatError);
  auto check_bad = [&](auto change, const char* says) {
    Checkpoint<float> bad = make_checkpoint(model);
    change(bad.config);
    const auto b = encode_checkpoint(bad);
    CHECK_THROWS_WITH(decode_checkpoint<float>(b.data(), b.size(), "bad"), doctest::Contains(says));
  };
  check_bad([](ModelConfig& c) { c.output = static_cast<FrameOutput>(2); }, "unknown frame output");
  check_bad([](ModelConfig& c) { c.nade_hidden = 0; }, "nade output needs a hidden size");
  check_bad([](ModelConfig& c) { c.nade_hidden = 6; }, "parameters but its config needs");
  check_bad([](ModelConfig& c) { c.output = FrameOutput::independent; }, "independent output none");
  // Token models have no frames for a NADE to order.
  ModelConfig tokens;
  tokens.vocab_size = 10;
  tokens.output = FrameOutput::nade;
  tokens.nade_hidden = 4;
  CHECK_THROWS_WITH(tokens.validate(), doctest::Contains("needs pianoroll mode"));
}

TEST_CASE("checkpoint: a consistent file whose config does not match the weights is rejected") {
  Model<float> model(small_config());
  Checkpoint<float> ck = make_checkpoint(model);
  ck.config.hidden_sizes = {4, 6};           // claims a different shape than the weights stored
  const auto bytes = encode_checkpoint(ck);  // CRC is valid: the check must be on the shape
  CHECK_THROWS_WITH(decode_checkpoint<float>(bytes.data(), bytes.size(), "shape"),
                    doctest::Contains("parameters but its config needs"));
}

TEST_CASE("checkpoint: missing files and unwritable paths give IoError, old file intact") {
  CHECK_THROWS_AS(load_checkpoint<float>("/nonexistent/dir/model.lstmidi"), IoError);
  Model<float> model(small_config());
  CHECK_THROWS_AS(save_model("/nonexistent/dir/model.lstmidi", model), IoError);
  const std::string path = temp_path("keep.lstmidi");
  save_model(path, model);
  const auto before = read_file_bytes(path, 1 << 20);
  // A full disk, simulated by a file-size limit (write() fails with EFBIG): clear error, the old
  // file is untouched and no temporary file is left behind.
  struct rlimit old_limit;
  ::getrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit tiny = old_limit;
  tiny.rlim_cur = 64;
  ::setrlimit(RLIMIT_FSIZE, &tiny);
  CHECK_THROWS_WITH_AS(save_model(path, model), doctest::Contains("write failed"), IoError);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, SIG_DFL);
  CHECK(read_file_bytes(path, 1 << 20) == before);
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("crc32: standard check value") {
  const std::string s = "123456789";
  CHECK(crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()) == 0xCBF43926u);
}

TEST_CASE("crc32c: standard check value, the instruction and the table agree on any bytes") {
  const std::string s = "123456789";
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  CHECK(crc32c(p, s.size()) == 0xE3069283u);
  CHECK(crc32c_portable(p, s.size()) == 0xE3069283u);
  CHECK(crc32c(p + 4, s.size() - 4, crc32c(p, 4)) == 0xE3069283u);  // continued
  std::vector<std::uint8_t> bytes(1000);
  std::uint32_t x = 12345;
  for (std::uint8_t& b : bytes)
    b = static_cast<std::uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  for (std::size_t from : {0, 1, 3, 7})
    for (std::size_t n : {0, 1, 7, 8, 9, 63, 500, 993}) {
      CAPTURE(from);
      CAPTURE(n);
      CHECK(crc32c(bytes.data() + from, n) == crc32c_portable(bytes.data() + from, n));
    }
  std::vector<std::uint8_t> flipped = bytes;
  flipped[500] ^= 1;
  CHECK(crc32c(flipped.data(), flipped.size()) != crc32c(bytes.data(), bytes.size()));
}
