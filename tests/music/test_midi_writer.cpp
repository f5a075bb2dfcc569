// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/round_trip.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
const std::filesystem::path kFixtures = std::filesystem::path(LSTMIDI_TEST_DATA_DIR) / "midi";

// Runs a shell command, returns its stdout (first 4 KB) and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {out, status};
}

// An independent check with mido: the file parses, every note-on has a matching note-off on
// the same channel and pitch, every track ends with End-of-Track. Prints "OK <notes> <ppqn>".
const char* kMidoCheck = R"PY(
import sys, mido
m = mido.MidiFile(sys.argv[1])
notes, open_ = 0, {}
for tr in m.tracks:
    assert tr and tr[-1].type == 'end_of_track', 'missing end_of_track'
    for msg in tr:
        if msg.type == 'note_on' and msg.velocity > 0:
            k = (msg.channel, msg.note)
            assert k not in open_, 'overlapping note %s' % (k,)
            open_[k] = 1; notes += 1
        elif msg.type in ('note_off', 'note_on'):
            assert open_.pop((msg.channel, msg.note), None), 'unpaired note-off'
assert not open_, 'unterminated notes'
print('OK', notes, m.ticks_per_beat)
)PY";
}  // namespace

TEST_CASE("writer: fixture read -> encode -> decode -> write -> read is exact") {
  const Song original = read_midi(kFixtures / "block_chords.mid");
  const Encoder enc;
  const auto tokens = enc.encode(original);
  const auto dir = testmidi::temp_dir("writer_rt");
  write_midi(dir / "out.mid", enc.decode(tokens), 100.0, 19);
  const Song back = read_midi(dir / "out.mid");
  CHECK(back.ppqn == 480);
  REQUIRE(back.tempos.size() == 1);
  CHECK(back.tempos[0].bpm == doctest::Approx(100.0));
  REQUIRE(back.notes.size() == original.notes.size());
  for (std::size_t i = 0; i < back.notes.size(); ++i) {
    CAPTURE(i);
    CHECK(back.notes[i].pitch == original.notes[i].pitch);
    CHECK(back.notes[i].onset_beats == original.notes[i].onset_beats);
    CHECK(back.notes[i].duration_beats == original.notes[i].duration_beats);
  }
  CHECK(enc.encode(back) == tokens);
  CHECK(round_trip_stats(original.notes, enc).share() == 1.0);
}

TEST_CASE("writer: velocity, channel, overlaps and atomic replacement") {
  const auto dir = testmidi::temp_dir("writer_opts");
  Note a;
  a.pitch = 60;
  a.velocity = 33;
  a.channel = 2;
  a.onset_beats = 0;
  a.duration_beats = 2;
  Note b = a;  // same pitch, starts while a sounds: a is cut at 1 beat
  b.onset_beats = 1;
  b.duration_beats = 0.5;
  Note tiny = a;  // shorter than a tick: left out
  tiny.pitch = 70;
  tiny.duration_beats = 0.0001;
  write_midi(dir / "o.mid", {a, b, tiny});
  write_midi(dir / "o.mid", {b, a, tiny});  // replaces the file
  const Song s = read_midi(dir / "o.mid");
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].duration_beats == 1.0);
  CHECK(s.notes[0].velocity == 33);
  CHECK(s.notes[0].channel == 2);
  CHECK(s.notes[1].onset_beats == 1.0);
  CHECK(s.notes[1].duration_beats == 0.5);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);

  CHECK_THROWS_AS(write_midi(dir / "x.mid", {a}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(write_midi(dir / "x.mid", {a}, 120.0, 128), std::invalid_argument);
  Note bad = a;
  bad.pitch = 128;
  CHECK_THROWS_AS(write_midi(dir / "x.mid", {bad}), std::invalid_argument);
  bad = a;
  bad.onset_beats = -1;
  CHECK_THROWS_AS(write_midi(dir / "x.mid", {bad}), std::invalid_argument);
  CHECK_THROWS_AS(write_midi(dir / "no_such_dir" / "x.mid", {a}), IoError);
  write_midi(dir / "empty.mid", {});
  CHECK(read_midi(dir / "empty.mid").notes.empty());
}

TEST_CASE("writer: files check out with an independent reader (mido)") {
  if (!std::filesystem::exists("/usr/bin/python3") ||
      run("/usr/bin/python3 -c 'import mido' 2>&1").second != 0) {
    MESSAGE("skipped: /usr/bin/python3 with mido is not available");
    return;
  }
  const auto dir = testmidi::temp_dir("writer_mido");
  { std::ofstream(dir / "check.py") << kMidoCheck; }
  const Encoder enc;
  const Dataset ds = load_folder(LSTMIDI_CORPUS_DIR);
  REQUIRE(ds.songs.size() > 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto notes = enc.decode(enc.encode(ds.songs[i]));
    const auto path = dir / ("song" + std::to_string(i) + ".mid");
    write_midi(path, notes);
    const auto [out, status] =
        run("/usr/bin/python3 " + (dir / "check.py").string() + " " + path.string() + " 2>&1");
    CAPTURE(out);
    CHECK(status == 0);
    CHECK(out == "OK " + std::to_string(notes.size()) + " 480\n");
  }
  const auto [out, status] = run("/usr/bin/python3 " + (dir / "check.py").string() + " " +
                                 (kFixtures / "block_chords.mid").string() + " 2>&1");
  CHECK(out == "OK 18 96\n");
}

TEST_CASE("round trip: share of corpus notes that survive encode -> decode") {
  const Dataset ds = load_folder(LSTMIDI_CORPUS_DIR);
  REQUIRE(ds.songs.size() == 305);
  const RoundTripStats st = round_trip_stats(ds.songs, Encoder());
  MESSAGE("JSB 16th corpus: " << st.exact << " of " << st.notes << " notes survive (" << st.share()
                              << ")");
  CHECK(st.notes == 65197);
  CHECK(st.share() >= 0.61);  // measured 0.617 (40226 / 65197)
  CHECK(st.share() < 1.0);    // voices move independently: held notes under other onsets are cut
}
