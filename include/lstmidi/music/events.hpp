// SPDX-License-Identifier: MIT
/// Event encoding: a piece as bar / position / instrument / velocity / pitch / length words,
/// lossless on the grid for every note of every instrument (docs/encoding.md#events).
///
/// With S = steps_per_beat, every note is quantised as in encoder.hpp's quantize():
///   onset = round(onset_beats * S),  length = max(1, round(end_beats * S) - onset).
/// Bars follow the piece's time signatures: a bar of num/den lasts
///   bar_steps(num, den) = clamp(round(num * 4 * S / den), 1, max_bar_beats * S)
/// grid steps (a signature that changes inside a bar takes effect at the next bar line; the
/// notes keep their exact times, only the bar lines move). A piece is written bar by bar:
///
///   bar [ts:N/D]                    every bar; its signature when it changes (and at the start)
///     pos:p [bpm:X]                 each onset that has notes (or a tempo change), p in 0..bar-1
///       [prog:P[/k] | drums[/k]]    the instrument, when it differs from the previous note's
///       [vel:b]                     the velocity bin (velocity / 4), when it differs
///       C4 | drum:36                the pitch, or the percussion key on the drum kit
///       len:d [len:d ...]           the length: the sum of these (d from a fixed set, largest
///                                   first: 1..2S, 3S, 4S, 6S, 8S, 12S, 16S)
///
/// Within one onset notes are ordered by instrument (programs ascending, parts ascending, drums
/// last), then pitch. Decoding reads the same words back: a bar adds the previous bar's length
/// to the time, a position places the following notes, a note with no len word lasts one beat,
/// velocities decode to the bin's centre 4 b + 2. So encode -> decode gives back every note with
/// its onset and length on the grid, pitch, instrument (as the InstrumentMode keeps it) and
/// velocity bin; time signatures at bar lines; tempo changes (with tempo words) rounded to the
/// tempo ladder, a twelfth of an octave apart (about 6%).
///
/// The grid, instruments, velocity bins and length words are in music/event_grid.hpp; the
/// reading of bar, ts, pos and instrument words in music/event_cursor.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/event_cursor.hpp"
#include "lstmidi/music/event_grid.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

class EventEncoder {
 public:
  EventEncoder(int steps_per_beat, const EventOptions& options)
      : s_(steps_per_beat), opt_(options) {
    require(s_ >= 1 && s_ <= 960, "EventEncoder: steps_per_beat must be 1..960, got ", s_);
    require(opt_.max_bar_beats >= 1 && opt_.max_bar_beats * s_ < kMaxPosition,
            "EventEncoder: max_bar_beats * steps_per_beat must be 1..", kMaxPosition - 1);
  }

  /// The words of one piece (its notes, time signatures and tempo map).
  std::vector<Token> encode(const Song& song) const {
    using K = Token::Kind;
    const std::vector<EventNote> notes = event_grid(song.notes, s_, opt_.instruments);
    struct TempoAt {
      std::int64_t step;
      int bpm;
    };
    std::vector<TempoAt> tempos;
    if (opt_.tempo)
      for (const TempoChange& t : song.tempos) {
        if (!(std::isfinite(t.beat) && t.beat >= 0 && std::isfinite(t.bpm) && t.bpm > 0)) continue;
        const TempoAt at{std::llround(t.beat * s_), tempo_rung(t.bpm)};
        if (!tempos.empty() && tempos.back().step == at.step) tempos.pop_back();
        if (tempos.empty() || tempos.back().bpm != at.bpm) tempos.push_back(at);
      }
    std::vector<TimeSignature> sigs;
    if (opt_.time_signatures) sigs = song.time_signatures;

    std::vector<Token> out;
    if (notes.empty()) return out;
    const std::vector<int> lengths = length_words(s_);
    const std::int64_t last = std::max(notes.back().onset, tempos.empty() ? 0 : tempos.back().step);
    std::size_t ni = 0, ti = 0, si = 0;
    int num = 4, den = 4;
    bool sig_written = false;
    Instrument inst;
    bool have_inst = false;
    int vel = -1;
    for (std::int64_t bar = 0; bar <= last;) {
      bool changed = false;
      while (si < sigs.size() && std::llround(sigs[si].beat * s_) <= bar) {
        changed |= sigs[si].numerator != num || sigs[si].denominator != den;
        num = sigs[si].numerator;
        den = sigs[si].denominator;
        ++si;
      }
      const std::int64_t len = bar_steps(num, den, s_, opt_.max_bar_beats);
      out.push_back(Token::event(K::Bar));
      if (opt_.time_signatures && (changed || !sig_written)) {
        out.push_back(Token::event(K::TimeSig, num, den));
        sig_written = true;
      }
      while (true) {
        const std::int64_t next_note = ni < notes.size() ? notes[ni].onset : INT64_MAX;
        const std::int64_t next_tempo = ti < tempos.size() ? tempos[ti].step : INT64_MAX;
        const std::int64_t at = std::min(next_note, next_tempo);
        if (at >= bar + len) break;
        out.push_back(Token::event(K::Position, static_cast<int>(at - bar)));
        if (next_tempo == at) out.push_back(Token::event(K::Tempo, tempos[ti++].bpm));
        for (; ni < notes.size() && notes[ni].onset == at; ++ni) {
          const EventNote& n = notes[ni];
          if (!have_inst || n.instrument != inst) {
            out.push_back(n.instrument.drum
                              ? Token::event(K::Drums, 0, n.instrument.part)
                              : Token::event(K::Program, n.instrument.program, n.instrument.part));
            inst = n.instrument;
            have_inst = true;
          }
          if (n.velocity != vel) {
            out.push_back(Token::event(K::Velocity, n.velocity));
            vel = n.velocity;
          }
          out.push_back(n.instrument.drum ? Token::event(K::DrumHit, n.pitch)
                                          : Token::notes({n.pitch}, 0));
          std::int64_t left = n.length;
          for (int d : lengths)
            while (left >= d) {
              out.push_back(Token::event(K::Length, d));
              left -= d;
            }
        }
      }
      bar += len;
    }
    return out;
  }

  /// The piece the words describe: notes (channel 9 for drums, else 0; the writer assigns
  /// channels), time signatures and tempo changes. Words of other encodings are ignored.
  Song decode(const std::vector<Token>& tokens) const {
    using K = Token::Kind;
    Song song;
    song.source = "decoded events";
    EventCursor cursor(s_, opt_.max_bar_beats);
    int vel = velocity_bin(80);
    std::vector<EventNote> notes;  // length 0 = no len word yet
    bool have_last = false;        // a len word lengthens notes.back()
    const double s = s_;
    for (const Token& t : tokens) {
      cursor.read(t);
      switch (t.kind) {
        case K::Bar:
        case K::Position:
          have_last = false;
          break;
        case K::TimeSig: {
          auto& sigs = song.time_signatures;
          const double beat = static_cast<double>(cursor.bar_start()) / s;
          if (!sigs.empty() && sigs.back().beat == beat) sigs.pop_back();
          if (sigs.empty() || sigs.back().numerator != t.value ||
              sigs.back().denominator != t.value2)
            sigs.push_back({beat, t.value, t.value2});
          break;
        }
        case K::Tempo:
          song.tempos.push_back(
              {static_cast<double>(cursor.now()) / s, static_cast<double>(t.value)});
          break;
        case K::Velocity:
          vel = t.value;
          break;
        case K::DrumHit:
        case K::Notes: {
          if (t.kind == K::Notes && (t.pitches.size() != 1 || t.duration != 0)) break;
          const Instrument& inst = cursor.instrument();
          EventNote n;
          n.onset = cursor.now();
          n.instrument = inst;
          if (t.kind == K::DrumHit) {
            n.instrument.drum = true;
            if (!inst.drum) n.instrument.part = 0;
            n.instrument.program = 0;
          } else if (inst.drum) {
            n.instrument = Instrument{false, 0, 0};
          }
          n.pitch = t.kind == K::DrumHit ? t.value : t.pitches.front();
          n.velocity = vel;
          n.length = 0;
          notes.push_back(n);
          have_last = true;
          break;
        }
        case K::Length:
          if (have_last) notes.back().length += t.value;
          break;
        default:
          break;
      }
    }
    song.notes.reserve(notes.size());
    for (std::size_t i = 0; i < notes.size(); ++i) {
      const EventNote& e = notes[i];
      Note n;
      n.pitch = e.pitch;
      n.drum = e.instrument.drum;
      n.channel = n.drum ? kDrumChannel : 0;
      n.program = e.instrument.program;
      n.part = e.instrument.part;
      n.velocity = velocity_of_bin(e.velocity);
      n.onset_beats = static_cast<double>(e.onset) / s;
      n.duration_beats = static_cast<double>(e.length > 0 ? e.length : s_) / s;
      song.notes.push_back(n);
    }
    std::stable_sort(song.notes.begin(), song.notes.end(),
                     [](const Note& a, const Note& b) { return a.onset_beats < b.onset_beats; });
    for (const Note& n : song.notes)
      song.length_beats = std::max(song.length_beats, n.onset_beats + n.duration_beats);
    return song;
  }

  /// The time, in beats, where a word after `tokens` would fall (the last bar's start plus the
  /// last position): where a continuation of the piece begins.
  double position_after(const std::vector<Token>& tokens) const {
    EventCursor cursor(s_, opt_.max_bar_beats);
    for (const Token& t : tokens) cursor.read(t);
    return static_cast<double>(cursor.now()) / s_;
  }

  int steps_per_beat() const { return s_; }
  const EventOptions& options() const { return opt_; }

 private:
  int s_;
  EventOptions opt_;
};

}  // namespace lstmidi::music
