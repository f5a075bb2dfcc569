// SPDX-License-Identifier: MIT
// Limits of the model file format (docs/limits.md) and regression inputs found by fuzzing
// (tests/fuzz/corpus/regressions/checkpoint/*: each must be rejected with a FormatError, or
// load, but never crash).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "lstmidi/lstmidi.hpp"
#include "lstmidi/sample/generator.hpp"

using namespace lstmidi;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("lstmidi_regressions_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::uint8_t> tiny_checkpoint(std::map<std::string, std::string> meta = {}) {
  ModelConfig c;
  c.vocab_size = 5;
  c.embedding_size = 2;
  c.hidden_sizes = {3};
  Model<float> m(c);
  Rng rng(1);
  m.init(rng);
  return encode_checkpoint(make_checkpoint<float>(m, nullptr, nullptr, std::move(meta)));
}

// Re-seals a payload edit: fixes the CRC so that only the field checks can reject the file.
void reseal(std::vector<std::uint8_t>& b) {
  const std::uint32_t crc = crc32(b.data(), b.size() - 4);
  for (int i = 0; i < 4; ++i)
    b[b.size() - 4 + static_cast<size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
}

template <typename V>
void poke(std::vector<std::uint8_t>& b, size_t offset, V v) {
  std::memcpy(b.data() + offset, &v, sizeof(V));  // the tests run on little-endian machines
}

}  // namespace

TEST_CASE("limits: a model file above kMaxCheckpointBytes is refused before it is read") {
  const fs::path d = scratch("huge_model");
  const fs::path p = d / "huge.lstmidi";
  { std::ofstream(p, std::ios::binary) << "LSTMIDI"; }
  fs::resize_file(p, kMaxCheckpointBytes + 1);  // sparse: costs no disk space
  CHECK_THROWS_WITH_AS((void)load_checkpoint<float>(p.string()),
                       doctest::Contains("above the limit"), FormatError);
  fs::remove_all(d);
}

TEST_CASE("limits: model shapes beyond ModelConfig::kMax* are refused, by the config and on load") {
  ModelConfig c;
  c.vocab_size = ModelConfig::kMaxVocab + 1;
  c.hidden_sizes = {4};
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  c.vocab_size = 4;
  c.embedding_size = ModelConfig::kMaxWidth + 1;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  c.embedding_size = 0;
  c.hidden_sizes = {ModelConfig::kMaxWidth + 1};
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  c.hidden_sizes.assign(static_cast<size_t>(ModelConfig::kMaxLayers + 1), 2);
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  c.hidden_sizes.assign(static_cast<size_t>(ModelConfig::kMaxLayers), 2);
  CHECK_NOTHROW(c.validate());

  // Payload offsets: 24 scalar size, 28 V (u64), 36 E (u64), 44 L (u32), 48 H0 (u64).
  auto b = tiny_checkpoint();
  poke<std::uint64_t>(b, 28, static_cast<std::uint64_t>(ModelConfig::kMaxVocab) + 1);
  reseal(b);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("outside the supported limits"), FormatError);
  b = tiny_checkpoint();
  poke<std::uint32_t>(b, 44, static_cast<std::uint32_t>(ModelConfig::kMaxLayers) + 1);
  reseal(b);
  CHECK_THROWS_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"), FormatError);
  b = tiny_checkpoint();
  poke<std::uint64_t>(b, 48, static_cast<std::uint64_t>(ModelConfig::kMaxWidth) + 1);
  reseal(b);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("hidden size too large"), FormatError);
  // Within the limits but inconsistent with the stored parameter count.
  b = tiny_checkpoint();
  poke<std::uint64_t>(b, 48, std::uint64_t{4});
  reseal(b);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("parameters but its config needs"), FormatError);
}

TEST_CASE("limits: metadata entries, key and value lengths") {
  std::map<std::string, std::string> meta;
  meta[std::string(1024, 'k')] = std::string(1 << 20, 'v');
  auto ok = tiny_checkpoint(meta);
  CHECK(decode_checkpoint<float>(ok.data(), ok.size(), "m").meta == meta);

  meta.clear();
  meta[std::string(1025, 'k')] = "v";
  auto b = tiny_checkpoint(meta);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("more than 1024"), FormatError);
  meta.clear();
  meta["k"] = std::string((1 << 20) + 1, 'v');
  b = tiny_checkpoint(meta);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("more than 1048576"), FormatError);
  meta.clear();
  for (int i = 0; i < 4096; ++i) meta[std::to_string(i)] = "";
  b = tiny_checkpoint(meta);
  CHECK(decode_checkpoint<float>(b.data(), b.size(), "m").meta.size() == 4096);
  meta["one-more"] = "";
  b = tiny_checkpoint(meta);
  CHECK_THROWS_WITH_AS((void)decode_checkpoint<float>(b.data(), b.size(), "m"),
                       doctest::Contains("too many metadata entries"), FormatError);
}

TEST_CASE("limits: GenerateOptions::kMaxLength") {
  GenerateOptions go;
  go.length = GenerateOptions::kMaxLength;
  CHECK_NOTHROW(go.validate());
  go.length = GenerateOptions::kMaxLength + 1;
  CHECK_THROWS_AS(go.validate(), std::invalid_argument);
  go.length = -1;
  CHECK_THROWS_AS(go.validate(), std::invalid_argument);
}

TEST_CASE("regressions: checkpoint inputs found by fuzzing are rejected cleanly") {
  const fs::path dir =
      fs::path(LSTMIDI_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" / "regressions" / "checkpoint";
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::directory_iterator(dir)) {
    CAPTURE(e.path().string());
    try {
      (void)load_checkpoint<float>(e.path().string());
      (void)load_checkpoint<double>(e.path().string());
    } catch (const FormatError&) {
    }
  }
}
