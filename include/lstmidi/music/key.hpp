// SPDX-License-Identifier: MIT
/// Key estimation and normalisation (Krumhansl–Schmuckler key finding; Krumhansl & Kessler 1982
/// probe-tone profiles, Krumhansl 1990 "Cognitive Foundations of Musical Pitch").
///
///   h        = duration-weighted pitch-class histogram of the piece (12 values)
///   score(k) = Pearson correlation of h with the major (or minor) profile rotated to tonic k
///   key      = the (tonic, mode) of the 24 with the highest score
/// normalise_key() shifts a piece by s in [-5, 6] semitones so a major key lands on C and a
/// minor key on A: every piece then shares one key signature, which makes chord statistics
/// denser for a small corpus. lstmidi-generate moves its output back by the primer's shift.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

struct Key {
  int tonic = 0;  // pitch class 0..11 (0 = C)
  bool minor = false;
  double score = 0;  // correlation of the winning profile
};

/// The key of the notes (drum notes left out).
inline Key estimate_key(const std::vector<Note>& notes) {
  static constexpr std::array<double, 12> kMajor = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                    2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
  static constexpr std::array<double, 12> kMinor = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                    2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
  std::array<double, 12> h{};
  for (const Note& n : notes)
    if (!n.drum)
      h[static_cast<size_t>(((n.pitch % 12) + 12) % 12)] += std::max(n.duration_beats, 1e-3);
  auto corr = [&](const std::array<double, 12>& prof, int tonic) {
    double mh = 0, mp = 0;
    for (int k = 0; k < 12; ++k) {
      mh += h[static_cast<size_t>(k)];
      mp += prof[static_cast<size_t>(k)];
    }
    mh /= 12;
    mp /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int k = 0; k < 12; ++k) {
      const double x = h[static_cast<size_t>((k + tonic) % 12)] - mh,
                   y = prof[static_cast<size_t>(k)] - mp;
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
    }
    return sxx > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
  };
  Key best{0, false, -2};
  for (int t = 0; t < 12; ++t)
    for (bool minor : {false, true}) {
      const double s = corr(minor ? kMinor : kMajor, t);
      if (s > best.score) best = {t, minor, s};
    }
  return best;
}

/// Semitones that move `key` to C major or A minor, in [-5, 6].
inline int shift_to_c_or_a(const Key& key) {
  int s = ((key.minor ? 9 : 0) - key.tonic) % 12;
  if (s < 0) s += 12;
  return s > 6 ? s - 12 : s;
}

/// Moves every pitched note by `semitones` (|semitones| <= 12); a note that would leave the
/// MIDI range moves by an octave the other way. Drum notes (percussion keys) stay.
inline void transpose_pitches(std::vector<Note>& notes, int semitones) {
  for (Note& n : notes) {
    if (n.drum) continue;
    int p = n.pitch + semitones;
    if (p > kMaxPitch) p -= 12;
    if (p < kMinPitch) p += 12;
    n.pitch = p;
  }
}

/// Transposes the notes to C major / A minor; returns the shift applied (notes that would leave
/// the MIDI range are moved by an octave the other way). Drum notes (percussion keys) and the
/// key estimate ignore each other.
inline int normalise_key(std::vector<Note>& notes) {
  if (notes.empty()) return 0;
  const int s = shift_to_c_or_a(estimate_key(notes));
  transpose_pitches(notes, s);
  return s;
}

}  // namespace lstmidi::music
