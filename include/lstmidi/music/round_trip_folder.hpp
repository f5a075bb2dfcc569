// SPDX-License-Identifier: MIT
/// round_trip_folder: every MIDI file of a folder read, encoded with the events encoding,
/// decoded and written to another folder (same relative path), then read back and compared
/// note by note with the original on the grid (event_round_trip_stats), with its time and key
/// signatures. The written files are there for any MIDI tool to check.
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/round_trip.hpp"

namespace lstmidi::music {

struct FolderRoundTrip {
  RoundTripStats notes;             // notes exact on the grid, over every file written
  std::size_t written = 0;          // files written (and read back)
  std::size_t skipped = 0;          // files that could not be read
  std::size_t signatures = 0;       // time signatures in the originals
  std::size_t signatures_kept = 0;  // of those, found again at the same beat
  std::size_t keys = 0;             // key signatures in the originals
  std::size_t keys_kept = 0;        // of those, in files whose key signatures all came back
};

/// Round-trips `in` (a folder, searched recursively, or one file) into the folder `out`, which
/// must not be the input's folder. `eo` must be an events encoding. `on_file` hears each file
/// written with its figures, `on_skip` each unreadable file's message (both may be empty).
inline FolderRoundTrip round_trip_folder(
    const std::filesystem::path& in, const std::filesystem::path& out, const EncoderOptions& eo,
    const std::function<void(const std::filesystem::path&, const RoundTripStats&)>& on_file = {},
    const std::function<void(const std::string&)>& on_skip = {}) {
  namespace fs = std::filesystem;
  require(eo.encoding == Encoding::Events, "round_trip_folder: the events encoding round-trips");
  const Encoder encoder(eo);
  ReadOptions ro;
  ro.keep_drums = true;
  std::error_code ec;
  const bool single = fs::is_regular_file(in, ec);
  const std::vector<fs::path> files = single ? std::vector<fs::path>{in} : list_midi_files(in);
  if (files.empty()) throw std::runtime_error(in.string() + ": no .mid/.midi files");
  if (fs::exists(out, ec) && fs::equivalent(out, single ? in.parent_path() : in, ec))
    throw std::invalid_argument(out.string() + " is the input folder; write to another");
  FolderRoundTrip total;
  for (const fs::path& f : files) {
    Song song;
    try {
      song = read_midi(f, ro);
    } catch (const std::exception& e) {
      if (on_skip) on_skip(e.what());
      ++total.skipped;
      continue;
    }
    Song decoded = encoder.decode_song(encoder.encode(song));
    decoded.key_signatures = song.key_signatures;  // not in the words: carried by the writer
    const fs::path dest = out / (single ? f.filename() : fs::relative(f, in));
    fs::create_directories(dest.parent_path());
    write_song(dest, decoded);
    const Song back = read_midi(dest, ro);
    const RoundTripStats st = event_round_trip_stats(song, back, eo);
    total.notes += st;
    ++total.written;
    total.signatures += song.time_signatures.size();
    for (const auto& ts : song.time_signatures)
      for (const auto& b : back.time_signatures)
        total.signatures_kept += ts.numerator == b.numerator && ts.denominator == b.denominator &&
                                 std::abs(ts.beat - b.beat) < 1e-9;
    total.keys += song.key_signatures.size();
    total.keys_kept += back.key_signatures == song.key_signatures ? song.key_signatures.size() : 0;
    if (on_file) on_file(f, st);
  }
  return total;
}

}  // namespace lstmidi::music
