// SPDX-License-Identifier: MIT
/// A music model directory: what lstmidi-train writes and lstmidi-generate / lstmidi-eval read.
///
///   model.lstmidi   best weights (lowest validation loss), with the encoding settings and the
///                   vocabulary's checksum in its metadata
///   last.lstmidi    resume checkpoint (weights + Adam state + RNG + data position)
///   vocab.txt       the vocabulary (music::Vocabulary's text format); tokens mode only
///   primers.txt     token lines cut from the training pieces, default generation primers
///                   (pianoroll mode: frame lines, "C4.E4.G4 rest ...", see pianoroll.hpp)
///   settings.ini    every training setting used (reload with --config to reproduce the run)
///   history.csv, loss.svg   loss curves
///   run.lock        the advisory lock of the run that owns the folder (train/run_folder.hpp)
///
/// A pianoroll model (ModelConfig::mode, pianoroll.hpp) has no vocabulary: its metadata holds
/// the frame grid (frame_beats, low_pitch, keys) and the training key probabilities of the
/// unigram baseline (key_probs).
///
/// load_music_model() checks that the pieces fit together and names the file at fault.
///
/// One-file model: model.lstmidi also carries vocab.txt, primers.txt and settings.ini inside
/// its checksummed container (metadata "embedded:<name>:<k>", chunks of at most 1 MiB, see
/// embed_file), so the file alone is a complete model: load_music_model() and
/// pick_saved_primer_line() accept the file as they accept the folder. Folders written before
/// this (model files without embedded files) load as they always did; a folder's own vocab.txt
/// is still read and checked against the model. What the metadata holds is in
/// music/model_metadata.hpp, the saved primers in music/saved_primers.hpp.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/quote.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/metrics.hpp"
#include "lstmidi/music/model_metadata.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/pianoroll.hpp"
#include "lstmidi/music/saved_primers.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/train/history.hpp"
#include "lstmidi/train/trainer.hpp"

namespace lstmidi::music {

template <typename T>
struct MusicModel {
  std::unique_ptr<Model<T>> model;
  ModelMode mode = ModelMode::tokens;
  Vocabulary vocab;               // tokens mode
  EncoderOptions encoder;         // tokens mode
  RollOptions roll;               // pianoroll mode
  std::vector<double> key_probs;  // pianoroll mode: unigram baseline (empty if not saved)
  /// Tokens mode: the training data's pitch-class histogram ('pc_hist'), when saved.
  std::optional<PitchClassHistogram> pitch_classes;
  std::map<std::string, std::string> meta;
};

namespace detail {
inline int meta_int(const std::map<std::string, std::string>& m, const std::string& key,
                    const std::string& file) {
  auto it = m.find(key);
  if (it == m.end()) throw FormatError(file + ": not a music model (no '" + key + "' setting)");
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    throw FormatError(file + ": bad '" + key + "' setting '" + it->second + "'");
  }
}
// The number stored under `key`, or `fallback` when it is missing or not a number.
inline double parse_meta_double(const std::map<std::string, std::string>& m, const std::string& key,
                                double fallback) {
  auto it = m.find(key);
  if (it == m.end()) return fallback;
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    return fallback;
  }
}
}  // namespace detail

namespace detail {
/// Checks the values a generator reads from a tokens model's metadata (the training data's
/// pitch classes, most common tempo, time and key signature), so a bad one is refused when the
/// model is loaded, before anything is written. Fills mm.pitch_classes.
template <typename T>
void check_generation_metadata(MusicModel<T>& mm, const std::map<std::string, std::string>& meta,
                               const std::string& file) {
  auto bad = [&](const std::string& key, const std::string& value) {
    throw FormatError(file + ": bad '" + key + "' setting " + quote_input(value));
  };
  auto number = [&](const std::string& key, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) bad(key, text);
    return v;
  };
  if (auto it = meta.find("pc_hist"); it != meta.end()) {
    PitchClassHistogram h{};
    std::stringstream ss(it->second);
    std::size_t n = 0;
    for (std::string cell; std::getline(ss, cell, ',');) {
      if (n == h.size()) bad("pc_hist", it->second);
      h[n] = number("pc_hist", cell);
      if (h[n] < 0) bad("pc_hist", it->second);
      ++n;
    }
    if (n != h.size()) bad("pc_hist", it->second);
    mm.pitch_classes = h;
  }
  if (auto it = meta.find("common_tempo"); it != meta.end())
    if (!(number("common_tempo", it->second) > 0)) bad("common_tempo", it->second);
  try {
    if (auto it = meta.find("common_key"); it != meta.end()) parse_key_signature(it->second);
  } catch (const std::invalid_argument&) {
    bad("common_key", meta.at("common_key"));
  }
  try {
    if (auto it = meta.find("common_time_signature"); it != meta.end())
      parse_time_signature(it->second);
  } catch (const std::invalid_argument&) {
    bad("common_time_signature", meta.at("common_time_signature"));
  }
}

template <typename T>
MusicModel<T> load_pianoroll_model(Checkpoint<T> ck, const std::string& file) {
  MusicModel<T> mm;
  mm.mode = ModelMode::pianoroll;
  auto it = ck.meta.find("frame_beats");
  if (it == ck.meta.end())
    throw FormatError(file + ": not a music model (no 'frame_beats' setting)");
  try {
    mm.roll.frame_beats = std::stod(it->second);
  } catch (const std::exception&) {
    throw FormatError(file + ": bad 'frame_beats' setting '" + it->second + "'");
  }
  mm.roll.low_pitch = meta_int(ck.meta, "low_pitch", file);
  mm.roll.keys = meta_int(ck.meta, "keys", file);
  try {
    mm.roll.validate();
  } catch (const std::invalid_argument& e) {
    throw FormatError(file + ": " + e.what());
  }
  if (mm.roll.keys != ck.config.vocab_size)
    throw FormatError(file + ": the model has " + std::to_string(ck.config.vocab_size) +
                      " outputs but its settings say " + std::to_string(mm.roll.keys) + " keys");
  auto kp = ck.meta.find("key_probs");
  if (kp != ck.meta.end() && !kp->second.empty()) {
    std::stringstream ss(kp->second);
    for (std::string cell; std::getline(ss, cell, ',');) {
      double p = 0;
      try {
        p = std::stod(cell);
      } catch (const std::exception&) {
        throw FormatError(file + ": bad 'key_probs' setting");
      }
      if (!(p > 0 && p < 1)) throw FormatError(file + ": bad 'key_probs' setting");
      mm.key_probs.push_back(p);
    }
    if (static_cast<int>(mm.key_probs.size()) != mm.roll.keys)
      throw FormatError(file + ": 'key_probs' has " + std::to_string(mm.key_probs.size()) +
                        " entries for " + std::to_string(mm.roll.keys) + " keys");
  }
  mm.model = model_from_checkpoint(ck);
  mm.meta = std::move(ck.meta);
  return mm;
}
}  // namespace detail

/// Loads a model: a model directory (model.lstmidi and, for a tokens model, vocab.txt, checked
/// to belong together), or a one-file model (a model.lstmidi carrying its vocabulary).
template <typename T>
MusicModel<T> load_music_model(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool one_file = fs::is_regular_file(dir, ec);
  if (!one_file && !fs::is_directory(dir, ec))
    throw IoError(dir.string() +
                  (fs::exists(dir, ec) ? ": not a model" : ": no such file or folder") +
                  " (give a model folder written by lstmidi-train, or its model.lstmidi)");
  const fs::path mfile = one_file ? dir : dir / kModelFile, vfile = dir / kVocabFile;
  if (!fs::exists(mfile, ec))
    throw IoError(mfile.string() + ": missing (has training finished an epoch?)");
  const std::string file = mfile.string();
  Checkpoint<T> ck = load_checkpoint<T>(file);
  if (ck.config.mode == ModelMode::pianoroll)
    return detail::load_pianoroll_model<T>(std::move(ck), file);
  MusicModel<T> mm;
  if (one_file) {
    const std::optional<std::string> text = embedded_file(ck.meta, kVocabFile);
    if (!text)
      throw FormatError(file +
                        ": carries no vocabulary (a model written before one-file models): "
                        "give its model folder instead");
    mm.vocab = Vocabulary::from_text(*text, file + " (its vocabulary)");
  } else {
    if (!fs::exists(vfile, ec))
      throw IoError(vfile.string() + ": missing; the model cannot be used without its vocabulary");
    mm.vocab = Vocabulary::load(vfile);
  }
  auto it = ck.meta.find("vocab_crc");
  if (it == ck.meta.end()) throw FormatError(file + ": not a music model (no vocabulary checksum)");
  if (mm.vocab.size() != ck.config.vocab_size || it->second != vocabulary_checksum(mm.vocab))
    throw FormatError((one_file ? file + " (its vocabulary)" : vfile.string()) +
                      ": does not match " + file + " (vocabulary of " +
                      std::to_string(mm.vocab.size()) + " tokens, model trained on " +
                      std::to_string(ck.config.vocab_size) + "); was it replaced or edited?");
  auto enc = ck.meta.find("encoding");
  if (enc == ck.meta.end() ||
      (enc->second != "durations" && enc->second != "pitch-only" && enc->second != "events"))
    throw FormatError(file + ": unknown encoding setting");
  mm.encoder.encoding = enc->second == "pitch-only" ? Encoding::PitchOnly
                        : enc->second == "events"   ? Encoding::Events
                                                    : Encoding::Durations;
  if (mm.encoder.encoding == Encoding::Events) {
    auto ins = ck.meta.find("instruments");
    try {
      mm.encoder.events.instruments =
          parse_instrument_mode(ins == ck.meta.end() ? "" : ins->second);
    } catch (const std::invalid_argument&) {
      throw FormatError(file + ": bad or missing 'instruments' setting");
    }
    mm.encoder.events.time_signatures =
        detail::meta_int(ck.meta, "time_signature_words", file) != 0;
    mm.encoder.events.tempo = detail::meta_int(ck.meta, "tempo_words", file) != 0;
    mm.encoder.events.max_bar_beats = detail::meta_int(ck.meta, "max_bar_beats", file);
  }
  mm.encoder.steps_per_beat = detail::meta_int(ck.meta, "steps_per_beat", file);
  mm.encoder.max_duration = detail::meta_int(ck.meta, "max_duration", file);
  mm.encoder.max_gap = detail::meta_int(ck.meta, "max_gap", file);
  try {
    Encoder check(mm.encoder);
    if (mm.encoder.encoding == Encoding::Events) check.events();
  } catch (const std::invalid_argument& e) {
    throw FormatError(file + ": " + e.what());
  }
  detail::check_generation_metadata(mm, ck.meta, file);
  mm.model = model_from_checkpoint(ck);
  mm.meta = std::move(ck.meta);
  return mm;
}

}  // namespace lstmidi::music
