// SPDX-License-Identifier: MIT
/// The pieces the event encoding (music/events.hpp) is made of: what it keeps of an instrument
/// (InstrumentMode, Instrument), the velocity bins, the tempo ladder, bar lengths, the set of
/// length words, and the notes of a piece on the grid (event_grid), ordered as they are written.
///
/// With S = steps_per_beat, every note is quantised as in encoder.hpp's quantize():
///   onset = round(onset_beats * S),  length = max(1, round(end_beats * S) - onset).
/// A bar of num/den lasts bar_steps(num, den) = clamp(round(num * 4 * S / den), 1,
/// max_bar_beats * S) grid steps. Velocities fall in bins of 4 (velocity / 4, decoded to the
/// bin's centre 4 b + 2); tempos in rungs a twelfth of an octave apart (about 6%).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

/// What the instrument words keep of a note's instrument.
enum class InstrumentMode {
  parts,     // program and part: two tracks of one program stay two parts (the default)
  programs,  // the exact General MIDI program; parts of one program merge
  families,  // the 16 General MIDI families (program / 8; written as its first program)
};

inline const char* to_string(InstrumentMode m) {
  return m == InstrumentMode::parts      ? "parts"
         : m == InstrumentMode::programs ? "programs"
                                         : "families";
}

/// Throws std::invalid_argument for names other than parts, programs, families.
inline InstrumentMode parse_instrument_mode(const std::string& s) {
  if (s == "parts") return InstrumentMode::parts;
  if (s == "programs") return InstrumentMode::programs;
  if (s == "families") return InstrumentMode::families;
  throw std::invalid_argument("instrument mode '" + s +
                              "' is not one of parts, programs, families");
}

struct EventOptions {
  InstrumentMode instruments = InstrumentMode::parts;
  bool time_signatures = true;  // ts words; without them every bar is 4/4 (a grid only)
  bool tempo = false;           // bpm words at the onsets where the tempo changes
  int max_bar_beats = 16;       // longest bar, in beats
};

/// An instrument as the event words name it.
struct Instrument {
  bool drum = false;
  int program = 0;  // 0 for drums
  int part = 0;
  friend bool operator<(const Instrument& a, const Instrument& b) {
    return std::make_tuple(a.drum, a.program, a.part) < std::make_tuple(b.drum, b.program, b.part);
  }
  friend bool operator==(const Instrument& a, const Instrument& b) {
    return a.drum == b.drum && a.program == b.program && a.part == b.part;
  }
  friend bool operator!=(const Instrument& a, const Instrument& b) { return !(a == b); }
};

/// The instrument of `n` as `mode` keeps it.
inline Instrument instrument_of(const Note& n, InstrumentMode mode) {
  Instrument i;
  i.drum = n.drum;
  i.program = n.drum ? 0 : (mode == InstrumentMode::families ? n.program / 8 * 8 : n.program);
  i.part = mode == InstrumentMode::parts ? std::min(n.part, kMaxParts - 1) : 0;
  return i;
}

inline int velocity_bin(int velocity) {
  return std::clamp(velocity, 0, 127) / 4;
}
inline int velocity_of_bin(int bin) {
  return std::clamp(4 * bin + 2, 1, 127);
}

/// The tempo ladder: 120 * 2^(k/12) bpm rounded to an integer, the nearest rung to `bpm`.
inline int tempo_rung(double bpm) {
  const double k = std::round(12.0 * std::log2(std::clamp(bpm, 10.0, 1000.0) / 120.0));
  return static_cast<int>(std::lround(120.0 * std::exp2(k / 12.0)));
}

/// Grid steps of one bar of num/den (see the top of this header).
inline std::int64_t bar_steps(int num, int den, int steps_per_beat, int max_bar_beats) {
  const double steps = std::round(4.0 * num * steps_per_beat / std::max(1, den));
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(steps), 1,
                                  std::int64_t{max_bar_beats} * steps_per_beat);
}

/// The lengths a len word may carry, largest first.
inline std::vector<int> length_words(int steps_per_beat) {
  const int s = steps_per_beat;
  std::vector<int> out = {16 * s, 12 * s, 8 * s, 6 * s, 4 * s, 3 * s};
  for (int d = 2 * s; d >= 1; --d) out.push_back(d);
  out.erase(std::remove_if(out.begin(), out.end(), [](int d) { return d > kMaxTokenDuration; }),
            out.end());
  return out;
}

/// A note on the grid as the event words hold it (velocity as its bin).
struct EventNote {
  std::int64_t onset = 0, length = 1;
  Instrument instrument;
  int pitch = 60;
  int velocity = 80;  // bin 0..31
};

/// The notes on a grid of `steps_per_beat` steps, in the order the words list them (onset,
/// instrument, pitch). With InstrumentMode::parts, a part is one (track, channel) of the file,
/// where a pitch sounds once at a time: when snapping to the grid makes a note of a part run
/// into the next note of its pitch, the note ends there, and of two notes of a part and pitch
/// that snap to one onset the longer is kept. (Merged parts, in the other modes, may hold
/// unisons; the writer gives them tracks of their own.)
inline std::vector<EventNote> event_grid(const std::vector<Note>& notes, int steps_per_beat,
                                         InstrumentMode mode) {
  const double s = steps_per_beat;
  std::vector<EventNote> out;
  out.reserve(notes.size());
  for (const Note& n : notes) {
    if (!(std::isfinite(n.onset_beats) && std::isfinite(n.duration_beats))) continue;
    if (n.pitch < kMinPitch || n.pitch > kMaxPitch || n.onset_beats < 0) continue;
    EventNote e;
    e.onset = std::llround(n.onset_beats * s);
    const std::int64_t off = std::llround((n.onset_beats + n.duration_beats) * s);
    e.length = std::max<std::int64_t>(1, off - e.onset);
    e.instrument = instrument_of(n, mode);
    e.pitch = n.pitch;
    e.velocity = velocity_bin(n.velocity);
    out.push_back(e);
  }
  if (mode == InstrumentMode::parts) {
    std::sort(out.begin(), out.end(), [](const EventNote& a, const EventNote& b) {
      return std::tie(a.instrument, a.pitch, a.onset, b.length) <
             std::tie(b.instrument, b.pitch, b.onset, a.length);
    });
    std::vector<EventNote> kept;
    for (const EventNote& e : out) {
      if (!kept.empty() && kept.back().instrument == e.instrument && kept.back().pitch == e.pitch) {
        if (kept.back().onset == e.onset) continue;  // the longer one came first
        kept.back().length = std::min(kept.back().length, e.onset - kept.back().onset);
      }
      kept.push_back(e);
    }
    out = std::move(kept);
  }
  std::sort(out.begin(), out.end(), [](const EventNote& a, const EventNote& b) {
    return std::tie(a.onset, a.instrument, a.pitch, a.length, a.velocity) <
           std::tie(b.onset, b.instrument, b.pitch, b.length, b.velocity);
  });
  return out;
}

}  // namespace lstmidi::music
