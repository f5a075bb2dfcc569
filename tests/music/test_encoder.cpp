// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
std::string join(const std::vector<Token>& tokens) {
  std::string s;
  for (const Token& t : tokens) s += (s.empty() ? "" : " ") + to_string(t);
  return s;
}
Note note(int pitch, double onset, double duration) {
  Note n;
  n.pitch = pitch;
  n.onset_beats = onset;
  n.duration_beats = duration;
  return n;
}
const char* kFixtureTokens =
    "C4:4 D4:4 E4:4 F4:4 C4.E4.G4:8 D4.F4.A4:8 G4:1 rest:11 G3.C4.E4:16 tie:8 C5:1 B4:1 A4:2";
}  // namespace

TEST_CASE("encoder: the hand-made fixture encodes to the expected tokens") {
  const Song s =
      read_midi(std::filesystem::path(LSTMIDI_TEST_DATA_DIR) / "midi" / "block_chords.mid");
  const Encoder enc;
  CHECK(join(enc.encode(s)) == kFixtureTokens);
}

TEST_CASE("encoder: decode(encode(x)) == x for block chords and melodies on the grid") {
  const Encoder enc;
  const std::vector<Note> notes = {note(60, 0, 1),    note(64, 0, 1),   note(67, 0, 1),
                                   note(62, 1, 0.25), note(72, 3, 5.5), note(48, 10, 0.75)};
  const auto tokens = enc.encode(notes);
  CHECK(join(tokens) == "C4.E4.G4:4 D4:1 rest:7 C5:16 tie:6 rest:6 C3:3");
  const auto back = enc.decode(tokens);
  REQUIRE(back.size() == notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    CHECK(back[i].pitch == notes[i].pitch);
    CHECK(back[i].onset_beats == notes[i].onset_beats);
    CHECK(back[i].duration_beats == notes[i].duration_beats);
  }
}

TEST_CASE("encoder: quantisation, chords by grid onset, held notes cut at the next onset") {
  const Encoder enc;
  // 60 and 64 start within half a step of each other: one chord. 48 is held under them.
  const auto tokens = enc.encode({note(48, 0, 4), note(60, 1.02, 1), note(64, 0.98, 1)});
  CHECK(join(tokens) == "C3:4 C4.E4:4");  // the last chord lasts as long as its notes
  // Leading silence is kept; gaps longer than max_gap are shortened.
  EncoderOptions o;
  o.max_gap = 8;
  CHECK(join(Encoder(o).encode({note(60, 1, 1), note(62, 100, 1)})) == "rest:4 C4:4 rest:4 D4:4");
  CHECK(Encoder().encode(std::vector<Note>{}).empty());
  EncoderOptions eighth;
  eighth.steps_per_beat = 2;
  eighth.max_duration = 4;
  CHECK(join(Encoder(eighth).encode({note(60, 0, 3)})) == "C4:4 tie:2");
}

TEST_CASE("encoder: classic pitch-only encoding") {
  EncoderOptions o;
  o.encoding = Encoding::PitchOnly;
  const Encoder enc(o);
  const auto tokens =
      enc.encode({note(60, 0, 1), note(64, 1, 1), note(67, 1, 1), note(71, 1, 1), note(62, 5, 1)});
  CHECK(join(tokens) == "C4 4.7.11 D4");
  const auto back = enc.decode(tokens);
  REQUIRE(back.size() == 5);
  CHECK(back[1].pitch == 64);
  CHECK(back[1].onset_beats == 0.5);
  CHECK(back[4].onset_beats == 1.0);
  CHECK(back[4].duration_beats == 0.5);
}

TEST_CASE("encoder: parsing a primer in either encoding") {
  const Encoder dur;
  CHECK(join(dur.parse("C4 E4:2 C4.E4.G4 0.4.7 rest")) == "C4:4 E4:2 C4.E4.G4:4 C4.E4.G4:4 rest:4");
  EncoderOptions o;
  o.encoding = Encoding::PitchOnly;
  CHECK(join(Encoder(o).parse("C4:4 C4.E4.G4:2 rest:2 4.7.11")) == "C4 0.4.7 4.7.11");
  CHECK_THROWS_AS(dur.parse("C4 nonsense"), FormatError);
}

TEST_CASE("encoder: options are checked") {
  EncoderOptions o;
  o.steps_per_beat = 0;
  CHECK_THROWS_AS(Encoder{o}, std::invalid_argument);
  o = {};
  o.max_duration = 0;
  CHECK_THROWS_AS(Encoder{o}, std::invalid_argument);
  DecodeOptions play;
  play.velocity = 0;
  CHECK_THROWS_AS(Encoder().decode({}, play), std::invalid_argument);
}

TEST_CASE("encoder: tokens_to_notes applies velocity and channel") {
  DecodeOptions play;
  play.velocity = 64;
  play.channel = 3;
  const auto n = tokens_to_notes(parse_tokens("C4:2 tie:2 rest:4 E4:1"), {}, play);
  REQUIRE(n.size() == 2);
  CHECK(n[0].duration_beats == 1.0);
  CHECK(n[0].velocity == 64);
  CHECK(n[0].channel == 3);
  CHECK(n[1].onset_beats == 2.0);
}

TEST_CASE("encoder: the worked examples of docs/encoding.md") {
  const Encoder enc;
  const std::vector<Note> bar = {note(60, 0, 2), note(64, 0, 2),   note(67, 0, 2),
                                 note(64, 2, 1), note(62, 3, 0.5), note(60, 4, 4)};
  CHECK(join(enc.encode(bar)) == "C4.E4.G4:8 E4:4 D4:2 rest:2 C4:16");
  CHECK(quantize(enc.decode(enc.encode(bar)), 4) == quantize(bar, 4));
  CHECK(join(enc.encode({note(60, 0, 6)})) == "C4:16 tie:8");
  const std::vector<Note> held = {note(48, 0, 4), note(64, 0, 1), note(62, 1, 1), note(60, 2, 1),
                                  note(62, 3, 1)};
  CHECK(join(enc.encode(held)) == "C3.E4:4 D4:4 C4:4 D4:4");
  CHECK(enc.decode(enc.encode(held))[0].duration_beats == 1.0);
}
