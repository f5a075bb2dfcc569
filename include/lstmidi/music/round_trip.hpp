// SPDX-License-Identifier: MIT
/// Round-trip measure: which notes survive encode -> decode exactly on the grid.
///
/// A note survives when a decoded note has the same pitch, onset step and length in steps as
/// the quantised original (multiset match). Melodies and block chords survive completely;
/// polyphony with voices moving independently loses notes held under later onsets (they are
/// cut at the next onset; docs/encoding.md#what-is-lost).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

struct RoundTripStats {
  std::size_t notes = 0;  // quantised notes in the originals
  std::size_t exact = 0;  // of those, found again with the same pitch, onset and length
  double share() const { return notes == 0 ? 1.0 : static_cast<double>(exact) / static_cast<double>(notes); }
  RoundTripStats& operator+=(const RoundTripStats& o) {
    notes += o.notes;
    exact += o.exact;
    return *this;
  }
};

/// Compares the quantised `notes` with encode -> decode of them.
inline RoundTripStats round_trip_stats(const std::vector<Note>& notes, const Encoder& encoder) {
  const int spb = encoder.options().steps_per_beat;
  const std::vector<GridNote> before = quantize(notes, spb);
  const std::vector<GridNote> after = quantize(encoder.decode(encoder.encode(notes)), spb);
  RoundTripStats st;
  st.notes = before.size();
  // Both are sorted; count the multiset intersection.
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

/// Summed over songs.
inline RoundTripStats round_trip_stats(const std::vector<Song>& songs, const Encoder& encoder) {
  RoundTripStats total;
  for (const Song& s : songs) total += round_trip_stats(s.notes, encoder);
  return total;
}

}  // namespace lstmidi::music
