// SPDX-License-Identifier: MIT
/// Token: one musical event (a note, a chord, a rest or a tie) with its duration in grid steps,
/// or one word of the event encoding (events.hpp), and its text form in both directions.
///
/// Text grammar (docs/encoding.md#tokens):
///   token    := event | body [ ":" duration ]  duration: integer 1..kMaxTokenDuration
///   event    := "bar" | "pos:" n | "len:" n | "vel:" bin | "prog:" p ["/" part] | "drums"
///               ["/" part] | "drum:" pitch | "ts:" num "/" den | "bpm:" n
///   body     := "rest" | "tie" | notes | classes
///   notes    := pitch ("." pitch)*             pitch names, C4 = 60: "C4", "C4.E4.G4", "Db3"
///   classes  := pc ("." pc)*                   pitch classes 0..11: "4.7.11" (classic encoding)
/// Canonical form (what to_string writes): pitches ascending without repeats, sharps, and the
/// duration suffix only when the duration is not 0. Duration 0 means "no duration" and is used
/// by the classic pitch-only encoding. parse_token accepts pitches in any order and repeated
/// ones, and fills in `default_duration` when the text has no ":duration".
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/quote.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/pitch_set.hpp"

namespace lstmidi::music {

inline constexpr int kMaxTokenDuration = 1024;
inline constexpr int kMaxParts = 16;       // parts of one instrument (Token::value2)
inline constexpr int kMaxPosition = 1024;  // grid steps in one bar
inline constexpr int kVelocityBins = 32;   // velocity words: velocity / 4

struct Token {
  enum class Kind : std::uint8_t {
    Notes,         // pitches = MIDI pitches sounding from this onset (one note or a chord)
    PitchClasses,  // pitches = pitch classes 0..11 (classic chord token, no octave)
    Rest,          // silence
    Tie,           // the previous event's notes keep sounding
    // Event encoding (events.hpp); a pitch there is a Notes token of one pitch, no duration.
    Bar,       // a new bar begins
    Position,  // value = grid steps from the bar's start
    Length,    // value = grid steps added to the last note's length
    Velocity,  // value = velocity bin 0..31 (velocities 4*bin .. 4*bin+3)
    Program,   // value = General MIDI program 0..127, value2 = part
    Drums,     // the drum kit (channel 10); value2 = part
    DrumHit,   // value = percussion key 0..127 on the drum kit
    TimeSig,   // value / value2 = numerator / denominator
    Tempo,     // value = quarter notes per minute
  };
  Kind kind = Kind::Rest;
  PitchSet pitches;  // ascending, unique, 0..127 (pitch_set.hpp); held in the token
  int duration = 0;  // grid steps; 0 = none (classic encoding)
  int value = 0;     // event encoding's number(s), see Kind
  int value2 = 0;

  static Token event(Kind kind, int value = 0, int value2 = 0) {
    Token t;
    t.kind = kind;
    t.value = value;
    t.value2 = value2;
    return t;
  }

  /// A note or chord; `pitches` in any order, repeats kept once, each in 0..127.
  static Token notes(const PitchSet& pitches, int duration) {
    Token t;
    t.kind = Kind::Notes;
    t.pitches = pitches;
    t.duration = duration;
    return t;
  }
  static Token pitch_classes(const PitchSet& classes) {
    Token t = notes(classes, 0);
    t.kind = Kind::PitchClasses;
    return t;
  }
  static Token rest(int duration) {
    Token t;
    t.kind = Kind::Rest;
    t.duration = duration;
    return t;
  }
  static Token tie(int duration) {
    Token t;
    t.kind = Kind::Tie;
    t.duration = duration;
    return t;
  }

  friend bool operator==(const Token& a, const Token& b) {
    return a.kind == b.kind && a.duration == b.duration && a.pitches == b.pitches &&
           a.value == b.value && a.value2 == b.value2;
  }
  friend bool operator!=(const Token& a, const Token& b) { return !(a == b); }
};
// A piece's tokens are copied and moved as plain bytes (the corpus cache decodes into them).
static_assert(std::is_trivially_copyable_v<Token>, "a Token owns no memory");

/// Canonical text of a token: "C4:4", "C4.E4.G4:2", "rest:8", "tie:16", "C4", "4.7.11".
inline std::string to_string(const Token& t) {
  std::string s;
  const auto part = [&t] { return t.value2 > 0 ? "/" + std::to_string(t.value2) : std::string(); };
  switch (t.kind) {
    case Token::Kind::Bar:
      return "bar";
    case Token::Kind::Position:
      return "pos:" + std::to_string(t.value);
    case Token::Kind::Length:
      return "len:" + std::to_string(t.value);
    case Token::Kind::Velocity:
      return "vel:" + std::to_string(t.value);
    case Token::Kind::Program:
      return "prog:" + std::to_string(t.value) + part();
    case Token::Kind::Drums:
      return "drums" + part();
    case Token::Kind::DrumHit:
      return "drum:" + std::to_string(t.value);
    case Token::Kind::TimeSig:
      return "ts:" + std::to_string(t.value) + "/" + std::to_string(t.value2);
    case Token::Kind::Tempo:
      return "bpm:" + std::to_string(t.value);
    case Token::Kind::Rest:
      s = "rest";
      break;
    case Token::Kind::Tie:
      s = "tie";
      break;
    case Token::Kind::Notes:
      require(!t.pitches.empty(), "to_string: a Notes token needs at least one pitch");
      for (int p : t.pitches) {
        if (!s.empty()) s += '.';
        s += pitch_name(p);
      }
      break;
    case Token::Kind::PitchClasses:
      require(!t.pitches.empty(), "to_string: a PitchClasses token needs at least one class");
      for (int p : t.pitches) {
        require(p < 12, "to_string: pitch class ", p, " is outside 0..11");
        if (!s.empty()) s += '.';
        s += std::to_string(p);
      }
      break;
  }
  if (t.duration != 0) s += ":" + std::to_string(t.duration);
  return s;
}

namespace detail {
[[noreturn]] inline void bad_token(const std::string& text, const std::string& why) {
  throw FormatError(concat("bad token ", quote_input(text, 40), ": ", why,
                           " (expected e.g. C4, C4:4, C4.E4.G4:2, rest:8, tie:4 or 4.7.11)"));
}
inline bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

// The number in `text`, which must lie in lo..hi, else a FormatError naming `whole`.
inline int event_number(const std::string& whole, const std::string& text, int lo, int hi) {
  if (!all_digits(text)) bad_token(whole, "'" + text + "' is not a number");
  const int v = std::stoi(text);
  if (v < lo || v > hi) bad_token(whole, concat("'", text, "' is outside ", lo, "..", hi));
  return v;
}

// Parses the event encoding's words; nothing when `text` is not one of them.
inline std::optional<Token> parse_event_token(const std::string& text) {
  using K = Token::Kind;
  auto starts = [&text](const char* prefix) { return text.rfind(prefix, 0) == 0; };
  auto with_part = [&text](K kind, const std::string& rest, int lo, int hi) {
    const auto slash = rest.find('/');
    const int v = kind == K::Drums ? 0 : event_number(text, rest.substr(0, slash), lo, hi);
    const int part = slash == std::string::npos
                         ? 0
                         : event_number(text, rest.substr(slash + 1), 1, kMaxParts - 1);
    return Token::event(kind, v, part);
  };
  if (text == "bar") return Token::event(K::Bar);
  if (starts("pos:"))
    return Token::event(K::Position, event_number(text, text.substr(4), 0, kMaxPosition - 1));
  if (starts("len:"))
    return Token::event(K::Length, event_number(text, text.substr(4), 1, kMaxTokenDuration));
  if (starts("vel:"))
    return Token::event(K::Velocity, event_number(text, text.substr(4), 0, kVelocityBins - 1));
  if (starts("drum:")) return Token::event(K::DrumHit, event_number(text, text.substr(5), 0, 127));
  if (starts("bpm:")) return Token::event(K::Tempo, event_number(text, text.substr(4), 1, 1000));
  if (starts("prog:")) return with_part(K::Program, text.substr(5), 0, 127);
  if (text == "drums") return Token::event(K::Drums);
  if (starts("drums/")) return with_part(K::Drums, text.substr(5), 0, 0);
  if (starts("ts:")) {
    const std::string rest = text.substr(3);
    const auto slash = rest.find('/');
    if (slash == std::string::npos)
      bad_token(text, "a time signature is written num/den, e.g. ts:3/4");
    const int num = event_number(text, rest.substr(0, slash), 1, 64);
    const int den = event_number(text, rest.substr(slash + 1), 1, 64);
    if ((den & (den - 1)) != 0) bad_token(text, "the denominator must be a power of two");
    return Token::event(K::TimeSig, num, den);
  }
  return std::nullopt;
}
}  // namespace detail

/// Parses one token. Text without ":duration" gets `default_duration` (0 = none). Throws
/// lstmidi::FormatError naming the text and what is wrong.
inline Token parse_token(const std::string& text, int default_duration = 0) {
  require(default_duration >= 0 && default_duration <= kMaxTokenDuration,
          "parse_token: default_duration must be in 0..", kMaxTokenDuration);
  if (text.empty()) detail::bad_token(text, "empty");
  if (auto e = detail::parse_event_token(text)) return *e;
  const auto colon = text.find(':');
  const std::string body = text.substr(0, colon);
  int duration = default_duration;
  if (colon != std::string::npos) {
    const std::string d = text.substr(colon + 1);
    if (!detail::all_digits(d)) detail::bad_token(text, "duration '" + d + "' is not a number");
    duration = std::stoi(d);
    if (duration < 1 || duration > kMaxTokenDuration)
      detail::bad_token(text, detail::concat("duration must be 1..", kMaxTokenDuration));
  }
  if (body == "rest" || body == "tie") {
    if (duration == 0) detail::bad_token(text, "a " + body + " needs a duration");
    return body == "rest" ? Token::rest(duration) : Token::tie(duration);
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = body.find('.', start);
    parts.push_back(body.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() > 128) detail::bad_token(text, "more than 128 pitches");
  const bool classes = detail::all_digits(parts.front());
  std::vector<int> values;
  for (const std::string& part : parts) {
    if (part.empty()) detail::bad_token(text, "empty pitch between dots");
    if (classes) {
      if (!detail::all_digits(part)) detail::bad_token(text, "mixes pitch classes and note names");
      const int pc = std::stoi(part);
      if (pc > 11) detail::bad_token(text, "pitch class " + part + " is outside 0..11");
      values.push_back(pc);
    } else {
      const int pitch = parse_pitch_name(part);
      if (pitch < 0) detail::bad_token(text, "'" + part + "' is not a note name in C-1..G9");
      values.push_back(pitch);
    }
  }
  if (classes) {
    if (colon != std::string::npos) detail::bad_token(text, "pitch-class chords carry no duration");
    return Token::pitch_classes(std::move(values));
  }
  return Token::notes(std::move(values), duration);
}

/// Parses whitespace-separated tokens, e.g. the --primer-notes "C4 E4 G4 C4.E4.G4:8".
inline std::vector<Token> parse_tokens(const std::string& text, int default_duration = 0) {
  std::istringstream in(text);
  std::vector<Token> out;
  std::string word;
  while (in >> word) out.push_back(parse_token(word, default_duration));
  return out;
}

/// The token moved by `semitones`, or nothing when a pitch would leave 0..127. Pitch classes
/// wrap around mod 12; rests, ties and the event words other than pitches (drum hits among
/// them) are unchanged.
inline std::optional<Token> transpose(const Token& t, int semitones) {
  if (!(t.kind == Token::Kind::Notes || t.kind == Token::Kind::PitchClasses) || semitones == 0)
    return t;
  PitchSet moved;
  for (int p : t.pitches) {
    if (t.kind == Token::Kind::PitchClasses) {
      moved.insert(((p + semitones) % 12 + 12) % 12);
    } else {
      const int q = p + semitones;
      if (q < kMinPitch || q > kMaxPitch) return std::nullopt;
      moved.insert(q);
    }
  }
  return t.kind == Token::Kind::PitchClasses ? Token::pitch_classes(moved)
                                             : Token::notes(moved, t.duration);
}

}  // namespace lstmidi::music
