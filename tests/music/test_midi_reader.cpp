// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "lstmidi/music/midi_reader.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
using namespace testmidi;

namespace {
const std::filesystem::path kFixtures = std::filesystem::path(LSTMIDI_TEST_DATA_DIR) / "midi";
}

TEST_CASE("reader: hand-made fixture, times in beats whatever the tempo") {
  const Song s = read_midi(kFixtures / "block_chords.mid");
  CHECK(s.ppqn == 96);
  CHECK(s.format == 1);
  CHECK(s.tracks == 2);
  REQUIRE(s.tempos.size() == 2);
  CHECK(s.tempos[0].bpm == doctest::Approx(120.0));
  CHECK(s.tempos[1].beat == 8.0);
  CHECK(s.tempos[1].bpm == doctest::Approx(80.0));
  REQUIRE(s.notes.size() == 17);  // the drum hit is left out
  CHECK(s.notes[0].pitch == 60);
  CHECK(s.notes[0].velocity == 90);
  CHECK(s.notes[0].duration_beats == 1.0);
  const Note& last = s.notes.back();
  CHECK(last.pitch == 69);
  CHECK(last.onset_beats == 17.5);
  CHECK(last.duration_beats == 0.5);

  ReadOptions keep;
  keep.keep_drums = true;
  const Song d = read_midi(kFixtures / "block_chords.mid", keep);
  REQUIRE(d.notes.size() == 18);
  CHECK(d.notes[0].channel == kDrumChannel);
  CHECK(d.notes[0].pitch == 36);
}

TEST_CASE("reader: overlapping notes of one pitch, orphan note-offs, zero-length notes") {
  Bytes t;
  event(t, 0, {0x90, 60, 100});
  event(t, 48, {0x90, 60, 90});  // re-attack while sounding: first note ends at tick 48
  event(t, 48, {0x80, 60, 0});   // ends the second note
  event(t, 0, {0x80, 60, 0});    // orphan
  event(t, 0, {0x90, 62, 100});
  event(t, 0, {0x80, 62, 0});   // zero length: dropped
  event(t, 0, {0x91, 60, 70});  // same pitch on another channel is a separate note
  event(t, 96, {0x81, 60, 0});
  end_of_track(t);
  const Song s = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", t)}), "overlap.mid");
  REQUIRE(s.notes.size() == 3);
  CHECK(s.notes[0].onset_beats == 0.0);
  CHECK(s.notes[0].duration_beats == 0.5);
  CHECK(s.notes[1].onset_beats == 0.5);
  CHECK(s.notes[1].velocity == 90);
  CHECK(s.notes[2].channel == 1);
  CHECK(s.notes[2].duration_beats == 1.0);
  CHECK(s.warnings.size() == 3);  // re-attack, orphan, zero length
}

TEST_CASE("reader: format 1 notes in several tracks are merged in time order") {
  const Song s = read_midi_bytes(
      cat({header(1, 2, 480), chunk("MTrk", simple_track(480)), chunk("MTrk", simple_track(480))}),
      "two.mid");
  REQUIRE(s.notes.size() == 12);
  for (std::size_t i = 1; i < s.notes.size(); ++i)
    CHECK(s.notes[i - 1].onset_beats <= s.notes[i].onset_beats);
}

TEST_CASE("reader: folder loading is recursive, sorted, and skips bad files with a warning") {
  const auto dir = temp_dir("reader_folder");
  std::filesystem::create_directories(dir / "sub");
  write_bytes(dir / "b.mid", simple_file());
  write_bytes(dir / "sub" / "a.MIDI", simple_file(480));
  write_bytes(dir / "c.mid", {1, 2, 3});
  write_bytes(dir / "notes.txt", {1, 2, 3});
  const Dataset ds = load_folder(dir);
  REQUIRE(ds.songs.size() == 2);
  CHECK(ds.songs[0].source == (dir / "b.mid").string());
  CHECK(ds.songs[1].source == (dir / "sub" / "a.MIDI").string());
  CHECK(ds.skipped == 1);
  REQUIRE(ds.warnings.size() == 1);
  CHECK(ds.warnings[0].find("c.mid") != std::string::npos);
  CHECK(ds.warnings[0].find("too short") != std::string::npos);
  // A single file works as well; a missing folder throws.
  CHECK(load_folder(dir / "b.mid").songs.size() == 1);
  CHECK_THROWS_AS((void)load_folder(dir / "nope"), IoError);
}

TEST_CASE("reader: the bundled corpus loads completely") {
  const Dataset ds = load_folder(LSTMIDI_CORPUS_DIR);
  CHECK(ds.skipped == 0);
  REQUIRE(ds.songs.size() == 305);
  std::size_t notes = 0;
  for (const Song& s : ds.songs) {
    notes += s.notes.size();
    CHECK(s.ppqn == 480);
    CHECK(s.warnings.empty());
  }
  CHECK(notes == 49300 + 15897);  // train + valid note-ons, as data/README.md counts them
}
