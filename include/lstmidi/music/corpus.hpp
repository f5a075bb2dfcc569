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
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/key.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/vocabulary.hpp"

namespace lstmidi::music {

inline constexpr int kNoSignature = 1000;  // Corpus::opening_*: the piece has no signature

struct Corpus {
  std::vector<std::string> files;                // source of each piece
  std::vector<std::vector<Token>> pieces;        // tokens per file (files without notes dropped)
  std::vector<std::string> warnings;             // one line per skipped file
  std::size_t skipped = 0;                       // files that could not be read
  std::size_t notes = 0;                         // notes read in total
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

/// Loads and encodes every MIDI file under `path`. Throws std::invalid_argument when nothing
/// usable is found (an empty dataset is an error, not an empty model).
inline Corpus load_corpus(const std::filesystem::path& path, const Encoder& encoder,
                          const ReadOptions& read = {}, bool normalise_keys = false) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(path.string() + ": no such file or directory");
  Dataset ds = load_folder(path, read);
  Corpus c;
  c.warnings = std::move(ds.warnings);
  c.skipped = ds.skipped;
  for (Song& s : ds.songs) {
    c.notes += s.notes.size();
    ++c.opening_tempos[static_cast<int>(std::lround(s.tempos.empty() ? 120.0 : s.tempos.front().bpm))];
    if (s.time_signatures.empty())
      ++c.opening_time_signatures[{kNoSignature, 0}];
    else
      ++c.opening_time_signatures[{s.time_signatures.front().numerator, s.time_signatures.front().denominator}];
    if (normalise_keys || s.key_signatures.empty())  // normalised pieces lose their key
      ++c.opening_keys[{kNoSignature, false}];
    else
      ++c.opening_keys[{s.key_signatures.front().sharps, s.key_signatures.front().minor}];
    if (normalise_keys) normalise_key(s.notes);
    std::vector<Token> tokens = encoder.encode(s);
    if (tokens.size() < 2) {
      c.warnings.push_back(s.source + ": fewer than 2 musical events, not used");
      continue;
    }
    c.files.push_back(s.source);
    c.pieces.push_back(std::move(tokens));
  }
  if (c.pieces.empty())
    throw std::invalid_argument(detail::concat(
        path.string(), ": no usable MIDI files (", c.skipped,
        " skipped as unreadable); the data folder needs .mid/.midi files with notes",
        c.warnings.empty() ? std::string() : " (first problem: " + c.warnings.front() + ")"));
  return c;
}

/// The pieces plus their copies shifted by every k in [-N, N] \ {0} that stays in MIDI range.
inline std::vector<std::vector<Token>> with_transpositions(const std::vector<std::vector<Token>>& pieces,
                                                           int max_shift) {
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
