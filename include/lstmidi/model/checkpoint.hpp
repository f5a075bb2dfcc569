// SPDX-License-Identifier: MIT
/// Saving and loading models, with everything needed to resume training exactly.
///
/// File layout (all integers little-endian; docs/file-format.md has the full table):
///   offset 0   8 bytes   magic "LSTMIDI" 0x1A
///          8   u32       format version (kFormatVersion)
///         12   u32       library version that wrote the file (lstmidi::kVersion)
///         16   u64       payload length n
///         24   n bytes   payload
///       24+n   u32       CRC-32 of bytes [0, 24+n)
/// Payload: u32 scalar size (4 = float, 8 = double); model config (u64 V, u64 E, u32 L,
/// L x u64 H, f64 dropout, u32 loss positions, u32 mode (0 tokens, 1 pianoroll; since format
/// version 2: version-1 files have no mode field and load as tokens models), f64 input dropout
/// and f64 weight drop (since format version 3; 0 for older files); u32 frame output (0
/// independent, 1 nade) and u64 NADE hidden size (since format version 4; older files hold the
/// independent output); u64 P and P parameters; u8
/// has-optimizer and, if set, Adam's config (5 x f64), i64 step count, m (P), v (P); since format
/// version 3, u8 has-average and, if set, i64 step count and the running average of the weights
/// (P); Rng state (2 x u64); u32 count of metadata entries, each a (u32 length, bytes) key and
/// value.
///
/// Every field is checked on load: a truncated, corrupted (CRC), wrong-version or
/// inconsistent file throws FormatError naming the file and what is wrong. Saves are atomic.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/version.hpp"

namespace lstmidi {

inline constexpr char kCheckpointMagic[8] = {'L', 'S', 'T', 'M', 'I', 'D', 'I', 0x1A};
inline constexpr std::uint32_t kFormatVersion = 4;
/// Oldest format version this build still reads.
inline constexpr std::uint32_t kOldestFormatVersion = 1;
/// Largest model file accepted (2 GiB).
inline constexpr std::uint64_t kMaxCheckpointBytes = std::uint64_t{1} << 31;

/// Everything a model file holds.
template <typename T>
struct Checkpoint {
  ModelConfig config;
  Vector<T> params;  // (P)
  bool has_optimizer = false;
  AdamConfig adam;
  std::int64_t adam_steps = 0;
  Vector<T> adam_m, adam_v;  // (P) each, when has_optimizer
  bool has_average = false;  // training with weight averaging: the running average, to resume
  std::int64_t average_steps = 0;
  Vector<T> average;  // (P), when has_average
  Rng::State rng;
  std::map<std::string, std::string> meta;  // free-form: epoch, best loss, vocabulary hash...
  std::uint32_t written_by_version = 0;     // filled in on load
};

template <typename T>
std::vector<std::uint8_t> encode_checkpoint(const Checkpoint<T>& ck) {
  const ModelConfig& c = ck.config;
  ByteWriter w;
  w.put_bytes(kCheckpointMagic, 8);
  w.put<std::uint32_t>(kFormatVersion);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(kVersion));
  w.put<std::uint64_t>(0);  // payload length, patched below
  const size_t start = w.bytes().size();
  w.put<std::uint32_t>(sizeof(T));
  w.put<std::uint64_t>(static_cast<std::uint64_t>(c.vocab_size));
  w.put<std::uint64_t>(static_cast<std::uint64_t>(c.embedding_size));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.hidden_sizes.size()));
  for (Index h : c.hidden_sizes) w.put<std::uint64_t>(static_cast<std::uint64_t>(h));
  w.put<double>(c.dropout);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.loss_positions));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.mode));
  w.put<double>(c.input_dropout);
  w.put<double>(c.weight_drop);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.output));
  w.put<std::uint64_t>(static_cast<std::uint64_t>(c.nade_hidden));
  w.put<std::uint64_t>(static_cast<std::uint64_t>(ck.params.size()));
  w.put_array(ck.params.data(), static_cast<size_t>(ck.params.size()));
  w.put<std::uint8_t>(ck.has_optimizer ? 1 : 0);
  if (ck.has_optimizer) {
    require(ck.adam_m.size() == ck.params.size() && ck.adam_v.size() == ck.params.size(),
            "checkpoint: optimizer state size differs from the parameters");
    for (double x : {ck.adam.lr, ck.adam.beta1, ck.adam.beta2, ck.adam.eps, ck.adam.weight_decay})
      w.put<double>(x);
    w.put<std::int64_t>(ck.adam_steps);
    w.put_array(ck.adam_m.data(), static_cast<size_t>(ck.adam_m.size()));
    w.put_array(ck.adam_v.data(), static_cast<size_t>(ck.adam_v.size()));
  }
  w.put<std::uint8_t>(ck.has_average ? 1 : 0);
  if (ck.has_average) {
    require(ck.average.size() == ck.params.size(),
            "checkpoint: weight average size differs from the parameters");
    w.put<std::int64_t>(ck.average_steps);
    w.put_array(ck.average.data(), static_cast<size_t>(ck.average.size()));
  }
  w.put<std::uint64_t>(ck.rng.state);
  w.put<std::uint64_t>(ck.rng.inc);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ck.meta.size()));
  for (const auto& [k, v] : ck.meta) {
    w.put_string(k);
    w.put_string(v);
  }
  auto& b = w.bytes();
  const std::uint64_t n = b.size() - start;
  for (int i = 0; i < 8; ++i)
    b[16 + static_cast<size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  w.put<std::uint32_t>(crc32(b.data(), b.size()));
  return std::move(w.bytes());
}

template <typename T>
Checkpoint<T> decode_checkpoint(const std::uint8_t* data, size_t size, const std::string& source) {
  ByteReader r(data, size, source);
  if (size < 28 || std::memcmp(data, kCheckpointMagic, 8) != 0)
    r.fail("not an lstmidi model file (bad magic)");
  for (int i = 0; i < 8; ++i) r.get<std::uint8_t>("magic");
  const auto version = r.get<std::uint32_t>("format version");
  if (version < kOldestFormatVersion || version > kFormatVersion)
    r.fail(detail::concat("model file format version ", version, "; this build reads versions ",
                          kOldestFormatVersion, " to ", kFormatVersion));
  Checkpoint<T> ck;
  ck.written_by_version = r.get<std::uint32_t>("library version");
  const auto n = r.get<std::uint64_t>("payload length");
  if (n != size - 28)
    r.fail(detail::concat("payload length says ", n, " bytes but the file holds ", size - 28,
                          " (truncated or corrupted)"));
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, data + size - 4, 4);
  if (!ByteWriter::little_endian()) stored_crc = __builtin_bswap32(stored_crc);
  if (crc32(data, size - 4) != stored_crc) r.fail("checksum mismatch (the file is corrupted)");

  const auto scalar = r.get<std::uint32_t>("scalar size");
  if (scalar != 4 && scalar != 8) r.fail(detail::concat("unknown scalar size ", scalar));
  ModelConfig& c = ck.config;
  const auto V = r.get<std::uint64_t>("vocabulary size");
  const auto E = r.get<std::uint64_t>("embedding size");
  const auto L = r.get<std::uint32_t>("layer count");
  if (V > static_cast<std::uint64_t>(ModelConfig::kMaxVocab) ||
      E > static_cast<std::uint64_t>(ModelConfig::kMaxWidth) ||
      L > static_cast<std::uint32_t>(ModelConfig::kMaxLayers))
    r.fail("model shape outside the supported limits");
  c.vocab_size = static_cast<Index>(V);
  c.embedding_size = static_cast<Index>(E);
  c.hidden_sizes.clear();
  for (std::uint32_t l = 0; l < L; ++l) {
    const auto h = r.get<std::uint64_t>("hidden size");
    if (h > static_cast<std::uint64_t>(ModelConfig::kMaxWidth)) r.fail("hidden size too large");
    c.hidden_sizes.push_back(static_cast<Index>(h));
  }
  c.dropout = r.get<double>("dropout");
  const auto lp = r.get<std::uint32_t>("loss positions");
  if (lp > 1) r.fail("unknown loss-positions value");
  c.loss_positions = static_cast<LossPositions>(lp);
  c.mode = ModelMode::tokens;
  if (version >= 2) {
    const auto mode = r.get<std::uint32_t>("model mode");
    if (mode > 1) r.fail("unknown model mode");
    c.mode = static_cast<ModelMode>(mode);
  }
  c.input_dropout = version >= 3 ? r.get<double>("input dropout") : 0.0;
  c.weight_drop = version >= 3 ? r.get<double>("weight drop") : 0.0;
  if (version >= 4) {
    const auto output = r.get<std::uint32_t>("frame output");
    if (output > 1) r.fail("unknown frame output");
    c.output = static_cast<FrameOutput>(output);
    const auto nh = r.get<std::uint64_t>("NADE hidden size");
    if (nh > static_cast<std::uint64_t>(ModelConfig::kMaxWidth))
      r.fail("NADE hidden size too large");
    c.nade_hidden = static_cast<Index>(nh);
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    r.fail(e.what());
  }
  const auto P = r.get<std::uint64_t>("parameter count");
  if (P != static_cast<std::uint64_t>(c.num_params()))
    r.fail(detail::concat("holds ", P, " parameters but its config needs ", c.num_params()));
  if (P > r.remaining() / scalar) r.fail("file ends inside the parameters (truncated?)");
  auto read_vec = [&](Vector<T>& out, const char* what) {
    out.resize(static_cast<Index>(P));
    if (scalar == sizeof(T)) {
      r.get_array(out.data(), static_cast<size_t>(P), what);
    } else if (scalar == 4) {
      std::vector<float> tmp(static_cast<size_t>(P));
      r.get_array(tmp.data(), tmp.size(), what);
      for (size_t i = 0; i < tmp.size(); ++i) out[static_cast<Index>(i)] = static_cast<T>(tmp[i]);
    } else {
      std::vector<double> tmp(static_cast<size_t>(P));
      r.get_array(tmp.data(), tmp.size(), what);
      for (size_t i = 0; i < tmp.size(); ++i) out[static_cast<Index>(i)] = static_cast<T>(tmp[i]);
    }
    if (!out.allFinite()) r.fail(detail::concat(what, " contain NaN or infinity"));
  };
  read_vec(ck.params, "parameters");
  const auto has_opt = r.get<std::uint8_t>("optimizer flag");
  if (has_opt > 1) r.fail("bad optimizer flag");
  ck.has_optimizer = has_opt == 1;
  if (ck.has_optimizer) {
    ck.adam.lr = r.get<double>("Adam config");
    ck.adam.beta1 = r.get<double>("Adam config");
    ck.adam.beta2 = r.get<double>("Adam config");
    ck.adam.eps = r.get<double>("Adam config");
    ck.adam.weight_decay = r.get<double>("Adam config");
    try {
      ck.adam.validate();
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
    ck.adam_steps = r.get<std::int64_t>("Adam step count");
    if (ck.adam_steps < 0) r.fail("negative Adam step count");
    read_vec(ck.adam_m, "Adam first moments");
    read_vec(ck.adam_v, "Adam second moments");
  }
  if (version >= 3) {
    const auto has_avg = r.get<std::uint8_t>("weight-average flag");
    if (has_avg > 1) r.fail("bad weight-average flag");
    ck.has_average = has_avg == 1;
    if (ck.has_average) {
      ck.average_steps = r.get<std::int64_t>("weight-average step count");
      if (ck.average_steps < 1) r.fail("weight-average step count is not positive");
      read_vec(ck.average, "averaged weights");
    }
  }
  ck.rng.state = r.get<std::uint64_t>("RNG state");
  ck.rng.inc = r.get<std::uint64_t>("RNG state");
  const auto n_meta = r.get<std::uint32_t>("metadata count");
  if (n_meta > 4096) r.fail("too many metadata entries");
  for (std::uint32_t i = 0; i < n_meta; ++i) {
    std::string k = r.get_string("metadata key", 1024);
    ck.meta[k] = r.get_string("metadata value", 1 << 20);
  }
  if (r.remaining() != 4) r.fail("unexpected bytes after the metadata");
  return ck;
}

template <typename T>
void save_checkpoint(const std::string& path, const Checkpoint<T>& ck) {
  write_file_atomic(path, encode_checkpoint(ck));
}

/// Checks a model file's first 24 bytes (magic, format version, payload length against the
/// file's size) before any more is read, so a file that is not a model, or whose length is
/// wrong, costs no memory and no time whatever its size. Throws FormatError naming the file;
/// does nothing when the file cannot be opened (load_checkpoint then says why).
inline void check_checkpoint_head(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return;
  if (size > kMaxCheckpointBytes)  // the size limit first, as read_file_bytes words it
    throw FormatError(detail::concat(path, ": file is ", size, " bytes, above the limit of ",
                                     kMaxCheckpointBytes, " bytes"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  std::uint8_t head[24] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto n = static_cast<size_t>(in.gcount());
  ByteReader r(head, n, path);
  if (n < 8 || size < 28 || std::memcmp(head, kCheckpointMagic, 8) != 0)
    r.fail("not an lstmidi model file (bad magic)");
  if (n < 24) return;
  for (int i = 0; i < 8; ++i) r.get<std::uint8_t>("magic");
  const auto version = r.get<std::uint32_t>("format version");
  if (version < kOldestFormatVersion || version > kFormatVersion)
    r.fail(detail::concat("model file format version ", version, "; this build reads versions ",
                          kOldestFormatVersion, " to ", kFormatVersion));
  r.get<std::uint32_t>("library version");
  const auto payload = r.get<std::uint64_t>("payload length");
  if (payload != size - 28)
    r.fail(detail::concat("payload length says ", payload, " bytes but the file holds ", size - 28,
                          " (truncated or corrupted)"));
}

template <typename T>
Checkpoint<T> load_checkpoint(const std::string& path) {
  check_checkpoint_head(path);
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, kMaxCheckpointBytes);
  return decode_checkpoint<T>(bytes.data(), bytes.size(), path);
}

/// Packs a model, and optionally its optimizer and RNG, into a Checkpoint.
namespace detail {
template <typename X>
struct NonDeduced {
  using type = X;
};
}  // namespace detail

/// (adam and rng may be nullptr; T is taken from the model alone.)
template <typename T>
Checkpoint<T> make_checkpoint(const Model<T>& model,
                              const typename detail::NonDeduced<Adam<T>>::type* adam = nullptr,
                              const Rng* rng = nullptr,
                              std::map<std::string, std::string> meta = {}) {
  Checkpoint<T> ck;
  ck.config = model.config();
  ck.params = model.params().values;
  if (adam) {
    ck.has_optimizer = true;
    ck.adam = adam->config();
    ck.adam_steps = adam->steps();
    ck.adam_m = adam->m();
    ck.adam_v = adam->v();
  }
  if (rng) ck.rng = rng->state();
  ck.meta = std::move(meta);
  return ck;
}

template <typename T>
void save_model(const std::string& path, const Model<T>& model) {
  save_checkpoint(path, make_checkpoint(model));
}

/// Builds the model a checkpoint describes, with its weights.
template <typename T>
std::unique_ptr<Model<T>> model_from_checkpoint(const Checkpoint<T>& ck) {
  auto m = std::make_unique<Model<T>>(ck.config);
  m->params().values = ck.params;
  return m;
}

template <typename T>
std::unique_ptr<Model<T>> load_model(const std::string& path) {
  return model_from_checkpoint(load_checkpoint<T>(path));
}

}  // namespace lstmidi
