// SPDX-License-Identifier: MIT
/// RollCorpus: a folder of MIDI files as piano-roll frame sequences (music/frames.hpp), one
/// per file, the data of the piano-roll mode.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/frames.hpp"
#include "lstmidi/music/midi_reader.hpp"

namespace lstmidi::music {

/// A folder of MIDI files as frame sequences, one per file.
struct RollCorpus {
  std::vector<std::string> files;
  std::vector<std::vector<Frame>> pieces;
  std::vector<std::string> warnings;
  std::size_t skipped = 0;        // unreadable files
  std::size_t frames = 0;         // total frames
  std::size_t dropped_notes = 0;  // notes outside the key range
};

/// Loads every MIDI file under `path` (recursive, sorted) as frames. Files with no frames are
/// left out with a warning; an empty result throws std::invalid_argument.
inline RollCorpus load_roll_corpus(const std::filesystem::path& path, const RollOptions& opt,
                                   const ReadOptions& read = {}) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(path.string() + ": no such file or directory");
  Dataset ds = load_folder(path, read);
  RollCorpus c;
  c.warnings = std::move(ds.warnings);
  c.skipped = ds.skipped;
  for (const Song& s : ds.songs) {
    std::size_t dropped = 0;
    std::vector<Frame> frames = song_to_frames(s, opt, &dropped);
    c.dropped_notes += dropped;
    if (dropped)
      c.warnings.push_back(
          detail::concat(s.source, ": ", dropped, " note(s) outside the keys dropped"));
    if (frames.empty()) {
      c.warnings.push_back(s.source + ": no frames, not used");
      continue;
    }
    c.frames += frames.size();
    c.files.push_back(s.source);
    c.pieces.push_back(std::move(frames));
  }
  require(!c.pieces.empty(), path.string(), ": no usable MIDI files (", c.skipped,
          " skipped as unreadable)");
  return c;
}

}  // namespace lstmidi::music
