// SPDX-License-Identifier: MIT
/// Note, Song and pitch names: the plain data every other music header passes around.
///
/// Times are in beats (quarter notes), so nothing after reading depends on the tempo or on the
/// file's PPQN: onset_beats = onset_tick / ppqn. Pitches are MIDI numbers 0..127 and are named
/// in scientific pitch notation with C4 = 60 (middle C), sharps only when writing ("C#4"),
/// sharps or flats accepted when reading ("Db4").
#pragma once

#include <cctype>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi::music {

namespace detail {
using lstmidi::detail::concat;
}  // namespace detail

inline constexpr int kMinPitch = 0;
inline constexpr int kMaxPitch = 127;
inline constexpr int kDrumChannel = 9;  // "channel 10" in 1-based MIDI speak

/// One sounding note. Times in beats (quarter notes).
struct Note {
  int pitch = 60;         // MIDI pitch 0..127
  int channel = 0;        // 0..15
  int velocity = 80;      // 1..127
  double onset_beats = 0.0;
  double duration_beats = 0.0;

  friend bool operator==(const Note& a, const Note& b) {
    return a.pitch == b.pitch && a.channel == b.channel && a.velocity == b.velocity &&
           a.onset_beats == b.onset_beats && a.duration_beats == b.duration_beats;
  }
};

/// A tempo change: from `beat` on, the music runs at `bpm` quarter notes per minute.
struct TempoChange {
  double beat = 0.0;
  double bpm = 120.0;
};

/// Everything read from one MIDI file.
struct Song {
  std::string source;                 // path (or name) the notes came from
  int ppqn = 480;                     // ticks per quarter note of the source file
  int format = 1;                     // SMF format 0 or 1
  int tracks = 1;                     // number of MTrk chunks
  std::vector<Note> notes;            // sorted by onset, then pitch, then channel
  std::vector<TempoChange> tempos;    // in file order; empty = the SMF default 120 bpm
  std::vector<std::string> warnings;  // things that were repaired or dropped, one line each
  double length_beats = 0.0;          // time of the file's last event (End-of-Track), in beats
};

namespace detail {
inline constexpr const char* kSharpNames[12] = {"C",  "C#", "D",  "D#", "E",  "F",
                                                "F#", "G",  "G#", "A",  "A#", "B"};
}  // namespace detail

/// "C4" for 60, "A#-1" for 10, "G9" for 127. Throws std::invalid_argument outside 0..127.
inline std::string pitch_name(int pitch) {
  require(pitch >= kMinPitch && pitch <= kMaxPitch, "pitch_name: pitch ", pitch,
          " is outside the MIDI range 0..127");
  return std::string(detail::kSharpNames[pitch % 12]) + std::to_string(pitch / 12 - 1);
}

/// Parses a pitch name: letter A-G (either case), any number of '#' or 'b', then an octave
/// -1..9. Returns -1 when `text` is not a pitch name in range (callers turn that into an error
/// that names the whole token).
inline int parse_pitch_name(const std::string& text) {
  static constexpr int kLetterClass[7] = {9, 11, 0, 2, 4, 5, 7};  // A B C D E F G
  if (text.empty()) return -1;
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  if (letter < 'A' || letter > 'G') return -1;
  int pc = kLetterClass[letter - 'A'];
  std::size_t i = 1;
  while (i < text.size() && (text[i] == '#' || text[i] == 'b')) {
    pc += text[i] == '#' ? 1 : -1;
    ++i;
    if (i > 3) return -1;
  }
  if (i >= text.size()) return -1;
  bool negative = false;
  if (text[i] == '-') {
    negative = true;
    ++i;
  }
  if (i + 1 != text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
  const int octave = (negative ? -1 : 1) * (text[i] - '0');
  const int pitch = (octave + 1) * 12 + pc;
  if (pitch < kMinPitch || pitch > kMaxPitch || octave > 9) return -1;
  return pitch;
}

}  // namespace lstmidi::music
