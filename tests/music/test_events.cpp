// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/events.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/round_trip.hpp"
#include "lstmidi/music/vocabulary.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

namespace {
Note note(int pitch, double onset, double dur, int velocity = 80, int program = 0, int part = 0,
          bool drum = false) {
  Note n;
  n.pitch = pitch;
  n.onset_beats = onset;
  n.duration_beats = dur;
  n.velocity = velocity;
  n.program = program;
  n.part = part;
  n.drum = drum;
  n.channel = drum ? kDrumChannel : 0;
  return n;
}

EncoderOptions events_options(InstrumentMode mode = InstrumentMode::parts) {
  EncoderOptions o;
  o.encoding = Encoding::Events;
  o.events.instruments = mode;
  return o;
}

std::string words(const std::vector<Token>& tokens) {
  std::string s;
  for (const Token& t : tokens) s += (s.empty() ? "" : " ") + to_string(t);
  return s;
}

// read -> encode -> decode -> write -> read; the share of notes found again.
RoundTripStats file_round_trip(const Song& original, const EncoderOptions& o, const fs::path& tmp) {
  const Encoder enc(o);
  const Song decoded = enc.decode_song(enc.encode(original));
  write_song(tmp, decoded);
  ReadOptions ro;
  ro.keep_drums = true;
  const Song back = read_midi(tmp, ro);
  return event_round_trip_stats(original, back, o);
}
}  // namespace

TEST_CASE("event words: text both ways") {
  for (const char* w : {"bar", "pos:0", "pos:15", "len:4", "vel:31", "prog:73", "prog:0/3", "drums",
                        "drums/2", "drum:36", "ts:6/8", "bpm:140"}) {
    const Token t = parse_token(w);
    CHECK(to_string(t) == w);
    CHECK(t.kind >= Token::Kind::Bar);
  }
  CHECK_THROWS_AS(parse_token("ts:3/5"), FormatError);
  CHECK_THROWS_AS(parse_token("vel:32"), FormatError);
  CHECK_THROWS_AS(parse_token("prog:128"), FormatError);
  CHECK_THROWS_AS(parse_token("len:0"), FormatError);
  CHECK_THROWS_AS(parse_token("prog:1/99"), FormatError);
  // Pitch words transpose; drum hits and the other words do not.
  CHECK(to_string(*transpose(parse_token("C4"), 2)) == "D4");
  CHECK(to_string(*transpose(parse_token("drum:36"), 2)) == "drum:36");
  CHECK(to_string(*transpose(parse_token("pos:3"), 2)) == "pos:3");
  // Rare event words map to the nearest word of the same kind.
  Vocabulary v = Vocabulary::build({parse_tokens("pos:0 pos:8 vel:20 C4 len:4")});
  CHECK(to_string(v.token(v.id(parse_token("pos:7")))) == "pos:8");
  CHECK(to_string(v.token(v.id(parse_token("vel:18")))) == "vel:20");
}

TEST_CASE("event encoding: the words of a small piece, by hand") {
  Song s;
  s.time_signatures = {{0.0, 3, 4}};
  // A held bass note under two melody notes, a drum hit, a second bar.
  s.notes = {note(48, 0, 3, 64, 33), note(72, 0, 1, 100, 73), note(74, 1, 0.5, 100, 73),
             note(36, 1, 0.25, 90, 0, 0, true), note(76, 3.5, 6.25, 40, 73)};
  const Encoder enc(events_options());
  const std::vector<Token> t = enc.encode(s);
  CHECK(words(t) ==
        "bar ts:3/4 pos:0 prog:33 vel:16 C3 len:12 prog:73 vel:25 C5 len:4 "
        "pos:4 D5 len:2 drums vel:22 drum:36 len:1 "
        "bar pos:2 prog:73 vel:10 E5 len:24 len:1");
  const Song back = enc.decode_song(t);
  CHECK(event_round_trip_stats(s, back, enc.options()).share() == 1.0);
  REQUIRE(back.time_signatures.size() == 1);
  CHECK(back.time_signatures[0].numerator == 3);
  // Without time signature words the bars are 4/4 and the notes still come back exactly.
  EncoderOptions plain = events_options();
  plain.events.time_signatures = false;
  const Encoder enc2(plain);
  CHECK(event_round_trip_stats(s, enc2.decode_song(enc2.encode(s)), plain).share() == 1.0);
  // A note with no len word lasts one beat; words of other encodings are ignored.
  const Song loose = enc.decode_song(parse_tokens("bar pos:2 C4 rest:4 pos:3 D4 len:1"));
  REQUIRE(loose.notes.size() == 2);
  CHECK(loose.notes[0].duration_beats == 1.0);
  CHECK(loose.notes[1].onset_beats == 0.75);
  CHECK(loose.notes[1].duration_beats == 0.25);
}

TEST_CASE("event encoding: signature changes, tempo words, long silences, instrument modes") {
  Song s;
  s.time_signatures = {{0.0, 4, 4}, {4.0, 6, 8}, {7.0, 2, 4}};
  s.tempos = {{0.0, 90}, {5.0, 140}};
  s.notes = {note(60, 0, 1), note(62, 4.5, 1), note(64, 7.25, 0.75), note(65, 40, 2, 127, 41, 2)};
  EncoderOptions o = events_options();
  o.events.tempo = true;
  const Encoder enc(o);
  const std::vector<Token> t = enc.encode(s);
  const Song back = enc.decode_song(t);
  CHECK(event_round_trip_stats(s, back, o).share() == 1.0);
  REQUIRE(back.time_signatures.size() == 3);
  CHECK(back.time_signatures[1].beat == 4.0);
  CHECK(back.time_signatures[1].numerator == 6);
  CHECK(back.time_signatures[2].beat == 7.0);
  REQUIRE(back.tempos.size() == 2);
  CHECK(back.tempos[0].bpm == 90);  // 90 is on the ladder: 120 * 2^(-5/12) = 89.9
  CHECK(back.tempos[1].beat == 5.0);
  CHECK(back.tempos[1].bpm == 143);  // the ladder rung nearest 140
  CHECK(back.notes.back().part == 2);
  CHECK(back.notes.back().program == 41);
  // Families keep the family's first program and merge parts.
  const Encoder fam(events_options(InstrumentMode::families));
  const Song f = fam.decode_song(fam.encode(s));
  CHECK(f.notes.back().program == 40);
  CHECK(f.notes.back().part == 0);
  CHECK(event_round_trip_stats(s, f, fam.options()).share() == 1.0);
}

TEST_CASE("write_song: instruments, parts, overlapping unisons and signatures survive a file") {
  const fs::path tmp = fs::temp_directory_path() / "lstmidi_test_write_song.mid";
  Song s;
  s.time_signatures = {{0.0, 3, 4}};
  s.key_signatures = {{0.0, -3, false}};
  s.tempos = {{0.0, 140}, {12.0, 120}};
  s.notes = {note(72, 0, 1, 110, 73),
             note(48, 0, 3, 50, 33),
             note(60, 0, 2, 80, 0, 0),
             note(60, 1, 2, 80, 0, 0),  // same part, same pitch, overlapping
             note(60, 0, 2, 70, 0, 1),  // a second part of program 0
             note(36, 0, 0.25, 127, 0, 0, true),
             note(42, 0.5, 0.25, 60, 0, 0, true)};
  write_song(tmp, s);
  ReadOptions ro;
  ro.keep_drums = true;
  const Song back = read_midi(tmp, ro);
  CHECK(back.format == 1);
  CHECK(event_round_trip_stats(s, back, events_options(InstrumentMode::programs)).share() == 1.0);
  REQUIRE(back.time_signatures.size() == 1);
  CHECK(back.time_signatures[0].numerator == 3);
  CHECK(back.time_signatures[0].denominator == 4);
  REQUIRE(back.key_signatures.size() == 1);
  CHECK(back.key_signatures[0].sharps == -3);
  REQUIRE(back.tempos.size() == 2);
  CHECK(back.tempos[0].bpm == doctest::Approx(140).epsilon(0.001));
  CHECK(back.tempos[1].beat == 12.0);
  int drums = 0, flute = 0;
  for (const Note& n : back.notes) {
    drums += n.drum && n.channel == kDrumChannel;
    flute += n.program == 73 && n.velocity == 110;
  }
  CHECK(drums == 2);
  CHECK(flute == 1);
  fs::remove(tmp);
}

TEST_CASE("event round trip through a MIDI file is exact on every bundled chorale") {
  const fs::path tmp = fs::temp_directory_path() / "lstmidi_test_events_chorales.mid";
  RoundTripStats total;
  std::size_t files = 0;
  for (const char* split : {"train", "valid"})
    for (const fs::path& f : list_midi_files(fs::path(LSTMIDI_CORPUS_DIR) / split)) {
      const Song song = read_midi(f);
      const RoundTripStats st = file_round_trip(song, events_options(), tmp);
      if (st.exact != st.notes) FAIL_CHECK(f.string() << ": " << st.exact << " of " << st.notes);
      total += st;
      ++files;
    }
  CHECK(files == 305);
  CHECK(total.notes > 50000);
  CHECK(total.exact == total.notes);
  fs::remove(tmp);
}

TEST_CASE("reader: chorale voices are four parts of program 0") {
  const Song s = read_midi(list_midi_files(fs::path(LSTMIDI_CORPUS_DIR) / "train").front());
  std::vector<int> per_part(4, 0);
  for (const Note& n : s.notes) {
    REQUIRE(n.part >= 0);
    REQUIRE(n.part < 4);
    CHECK(n.program == 0);
    ++per_part[static_cast<std::size_t>(n.part)];
  }
  for (int c : per_part) CHECK(c > 0);
}

namespace {
const fs::path kMultitrack = fs::path(LSTMIDI_MUSIC_FIXTURES_DIR) / "multitrack";

// The notes of a fixture's .json (written by make_multitrack_fixtures.py, one note object per
// line) as (onset, duration, pitch, channel, program, drum, velocity) tuples, sorted.
using Expected = std::tuple<double, double, int, int, int, bool, int>;
std::vector<Expected> expected_notes(const fs::path& json, const std::string& list = "notes") {
  std::ifstream in(json);
  REQUIRE(in.good());
  std::vector<Expected> out;
  bool inside = false;
  auto num = [](const std::string& line, const std::string& key) {
    const auto at = line.find("\"" + key + "\": ");
    REQUIRE(at != std::string::npos);
    return line.substr(at + key.size() + 4);
  };
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"" + list + "\": [") != std::string::npos) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.find("\"pitch\"") == std::string::npos) break;
    out.emplace_back(std::stod(num(line, "onset_beats")), std::stod(num(line, "duration_beats")),
                     std::stoi(num(line, "pitch")), std::stoi(num(line, "channel")),
                     std::stoi(num(line, "program")), num(line, "drum").rfind("true", 0) == 0,
                     std::stoi(num(line, "velocity")));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Expected> read_notes(const std::vector<Note>& notes) {
  std::vector<Expected> out;
  for (const Note& n : notes)
    out.emplace_back(n.onset_beats, n.duration_beats, n.pitch, n.channel, n.program, n.drum,
                     n.velocity);
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("reader: programs, drums, velocities and signatures of the multi-track fixtures") {
  ReadOptions ro;
  ro.keep_drums = true;
  std::size_t files = 0;
  for (const fs::path& f : list_midi_files(kMultitrack)) {
    CAPTURE(f.string());
    const Song s = read_midi(f, ro);
    fs::path json = f;
    json.replace_extension(".json");
    CHECK(read_notes(s.notes) == expected_notes(json));
    ++files;
  }
  CHECK(files == 11);
  const Song band = read_midi(kMultitrack / "band.mid", ro);
  REQUIRE(band.time_signatures.size() == 1);
  CHECK(band.time_signatures[0].numerator == 3);
  REQUIRE(band.key_signatures.size() == 1);
  CHECK(band.key_signatures[0].sharps == -3);
  REQUIRE(band.tempos.size() == 2);
  CHECK(band.tempos[1].beat == 12.0);
  const Song folk = read_midi(kMultitrack / "two_parts_same_program.mid", ro);
  int parts[2] = {0, 0};
  for (const Note& n : folk.notes) ++parts[n.part];
  CHECK(parts[0] > 0);
  CHECK(parts[1] > 0);
  CHECK(folk.time_signatures.at(0).numerator == 6);
  CHECK(folk.time_signatures.at(0).denominator == 8);
  // The sustain pedal, when asked for.
  ro.sustain = true;
  CHECK(read_notes(read_midi(kMultitrack / "sustain_pedal.mid", ro).notes) ==
        expected_notes(kMultitrack / "sustain_pedal.json", "notes_with_sustain"));
  // Without drums, the drum-only file has no notes (and is no error).
  CHECK(read_midi(kMultitrack / "drums_only.mid").notes.empty());
}

TEST_CASE("event round trip through a MIDI file is exact on the multi-track fixtures") {
  const fs::path tmp = fs::temp_directory_path() / "lstmidi_test_events_multitrack.mid";
  ReadOptions ro;
  ro.keep_drums = true;
  for (const fs::path& f : list_midi_files(kMultitrack))
    for (InstrumentMode mode :
         {InstrumentMode::parts, InstrumentMode::programs, InstrumentMode::families}) {
      CAPTURE(f.string());
      CAPTURE(to_string(mode));
      const Song song = read_midi(f, ro);
      EncoderOptions o = events_options(mode);
      o.events.tempo = true;
      const RoundTripStats st = file_round_trip(song, o, tmp);
      CHECK(st.exact == st.notes);
    }
  fs::remove(tmp);
}

TEST_CASE("event grid: snapping never makes a part's notes of one pitch overlap") {
  // 4 steps per beat: the first note ends at 1.13 beats (step 4.52 -> 5), the second starts at
  // 1.1 (step 4.4 -> 4). One part cannot hold both at step 4 (a channel sounds a pitch once),
  // so the first ends where the second starts. Two notes that snap to one onset keep the longer.
  Song s;
  s.notes = {note(60, 0, 1.13), note(60, 1.1, 1), note(64, 2.0, 0.5), note(64, 2.05, 1.5)};
  const std::vector<EventNote> grid = event_grid(s.notes, 4, InstrumentMode::parts);
  REQUIRE(grid.size() == 3);
  CHECK(grid[0].length == 4);
  CHECK(grid[1].onset == 4);
  CHECK(grid[2].onset == 8);
  CHECK(grid[2].length == 6);
  // Merged parts keep unisons: the programs mode keeps all four notes.
  CHECK(event_grid(s.notes, 4, InstrumentMode::programs).size() == 4);
  const fs::path tmp = fs::temp_directory_path() / "lstmidi_test_event_grid.mid";
  for (InstrumentMode mode : {InstrumentMode::parts, InstrumentMode::programs}) {
    CAPTURE(to_string(mode));
    CHECK(file_round_trip(s, events_options(mode), tmp).share() == 1.0);
  }
  fs::remove(tmp);
}

TEST_CASE("event round trip is exact on every MIDI input fuzzing found that loads") {
  const fs::path dir =
      fs::path(LSTMIDI_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" / "regressions" / "midi";
  const fs::path tmp = fs::temp_directory_path() / "lstmidi_test_events_regressions.mid";
  ReadOptions ro;
  ro.keep_drums = true;
  std::size_t loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    Song song;
    try {
      song = read_midi(entry.path(), ro);
    } catch (const FormatError&) {
      continue;
    }
    ++loaded;
    for (InstrumentMode mode :
         {InstrumentMode::parts, InstrumentMode::programs, InstrumentMode::families}) {
      CAPTURE(entry.path().string());
      CAPTURE(to_string(mode));
      const RoundTripStats st = file_round_trip(song, events_options(mode), tmp);
      CHECK(st.exact == st.notes);
    }
  }
  CHECK(loaded >= 1);
  fs::remove(tmp);
}
