// SPDX-License-Identifier: MIT
/// Music statistics of one whole piece: the features music/statistics.hpp compares between sets
/// of pieces (features in the spirit of MusPy's metrics). docs/statistics.md explains what each
/// one measures.
///
/// Every feature is computed on the notes snapped to the grid of S = steps_per_beat steps per
/// beat exactly as quantize() in encoder.hpp does: a note is (pitch p, onset step o, length l)
/// with o = round(onset_beats * S), l = max(1, round(end_beats * S) - o); notes with a pitch
/// outside 0..127 or a non-finite time are left out. It sounds on the steps [o, o + l).
/// N = all such notes; P = the pitched ones, i.e. N without drum notes (drum == true or
/// channel == kDrumChannel). Pitch features read P only, the others read N.
///
///   pitch_range         = max p - min p over P
///   pitch_classes_used  = |{p mod 12 : p in P}|
///   pitch_class_entropy = -sum_k h_k log2 h_k, h_k = share of P's notes with pitch class k
///                         (0 .. log2 12 = 3.585 bits)
///   in_scale_rate       = max over the 24 keys (12 tonics x major / natural minor) of the share
///                         of P's notes whose pitch class is in that key's scale. A natural minor
///                         scale has the pitch classes of its relative major, so this is the
///                         max over the 12 major scales.
///   polyphony           = mean over the distinct onsets t of N of the number of notes
///                         sounding at t, |{n in N : o_n <= t < o_n + l_n}| (notes struck at t
///                         plus notes struck earlier and still held)
///   empty_beat_rate     = share of the beats b = 0 .. ceil(E / S) - 1, E = max(o + l) over N,
///                         whose steps [b S, (b + 1) S) no note of N sounds on
///   mean_duration       = mean of l / S over N, in beats
///   mean_ioi            = mean of (t_{i+1} - t_i) / S over consecutive distinct onsets t_i of N,
///                         in beats (0 with one onset)
///   top_voice_interval  = mean over consecutive distinct onsets t_i of P of |top(t_{i+1}) -
///                         top(t_i)|, top(t) = highest pitch of P sounding at t (held notes
///                         count), in semitones (0 with one onset)
///   velocity_spread     = standard deviation (divided by n) of the velocities of N
///   repetition          = share of the non-empty bars whose content equals that of an earlier
///                         bar. A bar is 4 beats (4 S steps, whatever the time signature), bar
///                         k = steps [4 S k, 4 S (k + 1)); its content is the sorted list of
///                         (o - 4 S k, p, drum, l) of the notes of N whose onset o lies in it
///                         (so a bar repeated in another place, same rhythm, same pitches and
///                         same lengths, counts; a transposed one does not).
/// A piece without notes in N has every feature 0; a piece without notes in P has every pitch
/// feature 0. compare_sets() leaves such note-less pieces out.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

inline constexpr std::size_t kNumPieceFeatures = 11;

/// The feature names, in the order of PieceFeatures' fields and of PieceFeatures::values().
inline constexpr std::array<const char*, kNumPieceFeatures> kPieceFeatureNames = {
    "pitch_range",         "pitch_classes_used", "polyphony",     "in_scale_rate",
    "pitch_class_entropy", "empty_beat_rate",    "mean_duration", "mean_ioi",
    "top_voice_interval",  "velocity_spread",    "repetition"};

/// One piece's statistics (definitions at the top of this file).
struct PieceFeatures {
  double pitch_range = 0;          // semitones
  double pitch_classes_used = 0;   // 0..12
  double polyphony = 0;            // notes sounding per onset, >= 1 when there are notes
  double in_scale_rate = 0;        // 0..1 (>= 7/12 when there are pitched notes)
  double pitch_class_entropy = 0;  // bits, 0..log2 12
  double empty_beat_rate = 0;      // 0..1
  double mean_duration = 0;        // beats
  double mean_ioi = 0;             // beats
  double top_voice_interval = 0;   // semitones
  double velocity_spread = 0;      // velocity units
  double repetition = 0;           // 0..1

  /// The fields in the order of kPieceFeatureNames.
  std::array<double, kNumPieceFeatures> values() const {
    return {pitch_range,         pitch_classes_used, polyphony,     in_scale_rate,
            pitch_class_entropy, empty_beat_rate,    mean_duration, mean_ioi,
            top_voice_interval,  velocity_spread,    repetition};
  }
};

namespace detail {

/// A note on the grid, with its drum flag (quantize() drops it).
struct StatNote {
  int pitch = 60;
  bool drum = false;
  std::int64_t onset = 0;
  std::int64_t length = 1;  // >= 1
  std::int64_t end() const { return onset + length; }
};

inline bool is_drum(const Note& n) {
  return n.drum || n.channel == kDrumChannel;
}

/// Same filter as quantize(): a finite onset and duration, a pitch in 0..127.
inline bool usable_note(const Note& n) {
  return std::isfinite(n.onset_beats) && std::isfinite(n.duration_beats) && n.pitch >= kMinPitch &&
         n.pitch <= kMaxPitch;
}

/// floor(a / b) for b > 0, also for negative a.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// N on the grid, sorted by onset then pitch (pitched notes and drum notes quantised apart).
inline std::vector<StatNote> grid_notes(const std::vector<Note>& notes, int steps_per_beat) {
  std::vector<Note> pitched, drums;
  for (const Note& n : notes) (is_drum(n) ? drums : pitched).push_back(n);
  std::vector<StatNote> out;
  for (const GridNote& g : quantize(pitched, steps_per_beat))
    out.push_back({g.pitch, false, g.onset, g.length});
  for (const GridNote& g : quantize(drums, steps_per_beat))
    out.push_back({g.pitch, true, g.onset, g.length});
  std::stable_sort(out.begin(), out.end(), [](const StatNote& a, const StatNote& b) {
    return std::tie(a.onset, a.pitch, a.drum) < std::tie(b.onset, b.pitch, b.drum);
  });
  return out;
}

/// For each distinct onset of `ns` (sorted by onset), the notes sounding there: calls
/// f(onset, count, highest sounding pitch). Sweep with a multiset of the held pitches.
template <typename F>
void for_each_onset(const std::vector<StatNote>& ns, F&& f) {
  using Ending = std::pair<std::int64_t, int>;  // (end step, pitch)
  std::priority_queue<Ending, std::vector<Ending>, std::greater<Ending>> endings;
  std::multiset<int> held;
  for (std::size_t i = 0; i < ns.size();) {
    const std::int64_t t = ns[i].onset;
    // Notes that stopped at or before t no longer sound (their last step is end - 1).
    while (!endings.empty() && endings.top().first <= t) {
      held.erase(held.find(endings.top().second));
      endings.pop();
    }
    for (; i < ns.size() && ns[i].onset == t; ++i) {
      held.insert(ns[i].pitch);
      endings.push({ns[i].end(), ns[i].pitch});
    }
    f(t, held.size(), *held.rbegin());
  }
}

}  // namespace detail

/// True when `notes` holds at least one note the features can use (see the filter above).
inline bool has_usable_notes(const std::vector<Note>& notes) {
  return std::any_of(notes.begin(), notes.end(), detail::usable_note);
}

/// The statistics of one piece on a grid of `steps_per_beat` steps per beat (1..960).
inline PieceFeatures piece_features(const std::vector<Note>& notes, int steps_per_beat = 4) {
  require(steps_per_beat >= 1 && steps_per_beat <= 960,
          "piece_features: steps_per_beat must be 1..960, got ", steps_per_beat);
  PieceFeatures f;
  const std::vector<detail::StatNote> all = detail::grid_notes(notes, steps_per_beat);
  if (all.empty()) return f;
  const double S = steps_per_beat;

  // Pitch features, on P.
  std::vector<detail::StatNote> pitched;
  for (const auto& n : all)
    if (!n.drum) pitched.push_back(n);
  if (!pitched.empty()) {
    std::array<double, 12> pc{};
    int lo = kMaxPitch, hi = kMinPitch;
    for (const auto& n : pitched) {
      pc[static_cast<std::size_t>(n.pitch % 12)] += 1;
      lo = std::min(lo, n.pitch);
      hi = std::max(hi, n.pitch);
    }
    f.pitch_range = hi - lo;
    const double np = static_cast<double>(pitched.size());
    for (double c : pc) {
      if (c == 0) continue;
      f.pitch_classes_used += 1;
      f.pitch_class_entropy -= (c / np) * std::log2(c / np);
    }
    static constexpr std::array<int, 7> kMajor = {0, 2, 4, 5, 7, 9, 11};
    double best = 0;  // the minor keys' scales are the major ones (relative keys)
    for (int tonic = 0; tonic < 12; ++tonic) {
      double in = 0;
      for (int step : kMajor) in += pc[static_cast<std::size_t>((tonic + step) % 12)];
      best = std::max(best, in);
    }
    f.in_scale_rate = best / np;
    // Top voice: the highest pitch sounding at each onset of P.
    std::vector<int> top;
    detail::for_each_onset(pitched,
                           [&](std::int64_t, std::size_t, int highest) { top.push_back(highest); });
    double steps = 0;
    for (std::size_t i = 1; i < top.size(); ++i) steps += std::abs(top[i] - top[i - 1]);
    if (top.size() > 1) f.top_voice_interval = steps / static_cast<double>(top.size() - 1);
  }

  // Rhythm features, on N.
  const double n = static_cast<double>(all.size());
  std::vector<std::int64_t> onsets;
  double sounding = 0, length = 0;
  detail::for_each_onset(all, [&](std::int64_t t, std::size_t count, int) {
    onsets.push_back(t);
    sounding += static_cast<double>(count);
  });
  f.polyphony = sounding / static_cast<double>(onsets.size());
  for (const auto& x : all) length += static_cast<double>(x.length);
  f.mean_duration = length / n / S;
  if (onsets.size() > 1)
    f.mean_ioi = static_cast<double>(onsets.back() - onsets.front()) /
                 static_cast<double>(onsets.size() - 1) / S;

  // Empty beats: the union of the beats each note touches, against all beats from 0 (or the
  // first onset, if it lies before 0) to the last end.
  const auto spb = static_cast<std::int64_t>(steps_per_beat);
  std::vector<std::pair<std::int64_t, std::int64_t>> beats;  // [first, last] beat, inclusive
  std::int64_t end = all.front().end();
  for (const auto& x : all) {
    beats.emplace_back(detail::floor_div(x.onset, spb), detail::floor_div(x.end() - 1, spb));
    end = std::max(end, x.end());
  }
  std::sort(beats.begin(), beats.end());
  const std::int64_t first_beat = std::min<std::int64_t>(0, beats.front().first);
  const std::int64_t end_beat = -detail::floor_div(-end, spb);  // ceil(end / S)
  std::int64_t covered = 0, next = first_beat;  // beats before `next` are already counted
  for (const auto& [b0, b1] : beats) {
    const std::int64_t from = std::max(b0, next);
    if (b1 >= from) {
      covered += b1 - from + 1;
      next = b1 + 1;
    }
  }
  const std::int64_t total_beats = end_beat - first_beat;  // >= 1: every note has length >= 1
  f.empty_beat_rate = static_cast<double>(total_beats - covered) / static_cast<double>(total_beats);

  // Velocities of the same notes as N (quantisation does not touch them).
  double sum = 0, sum2 = 0, count = 0;
  for (const Note& x : notes) {
    if (!detail::usable_note(x)) continue;
    sum += x.velocity;
    sum2 += static_cast<double>(x.velocity) * x.velocity;
    count += 1;
  }
  const double mean_velocity = sum / count;
  f.velocity_spread = std::sqrt(std::max(0.0, sum2 / count - mean_velocity * mean_velocity));

  // Repetition: bars of 4 beats, content shifted to the bar's start.
  using Content = std::vector<std::tuple<std::int64_t, int, bool, std::int64_t>>;
  std::map<std::int64_t, Content> bars;  // bar index -> content, in onset order
  const std::int64_t bar_steps = 4 * spb;
  for (const auto& x : all) {
    const std::int64_t bar = detail::floor_div(x.onset, bar_steps);
    bars[bar].emplace_back(x.onset - bar * bar_steps, x.pitch, x.drum, x.length);
  }
  std::set<Content> seen;
  double repeated = 0;
  for (auto& [bar, content] : bars) {
    std::sort(content.begin(), content.end());
    if (!seen.insert(content).second) repeated += 1;
  }
  f.repetition = repeated / static_cast<double>(bars.size());  // bars holds only non-empty bars
  return f;
}

}  // namespace lstmidi::music
