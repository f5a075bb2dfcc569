// SPDX-License-Identifier: MIT
/// Encoder: notes <-> tokens on a quantisation grid (docs/encoding.md).
///
/// Quantisation: with S = steps_per_beat (4 = 16th notes), a note becomes
///   onset_step = round(onset_beats * S),  length = max(1, round(end_beats * S) - onset_step).
/// Notes with the same onset_step form one chord.
///
/// Durations encoding (default), one token per musical event, its duration = the time to the
/// next event. For each onset group i (pitches P, longest length L, next onset gap g):
///   g'    = min(g, max_gap)              (the last group uses g = L)
///   sound = min(L, g')                   notes are cut at the next onset
///   emit  P:min(sound, D), then tie:D ... for the rest of `sound`, then rest:D ... for g' - sound
/// with D = max_duration (every token's duration is 1..D). Silence before the first onset is
/// kept as rests (capped at max_gap too). Decoding plays each Notes token for its duration,
/// extends those notes by each following tie, and moves time on by every token's duration.
/// So a melody or block chords (all notes of a chord end together, at or before the next onset)
/// survive encode -> decode exactly; notes held under later onsets are cut (see
/// round_trip.hpp for the measured share on a corpus).
///
/// Events encoding (events.hpp, the default of the programs): bar / position / instrument /
/// velocity / pitch / length words, every note of every instrument kept on the grid.
///
/// PitchOnly encoding (the classic Keras tutorial): one token per onset, no durations and no
/// rests: a single pitch is its note name ("C4"), a chord is its sorted pitch classes
/// ("4.7.11"). Decoding places tokens `pitch_only_step` steps apart, chords in octave 4.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/events.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

enum class Encoding {
  Durations,  // "C4.E4.G4:4", "rest:2", "tie:16"
  PitchOnly,  // "C4", "0.4.7" (classic)
  Events,     // "bar", "pos:4", "prog:73", "vel:20", "C4", "len:2" (events.hpp)
};

inline const char* to_string(Encoding e) {
  return e == Encoding::Events ? "events" : e == Encoding::PitchOnly ? "pitch-only" : "durations";
}

struct EncoderOptions {
  Encoding encoding = Encoding::Durations;
  int steps_per_beat = 4;    // quantisation grid: 4 = 16th notes, 2 = 8th notes, 12 = triplets too
  int max_duration = 16;     // longest duration of one token, in steps; longer = tie/rest tokens
  int max_gap = 64;          // longest silence or held note between two onsets, in steps
  int default_duration = 4;  // duration given to parsed text without ":n" (Durations encoding)
  int pitch_only_step = 2;   // PitchOnly decoding: steps from one token to the next
  EventOptions events{};     // Events encoding: instruments, time signature and tempo words
};

/// How decoded notes are played.
struct DecodeOptions {
  int velocity = 80;
  int channel = 0;
};

/// A note on the grid: onset and length in steps.
struct GridNote {
  int pitch = 60;
  std::int64_t onset = 0;
  std::int64_t length = 1;
  friend bool operator<(const GridNote& a, const GridNote& b) {
    if (a.onset != b.onset) return a.onset < b.onset;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    return a.length < b.length;
  }
  friend bool operator==(const GridNote& a, const GridNote& b) {
    return a.pitch == b.pitch && a.onset == b.onset && a.length == b.length;
  }
};

/// Notes snapped to a grid of `steps_per_beat` steps per beat, sorted by onset then pitch.
inline std::vector<GridNote> quantize(const std::vector<Note>& notes, int steps_per_beat) {
  require(steps_per_beat >= 1 && steps_per_beat <= 960,
          "quantize: steps_per_beat must be 1..960, got ", steps_per_beat);
  std::vector<GridNote> out;
  out.reserve(notes.size());
  const double s = steps_per_beat;
  for (const Note& n : notes) {
    if (!(std::isfinite(n.onset_beats) && std::isfinite(n.duration_beats))) continue;
    if (n.pitch < kMinPitch || n.pitch > kMaxPitch) continue;
    const auto on = static_cast<std::int64_t>(std::llround(n.onset_beats * s));
    const auto off =
        static_cast<std::int64_t>(std::llround((n.onset_beats + n.duration_beats) * s));
    out.push_back({n.pitch, on, std::max<std::int64_t>(1, off - on)});
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Encoder {
 public:
  explicit Encoder(const EncoderOptions& options = {}) : opt_(options) {
    require(opt_.steps_per_beat >= 1 && opt_.steps_per_beat <= 960,
            "EncoderOptions::steps_per_beat must be 1..960, got ", opt_.steps_per_beat);
    require(opt_.max_duration >= 1 && opt_.max_duration <= kMaxTokenDuration,
            "EncoderOptions::max_duration must be 1..", kMaxTokenDuration, ", got ",
            opt_.max_duration);
    require(opt_.max_gap >= 1 && opt_.max_gap <= 1000000,
            "EncoderOptions::max_gap must be >= 1, got ", opt_.max_gap);
    require(opt_.default_duration >= 1 && opt_.default_duration <= kMaxTokenDuration,
            "EncoderOptions::default_duration must be 1..", kMaxTokenDuration);
    require(opt_.pitch_only_step >= 1 && opt_.pitch_only_step <= kMaxTokenDuration,
            "EncoderOptions::pitch_only_step must be 1..", kMaxTokenDuration);
  }

  const EncoderOptions& options() const { return opt_; }

  /// Tokens for one piece (notes in any order).
  std::vector<Token> encode(const std::vector<Note>& notes) const {
    if (opt_.encoding == Encoding::Events) {
      Song song;
      song.notes = notes;
      return events().encode(song);
    }
    const std::vector<GridNote> grid = quantize(notes, opt_.steps_per_beat);
    std::vector<Token> out;
    if (grid.empty()) return out;
    // Onset groups: [begin, end) ranges of `grid` sharing one onset.
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < grid.size(); ++i)
      if (i == 0 || grid[i].onset != grid[i - 1].onset) starts.push_back(i);
    starts.push_back(grid.size());
    const std::size_t groups = starts.size() - 1;

    if (opt_.encoding == Encoding::PitchOnly) {
      for (std::size_t g = 0; g < groups; ++g) {
        std::vector<int> pitches;
        for (std::size_t i = starts[g]; i < starts[g + 1]; ++i) pitches.push_back(grid[i].pitch);
        Token t = Token::notes(pitches, 0);
        if (t.pitches.size() > 1) {
          PitchSet classes;
          for (int p : t.pitches) classes.insert(p % 12);
          t = Token::pitch_classes(classes);
        }
        out.push_back(std::move(t));
      }
      return out;
    }

    const std::int64_t max_gap = opt_.max_gap;
    emit_split(out, Token::rest(0), std::min(grid.front().onset, max_gap));
    for (std::size_t g = 0; g < groups; ++g) {
      std::vector<int> pitches;
      std::int64_t longest = 1;
      for (std::size_t i = starts[g]; i < starts[g + 1]; ++i) {
        pitches.push_back(grid[i].pitch);
        longest = std::max(longest, grid[i].length);
      }
      const std::int64_t onset = grid[starts[g]].onset;
      const std::int64_t gap = g + 1 < groups ? grid[starts[g + 1]].onset - onset : longest;
      const std::int64_t span = std::min(gap, max_gap);
      const std::int64_t sound = std::min(longest, span);
      emit_split(out, Token::notes(std::move(pitches), 0), sound);
      emit_split(out, Token::rest(0), span - sound);
    }
    return out;
  }

  /// Tokens for one piece; the events encoding also writes its time signatures (and tempo
  /// changes, with EventOptions::tempo).
  std::vector<Token> encode(const Song& song) const {
    if (opt_.encoding == Encoding::Events) return events().encode(song);
    return encode(song.notes);
  }

  /// One token sequence per song, in the same order.
  std::vector<std::vector<Token>> encode(const std::vector<Song>& songs) const {
    std::vector<std::vector<Token>> out;
    out.reserve(songs.size());
    for (const Song& s : songs) out.push_back(encode(s));
    return out;
  }

  /// The piece the tokens describe: notes, plus time signatures and tempo changes where the
  /// encoding holds them (events).
  Song decode_song(const std::vector<Token>& tokens, const DecodeOptions& play = {}) const {
    if (opt_.encoding == Encoding::Events) return events().decode(tokens);
    Song song;
    song.source = "decoded tokens";
    song.notes = decode(tokens, play);
    for (const Note& n : song.notes)
      song.length_beats = std::max(song.length_beats, n.onset_beats + n.duration_beats);
    return song;
  }

  EventEncoder events() const { return EventEncoder(opt_.steps_per_beat, opt_.events); }

  /// Notes played by `tokens` (times in beats). Tokens without a duration (PitchOnly) last
  /// pitch_only_step steps; pitch-class chords sound in octave 4 (C4..B4).
  std::vector<Note> decode(const std::vector<Token>& tokens, const DecodeOptions& play = {}) const {
    if (opt_.encoding == Encoding::Events) return events().decode(tokens).notes;
    require(play.velocity >= 1 && play.velocity <= 127,
            "DecodeOptions::velocity must be 1..127, got ", play.velocity);
    require(play.channel >= 0 && play.channel <= 15, "DecodeOptions::channel must be 0..15, got ",
            play.channel);
    std::vector<Note> out;
    std::vector<std::size_t> sounding;  // indices in `out` that a tie extends
    std::int64_t t = 0;
    const double s = opt_.steps_per_beat;
    for (const Token& tok : tokens) {
      const std::int64_t d = tok.duration > 0 ? tok.duration : opt_.pitch_only_step;
      switch (tok.kind) {
        case Token::Kind::Rest:
          sounding.clear();
          break;
        case Token::Kind::Tie:
          for (std::size_t i : sounding) out[i].duration_beats += static_cast<double>(d) / s;
          break;
        case Token::Kind::Notes:
        case Token::Kind::PitchClasses:
          sounding.clear();
          for (int p : tok.pitches) {
            Note n;
            n.pitch = tok.kind == Token::Kind::PitchClasses ? 60 + p : p;
            n.channel = play.channel;
            n.velocity = play.velocity;
            n.onset_beats = static_cast<double>(t) / s;
            n.duration_beats = static_cast<double>(d) / s;
            sounding.push_back(out.size());
            out.push_back(n);
          }
          break;
        default:
          continue;  // event-encoding words take no time here
      }
      t += d;
    }
    return out;
  }

  /// The token as this encoding writes it, or nothing when it has no counterpart:
  ///   Durations: a missing duration becomes default_duration; a pitch-class chord becomes
  ///   notes in octave 4. Events: the event words and single pitches (their length is its
  ///   own len word). PitchOnly: durations are removed; chords of notes become pitch
  ///   classes; rests and ties have no counterpart.
  std::optional<Token> normalize(const Token& t) const {
    if (opt_.encoding == Encoding::Events) {
      if (t.kind >= Token::Kind::Bar) return t;
      if (t.kind == Token::Kind::Notes && t.pitches.size() == 1) return Token::notes(t.pitches, 0);
      return std::nullopt;
    }
    if (opt_.encoding == Encoding::PitchOnly) {
      if (t.kind == Token::Kind::Rest || t.kind == Token::Kind::Tie) return std::nullopt;
      if (t.kind == Token::Kind::PitchClasses) return t;
      if (t.pitches.size() == 1) return Token::notes(t.pitches, 0);
      std::vector<int> pcs;
      for (int p : t.pitches) pcs.push_back(p % 12);
      return Token::pitch_classes(pcs);
    }
    if (t.kind == Token::Kind::PitchClasses) {
      std::vector<int> pitches;
      for (int pc : t.pitches) pitches.push_back(60 + pc);
      return Token::notes(pitches, opt_.default_duration);
    }
    Token out = t;
    if (out.duration == 0) out.duration = opt_.default_duration;
    return out;
  }

  /// Parses text such as "C4 E4 G4 C4.E4.G4:8" into tokens of this encoding (normalize() on
  /// each; tokens without a counterpart are dropped, or refused by the events encoding).
  /// Throws FormatError on bad text.
  std::vector<Token> parse(const std::string& text) const {
    std::vector<Token> out;
    for (const Token& t :
         parse_tokens(text, opt_.encoding == Encoding::Events ? 0 : opt_.default_duration)) {
      if (auto n = normalize(t)) {
        out.push_back(std::move(*n));
      } else if (opt_.encoding == Encoding::Events) {
        throw FormatError(
            "'" + to_string(t) +
            "' is not a word of the events encoding: write notes as pitch words "
            "with their lengths, e.g. \"bar pos:0 C4 len:4 E4 len:4 pos:4 G4 len:4\"");
      }
    }
    return out;
  }

 private:
  // Appends `proto` for `steps` steps: one token of up to max_duration, then ties (for notes)
  // or more rests, each of up to max_duration.
  void emit_split(std::vector<Token>& out, Token proto, std::int64_t steps) const {
    const std::int64_t d = opt_.max_duration;
    bool first = true;
    while (steps > 0) {
      const int now = static_cast<int>(std::min(steps, d));
      if (first || proto.kind == Token::Kind::Rest) {
        proto.duration = now;
        out.push_back(proto);
      } else {
        out.push_back(Token::tie(now));
      }
      first = false;
      steps -= now;
    }
  }

  EncoderOptions opt_;
};

/// Free-function form of Encoder::decode, for callers that only hold options.
inline std::vector<Note> tokens_to_notes(const std::vector<Token>& tokens,
                                         const EncoderOptions& options = {},
                                         const DecodeOptions& play = {}) {
  return Encoder(options).decode(tokens, play);
}

}  // namespace lstmidi::music
