// SPDX-License-Identifier: MIT
/// EventCursor: where a reader of the events encoding (music/events.hpp) stands after each
/// word: the start of the current bar, the position in it, the length of its bars and the
/// instrument of the next note. The decoder, the continuation point of a primer and the voice
/// rule of generation all read the words through it, so they agree on the time of every word.
///
/// In grid steps (steps_per_beat per beat), starting before any bar, with 4/4 bars:
///
///   bar        the next bar begins: bar_start = 0 for the first bar word, else
///              bar_start + bar_length; pos = 0
///   ts:N/D     bars last bar_steps(N, D) from the current bar on (a ts before any bar word
///              opens bar 0)
///   pos:p      pos = p
///   prog:P/k   the instrument is program P, part k;  drums/k: the drum kit, part k
///
/// Other words leave the cursor as it is. Invariant: now() = max(bar_start, 0) + pos, so words
/// before the first bar fall at step pos.
#pragma once

#include <algorithm>
#include <cstdint>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/event_grid.hpp"
#include "lstmidi/music/token.hpp"

namespace lstmidi::music {

class EventCursor {
 public:
  EventCursor(int steps_per_beat, int max_bar_beats)
      : s_(steps_per_beat), max_bar_beats_(max_bar_beats) {
    require(s_ >= 1 && max_bar_beats_ >= 1,
            "EventCursor: steps_per_beat and max_bar_beats must be at least 1");
    restart();
  }

  /// Back to the start of a piece.
  void restart() {
    bar_ = -1;
    pos_ = 0;
    bar_len_ = bar_steps(4, 4, s_, max_bar_beats_);
    inst_ = Instrument{};
  }

  /// Reads one word (see the top of this file).
  void read(const Token& t) {
    using K = Token::Kind;
    switch (t.kind) {
      case K::Bar:
        bar_ = bar_ < 0 ? 0 : bar_ + bar_len_;
        pos_ = 0;
        break;
      case K::TimeSig:
        if (bar_ < 0) bar_ = 0;
        bar_len_ = bar_steps(t.value, t.value2, s_, max_bar_beats_);
        break;
      case K::Position:
        pos_ = t.value;
        break;
      case K::Program:
        inst_ = Instrument{false, t.value, t.value2};
        break;
      case K::Drums:
        inst_ = Instrument{true, 0, t.value2};
        break;
      default:
        break;
    }
  }

  /// The current bar's first step (0 before any bar word).
  std::int64_t bar_start() const { return std::max<std::int64_t>(bar_, 0); }
  /// The step where the words stand: bar_start() + the last position.
  std::int64_t now() const { return bar_start() + pos_; }
  /// The step a `bar` word would move to.
  std::int64_t next_bar() const { return bar_ < 0 ? 0 : bar_ + bar_len_; }
  /// The instrument named last (program 0, part 0 before any).
  const Instrument& instrument() const { return inst_; }

 private:
  int s_, max_bar_beats_;
  std::int64_t bar_ = -1, pos_ = 0, bar_len_ = 0;  // bar_ < 0: no bar word yet
  Instrument inst_;
};

}  // namespace lstmidi::music
