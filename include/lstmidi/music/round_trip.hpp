// SPDX-License-Identifier: MIT
/// Round-trip measure: which notes survive encode -> decode exactly on the grid.
///
/// A note survives when a decoded note has the same pitch, onset step and length in steps as
/// the quantised original (multiset match). Melodies and block chords survive completely;
/// polyphony with voices moving independently loses notes held under later onsets (they are
/// cut at the next onset; docs/encoding.md#what-is-lost).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/events.hpp"
#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

struct RoundTripStats {
  std::size_t notes = 0;  // quantised notes in the originals
  std::size_t exact = 0;  // of those, found again with the same pitch, onset and length
  double share() const {
    return notes == 0 ? 1.0 : static_cast<double>(exact) / static_cast<double>(notes);
  }
  RoundTripStats& operator+=(const RoundTripStats& o) {
    notes += o.notes;
    exact += o.exact;
    return *this;
  }
};

/// How many of `before` are found again in `after` (multiset intersection of sorted keys).
template <typename Key>
RoundTripStats match_sorted(const std::vector<Key>& before, const std::vector<Key>& after) {
  RoundTripStats st;
  st.notes = before.size();
  std::size_t i = 0, j = 0;
  while (i < before.size() && j < after.size()) {
    if (before[i] == after[j]) {
      ++st.exact;
      ++i;
      ++j;
    } else if (before[i] < after[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return st;
}

/// Compares the quantised `notes` with encode -> decode of them.
inline RoundTripStats round_trip_stats(const std::vector<Note>& notes, const Encoder& encoder) {
  const int spb = encoder.options().steps_per_beat;
  return match_sorted(quantize(notes, spb), quantize(encoder.decode(encoder.encode(notes)), spb));
}

/// Summed over songs.
inline RoundTripStats round_trip_stats(const std::vector<Song>& songs, const Encoder& encoder) {
  RoundTripStats total;
  for (const Song& s : songs) total += round_trip_stats(s.notes, encoder);
  return total;
}

/// A note as the event encoding keeps it: onset and length on the grid, pitch, instrument,
/// velocity bin (event_grid in events.hpp). The event round trip is exact when these multisets
/// are equal.
struct EventNoteKey {
  std::int64_t onset = 0, length = 1;
  int pitch = 0;
  Instrument instrument;
  int velocity_bin = 0;
  friend bool operator<(const EventNoteKey& a, const EventNoteKey& b) {
    return std::tie(a.onset, a.length, a.pitch, a.instrument, a.velocity_bin) <
           std::tie(b.onset, b.length, b.pitch, b.instrument, b.velocity_bin);
  }
  friend bool operator==(const EventNoteKey& a, const EventNoteKey& b) {
    return !(a < b) && !(b < a);
  }
};

/// The sorted keys of `notes` on a grid of `steps_per_beat` steps (event_grid).
inline std::vector<EventNoteKey> event_note_keys(const std::vector<Note>& notes, int steps_per_beat,
                                                 InstrumentMode mode) {
  std::vector<EventNoteKey> out;
  for (const EventNote& e : event_grid(notes, steps_per_beat, mode))
    out.push_back({e.onset, e.length, e.pitch, e.instrument, e.velocity});
  std::sort(out.begin(), out.end());
  return out;
}

/// Compares the notes of `original` with `round_tripped` as the events encoding keeps them.
inline RoundTripStats event_round_trip_stats(const Song& original, const Song& round_tripped,
                                             const EncoderOptions& options) {
  return match_sorted(
      event_note_keys(original.notes, options.steps_per_beat, options.events.instruments),
      event_note_keys(round_tripped.notes, options.steps_per_beat, options.events.instruments));
}

}  // namespace lstmidi::music
