// SPDX-License-Identifier: MIT
/// Writing notes to a Standard MIDI File through libsmf.
///
/// write_song: a type-1 file that keeps the instruments. Track 1 (the conductor) holds the
/// tempo map (WriteOptions::bpm when the song has none), the time and key signatures; then one
/// track per instrument, in the order (programs ascending, parts ascending, drums last), each
/// with its program change on its own channel (melodic instruments take channels 1-9 and 11-16
/// in turn, drums channel 10) and its notes with their velocities. Two notes of one instrument
/// and pitch that overlap cannot share a channel (the second note-on would end the first), so
/// such a note moves to an extra track of the same instrument, added after all the others;
/// read back, it is a later part of the same program. Reading the file back gives the same
/// notes, parts and signatures (test_midi_writer.cpp).
///
/// write_midi: the single-track writer of the chord and pitch-only encodings.
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
#include <map>
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
  double bpm = 120.0;             // quarter notes per minute
  int program = 0;                // General MIDI program 0..127 (0 = Acoustic Grand Piano)
  int ppqn = 480;                 // ticks per quarter note
  std::size_t max_notes = 20000;  // libsmf's save/reload is quadratic in events per track
};

namespace detail {
// Saves through a temporary file beside `path`, renamed into place: readers never see a
// partial file, and a failed save leaves no temporary behind.
inline void save_smf_atomic(smf_t* smf, const std::filesystem::path& path) {
  const auto tmp = temp_path_beside(path);
  if (smf_save(smf, tmp.string().c_str()) != 0) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw IoError(path.string() + ": cannot write the MIDI file");
  }
  commit_temp_file(tmp, path);
}

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
  require(options.program >= 0 && options.program <= 127,
          "write_midi: program must be 0..127, got ", options.program);
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
    const auto off =
        static_cast<std::int64_t>(std::llround((n.onset_beats + n.duration_beats) * ppqn));
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
  std::sort(events.begin(), events.end(),
            [](const detail::TimedEvent& a, const detail::TimedEvent& b) {
              return std::tie(a.tick, a.order, a.channel, a.pitch) <
                     std::tie(b.tick, b.order, b.channel, b.pitch);
            });

  install_smf_log_handler();
  detail::SmfPtr smf(smf_new());
  if (!smf) throw IoError(path.string() + ": libsmf could not allocate a file");
  if (smf_set_ppqn(smf.get(), options.ppqn) != 0)
    throw IoError(path.string() + ": libsmf rejected the PPQN");
  smf_track_t* track = smf_track_new();
  if (!track) throw IoError(path.string() + ": libsmf could not allocate a track");
  smf_add_track(smf.get(), track);  // the smf owns the track from here on

  auto add = [&](smf_event_t* ev, std::int64_t tick) {
    if (!ev) throw IoError(path.string() + ": libsmf rejected an event");
    smf_track_add_event_pulses(track, ev, static_cast<int>(tick));
  };
  const auto us = static_cast<std::uint32_t>(std::llround(60e6 / options.bpm));
  unsigned char tempo[6] = {0xFF,
                            0x51,
                            0x03,
                            static_cast<unsigned char>((us >> 16) & 0xFF),
                            static_cast<unsigned char>((us >> 8) & 0xFF),
                            static_cast<unsigned char>(us & 0xFF)};
  add(smf_event_new_from_pointer(tempo, 6), 0);
  for (int ch : channels)
    if (ch != kDrumChannel) add(smf_event_new_from_bytes(0xC0 | ch, options.program, -1), 0);
  for (const auto& e : events) {
    const int status = (e.order == 2 ? 0x90 : 0x80) | e.channel;
    add(smf_event_new_from_bytes(status, e.pitch, e.order == 2 ? e.velocity : 0), e.tick);
  }

  detail::save_smf_atomic(smf.get(), path);
}

/// write_midi with just a tempo and a General MIDI program.
inline void write_midi(const std::filesystem::path& path, const std::vector<Note>& notes,
                       double bpm, int program = 0) {
  WriteOptions options;
  options.bpm = bpm;
  options.program = program;
  write_midi(path, notes, options);
}

}  // namespace lstmidi::music

namespace lstmidi::music {

namespace detail {
inline void add_smf_event(smf_track_t* track, smf_event_t* ev, std::int64_t tick,
                          const std::string& path) {
  if (!ev) throw IoError(path + ": libsmf rejected an event");
  smf_track_add_event_pulses(track, ev, static_cast<int>(tick));
}
}  // namespace detail

/// Writes `song` (notes with their instruments and velocities, tempo map, time and key
/// signatures) as a type-1 file; see the top of this header. Throws std::invalid_argument for
/// bad notes or options, IoError when the file cannot be written.
inline void write_song(const std::filesystem::path& path, const Song& song,
                       const WriteOptions& options = {}) {
  require(std::isfinite(options.bpm) && options.bpm >= 1.0 && options.bpm <= 1000.0,
          "write_song: bpm must be in 1..1000, got ", options.bpm);
  require(options.ppqn >= 24 && options.ppqn <= 9600, "write_song: ppqn must be 24..9600, got ",
          options.ppqn);
  require(song.notes.size() <= options.max_notes, "write_song: ", song.notes.size(),
          " notes is above the limit of ", options.max_notes, " per file; split the piece");
  const double ppqn = options.ppqn;
  const double max_beats = static_cast<double>(std::int64_t{1} << 26) / ppqn;
  auto tick_of = [&](double beats, const char* what) {
    require(std::isfinite(beats) && beats >= 0 && beats <= max_beats, "write_song: ", what,
            " must be finite, non-negative and below ", max_beats, " beats");
    return static_cast<std::int64_t>(std::llround(beats * ppqn));
  };

  // Instruments in order, then each note into the first lane of its instrument where its
  // pitch is free.
  struct Key {
    bool drum;
    int program, part;
    bool operator<(const Key& o) const {
      return std::tie(drum, program, part) < std::tie(o.drum, o.program, o.part);
    }
  };
  struct TickNote {
    int pitch, velocity;
    std::int64_t on, off;
  };
  std::map<Key, std::vector<std::vector<TickNote>>> lanes;  // instrument -> lanes -> notes
  std::vector<const Note*> sorted;
  for (const Note& n : song.notes) {
    require(n.pitch >= 0 && n.pitch <= 127, "write_song: pitch ", n.pitch, " outside 0..127");
    require(n.velocity >= 1 && n.velocity <= 127, "write_song: velocity ", n.velocity,
            " outside 1..127");
    require(n.program >= 0 && n.program <= 127, "write_song: program ", n.program,
            " outside 0..127");
    require(n.part >= 0, "write_song: part ", n.part, " is negative");
    sorted.push_back(&n);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Note* a, const Note* b) { return a->onset_beats < b->onset_beats; });
  std::map<Key, std::vector<std::map<int, std::int64_t>>> busy;  // lane -> pitch -> end tick
  for (const Note* n : sorted) {
    const bool drum = n->drum || n->channel == kDrumChannel;
    const Key key{drum, drum ? 0 : n->program, n->part};
    const std::int64_t on = tick_of(n->onset_beats, "note onsets");
    const std::int64_t off = tick_of(n->onset_beats + n->duration_beats, "note ends");
    if (off <= on) continue;  // shorter than one tick
    auto& b = busy[key];
    std::size_t lane = 0;
    while (lane < b.size()) {
      auto it = b[lane].find(n->pitch);
      if (it == b[lane].end() || it->second <= on) break;
      ++lane;
    }
    if (lane == b.size()) b.emplace_back();
    b[lane][n->pitch] = off;
    auto& l = lanes[key];
    if (l.size() <= lane) l.resize(lane + 1);
    l[lane].push_back({n->pitch, n->velocity, on, off});
  }

  install_smf_log_handler();
  detail::SmfPtr smf(smf_new());
  if (!smf) throw IoError(path.string() + ": libsmf could not allocate a file");
  if (smf_set_ppqn(smf.get(), options.ppqn) != 0)
    throw IoError(path.string() + ": libsmf rejected the PPQN");
  auto new_track = [&] {
    smf_track_t* t = smf_track_new();
    if (!t) throw IoError(path.string() + ": libsmf could not allocate a track");
    smf_add_track(smf.get(), t);  // the smf owns the track from here on
    return t;
  };
  const std::string where = path.string();

  // Conductor: tempo map, time and key signatures, in time order.
  smf_track_t* conductor = new_track();
  {
    std::vector<std::pair<std::int64_t, std::vector<unsigned char>>> metas;
    std::vector<TempoChange> tempos = song.tempos;
    if (tempos.empty() || tempos.front().beat > 0)
      tempos.insert(tempos.begin(), TempoChange{0.0, options.bpm});
    for (const TempoChange& t : tempos) {
      require(std::isfinite(t.bpm) && t.bpm >= 1.0 && t.bpm <= 1000.0, "write_song: tempo ", t.bpm,
              " bpm outside 1..1000");
      const auto us = static_cast<std::uint32_t>(std::llround(60e6 / t.bpm));
      metas.push_back(
          {tick_of(t.beat, "tempo changes"),
           {0xFF, 0x51, 0x03, static_cast<unsigned char>((us >> 16) & 0xFF),
            static_cast<unsigned char>((us >> 8) & 0xFF), static_cast<unsigned char>(us & 0xFF)}});
    }
    for (const TimeSignature& ts : song.time_signatures) {
      int dd = 0;
      while ((1 << dd) < ts.denominator && dd < 6) ++dd;
      require(ts.numerator >= 1 && ts.numerator <= 64 && (1 << dd) == ts.denominator,
              "write_song: time signature ", ts.numerator, "/", ts.denominator, " is not num/2^k");
      metas.push_back({tick_of(ts.beat, "time signatures"),
                       {0xFF, 0x58, 0x04, static_cast<unsigned char>(ts.numerator),
                        static_cast<unsigned char>(dd), 24, 8}});
    }
    for (const KeySignature& ks : song.key_signatures) {
      require(ks.sharps >= -7 && ks.sharps <= 7, "write_song: key signature of ", ks.sharps,
              " sharps outside -7..7");
      metas.push_back(
          {tick_of(ks.beat, "key signatures"),
           {0xFF, 0x59, 0x02, static_cast<unsigned char>(static_cast<signed char>(ks.sharps)),
            static_cast<unsigned char>(ks.minor ? 1 : 0)}});
    }
    std::stable_sort(metas.begin(), metas.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [tick, bytes] : metas)
      detail::add_smf_event(
          conductor, smf_event_new_from_pointer(bytes.data(), static_cast<int>(bytes.size())), tick,
          where);
  }

  // One track per instrument lane: lane 0 of every instrument first, then the extra lanes.
  static constexpr int kMelodic[15] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15};
  std::map<Key, int> channel_of;
  int next_channel = 0;
  for (const auto& entry : lanes) {
    const Key& key = entry.first;
    channel_of[key] = key.drum ? kDrumChannel : kMelodic[next_channel++ % 15];
  }
  std::size_t most_lanes = 0, tracks = 1;
  for (const auto& entry : lanes) {
    most_lanes = std::max(most_lanes, entry.second.size());
    tracks += entry.second.size();
  }
  require(tracks <= 64, "write_song: the notes need ", tracks - 1,
          " instrument tracks, above the 63 a file may hold (the reader's limit is 64 tracks)");
  for (std::size_t lane = 0; lane < most_lanes; ++lane)
    for (const auto& [key, ls] : lanes) {
      if (lane >= ls.size()) continue;
      smf_track_t* track = new_track();
      const int ch = channel_of[key];
      if (!key.drum)
        detail::add_smf_event(track, smf_event_new_from_bytes(0xC0 | ch, key.program, -1), 0,
                              where);
      std::vector<detail::TimedEvent> events;
      for (const TickNote& n : ls[lane]) {
        events.push_back({n.on, 2, ch, n.pitch, n.velocity});
        events.push_back({n.off, 1, ch, n.pitch, 0});
      }
      std::sort(events.begin(), events.end(),
                [](const detail::TimedEvent& a, const detail::TimedEvent& b) {
                  return std::tie(a.tick, a.order, a.pitch) < std::tie(b.tick, b.order, b.pitch);
                });
      for (const auto& e : events)
        detail::add_smf_event(track,
                              smf_event_new_from_bytes((e.order == 2 ? 0x90 : 0x80) | ch, e.pitch,
                                                       e.order == 2 ? e.velocity : 0),
                              e.tick, where);
    }

  detail::save_smf_atomic(smf.get(), path);
}

}  // namespace lstmidi::music
