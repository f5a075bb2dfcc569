// SPDX-License-Identifier: MIT
/// Writing notes to a Standard MIDI File through libsmf.
///
/// One track, PPQN 480 (configurable): a tempo meta event and a General MIDI program change per
/// channel at tick 0, then every note as note-on/note-off placed by ticks
///   tick = round(beats * ppqn),
/// appended in time order (at equal ticks note-offs first, so a re-attacked pitch reads back
/// as two notes). Overlapping notes of the same channel and pitch are cut at the later onset;
/// notes shorter than one tick are left out. Every libsmf call is checked. The file is written
/// to a temporary name in the same directory and renamed into place, so readers never see a
/// partial file.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <smf.h>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/file_io.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

struct WriteOptions {
  double bpm = 120.0;     // quarter notes per minute
  int program = 0;        // General MIDI program 0..127 (0 = Acoustic Grand Piano)
  int ppqn = 480;         // ticks per quarter note
  std::size_t max_notes = 20000;  // libsmf's save/reload is quadratic in events per track
};

namespace detail {
struct TimedEvent {
  std::int64_t tick;
  int order;  // 0 tempo/program, 1 note-off, 2 note-on
  int channel;
  int pitch;
  int velocity;
};
}  // namespace detail

/// Writes `notes` (times in beats; channel and velocity from each note) to `path`.
/// Throws std::invalid_argument for bad options or notes, IoError when the file cannot be
/// written.
inline void write_midi(const std::filesystem::path& path, const std::vector<Note>& notes,
                       const WriteOptions& options = {}) {
  require(std::isfinite(options.bpm) && options.bpm >= 1.0 && options.bpm <= 1000.0,
          "write_midi: bpm must be in 1..1000, got ", options.bpm);
  require(options.program >= 0 && options.program <= 127, "write_midi: program must be 0..127, got ",
          options.program);
  require(options.ppqn >= 24 && options.ppqn <= 9600, "write_midi: ppqn must be 24..9600, got ",
          options.ppqn);
  require(notes.size() <= options.max_notes, "write_midi: ", notes.size(),
          " notes is above the limit of ", options.max_notes, " per file; split the piece");

  // Notes in ticks, per (channel, pitch) in onset order, cut at the next onset of the same key.
  struct TickNote {
    int channel, pitch, velocity;
    std::int64_t on, off;
  };
  std::vector<TickNote> tn;
  tn.reserve(notes.size());
  const double ppqn = options.ppqn;
  const double max_beats = static_cast<double>(std::int64_t{1} << 26) / ppqn;
  for (const Note& n : notes) {
    require(n.pitch >= 0 && n.pitch <= 127, "write_midi: pitch ", n.pitch, " outside 0..127");
    require(n.channel >= 0 && n.channel <= 15, "write_midi: channel ", n.channel, " outside 0..15");
    require(n.velocity >= 1 && n.velocity <= 127, "write_midi: velocity ", n.velocity,
            " outside 1..127");
    require(std::isfinite(n.onset_beats) && std::isfinite(n.duration_beats) && n.onset_beats >= 0 &&
                n.duration_beats >= 0 && n.onset_beats + n.duration_beats <= max_beats,
            "write_midi: note times must be finite, non-negative and below ", max_beats, " beats");
    const auto on = static_cast<std::int64_t>(std::llround(n.onset_beats * ppqn));
    const auto off = static_cast<std::int64_t>(std::llround((n.onset_beats + n.duration_beats) * ppqn));
    tn.push_back({n.channel, n.pitch, n.velocity, on, off});
  }
  std::sort(tn.begin(), tn.end(), [](const TickNote& a, const TickNote& b) {
    return std::tie(a.channel, a.pitch, a.on, a.off) < std::tie(b.channel, b.pitch, b.on, b.off);
  });
  std::vector<detail::TimedEvent> events;
  std::set<int> channels;
  for (std::size_t i = 0; i < tn.size(); ++i) {
    TickNote n = tn[i];
    if (i + 1 < tn.size() && tn[i + 1].channel == n.channel && tn[i + 1].pitch == n.pitch)
      n.off = std::min(n.off, tn[i + 1].on);
    if (n.off <= n.on) continue;
    events.push_back({n.on, 2, n.channel, n.pitch, n.velocity});
    events.push_back({n.off, 1, n.channel, n.pitch, 0});
    channels.insert(n.channel);
  }
  std::sort(events.begin(), events.end(), [](const detail::TimedEvent& a, const detail::TimedEvent& b) {
    return std::tie(a.tick, a.order, a.channel, a.pitch) < std::tie(b.tick, b.order, b.channel, b.pitch);
  });

  install_smf_log_handler();
  detail::SmfPtr smf(smf_new());
  if (!smf) throw IoError(path.string() + ": libsmf could not allocate a file");
  if (smf_set_ppqn(smf.get(), options.ppqn) != 0) throw IoError(path.string() + ": libsmf rejected the PPQN");
  smf_track_t* track = smf_track_new();
  if (!track) throw IoError(path.string() + ": libsmf could not allocate a track");
  smf_add_track(smf.get(), track);  // the smf owns the track from here on

  auto add = [&](smf_event_t* ev, std::int64_t tick) {
    if (!ev) throw IoError(path.string() + ": libsmf rejected an event");
    smf_track_add_event_pulses(track, ev, static_cast<int>(tick));
  };
  const auto us = static_cast<std::uint32_t>(std::llround(60e6 / options.bpm));
  unsigned char tempo[6] = {0xFF, 0x51, 0x03, static_cast<unsigned char>((us >> 16) & 0xFF),
                            static_cast<unsigned char>((us >> 8) & 0xFF),
                            static_cast<unsigned char>(us & 0xFF)};
  add(smf_event_new_from_pointer(tempo, 6), 0);
  for (int ch : channels)
    if (ch != kDrumChannel) add(smf_event_new_from_bytes(0xC0 | ch, options.program, -1), 0);
  for (const auto& e : events) {
    const int status = (e.order == 2 ? 0x90 : 0x80) | e.channel;
    add(smf_event_new_from_bytes(status, e.pitch, e.order == 2 ? e.velocity : 0), e.tick);
  }

  const auto tmp = temp_path_beside(path);
  if (smf_save(smf.get(), tmp.string().c_str()) != 0) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw IoError(path.string() + ": cannot write the MIDI file");
  }
  commit_temp_file(tmp, path);
}

/// write_midi with just a tempo and a General MIDI program.
inline void write_midi(const std::filesystem::path& path, const std::vector<Note>& notes, double bpm,
                       int program = 0) {
  WriteOptions options;
  options.bpm = bpm;
  options.program = program;
  write_midi(path, notes, options);
}

}  // namespace lstmidi::music
