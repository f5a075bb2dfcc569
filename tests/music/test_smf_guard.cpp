// SPDX-License-Identifier: MIT
// Hostile and unusual MIDI input: every case is built here, loaded through the guard and
// libsmf, and must either load its notes or fail with a FormatError that names the reason.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "lstmidi/core/rng.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
using namespace testmidi;

namespace {

// Asserts a FormatError whose message names the file and contains `reason`.
void expect_rejected(const Bytes& b, const std::string& reason) {
  CAPTURE(reason);
  try {
    (void)read_midi_bytes(b, "case.mid");
    FAIL("expected a FormatError");
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.rfind("case.mid: ", 0) == 0);
    CHECK(msg.find(reason) != std::string::npos);
  }
}

// The three notes and the chord of simple_track(), whatever the PPQN.
void expect_simple_notes(const Song& s) {
  REQUIRE(s.notes.size() == 6);
  CHECK(s.notes[0].pitch == 60);
  CHECK(s.notes[0].onset_beats == 0.0);
  CHECK(s.notes[0].duration_beats == 1.0);
  CHECK(s.notes[2].pitch == 67);
  CHECK(s.notes[2].onset_beats == 2.0);
  CHECK(s.notes[3].onset_beats == 3.0);
  CHECK(s.notes[5].duration_beats == 2.0);
}

}  // namespace

TEST_CASE("guard: a plain file loads") {
  expect_simple_notes(read_midi_bytes(simple_file(), "ok.mid"));
}

TEST_CASE("guard: structural garbage is rejected with a reason") {
  expect_rejected({}, "empty file");
  expect_rejected({'M', 'T', 'h', 'd', 0, 0}, "too short");
  Bytes bad_magic = simple_file();
  bad_magic[0] = 'X';
  expect_rejected(bad_magic, "no MThd");
  expect_rejected(cat({header(0, 0, 96)}), "declares 0 tracks");
  expect_rejected(header(0, 1, 96), "declares 1 tracks but the file has 0");  // 14-byte header only
  expect_rejected(cat({header(2, 1, 96), chunk("MTrk", simple_track())}), "format 2");
  expect_rejected(cat({header(1, 1, 0xE728), chunk("MTrk", simple_track())}), "SMPTE");
  expect_rejected(cat({header(1, 1, 0), chunk("MTrk", simple_track())}), "PPQN");
  expect_rejected(
      cat({header(0, 2, 96), chunk("MTrk", simple_track()), chunk("MTrk", simple_track())}),
      "format 0 file declares 2");
  expect_rejected(cat({header(1, 65535, 96), chunk("MTrk", simple_track())}),
                  "declares 65535 tracks");
  Bytes long_header = simple_file();
  long_header[7] = 7;
  expect_rejected(long_header, "MThd length is 7");
}

TEST_CASE("guard: lying chunk lengths and track counts") {
  const Bytes t = simple_track();
  expect_rejected(cat({header(1, 1, 96), chunk("MTrk", t, static_cast<long long>(t.size()) + 100)}),
                  "claims");
  expect_rejected(cat({header(1, 1, 96), chunk("MTrk", t, 0xFFFFFFFFLL)}), "claims");
  expect_rejected(cat({header(1, 1, 96), chunk("MTrk", t, 0x7FFFFFF8LL)}), "claims");
  expect_rejected(cat({header(1, 3, 96), chunk("MTrk", t), chunk("MTrk", t)}),
                  "declares 3 tracks but the file has 2");
  expect_rejected(cat({header(1, 1, 96), chunk("MTrk", t), chunk("MTrk", t)}), "more MTrk chunks");
  expect_rejected(cat({header(1, 1, 96), chunk("MTrk", t), Bytes{1, 2, 3}}),
                  "truncated chunk header");
  expect_rejected(cat({header(1, 1, 96), chunk("\x01\x02\x03\x04", t), chunk("MTrk", t)}),
                  "invalid chunk id");
}

TEST_CASE("guard: a file truncated at every offset is rejected") {
  const Bytes full =
      cat({header(1, 2, 96), chunk("MTrk", simple_track()), chunk("MTrk", simple_track())});
  for (std::size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS((void)read_midi_bytes(cut, "cut.mid"), FormatError);
  }
#ifdef LSTMIDI_CORPUS_DIR
  const auto files = list_midi_files(LSTMIDI_CORPUS_DIR);
  REQUIRE(!files.empty());
  const Bytes real = read_bytes(files.front());
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < real.size(); n += 7) {
    const Bytes cut(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS((void)read_midi_bytes(cut, "cut.mid"), FormatError);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
#endif
}

TEST_CASE("guard: random bytes never crash and always fail cleanly") {
  Rng rng(42);
  for (int i = 0; i < 2000; ++i) {
    Bytes b(rng.below(300));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng.below(256));
    if (i % 2 == 0 && b.size() >= 14) {  // half of them with a valid header in front
      const Bytes h = header(1, 1, 96);
      std::copy(h.begin(), h.end(), b.begin());
      if (b.size() >= 22) {
        const Bytes c = {'M', 'T', 'r', 'k', 0, 0, 0, static_cast<std::uint8_t>(b.size() - 22)};
        std::copy(c.begin(), c.end(), b.begin() + 14);
      }
    }
    try {
      const Song s = read_midi_bytes(b, "random.mid");
      for (const Note& n : s.notes) CHECK(n.duration_beats > 0.0);
    } catch (const FormatError& e) {
      CHECK(std::string(e.what()).rfind("random.mid: ", 0) == 0);
    }
  }
}

TEST_CASE("guard: caps on size, events, tempo changes and ticks") {
  Bytes huge = simple_file();
  huge.resize((std::size_t{4} << 20) + 1, 0);
  expect_rejected(huge, "above the limit");

  const auto dir = temp_dir("guard_huge");
  write_bytes(dir / "huge.mid", huge);
  CHECK_THROWS_WITH_AS((void)read_midi(dir / "huge.mid"), doctest::Contains("above the limit"),
                       FormatError);
  CHECK_THROWS_AS((void)read_midi(dir / "missing.mid"), IoError);

  Bytes tempos;  // tempo bomb: 20k tempo changes in track 2 while track 1 plays
  for (int i = 0; i < 20000; ++i) event(tempos, 1, {0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20});
  end_of_track(tempos);
  const auto t0 = std::chrono::steady_clock::now();
  expect_rejected(cat({header(1, 2, 96), chunk("MTrk", simple_track()), chunk("MTrk", tempos)}),
                  "more than 512 tempo changes");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));

  Bytes many;
  for (int i = 0; i < 30000; ++i) {
    event(many, 0, {0x90, 60, 100});
    event(many, 1, {0x80, 60, 0});
  }
  end_of_track(many);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", many)}), "more than 50000");

  Bytes far;  // dropped events (aftertouch) only: the tick cap, not the beat cap, stops it
  event(far, 0x0FFFFFFF, {0xA0, 60, 100});
  event(far, 0x0FFFFFFF, {0xA0, 60, 0});
  end_of_track(far);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", far)}), "ticks");

  // A silence bomb: one 4-byte delta puts a note 1.4 million beats in; the encoders would spell
  // out every empty bar. The last allowed beat still loads; a dropped event past it is harmless.
  Bytes silence;
  event(silence, 0, {0x90, 60, 100});
  event(silence, 24, {0x80, 60, 0});
  event(silence, 0x0869B3E6, {0xA0, 60, 90});  // aftertouch: dropped, but the clock moves on
  event(silence, 0, {0x90, 62, 100});
  event(silence, 24, {0x80, 62, 0});
  end_of_track(silence);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", silence)}), "past the limit of 16384 beats");
  Bytes late;
  event(late, 16383 * 96, {0x90, 60, 100});
  event(late, 96, {0x80, 60, 0});
  event(late, 5000 * 96, {0xA0, 60, 90});
  end_of_track(late);
  const Song s = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", late)}), "late.mid");
  REQUIRE(s.notes.size() == 1);
  CHECK(s.notes[0].onset_beats == doctest::Approx(16383.0));
  // A note that never ends, then a dropped event far away: the note ends at the last allowed
  // beat, not millions of beats later.
  Bytes hanging;
  event(hanging, 0, {0x90, 60, 100});
  event(hanging, 0x0FFFFFF0, {0xA0, 60, 90});
  end_of_track(hanging);
  const Song h = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", hanging)}), "hanging.mid");
  REQUIRE(h.notes.size() == 1);
  CHECK(h.notes[0].duration_beats == doctest::Approx(16384.0));
  CHECK(h.length_beats == doctest::Approx(16384.0));
}

TEST_CASE("guard: malformed events are rejected") {
  Bytes t;
  event(t, 0, {0x90, 60, 0x80});
  end_of_track(t);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "data byte");
  t.clear();
  t.insert(t.end(), {0x81, 0x81, 0x81, 0x81, 0x01, 0x90, 60, 100});
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "longer than 4 bytes");
  t.clear();
  event(t, 0, {60, 100});  // running status with nothing before it
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "running status");
  t.clear();
  event(t, 0, {0xF4});
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "undefined status byte 0xF4");
  t.clear();
  event(t, 0, {0xFF, 0x51, 0x02, 0x07, 0xA1});
  end_of_track(t);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "tempo event of length 2");
  t.clear();
  event(t, 0, {0xFF, 0x51, 0x03, 0, 0, 0});
  end_of_track(t);
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "tempo of 0");
  t.clear();
  event(t, 0, {0xF0, 0x7F, 1, 2});  // SysEx claiming 127 bytes
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "SysEx");
  t.clear();
  event(t, 0, {0x90, 60});  // cut off inside the event
  expect_rejected(cat({header(0, 1, 96), chunk("MTrk", t)}), "truncated channel message");
}

TEST_CASE("guard: legal but unusual files still load their notes") {
  SUBCASE("SysEx and 0xF7 continuation / escape packets") {
    Bytes t;
    event(t, 0, {0xF0, 0x03, 0x43, 0x12, 0x00});  // SysEx without F7 (continues)
    event(t, 0, {0xF7, 0x02, 0x43, 0xF7});        // continuation packet
    event(t, 0, {0xF7, 0x01, 0xF8});              // escape: a realtime byte
    const Bytes notes = simple_track();
    t.insert(t.end(), notes.begin(), notes.end());
    const Song s = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", t)}), "sysex.mid");
    expect_simple_notes(s);
  }
  SUBCASE("running status, also after SysEx and meta events, velocity-0 note-offs") {
    Bytes t;
    event(t, 0, {0x90, 60, 100});
    event(t, 96, {60, 0});  // running status note-off
    event(t, 0, {0xF0, 0x02, 0x01, 0xF7});
    event(t, 0, {64, 100});  // running status after SysEx
    event(t, 0, {0xFF, 0x01, 0x02, 'h', 'i'});
    event(t, 96, {64, 0});  // running status after meta
    end_of_track(t);
    const Song s = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", t)}), "running.mid");
    REQUIRE(s.notes.size() == 2);
    CHECK(s.notes[1].pitch == 64);
    CHECK(s.notes[1].onset_beats == 1.0);
    CHECK(s.notes[1].duration_beats == 1.0);
  }
  SUBCASE("unknown chunk types are skipped") {
    const Song s = read_midi_bytes(cat({header(1, 1, 96), chunk("XFIH", Bytes(40, 7)),
                                        chunk("MTrk", simple_track()), chunk("XFKM", {})}),
                                   "chunks.mid");
    expect_simple_notes(s);
    REQUIRE(!s.warnings.empty());
    CHECK(s.warnings[0].find("unknown chunk") != std::string::npos);
  }
  SUBCASE("missing End-of-Track; an unterminated note ends at the track's last event") {
    Bytes t = simple_track(96, false);
    event(t, 0, {0x90, 72, 100});
    event(t, 192, {0xB0, 7, 100});  // a controller two beats later ends the track
    const Song s = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", t)}), "noeot.mid");
    REQUIRE(s.notes.size() == 7);
    CHECK(s.notes.back().pitch == 72);
    CHECK(s.notes.back().duration_beats == 2.0);
    CHECK(s.warnings.size() == 2);
  }
  SUBCASE("zero-length MTrk next to a real one") {
    const Song s = read_midi_bytes(
        cat({header(1, 2, 96), chunk("MTrk", {}), chunk("MTrk", simple_track())}), "zero.mid");
    expect_simple_notes(s);
    const Song empty = read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", {})}), "zero_only.mid");
    CHECK(empty.notes.empty());
  }
  SUBCASE("long meta events") {
    Bytes t;
    vlq(t, 0);
    t.insert(t.end(), {0xFF, 0x01});
    vlq(t, 5000);
    t.insert(t.end(), 5000, 'x');
    const Bytes notes = simple_track();
    t.insert(t.end(), notes.begin(), notes.end());
    expect_simple_notes(read_midi_bytes(cat({header(0, 1, 96), chunk("MTrk", t)}), "meta.mid"));
  }
  SUBCASE("trailing zero padding after the last chunk") {
    Bytes b = simple_file();
    b.insert(b.end(), 3, 0);
    expect_simple_notes(read_midi_bytes(b, "pad.mid"));
  }
}

TEST_CASE("guard: the sanitised file keeps notes, programs, pedal, tempo and signatures only") {
  Bytes t;
  event(t, 0, {0xFF, 0x03, 0x04, 'n', 'a', 'm', 'e'});
  event(t, 0, {0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20});
  event(t, 0, {0xFF, 0x58, 0x04, 3, 2, 24, 8});  // 3/4
  event(t, 0, {0xFF, 0x59, 0x02, 0xFD, 0});      // E-flat major (3 flats)
  event(t, 0, {0xFF, 0x58, 0x04, 0, 2, 24, 8});  // numerator 0: dropped
  event(t, 0, {0xFF, 0x59, 0x02, 9, 0});         // 9 sharps: dropped
  event(t, 0, {0xC0, 5});
  event(t, 0, {0x90, 60, 100});
  event(t, 10, {0xB0, 64, 127});
  event(t, 0, {0xB0, 7, 100});  // volume: dropped
  event(t, 0, {0x80, 60, 0});
  const SanitizedSmf s = sanitize_smf(cat({header(0, 1, 96), chunk("MTrk", t)}), "s.mid");
  CHECK(s.kept_events == 7);
  CHECK(s.dropped_events == 4);
  CHECK(s.added_end_of_track == 1);
  const Bytes expected =
      cat({header(0, 1, 96),
           chunk("MTrk",
                 {0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, 0x00, 0xFF, 0x58, 0x04, 3,    2,  24,
                  8,    0x00, 0xFF, 0x59, 0x02, 0xFD, 0,    0x00, 0xC0, 5,    0x00, 0x90, 60, 100,
                  10,   0xB0, 64,   127,  0x00, 0x80, 60,   0,    0x00, 0xFF, 0x2F, 0x00})});
  CHECK(s.bytes == expected);
  // Sanitising is idempotent.
  CHECK(sanitize_smf(s.bytes, "again.mid").bytes == s.bytes);
}
