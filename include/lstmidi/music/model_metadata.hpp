// SPDX-License-Identifier: MIT
/// What a music model file carries besides its weights (model/checkpoint.hpp's metadata map):
/// the names of a model folder's files, files embedded in the model file (a one-file model),
/// the vocabulary's checksum, the training pieces' fingerprints, and the encoding or frame
/// settings of token and piano-roll runs. music/model_dir.hpp loads a model with them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/frames.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/train/history.hpp"
#include "lstmidi/train/trainer.hpp"

namespace lstmidi::music {

inline constexpr const char* kModelFile = "model.lstmidi";
inline constexpr const char* kVocabFile = "vocab.txt";
inline constexpr const char* kPrimersFile = "primers.txt";
/// Carried inside token models: the training bigram counts of the n-gram baselines
/// (metrics.hpp, ngram_counts_text).
inline constexpr const char* kBigramsFile = "bigrams.txt";

/// Largest metadata value a model file holds (model/checkpoint.hpp); embedded files are cut
/// into chunks of this size.
inline constexpr std::size_t kEmbedChunkBytes = std::size_t{1} << 20;

/// Stores the file `name` with `text` in model metadata (replacing an earlier copy).
inline void embed_file(std::map<std::string, std::string>& meta, const std::string& name,
                       const std::string& text) {
  const std::string prefix = std::string(kEmbeddedPrefix) + name + ":";
  for (auto it = meta.lower_bound(prefix); it != meta.end() && it->first.rfind(prefix, 0) == 0;)
    it = meta.erase(it);
  std::size_t k = 0, at = 0;
  do {
    char index[16];
    std::snprintf(index, sizeof index, "%04zu", k++);
    meta[prefix + index] = text.substr(at, kEmbedChunkBytes);
    at += kEmbedChunkBytes;
  } while (at < text.size());
}

/// The file `name` stored by embed_file, if the metadata holds it.
inline std::optional<std::string> embedded_file(const std::map<std::string, std::string>& meta,
                                                const std::string& name) {
  const std::string prefix = std::string(kEmbeddedPrefix) + name + ":";
  std::optional<std::string> text;
  for (auto it = meta.lower_bound(prefix); it != meta.end() && it->first.rfind(prefix, 0) == 0;
       ++it)
    text = text.value_or("") + it->second;
  return text;
}

inline std::string vocabulary_checksum(const Vocabulary& v) {
  const std::string text = v.to_text();
  return std::to_string(crc32(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

/// A piece's fingerprint: the CRC-32 of its ids (as the vocabulary encodes it).
inline std::uint32_t piece_fingerprint(const std::vector<TokenId>& ids) {
  std::uint32_t crc = 0;
  for (TokenId id : ids) {
    std::uint8_t b[4];
    for (int k = 0; k < 4; ++k)
      b[k] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(id) >> (8 * k));
    crc = crc32(b, 4, crc);
  }
  return crc;
}

/// Most training pieces whose fingerprints a model stores ('train_pieces'); a larger corpus
/// stores none (the metadata value stays under 1 MiB).
inline constexpr std::size_t kMaxStoredPieces = 50000;

/// Stores the fingerprints of the training pieces in a token model's metadata, so that
/// lstmidi-eval can say when the files it scores are ones the model was trained on.
inline void store_training_pieces(std::map<std::string, std::string>& meta,
                                  const std::vector<std::vector<TokenId>>& train_ids) {
  if (train_ids.size() > kMaxStoredPieces) return;
  std::string list;
  for (const auto& ids : train_ids)
    list += (list.empty() ? "" : ",") + std::to_string(piece_fingerprint(ids));
  meta["train_pieces"] = list;
}

/// The fingerprints stored by store_training_pieces (empty when the model has none).
inline std::set<std::uint32_t> training_pieces(const std::map<std::string, std::string>& meta) {
  std::set<std::uint32_t> out;
  auto it = meta.find("train_pieces");
  if (it == meta.end()) return out;
  std::stringstream ss(it->second);
  for (std::string cell; std::getline(ss, cell, ',');) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(cell.c_str(), &end, 10);
    if (!cell.empty() && end == cell.c_str() + cell.size() && v <= 0xFFFFFFFFull)
      out.insert(static_cast<std::uint32_t>(v));
  }
  return out;
}

/// Metadata stored in every model file of a music run.
inline std::map<std::string, std::string> music_metadata(const EncoderOptions& e,
                                                         const Vocabulary& v) {
  std::map<std::string, std::string> m = {{"encoding", to_string(e.encoding)},
                                          {"steps_per_beat", std::to_string(e.steps_per_beat)},
                                          {"max_duration", std::to_string(e.max_duration)},
                                          {"max_gap", std::to_string(e.max_gap)},
                                          {"vocab_size", std::to_string(v.size())},
                                          {"vocab_crc", vocabulary_checksum(v)}};
  if (e.encoding == Encoding::Events) {
    m["instruments"] = to_string(e.events.instruments);
    m["time_signature_words"] = e.events.time_signatures ? "1" : "0";
    m["tempo_words"] = e.events.tempo ? "1" : "0";
    m["max_bar_beats"] = std::to_string(e.events.max_bar_beats);
  }
  return m;
}

/// Metadata stored in every model file of a pianoroll run; `key_probs` (may be empty) are the
/// unigram baseline's probabilities (unigram_key_probabilities).
inline std::map<std::string, std::string> pianoroll_metadata(
    const RollOptions& r, const std::vector<double>& key_probs = {}) {
  std::string probs;
  for (double p : key_probs) probs += (probs.empty() ? "" : ",") + lstmidi::detail::fmt_double(p);
  return {{"mode", "pianoroll"},
          {"frame_beats", lstmidi::detail::fmt_double(r.frame_beats)},
          {"low_pitch", std::to_string(r.low_pitch)},
          {"keys", std::to_string(r.keys)},
          {"key_probs", probs}};
}

}  // namespace lstmidi::music
