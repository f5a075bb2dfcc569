// SPDX-License-Identifier: MIT
/// VoiceRule: generation of the events encoding (events.hpp) with every pitched part kept a
/// voice, as the voices of a chorale are sung: one note at a time, and no silence once the part
/// has begun. lstmidi-generate --voices.
///
/// It follows the words as EventEncoder::decode reads them (bar, ts, pos and instrument through
/// music/event_cursor.hpp, then note and len) and knows, for every pitched part that has played,
/// where its last note ends (end = onset + the sum of its len words, or one beat while it has
/// none). Before each draw it names the words that may not come next, at the current time `now`:
///
///   a note of the current instrument, or a word naming a pitched part (prog:P/k), while that
///     part's last note still sounds at now (end > now): a part sounds one note at a time;
///   a time word that moves to t > now, i.e. `bar` (t = the next bar's start) or `pos:p`
///     (t = bar start + p), when a part that has played would fall silent before t
///     (end < t): the time moves on only as far as the earliest end of a voice's note, and a
///     part whose note ends there plays its next note before the time moves on again;
///   a `pos:p` that moves back (t < now), as the encoder never writes one.
///
/// Drum parts are left free. Invariants: `len` words are never banned, so a note can always be
/// held longer; a part's consecutive notes follow each other without gap or overlap (the next
/// starts where the last ends) when every step kept the rule. The generation loop ignores the
/// rule for a step where it and the model's other limits (forbidden words) leave no word.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/event_cursor.hpp"
#include "lstmidi/music/event_grid.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"

namespace lstmidi::music {

class VoiceRule {
 public:
  VoiceRule(const Vocabulary& vocab, int steps_per_beat, int max_bar_beats)
      : s_(steps_per_beat), cursor_(steps_per_beat, max_bar_beats) {
    words_.reserve(static_cast<std::size_t>(vocab.size()));
    for (TokenId id = 0; id < static_cast<TokenId>(vocab.size()); ++id)
      words_.push_back(vocab.is_reserved(id) ? Token{} : vocab.token(id));
    restart();
  }

  /// Forgets the piece: the next word is the first of a new one.
  void restart() {
    cursor_.restart();
    have_last_ = false;
    ends_.clear();
  }

  /// The next word of the piece (a primer word or a drawn one), read as decode() reads it.
  void accept(TokenId id) {
    if (id < 0 || static_cast<std::size_t>(id) >= words_.size()) return;
    using K = Token::Kind;
    const Token& t = words_[static_cast<std::size_t>(id)];
    cursor_.read(t);
    switch (t.kind) {
      case K::Bar:
      case K::Position:
        have_last_ = false;
        break;
      case K::DrumHit:
        have_last_ = false;  // its len words are a drum hit's
        break;
      case K::Notes:
        if (t.pitches.size() != 1 || t.duration != 0) break;
        last_ = cursor_.instrument().drum ? Instrument{false, 0, 0}
                                          : cursor_.instrument();  // as decode() places it
        ends_[last_] = {cursor_.now(), cursor_.now() + s_, false};
        have_last_ = true;
        break;
      case K::Length:
        if (have_last_) {
          Voice& v = ends_[last_];
          v.end = (v.has_len ? v.end : v.onset) + t.value;
          v.has_len = true;
        }
        break;
      default:
        break;
    }
  }

  /// Appends the words that may not come next (see the top of this file).
  void ban(std::vector<TokenId>& out) const {
    using K = Token::Kind;
    const std::int64_t t0 = cursor_.now();
    std::int64_t earliest_end = INT64_MAX;
    for (const auto& [inst, v] : ends_) earliest_end = std::min(earliest_end, v.end);
    const Instrument current =
        cursor_.instrument().drum ? Instrument{false, 0, 0} : cursor_.instrument();
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const Token& t = words_[i];
      bool banned = false;
      switch (t.kind) {
        case K::Notes:
          banned = t.pitches.size() == 1 && t.duration == 0 && sounding(current, t0);
          break;
        case K::Program:
          banned = sounding(Instrument{false, t.value, t.value2}, t0);
          break;
        case K::Bar:
          banned = earliest_end < cursor_.next_bar();
          break;
        case K::Position: {
          const std::int64_t to = cursor_.bar_start() + t.value;
          banned = to < t0 || earliest_end < to;
          break;
        }
        default:
          break;
      }
      if (banned) out.push_back(static_cast<TokenId>(i));
    }
  }

 private:
  struct Voice {
    std::int64_t onset = 0, end = 0;  // grid steps; end > onset
    bool has_len = false;             // false: the note lasts one beat until a len word comes
  };
  int s_;
  EventCursor cursor_;
  std::vector<Token> words_;  // by id; reserved ids hold a default token
  Instrument last_;           // the part of the last note, while have_last_
  bool have_last_ = false;
  std::map<Instrument, Voice> ends_;  // pitched parts that have played -> their last note

  bool sounding(const Instrument& part, std::int64_t at) const {
    const auto it = ends_.find(part);
    return it != ends_.end() && it->second.end > at;
  }
};

}  // namespace lstmidi::music
