// SPDX-License-Identifier: MIT
// music/piece.hpp: the tempo map, metre and key a generated piece is written with.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "lstmidi/music/piece.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

TEST_CASE("song_frame: the settings, else the primer's, else the corpus's, else the defaults") {
  const std::map<std::string, std::string> corpus{
      {"common_tempo", "90"}, {"common_time_signature", "3/4"}, {"common_key", "-3"}};
  Song primer;
  primer.tempos = {{0.0, 140.0}, {8.0, 120.0}, {40.0, 60.0}};
  primer.time_signatures = {{0.0, 6, 8}};
  primer.key_signatures = {{0.0, 2, true}};
  PieceSettings s;

  SUBCASE("nothing known: 100 bpm, 4/4, no key") {
    const Song f = song_frame(s, nullptr, 0.0, {});
    REQUIRE(f.tempos.size() == 1);
    CHECK(f.tempos[0].bpm == 100.0);
    CHECK(f.time_signatures == std::vector<TimeSignature>{{0.0, 4, 4}});
    CHECK(f.key_signatures.empty());
  }
  SUBCASE("the training corpus's most common") {
    const Song f = song_frame(s, nullptr, 0.0, corpus);
    CHECK(f.tempos[0].bpm == 90.0);
    CHECK(f.time_signatures == std::vector<TimeSignature>{{0.0, 3, 4}});
    CHECK(f.key_signatures == std::vector<KeySignature>{{0.0, -3, false}});
  }
  SUBCASE("the primer's: its tempo changes up to where it ends, its metre and key") {
    const Song f = song_frame(s, &primer, 10.0, corpus);
    REQUIRE(f.tempos.size() == 2);  // the change at beat 40 comes after the primer
    CHECK(f.tempos[1].bpm == 120.0);
    CHECK(f.time_signatures == std::vector<TimeSignature>{{0.0, 6, 8}});
    CHECK(f.key_signatures == primer.key_signatures);
  }
  SUBCASE("the settings win") {
    s.tempo = 72.0;
    s.time_signature = "5/4";
    const Song f = song_frame(s, &primer, 10.0, corpus);
    REQUIRE(f.tempos.size() == 1);
    CHECK(f.tempos[0].bpm == 72.0);
    CHECK(f.time_signatures == std::vector<TimeSignature>{{0.0, 5, 4}});
    CHECK(f.key_signatures == primer.key_signatures);  // there is no key setting
  }
}
