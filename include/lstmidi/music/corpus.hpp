// SPDX-License-Identifier: MIT
/// Corpus: a folder of MIDI files turned into token sequences, one per file, and the vocabulary
/// built from them — the data preparation shared by the trainer and the evaluator.
///
/// With normalise_keys every piece is first transposed to C major / A minor (key.hpp).
/// With transposition augmentation (+-N semitones) the vocabulary is built from every shifted
/// copy of the pieces too, so a transposed training window finds its tokens (the sampler drops
/// windows whose shifted tokens are not in the vocabulary).
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/corpus_cache.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/key.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/token_record.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/version.hpp"

namespace lstmidi::music {

struct Corpus {
  std::vector<std::string> files;          // source of each piece
  std::vector<std::vector<Token>> pieces;  // tokens per file (files without notes dropped)
  std::vector<std::string> warnings;       // one line per skipped file
  std::size_t skipped = 0;                 // files that could not be read
  std::size_t notes = 0;                   // notes read in total
  // How many pieces open with each tempo (whole bpm), time signature and key signature
  // (sharps, minor): the generator's defaults when a primer gives none. Pieces without a
  // signature count under kNoSignature, so "most pieces have none" stays none.
  std::map<int, std::size_t> opening_tempos;
  std::map<std::pair<int, int>, std::size_t> opening_time_signatures;
  std::map<std::pair<int, bool>, std::size_t> opening_keys;
};

/// The most frequent key of `counts` (the smallest key on ties); nothing when empty.
template <typename K>
std::optional<K> most_common(const std::map<K, std::size_t>& counts) {
  std::optional<K> best;
  std::size_t n = 0;
  for (const auto& [k, c] : counts)
    if (c > n) {
      best = k;
      n = c;
    }
  return best;
}

namespace detail {

inline PieceRecord piece_record(Song& s, const Encoder& encoder, bool normalise_keys) {
  PieceRecord r;
  r.notes = s.notes.size();
  r.tempo = static_cast<int>(std::lround(s.tempos.empty() ? 120.0 : s.tempos.front().bpm));
  if (!s.time_signatures.empty())
    r.time_signature = {s.time_signatures.front().numerator, s.time_signatures.front().denominator};
  if (!normalise_keys && !s.key_signatures.empty())  // normalised pieces lose their key
    r.key = {s.key_signatures.front().sharps, s.key_signatures.front().minor ? 1 : 0};
  if (normalise_keys) normalise_key(s.notes);
  r.tokens = encoder.encode(s);
  return r;
}

/// Everything that changes what a file encodes to: the cache's settings string.
inline std::string corpus_settings(const Encoder& encoder, const ReadOptions& read,
                                   bool normalise_keys) {
  const EncoderOptions& e = encoder.options();
  const GuardLimits& g = read.limits;
  return concat(
      "tokens; lstmidi ", kVersion, "; encoding ", static_cast<int>(e.encoding),
      "; steps_per_beat ", e.steps_per_beat, "; max_duration ", e.max_duration, "; max_gap ",
      e.max_gap, "; default_duration ", e.default_duration, "; pitch_only_step ", e.pitch_only_step,
      "; instruments ", static_cast<int>(e.events.instruments), "; time_signatures ",
      e.events.time_signatures, "; tempo ", e.events.tempo, "; max_bar_beats ",
      e.events.max_bar_beats, "; keep_drums ", read.keep_drums, "; sustain ", read.sustain,
      "; normalise_keys ", normalise_keys, "; limits ", g.max_file_bytes, ' ', g.max_tracks, ' ',
      g.max_events_per_track, ' ', g.max_events_total, ' ', g.max_tempo_events, ' ',
      g.max_signature_events, ' ', g.max_program_changes, ' ', g.max_ticks);
}

}  // namespace detail

/// Loads and encodes every MIDI file under `path`. Throws std::invalid_argument when nothing
/// usable is found (an empty dataset is an error, not an empty model). With `cache.dir` set,
/// files unchanged since the last load over the same folder and settings come from the corpus
/// cache (corpus_cache.hpp), and the result is the same as reading them; `report` says what the
/// cache did.
inline Corpus load_corpus(const std::filesystem::path& path, const Encoder& encoder,
                          const ReadOptions& read = {}, bool normalise_keys = false,
                          const CorpusCacheOptions& cache = {}, CacheReport* report = nullptr) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(path.string() + ": no such file or directory");
  std::vector<FileRecord> records = load_file_records(
      path, detail::corpus_settings(encoder, read, normalise_keys),
      [&](const std::filesystem::path& file) {
        Song s = read_midi(file, read);
        return detail::encode_piece_record(detail::piece_record(s, encoder, normalise_keys));
      },
      cache, report);
  Corpus c;
  for (FileRecord& f : records) {
    if (!f.usable) {
      c.warnings.push_back(std::move(f.warning));
      ++c.skipped;
    }
  }
  std::vector<detail::PieceRecord> decoded(records.size());
  detail::parallel_for(records.size(), cache.threads, [&](std::size_t i) {
    if (!records[i].usable) return;
    decoded[i] = detail::decode_piece_record(records[i].bytes, records[i].source);
    records[i].bytes = {};  // O(tokens): each record is freed once decoded
  });
  for (std::size_t i = 0; i < records.size(); ++i) {
    FileRecord& f = records[i];
    if (!f.usable) continue;
    detail::PieceRecord& p = decoded[i];
    c.notes += p.notes;
    ++c.opening_tempos[p.tempo];
    ++c.opening_time_signatures[p.time_signature];
    ++c.opening_keys[{p.key.first, p.key.second != 0}];
    if (p.tokens.size() < 2) {
      c.warnings.push_back(f.source + ": fewer than 2 musical events, not used");
      continue;
    }
    c.files.push_back(std::move(f.source));
    c.pieces.push_back(std::move(p.tokens));
  }
  if (c.pieces.empty())
    throw std::invalid_argument(detail::concat(
        path.string(), ": no usable MIDI files (", c.skipped,
        " skipped as unreadable); the data folder needs .mid/.midi files with notes",
        c.warnings.empty() ? std::string() : " (first problem: " + c.warnings.front() + ")"));
  return c;
}

/// The pieces plus their copies shifted by every k in [-N, N] \ {0} that stays in MIDI range.
inline std::vector<std::vector<Token>> with_transpositions(
    const std::vector<std::vector<Token>>& pieces, int max_shift) {
  std::vector<std::vector<Token>> out = pieces;
  for (int k = -max_shift; k <= max_shift; ++k) {
    if (k == 0) continue;
    for (const auto& p : pieces) {
      std::vector<Token> moved;
      moved.reserve(p.size());
      bool ok = true;
      for (const Token& t : p) {
        auto m = transpose(t, k);
        if (!m) {
          ok = false;
          break;
        }
        moved.push_back(std::move(*m));
      }
      if (ok) out.push_back(std::move(moved));
    }
  }
  return out;
}

}  // namespace lstmidi::music
