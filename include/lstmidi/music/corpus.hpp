// SPDX-License-Identifier: MIT
/// Corpus: a folder of MIDI files turned into token sequences, one per file, and the vocabulary
/// built from them — the data preparation shared by the trainer and the evaluator.
///
/// With normalise_keys every piece is first transposed to C major / A minor (key.hpp).
/// With transposition augmentation (+-N semitones) the vocabulary is built from every shifted
/// copy of the pieces too, so a transposed training window finds its tokens (the sampler drops
/// windows whose shifted tokens are not in the vocabulary).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/key.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/vocabulary.hpp"

namespace lstmidi::music {

struct Corpus {
  std::vector<std::string> files;                // source of each piece
  std::vector<std::vector<Token>> pieces;        // tokens per file (files without notes dropped)
  std::vector<std::string> warnings;             // one line per skipped file
  std::size_t skipped = 0;                       // files that could not be read
  std::size_t notes = 0;                         // notes read in total
};

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
