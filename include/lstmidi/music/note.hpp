// SPDX-License-Identifier: MIT
/// Note, Song and pitch names: the plain data every other music header passes around.
///
/// Times are in beats (quarter notes), so nothing after reading depends on the tempo or on the
/// file's PPQN: onset_beats = onset_tick / ppqn. Pitches are MIDI numbers 0..127 and are named
/// in scientific pitch notation with C4 = 60 (middle C), sharps only when writing ("C#4"),
/// sharps or flats accepted when reading ("Db4").
#pragma once

#include <algorithm>
#include <cctype>
#include <stdexcept>
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
///
/// The instrument that plays it is (program, part, drum): `program` is the General MIDI program
/// in force on the note's channel when it started (0..127; unused for drums), `drum` is true
/// for notes on channel 10, where the pitch names a percussion sound, and `part` tells apart
/// several parts that share one instrument (the four voices of a chorale all sung by program
/// 0): part k is the k-th (track, channel) pair of the file, in track order, that plays this
/// instrument.
struct Note {
  int pitch = 60;     // MIDI pitch 0..127
  int channel = 0;    // 0..15
  int velocity = 80;  // 1..127
  double onset_beats = 0.0;
  double duration_beats = 0.0;
  int program = 0;    // General MIDI program 0..127
  int part = 0;       // 0.. : parts of the same instrument, in track order
  bool drum = false;  // channel 10 percussion

  friend bool operator==(const Note& a, const Note& b) {
    return a.pitch == b.pitch && a.channel == b.channel && a.velocity == b.velocity &&
           a.onset_beats == b.onset_beats && a.duration_beats == b.duration_beats &&
           a.program == b.program && a.part == b.part && a.drum == b.drum;
  }
};

/// A tempo change: from `beat` on, the music runs at `bpm` quarter notes per minute.
struct TempoChange {
  double beat = 0.0;
  double bpm = 120.0;
};

/// A time signature from `beat` on: `numerator` / `denominator` (a power of two).
struct TimeSignature {
  double beat = 0.0;
  int numerator = 4;
  int denominator = 4;
  friend bool operator==(const TimeSignature& a, const TimeSignature& b) {
    return a.beat == b.beat && a.numerator == b.numerator && a.denominator == b.denominator;
  }
};

/// A key signature from `beat` on: `sharps` -7..7 (negative = flats), major or minor.
struct KeySignature {
  double beat = 0.0;
  int sharps = 0;
  bool minor = false;
  friend bool operator==(const KeySignature& a, const KeySignature& b) {
    return a.beat == b.beat && a.sharps == b.sharps && a.minor == b.minor;
  }
};

/// Everything read from one MIDI file.
struct Song {
  std::string source;                          // path (or name) the notes came from
  int ppqn = 480;                              // ticks per quarter note of the source file
  int format = 1;                              // SMF format 0 or 1
  int tracks = 1;                              // number of MTrk chunks
  std::vector<Note> notes;                     // sorted by onset, then pitch, then channel
  std::vector<TempoChange> tempos;             // in file order; empty = the SMF default 120 bpm
  std::vector<TimeSignature> time_signatures;  // by beat; empty = 4/4
  std::vector<KeySignature> key_signatures;    // by beat; empty = none given
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

/// Parses "3/4" (numerator 1..64, denominator a power of two up to 64). Throws
/// std::invalid_argument naming the text.
inline TimeSignature parse_time_signature(const std::string& text) {
  const auto slash = text.find('/');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 2 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  const std::string a = text.substr(0, slash),
                    b = slash == std::string::npos ? "" : text.substr(slash + 1);
  if (!digits(a) || !digits(b))
    throw std::invalid_argument("time signature '" + text + "' is not N/D (e.g. 3/4, 6/8)");
  TimeSignature ts;
  ts.numerator = std::stoi(a);
  ts.denominator = std::stoi(b);
  if (ts.numerator < 1 || ts.numerator > 64 || ts.denominator < 1 || ts.denominator > 64 ||
      (ts.denominator & (ts.denominator - 1)) != 0)
    throw std::invalid_argument(
        "time signature '" + text +
        "': the numerator must be 1..64 and the denominator 1, 2, 4, ..., 64");
  return ts;
}

/// Parses a key signature as stored in model metadata: sharps -7..7, "m" for minor ("-3",
/// "1m"). Throws std::invalid_argument.
inline KeySignature parse_key_signature(const std::string& text) {
  KeySignature k;
  std::string s = text;
  if (!s.empty() && s.back() == 'm') {
    k.minor = true;
    s.pop_back();
  }
  try {
    std::size_t used = 0;
    k.sharps = std::stoi(s, &used);
    if (used != s.size()) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw std::invalid_argument("key signature '" + text + "' is not a number of sharps -7..7");
  }
  if (k.sharps < -7 || k.sharps > 7)
    throw std::invalid_argument("key signature '" + text + "' is not a number of sharps -7..7");
  return k;
}

/// "E-flat major", "A minor", "F-sharp minor": the key a signature names.
inline std::string key_signature_name(const KeySignature& k) {
  static constexpr const char* kMajor[15] = {"C-flat", "G-flat", "D-flat", "A-flat",  "E-flat",
                                             "B-flat", "F",      "C",      "G",       "D",
                                             "A",      "E",      "B",      "F-sharp", "C-sharp"};
  static constexpr const char* kMinor[15] = {"A-flat",  "E-flat",  "B-flat",  "F",       "C",
                                             "G",       "D",       "A",       "E",       "B",
                                             "F-sharp", "C-sharp", "G-sharp", "D-sharp", "A-sharp"};
  const int i = std::clamp(k.sharps, -7, 7) + 7;
  return std::string(k.minor ? kMinor[i] : kMajor[i]) + (k.minor ? " minor" : " major");
}

}  // namespace lstmidi::music
