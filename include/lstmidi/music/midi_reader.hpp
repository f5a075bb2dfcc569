// SPDX-License-Identifier: MIT
/// Reading MIDI files into notes, through the guard and libsmf.
///
///   bytes on disk --read_file_capped--> sanitize_smf (smf_guard.hpp) --> smf_load_from_memory
///   --> smf_rewind --> smf_get_next_event (all tracks in time order) --> notes in beats
///
/// Rules for turning events into notes:
///   - note-on with velocity > 0 starts a note; note-off, or note-on with velocity 0, ends it;
///   - notes are paired per (track, channel, pitch). A second note-on for a pitch that is still
///     sounding ends the first note there (re-attack); a note-off with nothing sounding is
///     ignored; a note still sounding at End-of-Track ends at the End-of-Track tick; notes of
///     zero length are dropped. Each of these repairs is counted in Song::warnings;
///   - times become beats (quarter notes): beat = tick / PPQN, whatever the tempo. Tempo
///     changes are still reported in Song::tempos; Song::length_beats is the time of the last
///     event of any track (normally its End-of-Track), so trailing rests are known;
///   - channel 10 (index 9, General MIDI drums) is left out unless ReadOptions::keep_drums;
///     its notes have Note::drum set;
///   - a note's program is the last program change before its onset on its (track, channel);
///     a track that never set one on that channel takes the channel's last program change
///     from any track (a conductor track often sets them all), else 0;
///   - parts: the (track, channel) pairs that play one instrument (drums, or one program) are
///     numbered 0, 1, ... in (track, channel) order, so the four voices of a chorale written
///     on four tracks stay four parts of program 0 (Note::part);
///   - with ReadOptions::sustain, a note released while its channel's sustain pedal (CC 64 >=
///     64) is down sounds on until the pedal comes up or its pitch is struck again;
///   - time signatures (FF 58) and key signatures (FF 59) of every track are merged by beat:
///     one per beat (the last one read), repeats of the one in force left out.
/// Every failure throws lstmidi::FormatError or lstmidi::IoError whose message starts with the
/// file name. libsmf's glib messages are routed to a silent, non-fatal handler (installed once).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <smf.h>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/file_io.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/smf_guard.hpp"

namespace lstmidi::music {

struct ReadOptions {
  bool keep_drums = false;  // keep channel 10 (index 9)
  bool sustain = false;     // extend notes held by the sustain pedal (CC 64)
  GuardLimits limits{};     // size and event caps, see smf_guard.hpp
};

namespace detail {
inline void silent_glib_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}
}  // namespace detail

/// Routes libsmf's glib log messages to a handler that drops them, and makes sure no glib
/// message level is fatal for the "libsmf" domain (even with G_DEBUG=fatal-criticals). Called
/// by every reader and writer; runs once per process.
inline void install_smf_log_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK));
    g_log_set_fatal_mask("libsmf", G_LOG_LEVEL_ERROR);
    g_log_set_handler(
        "libsmf",
        static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
        detail::silent_glib_log, nullptr);
  });
}

namespace detail {
// Sorts signature changes by beat (stable: at one beat the last one read wins) and drops those
// that repeat the one already in force.
template <typename Sig>
void merge_by_beat(std::vector<Sig>& sigs) {
  std::stable_sort(sigs.begin(), sigs.end(),
                   [](const Sig& a, const Sig& b) { return a.beat < b.beat; });
  std::vector<Sig> out;
  for (const Sig& s : sigs) {
    if (!out.empty() && out.back().beat == s.beat) out.pop_back();
    Sig same = s;
    if (!out.empty()) same.beat = out.back().beat;
    if (out.empty() || !(same == out.back())) out.push_back(s);
  }
  sigs = std::move(out);
}

struct SmfDeleter {
  void operator()(smf_t* smf) const { smf_delete(smf); }
};
using SmfPtr = std::unique_ptr<smf_t, SmfDeleter>;
}  // namespace detail

/// Reads notes from SMF bytes in memory; `name` is used in messages and as Song::source.
inline Song read_midi_bytes(const std::uint8_t* data, std::size_t size, const std::string& name,
                            const ReadOptions& options = {}) {
  const SanitizedSmf clean = sanitize_smf(data, size, name, options.limits);
  install_smf_log_handler();
  detail::SmfPtr smf(
      smf_load_from_memory(clean.bytes.data(), static_cast<int>(clean.bytes.size())));
  if (!smf) throw FormatError(name + ": libsmf could not load the sanitised file");
  smf_rewind(smf.get());

  Song song;
  song.source = name;
  song.ppqn = smf->ppqn;
  song.format = clean.format;
  song.tracks = clean.tracks;
  if (song.ppqn <= 0) throw FormatError(name + ": PPQN is not positive");
  const double ppqn = song.ppqn;

  struct Active {
    std::int64_t start = 0;
    int velocity = 0;
    int program = 0;
  };
  struct Raw {  // a finished note with the (track, channel) it came from
    Note note;
    std::int64_t track = 0;
  };
  std::vector<Raw> raw;
  // key = (track * 16 + channel) * 128 + pitch
  std::map<std::int64_t, Active> active;
  std::map<std::int64_t, std::pair<Active, std::int64_t>> held;  // released under the pedal
  std::vector<int> track_program(static_cast<std::size_t>(song.tracks) * 16, -1);
  std::vector<int> channel_program(16, -1);
  std::vector<char> pedal(static_cast<std::size_t>(song.tracks) * 16, 0);  // per (track, channel)
  std::size_t orphan_offs = 0, reattacks = 0, zero_length = 0, unterminated = 0;
  auto close = [&](std::int64_t key, const Active& a, std::int64_t end_tick) {
    if (end_tick <= a.start) {
      ++zero_length;
      return;
    }
    Raw r;
    Note& n = r.note;
    n.pitch = static_cast<int>(key % 128);
    n.channel = static_cast<int>((key / 128) % 16);
    n.velocity = a.velocity;
    n.program = a.program;
    n.drum = n.channel == kDrumChannel;
    n.onset_beats = static_cast<double>(a.start) / ppqn;
    n.duration_beats = static_cast<double>(end_tick - a.start) / ppqn;
    r.track = key / (16 * 128);
    raw.push_back(r);
  };
  // Notes held by the pedal on (track, channel) `tc` end at `tick`.
  auto release_pedal = [&](std::int64_t tc, std::int64_t tick) {
    for (auto it = held.lower_bound(tc * 128); it != held.end() && it->first < (tc + 1) * 128;) {
      close(it->first, it->second.first, tick);
      it = held.erase(it);
    }
  };
  auto close_track = [&](std::int64_t track, std::int64_t end_tick) {
    const std::int64_t lo = track * 16 * 128, hi = (track + 1) * 16 * 128;
    for (auto it = active.lower_bound(lo); it != active.end() && it->first < hi;) {
      ++unterminated;
      close(it->first, it->second, end_tick);
      it = active.erase(it);
    }
    for (std::int64_t ch = 0; ch < 16; ++ch) release_pedal(track * 16 + ch, end_tick);
  };

  std::int64_t last_tick = 0;
  while (smf_event_t* ev = smf_get_next_event(smf.get())) {
    const unsigned char* b = ev->midi_buffer;
    const int len = ev->midi_buffer_length;
    if (b == nullptr || len < 1) continue;
    const std::int64_t tick = ev->time_pulses;
    const std::int64_t track = ev->track_number - 1;  // libsmf numbers tracks from 1
    if (track < 0 || track >= song.tracks) continue;
    const double beat = static_cast<double>(tick) / ppqn;
    last_tick = std::max(last_tick, tick);
    if (b[0] == 0xFF) {
      if (len >= 3 && b[1] == 0x2F) {
        close_track(track, tick);
      } else if (len >= 6 && b[1] == 0x51) {
        const long us = (long{b[3]} << 16) | (long{b[4]} << 8) | long{b[5]};
        if (us > 0) song.tempos.push_back({beat, 60e6 / static_cast<double>(us)});
      } else if (len >= 7 && b[1] == 0x58 && b[2] == 4) {
        song.time_signatures.push_back({beat, b[3], 1 << b[4]});
      } else if (len >= 5 && b[1] == 0x59 && b[2] == 2) {
        song.key_signatures.push_back(
            {beat, static_cast<int>(static_cast<signed char>(b[3])), b[4] == 1});
      }
      continue;
    }
    const int kind = b[0] & 0xF0, channel = b[0] & 0x0F;
    const std::int64_t tc = track * 16 + channel;
    if (kind == 0xC0 && len >= 2) {
      track_program[static_cast<std::size_t>(tc)] = b[1] & 0x7F;
      channel_program[static_cast<std::size_t>(channel)] = b[1] & 0x7F;
      continue;
    }
    if (kind == 0xB0 && len >= 3 && b[1] == 64) {
      const bool down = b[2] >= 64;
      if (!down && pedal[static_cast<std::size_t>(tc)]) release_pedal(tc, tick);
      pedal[static_cast<std::size_t>(tc)] = down;
      continue;
    }
    if ((kind != 0x80 && kind != 0x90) || len < 3) continue;
    if (channel == kDrumChannel && !options.keep_drums) continue;
    const int pitch = b[1] & 0x7F, velocity = b[2] & 0x7F;
    const std::int64_t key = tc * 128 + pitch;
    auto it = active.find(key);
    if (kind == 0x90 && velocity > 0) {
      if (auto h = held.find(key); h != held.end()) {  // struck again under the pedal
        close(key, h->second.first, tick);
        held.erase(h);
      }
      const int tp = track_program[static_cast<std::size_t>(tc)];
      const int program =
          tp >= 0 ? tp : std::max(0, channel_program[static_cast<std::size_t>(channel)]);
      if (it != active.end()) {
        ++reattacks;
        close(key, it->second, tick);
        it->second = Active{tick, velocity, program};
      } else {
        active.emplace(key, Active{tick, velocity, program});
      }
    } else if (it != active.end()) {
      if (options.sustain && pedal[static_cast<std::size_t>(tc)])
        held[key] = {it->second, tick};
      else
        close(key, it->second, tick);
      active.erase(it);
    } else {
      ++orphan_offs;
    }
  }
  song.length_beats = static_cast<double>(last_tick) / ppqn;  // End-of-Track of the longest track
  for (auto& [key, a] : active) {  // tracks whose End-of-Track was not seen (should not happen)
    ++unterminated;
    close(key, a, last_tick);
  }
  for (auto& [key, h] : held) close(key, h.first, last_tick);

  // Parts: per instrument, its (track, channel) sources in order.
  {
    std::map<std::pair<int, std::int64_t>, int> part_of;  // (instrument, track*16+channel)
    for (const Raw& r : raw)
      part_of.emplace(
          std::make_pair(r.note.drum ? -1 : r.note.program, r.track * 16 + r.note.channel), 0);
    int prev_instrument = -2, next = 0;
    for (auto& [k, part] : part_of) {
      if (k.first != prev_instrument) next = 0;
      prev_instrument = k.first;
      part = next++;
    }
    song.notes.reserve(raw.size());
    for (Raw& r : raw) {
      r.note.part = part_of.at({r.note.drum ? -1 : r.note.program, r.track * 16 + r.note.channel});
      song.notes.push_back(r.note);
    }
  }
  detail::merge_by_beat(song.time_signatures);
  detail::merge_by_beat(song.key_signatures);

  std::sort(song.notes.begin(), song.notes.end(), [](const Note& x, const Note& y) {
    return std::make_tuple(x.onset_beats, x.pitch, x.channel, x.drum, x.program, x.part,
                           x.duration_beats) < std::make_tuple(y.onset_beats, y.pitch, y.channel,
                                                               y.drum, y.program, y.part,
                                                               y.duration_beats);
  });
  auto warn = [&](std::size_t count, const char* what) {
    if (count > 0) song.warnings.push_back(detail::concat(name, ": ", count, " ", what));
  };
  warn(clean.dropped_chunks, "unknown chunk(s) skipped");
  warn(clean.added_end_of_track, "track(s) without End-of-Track (added)");
  warn(unterminated, "note(s) without note-off ended at End-of-Track");
  warn(reattacks, "note(s) re-attacked while sounding (ended at the re-attack)");
  warn(orphan_offs, "note-off(s) without a sounding note ignored");
  warn(zero_length, "zero-length note(s) dropped");
  return song;
}

inline Song read_midi_bytes(const std::vector<std::uint8_t>& bytes, const std::string& name,
                            const ReadOptions& options = {}) {
  return read_midi_bytes(bytes.data(), bytes.size(), name, options);
}

/// Reads one MIDI file. Throws FormatError / IoError naming the file and the reason.
inline Song read_midi(const std::filesystem::path& path, const ReadOptions& options = {}) {
  const auto bytes = read_file_capped(path, options.limits.max_file_bytes);
  return read_midi_bytes(bytes, path.string(), options);
}

/// True for names ending in .mid or .midi (any case).
inline bool has_midi_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".mid" || ext == ".midi";
}

/// All .mid/.midi regular files under `dir`, recursively, sorted by path (byte order), so the
/// order is the same on every machine. Throws IoError when `dir` is not a readable directory.
inline std::vector<std::filesystem::path> list_midi_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError(dir.string() + ": not a directory (or cannot be read)");
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw IoError(dir.string() + ": cannot list: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw IoError(dir.string() + ": cannot list: " + ec.message());
    if (it->is_regular_file(ec) && has_midi_extension(it->path())) files.push_back(it->path());
  }
  // native(): string()'s order without a copy of both names per comparison.
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  return files;
}

/// Songs loaded from a folder, plus one warning line per skipped file.
struct Dataset {
  std::vector<Song> songs;
  std::vector<std::string> warnings;  // "path: reason" for each file that was skipped
  std::size_t skipped = 0;
};

/// Loads every MIDI file under `path` (recursive, sorted), or the single file `path`. Bad files
/// are skipped and reported in Dataset::warnings; only a missing/unreadable `path` throws.
inline Dataset load_folder(const std::filesystem::path& path, const ReadOptions& options = {}) {
  Dataset ds;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec))
    files.push_back(path);
  else
    files = list_midi_files(path);
  for (const auto& file : files) {
    try {
      ds.songs.push_back(read_midi(file, options));
    } catch (const FormatError& e) {
      ds.warnings.emplace_back(e.what());
      ++ds.skipped;
    } catch (const IoError& e) {
      ds.warnings.emplace_back(e.what());
      ++ds.skipped;
    }
  }
  return ds;
}

}  // namespace lstmidi::music
