// SPDX-License-Identifier: MIT
/// Piano-roll frames: notes on a fixed time grid as multi-hot 88-key vectors, the data of the
/// polyphonic benchmarks (Boulanger-Lewandowski et al. 2012: JSB Chorales, Nottingham...).
///
/// Grid: frame t covers beats [t F, (t+1) F), F = RollOptions::frame_beats (JSB benchmark files:
/// F = 1 beat = 480 ticks at PPQ 480; Nottingham: F = 0.5 beat = 240 ticks). Key k (MIDI pitch
/// low_pitch + k, 21..108 for the 88 piano keys) is on in frame t when a note of that pitch
///   - starts inside the frame:            t F <= onset < (t+1) F, or
///   - sounds at the frame's midpoint:     onset <= (t + 1/2) F < onset + duration.
/// The number of frames is ceil(max(Song::length_beats, end of the last note) / F), so trailing
/// rests up to the End-of-Track count (the benchmark files put it at n_frames * F). Notes outside
/// the key range are dropped and counted. Comparisons use a tolerance of 1e-9 frames, so grid
/// times computed as tick / PPQ land in the right frame.
///
/// Frames back to notes (frames_to_notes): a key on in consecutive frames becomes one held note,
/// or one note per frame with `reattack`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/note.hpp"

namespace lstmidi::music {

struct RollOptions {
  double frame_beats = 1.0;  // F: frame length in beats (quarter notes)
  int low_pitch = 21;        // MIDI pitch of key 0 (A0)
  int keys = 88;             // K

  void validate() const {
    require(std::isfinite(frame_beats) && frame_beats >= 1.0 / 64 && frame_beats <= 64,
            "piano roll: frame length must be in [1/64, 64] beats, got ", frame_beats);
    require(keys >= 1 && keys <= 128 && low_pitch >= 0 && low_pitch + keys <= 128,
            "piano roll: keys ", low_pitch, " + ", keys, " must stay within MIDI pitches 0..127");
  }
};

/// The keys on in one frame: sorted, distinct key indices 0..K-1 (pitch - low_pitch).
using Frame = std::vector<std::uint8_t>;

namespace detail {
inline constexpr double kGridTolerance = 1e-9;  // in frames
}  // namespace detail

/// Notes -> frames (see the header comment). `length_beats` extends the roll with trailing rests;
/// `dropped`, when given, receives the number of notes outside the key range.
inline std::vector<Frame> notes_to_frames(const std::vector<Note>& notes, double length_beats,
                                          const RollOptions& opt, std::size_t* dropped = nullptr) {
  opt.validate();
  const double F = opt.frame_beats, eps = detail::kGridTolerance;
  double end = std::max(0.0, length_beats);
  for (const Note& n : notes) end = std::max(end, n.onset_beats + n.duration_beats);
  const auto n_frames = static_cast<std::size_t>(std::max(0.0, std::ceil(end / F - eps)));
  std::vector<std::vector<bool>> on(n_frames,
                                    std::vector<bool>(static_cast<size_t>(opt.keys), false));
  std::size_t out = 0;
  for (const Note& n : notes) {
    const int k = n.pitch - opt.low_pitch;
    if (k < 0 || k >= opt.keys) {
      ++out;
      continue;
    }
    const double a = n.onset_beats / F, b = (n.onset_beats + n.duration_beats) / F;
    const auto start = static_cast<std::int64_t>(std::floor(a + eps));
    if (start >= 0 && static_cast<std::size_t>(start) < n_frames)
      on[static_cast<size_t>(start)][static_cast<size_t>(k)] = true;
    // midpoints (t + 1/2) in [a, b):  t >= a - 1/2  and  t < b - 1/2
    const auto lo = static_cast<std::int64_t>(std::ceil(a - 0.5 - eps));
    const auto hi = static_cast<std::int64_t>(std::ceil(b - 0.5 - eps));
    for (std::int64_t t = std::max<std::int64_t>(lo, 0);
         t < hi && static_cast<std::size_t>(t) < n_frames; ++t)
      on[static_cast<size_t>(t)][static_cast<size_t>(k)] = true;
  }
  if (dropped) *dropped = out;
  std::vector<Frame> frames(n_frames);
  for (std::size_t t = 0; t < n_frames; ++t)
    for (int k = 0; k < opt.keys; ++k)
      if (on[t][static_cast<size_t>(k)]) frames[t].push_back(static_cast<std::uint8_t>(k));
  return frames;
}

inline std::vector<Frame> song_to_frames(const Song& song, const RollOptions& opt,
                                         std::size_t* dropped = nullptr) {
  return notes_to_frames(song.notes, song.length_beats, opt, dropped);
}

/// Frames -> notes starting at `start_beats`: consecutive frames with the same key on become one
/// held note, or one note per frame when `reattack`.
inline std::vector<Note> frames_to_notes(const std::vector<Frame>& frames, const RollOptions& opt,
                                         bool reattack = false, int velocity = 80,
                                         double start_beats = 0.0) {
  opt.validate();
  const double F = opt.frame_beats;
  std::vector<Note> notes;
  std::vector<std::int64_t> since(static_cast<size_t>(opt.keys),
                                  -1);  // first frame of the held run
  auto emit = [&](int k, std::int64_t from, std::int64_t to) {
    Note n;
    n.pitch = opt.low_pitch + k;
    n.velocity = velocity;
    n.onset_beats = start_beats + static_cast<double>(from) * F;
    n.duration_beats = static_cast<double>(to - from) * F;
    notes.push_back(n);
  };
  const auto n_frames = static_cast<std::int64_t>(frames.size());
  for (std::int64_t t = 0; t <= n_frames; ++t) {
    std::vector<bool> now(static_cast<size_t>(opt.keys), false);
    if (t < n_frames)
      for (std::uint8_t k : frames[static_cast<size_t>(t)]) {
        require(k < opt.keys, "frames_to_notes: key ", int(k), " outside 0..", opt.keys - 1);
        now[k] = true;
      }
    for (int k = 0; k < opt.keys; ++k) {
      auto& s = since[static_cast<size_t>(k)];
      if (s >= 0 && (!now[static_cast<size_t>(k)] || reattack)) {
        emit(k, s, t);
        s = -1;
      }
      if (now[static_cast<size_t>(k)] && s < 0) s = t;
    }
  }
  std::sort(notes.begin(), notes.end(), [](const Note& x, const Note& y) {
    return x.onset_beats != y.onset_beats ? x.onset_beats < y.onset_beats : x.pitch < y.pitch;
  });
  return notes;
}

/// "C4.E4.G4" for a frame, "rest" for an empty one.
inline std::string frame_to_string(const Frame& f, const RollOptions& opt) {
  if (f.empty()) return "rest";
  std::string s;
  for (std::uint8_t k : f) s += (s.empty() ? "" : ".") + pitch_name(opt.low_pitch + k);
  return s;
}

/// Parses frame_to_string's format; throws std::invalid_argument naming the bad part.
inline Frame parse_frame(const std::string& text, const RollOptions& opt) {
  Frame f;
  if (text == "rest") return f;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, '.');) {
    const int p = parse_pitch_name(part);
    require(p >= 0, "piano-roll frame '", text, "': '", part, "' is not a pitch name");
    require(p >= opt.low_pitch && p < opt.low_pitch + opt.keys, "piano-roll frame '", text,
            "': ", part, " is outside the model's keys");
    f.push_back(static_cast<std::uint8_t>(p - opt.low_pitch));
  }
  std::sort(f.begin(), f.end());
  f.erase(std::unique(f.begin(), f.end()), f.end());
  return f;
}

/// Frames as one line, space-separated (the primers.txt format of a pianoroll model).
inline std::string frames_to_line(const std::vector<Frame>& frames, const RollOptions& opt) {
  std::string line;
  for (const Frame& f : frames) line += (line.empty() ? "" : " ") + frame_to_string(f, opt);
  return line;
}

inline std::vector<Frame> parse_frame_line(const std::string& line, const RollOptions& opt) {
  std::vector<Frame> frames;
  std::istringstream ss(line);
  for (std::string w; ss >> w;) frames.push_back(parse_frame(w, opt));
  return frames;
}

}  // namespace lstmidi::music
