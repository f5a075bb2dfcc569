// SPDX-License-Identifier: MIT
/// Which instruments may play: the `--instruments 73,33/1,drums` list of lstmidi-generate, and
/// the vocabulary ids it forbids when sampling an events model.
///
/// An item is a General MIDI program P (every part of it), P/K (part K of program P), "drums"
/// (every part of the kit) or "drums/K". The mask forbids every instrument word that no item
/// allows and, when no item allows drums, every drum hit; pitch words stay allowed (they belong
/// to whichever instrument word came last).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"

namespace lstmidi::music {

struct InstrumentFilter {
  struct Item {
    bool drum = false;
    int program = 0;
    int part = -1;  // -1 = every part
  };
  std::vector<Item> items;

  bool allows(bool drum, int program, int part) const {
    for (const Item& i : items)
      if (i.drum == drum && (drum || i.program == program) && (i.part < 0 || i.part == part))
        return true;
    return false;
  }
  bool allows_drums() const {
    for (const Item& i : items)
      if (i.drum) return true;
    return false;
  }
  /// Removes the notes from `from_beat` on whose instrument is not allowed (those a primer's
  /// instrument left sounding); returns how many.
  std::size_t drop_from(std::vector<Note>& notes, double from_beat) const {
    std::vector<Note> kept;
    for (const Note& n : notes)
      if (n.onset_beats < from_beat || allows(n.drum, n.program, n.part)) kept.push_back(n);
    const std::size_t dropped = notes.size() - kept.size();
    notes = std::move(kept);
    return dropped;
  }
};

/// Parses "73,33/1,drums". Throws std::invalid_argument naming the bad item.
inline InstrumentFilter parse_instrument_list(const std::string& text) {
  InstrumentFilter f;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto bad = [&](const std::string& why) -> void {
      throw std::invalid_argument("--instruments: '" + item + "' " + why +
                                  " (expected e.g. 73,33/1,drums: General MIDI programs 0-127, "
                                  "P/K for part K, drums)");
    };
    if (item.empty()) bad("is empty");
    InstrumentFilter::Item it;
    const auto slash = item.find('/');
    const std::string head = item.substr(0, slash);
    auto number = [&](const std::string& s, int hi) {
      if (!detail::all_digits(s) || s.size() > 3) bad("is not a number");
      const int v = std::stoi(s);
      if (v > hi) bad(detail::concat("is above ", hi));
      return v;
    };
    if (head == "drums")
      it.drum = true;
    else
      it.program = number(head, 127);
    if (slash != std::string::npos) it.part = number(item.substr(slash + 1), kMaxParts - 1);
    f.items.push_back(it);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

struct InstrumentMask {
  std::vector<TokenId> forbidden;  // ids to leave out when sampling
  std::size_t allowed_words = 0;   // instrument words still allowed
};

inline InstrumentMask instrument_mask(const Vocabulary& vocab, const InstrumentFilter& filter) {
  InstrumentMask m;
  for (TokenId id = Vocabulary::kReserved; id < vocab.size(); ++id) {
    const Token& t = vocab.token(id);
    if (t.kind == Token::Kind::Program || t.kind == Token::Kind::Drums) {
      if (filter.allows(t.kind == Token::Kind::Drums, t.value, t.value2))
        ++m.allowed_words;
      else
        m.forbidden.push_back(id);
    } else if (t.kind == Token::Kind::DrumHit && !filter.allows_drums()) {
      m.forbidden.push_back(id);
    }
  }
  return m;
}

/// The instruments a vocabulary knows, as an --instruments list ("0,0/1,33,drums").
inline std::string known_instruments(const Vocabulary& vocab) {
  std::string s;
  for (TokenId id = Vocabulary::kReserved; id < vocab.size(); ++id) {
    const Token& t = vocab.token(id);
    if (t.kind != Token::Kind::Program && t.kind != Token::Kind::Drums) continue;
    std::string w = to_string(t);
    w = w.substr(w.find(':') == std::string::npos ? 0 : w.find(':') + 1);
    s += (s.empty() ? "" : ",") + w;
  }
  return s.empty() ? "none" : s;
}

}  // namespace lstmidi::music
