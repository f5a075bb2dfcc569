// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <type_traits>
#include <vector>

#include "lstmidi/music/token.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

TEST_CASE("token: pitch names") {
  CHECK(pitch_name(60) == "C4");
  CHECK(pitch_name(61) == "C#4");
  CHECK(pitch_name(0) == "C-1");
  CHECK(pitch_name(127) == "G9");
  for (int p = 0; p < 128; ++p) CHECK(parse_pitch_name(pitch_name(p)) == p);
  CHECK(parse_pitch_name("Db4") == 61);
  CHECK(parse_pitch_name("c4") == 60);
  CHECK(parse_pitch_name("B#3") == 60);
  CHECK(parse_pitch_name("H4") == -1);
  CHECK(parse_pitch_name("G#9") == -1);
  CHECK(parse_pitch_name("C") == -1);
  CHECK(parse_pitch_name("C44") == -1);
  CHECK_THROWS_AS(pitch_name(128), std::invalid_argument);
}

TEST_CASE("token: text round trip") {
  for (const char* s :
       {"C4:4", "C4.E4.G4:2", "rest:8", "tie:16", "C4", "4.7.11", "A#-1.G9:1024", "0"}) {
    CAPTURE(s);
    CHECK(to_string(parse_token(s)) == s);
  }
  CHECK(to_string(parse_token("G4.C4.E4.C4:2")) == "C4.E4.G4:2");  // sorted, repeats removed
  CHECK(to_string(parse_token("Eb4")) == "D#4");
  CHECK(parse_token("C4", 4).duration == 4);
  CHECK(parse_token("rest", 2) == Token::rest(2));
}

TEST_CASE("token: bad text throws a FormatError naming the token") {
  for (const char* s : {"", "X4", "C4:", "C4:0", "C4:abc", "C4:2000", "C4..E4", ".C4", "C4.5", "12",
                        "rest", "tie", "4.7:2", "C10", "C4:-1", "C4:4:4"}) {
    CAPTURE(s);
    CHECK_THROWS_WITH_AS(parse_token(s), doctest::Contains("bad token"), FormatError);
  }
}

TEST_CASE("token: parse_tokens for a primer") {
  const auto t = parse_tokens("  C4 E4\tG4 C4.E4.G4:8 rest:2 ", 4);
  REQUIRE(t.size() == 5);
  CHECK(t[0] == Token::notes({60}, 4));
  CHECK(t[3] == Token::notes({60, 64, 67}, 8));
  CHECK(t[4] == Token::rest(2));
  CHECK(parse_tokens("").empty());
  CHECK_THROWS_AS(parse_tokens("C4 Q4"), FormatError);
}

TEST_CASE("token: transposition") {
  CHECK(*transpose(Token::notes({60, 64}, 2), 3) == Token::notes({63, 67}, 2));
  CHECK(!transpose(Token::notes({120, 125}, 2), 3));
  CHECK(!transpose(Token::notes({1}, 2), -2));
  CHECK(*transpose(Token::pitch_classes({4, 7, 11}), 2) == Token::pitch_classes({1, 6, 9}));
  CHECK(*transpose(Token::rest(4), 5) == Token::rest(4));
}

TEST_CASE("token: a pitch set reads as a sorted vector without repeats, held in the token") {
  const PitchSet s{67, 60, 64, 60};
  CHECK(s.size() == 3);
  CHECK(!s.empty());
  CHECK(s.front() == 60);
  CHECK(s.back() == 67);
  CHECK(s.to_vector() == std::vector<int>{60, 64, 67});
  CHECK(s == PitchSet(std::vector<int>{64, 67, 60}));
  CHECK(s != PitchSet{60, 64});
  CHECK(s.contains(64));
  CHECK(!s.contains(65));
  CHECK(!s.contains(-1));
  CHECK(!s.contains(128));
  const PitchSet edges{0, 31, 32, 63, 64, 95, 96, 127};
  CHECK(edges.to_vector() == std::vector<int>{0, 31, 32, 63, 64, 95, 96, 127});
  CHECK(edges.back() == 127);
  PitchSet all;
  for (int p = 127; p >= 0; --p) all.insert(p);
  CHECK(all.size() == 128);
  int expect = 0;
  for (int p : all) CHECK(p == expect++);
  CHECK(expect == 128);
  all.erase(0);
  all.erase(127);
  CHECK(all.front() == 1);
  CHECK(all.back() == 126);
  CHECK_THROWS_AS(PitchSet{128}, std::invalid_argument);
  CHECK_THROWS_AS(PitchSet{-1}, std::invalid_argument);
  CHECK_THROWS_AS((void)PitchSet().front(), std::invalid_argument);
  CHECK(PitchSet().empty());
  CHECK(PitchSet().begin() == PitchSet().end());
  // Notes build the set in any order; equal chords are equal tokens.
  CHECK(Token::notes({64, 60, 67, 64}, 2) == Token::notes({60, 64, 67}, 2));
  CHECK(Token::notes({60}, 2) != Token::notes({60, 64}, 2));
  CHECK_THROWS_AS(Token::notes({200}, 1), std::invalid_argument);
  static_assert(std::is_trivially_copyable_v<Token>);
  CHECK(sizeof(Token) <= 32);
}
