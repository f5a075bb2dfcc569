// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <vector>

#include "lstmidi/music/event_cursor.hpp"
#include "lstmidi/music/events.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
// The cursor after reading the words of `text` (token text, as parse_tokens() reads it).
EventCursor after(const char* text, int steps_per_beat = 4, int max_bar_beats = 16) {
  EventCursor c(steps_per_beat, max_bar_beats);
  for (const Token& t : parse_tokens(text)) c.read(t);
  return c;
}
}  // namespace

TEST_CASE("event cursor: bars, signatures, positions and instruments, by hand") {
  // Before any word: step 0, the first bar word starts bar 0.
  EventCursor c(4, 16);
  CHECK(c.now() == 0);
  CHECK(c.next_bar() == 0);
  // 4/4 with 4 steps a beat: a bar is 16 steps.
  CHECK(after("bar bar pos:3").now() == 19);
  CHECK(after("bar bar pos:3").bar_start() == 16);
  CHECK(after("bar").next_bar() == 16);
  // A signature sets the length of the bar it stands in and of those after it.
  CHECK(after("bar ts:3/4 bar bar pos:1").now() == 25);
  CHECK(after("bar ts:6/8").next_bar() == 12);
  CHECK(after("bar ts:3/4 bar ts:2/4 bar").bar_start() == 20);
  // A signature before any bar word opens bar 0; a position before it counts from step 0.
  CHECK(after("ts:3/4 bar").bar_start() == 12);
  CHECK(after("pos:5").now() == 5);
  CHECK(after("pos:5 bar").now() == 0);
  // Longer bars than max_bar_beats are cut to it.
  CHECK(after("bar ts:15/2", 4, 16).next_bar() == 16 * 4);
  // Instruments: the last named one; other words leave everything as it was.
  CHECK(after("prog:40/2").instrument() == Instrument{false, 40, 2});
  CHECK(after("prog:40/2 drums/1 C4 len:4 vel:3").instrument() == Instrument{true, 0, 1});
  CHECK(after("bar pos:2 C4 len:4 vel:3 bpm:120").now() == 2);
  // restart() forgets the piece.
  EventCursor r = after("bar ts:3/4 bar pos:2 prog:5");
  r.restart();
  CHECK(r.now() == 0);
  CHECK(r.next_bar() == 0);
  CHECK(r.instrument() == Instrument{});
  CHECK_THROWS(EventCursor(0, 16));
  CHECK_THROWS(EventCursor(4, 0));
}

TEST_CASE("event cursor: the decoder and the continuation point read time as the cursor does") {
  const EventEncoder enc(4, EventOptions{});
  const char* text = "bar ts:3/4 pos:0 prog:33 C3 len:12 pos:4 D5 bar ts:2/4 pos:6 E5 len:2";
  const std::vector<Token> t = parse_tokens(text);
  const Song song = enc.decode(t);
  REQUIRE(song.notes.size() == 3);
  CHECK(song.notes[2].onset_beats == doctest::Approx((12 + 6) / 4.0));
  CHECK(enc.position_after(t) == doctest::Approx(after(text).now() / 4.0));
  CHECK(after(text).now() == 18);
  REQUIRE(song.time_signatures.size() == 2);
  CHECK(song.time_signatures[1].beat == 3.0);
}
