// SPDX-License-Identifier: MIT
/// RollCorpus: a folder of MIDI files as piano-roll frame sequences (music/frames.hpp), one
/// per file, the data of the piano-roll mode.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/music/corpus_cache.hpp"
#include "lstmidi/music/frames.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/version.hpp"

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

namespace detail {

/// One file's frames and the notes that fell outside the keys, as a cache record: varints
/// (dropped, frame count, then per frame its key count and keys).
inline std::vector<std::uint8_t> encode_roll_record(const std::vector<Frame>& frames,
                                                    std::size_t dropped) {
  ByteWriter w;
  put_varint(w, dropped);
  put_varint(w, frames.size());
  for (const Frame& f : frames) {
    put_varint(w, f.size());
    w.put_bytes(f.data(), f.size());
  }
  return std::move(w.bytes());
}
inline std::vector<Frame> decode_roll_record(const RecordBytes& bytes, const std::string& source,
                                             int keys, std::size_t& dropped) {
  RecordReader r(bytes, source);
  dropped = static_cast<std::size_t>(r.varint("dropped notes"));
  const std::uint64_t n = r.varint("frame count");
  if (n > r.remaining()) r.fail(concat("frame count ", n, " does not fit the record"));
  std::vector<Frame> frames(static_cast<std::size_t>(n));
  for (Frame& f : frames) {
    const std::uint64_t k = r.varint("keys in a frame");
    if (k > static_cast<std::uint64_t>(keys)) r.fail(concat("a frame of ", k, " keys"));
    f.resize(static_cast<std::size_t>(k));
    r.bytes(f.data(), f.size(), "frame");
    for (std::size_t i = 0; i < f.size(); ++i)
      if (f[i] >= keys || (i > 0 && f[i] <= f[i - 1])) r.fail("a frame's keys out of order");
  }
  if (r.remaining() != 0) r.fail("stray bytes after the last frame");
  return frames;
}

inline std::string roll_settings(const RollOptions& opt, const ReadOptions& read) {
  const GuardLimits& g = read.limits;
  char beats[32];
  std::snprintf(beats, sizeof(beats), "%a", opt.frame_beats);  // exact
  return concat("frames; lstmidi ", kVersion, "; frame_beats ", beats, "; low_pitch ",
                opt.low_pitch, "; keys ", opt.keys, "; keep_drums ", read.keep_drums, "; sustain ",
                read.sustain, "; limits ", g.max_file_bytes, ' ', g.max_tracks, ' ',
                g.max_events_per_track, ' ', g.max_events_total, ' ', g.max_tempo_events, ' ',
                g.max_signature_events, ' ', g.max_program_changes, ' ', g.max_ticks);
}

}  // namespace detail

/// Loads every MIDI file under `path` (recursive, sorted) as frames. Files with no frames are
/// left out with a warning; an empty result throws std::invalid_argument. With `cache.dir`
/// set, unchanged files come from the corpus cache (corpus_cache.hpp).
inline RollCorpus load_roll_corpus(const std::filesystem::path& path, const RollOptions& opt,
                                   const ReadOptions& read = {},
                                   const CorpusCacheOptions& cache = {},
                                   CacheReport* report = nullptr) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(path.string() + ": no such file or directory");
  opt.validate();
  std::vector<FileRecord> records = load_file_records(
      path, detail::roll_settings(opt, read),
      [&](const std::filesystem::path& file) {
        const Song s = read_midi(file, read);
        std::size_t dropped = 0;
        const std::vector<Frame> frames = song_to_frames(s, opt, &dropped);
        return detail::encode_roll_record(frames, dropped);
      },
      cache, report);
  RollCorpus c;
  for (FileRecord& f : records)
    if (!f.usable) {
      c.warnings.push_back(std::move(f.warning));
      ++c.skipped;
    }
  for (FileRecord& f : records) {
    if (!f.usable) continue;
    std::size_t dropped = 0;
    std::vector<Frame> frames = detail::decode_roll_record(f.bytes, f.source, opt.keys, dropped);
    f.bytes = {};
    c.dropped_notes += dropped;
    if (dropped)
      c.warnings.push_back(
          detail::concat(f.source, ": ", dropped, " note(s) outside the keys dropped"));
    if (frames.empty()) {
      c.warnings.push_back(f.source + ": no frames, not used");
      continue;
    }
    c.frames += frames.size();
    c.files.push_back(std::move(f.source));
    c.pieces.push_back(std::move(frames));
  }
  require(!c.pieces.empty(), path.string(), ": no usable MIDI files (", c.skipped,
          " skipped as unreadable)");
  return c;
}

}  // namespace lstmidi::music
