// SPDX-License-Identifier: MIT
// Limits of the MIDI, vocabulary and token layers that tests/music/test_smf_guard.cpp does not
// already cover (docs/limits.md lists them all), and regression inputs found by fuzzing:
// tests/fuzz/corpus/regressions/<target>/* must each load or fail with a FormatError.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
using namespace testmidi;
namespace fs = std::filesystem;

namespace {

std::string rejection(const Bytes& b) {
  try {
    (void)read_midi_bytes(b, "case.mid");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

Bytes notes_track(int notes) {
  Bytes t;
  for (int i = 0; i < notes; ++i) {
    event(t, 0, {0x90, 60, 100});
    event(t, 1, {0x80, 60, 0});
  }
  end_of_track(t);
  return t;
}

fs::path regressions(const std::string& target) {
  return fs::path(LSTMIDI_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" / "regressions" / target;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("limits: at most 64 tracks") {
  Bytes b = header(1, 64, 96);
  for (int i = 0; i < 64; ++i) b = cat({b, chunk("MTrk", simple_track())});
  CHECK(rejection(b).empty());
  b = header(1, 65, 96);
  for (int i = 0; i < 65; ++i) b = cat({b, chunk("MTrk", simple_track())});
  CHECK(rejection(b).find("declares 65 tracks (allowed 1..64)") != std::string::npos);
}

TEST_CASE("limits: at most 100000 note/tempo events in a file, 50000 in a track") {
  // 3 tracks of 20000 notes = 40000 events each: every track is within its cap, the file is not.
  const Bytes t = notes_track(20000);
  const Bytes b = cat({header(1, 3, 96), chunk("MTrk", t), chunk("MTrk", t), chunk("MTrk", t)});
  CHECK(rejection(b).find("file has more than 100000 note/tempo events") != std::string::npos);
  // Exactly 25000 notes = 50000 events in one track is accepted.
  CHECK(rejection(cat({header(0, 1, 96), chunk("MTrk", notes_track(25000))})).empty());
}

TEST_CASE("limits: a vocabulary file above 64 MiB is refused before it is read") {
  const fs::path d = temp_dir("vocab_huge");
  const fs::path p = d / "vocab.txt";
  { std::ofstream(p) << "lstmidi-vocabulary 1\n"; }
  fs::resize_file(p, (std::uintmax_t{64} << 20) + 1);
  CHECK_THROWS_WITH_AS((void)Vocabulary::load(p), doctest::Contains("above the limit"),
                       FormatError);
  fs::remove_all(d);
}

TEST_CASE("limits: token durations 1..1024 and at most 128 pitches per token") {
  CHECK(parse_token("C4:1024").duration == kMaxTokenDuration);
  CHECK_THROWS_AS((void)parse_token("C4:1025"), FormatError);
  CHECK_THROWS_AS((void)parse_token("C4:0"), FormatError);
  CHECK_THROWS_AS((void)parse_token("rest:1234567890"), FormatError);
  std::string chord;
  for (int p = 0; p < 128; ++p) chord += (p ? "." : "") + pitch_name(p);
  CHECK(parse_token(chord + ":4").pitches.size() == 128);
  CHECK_THROWS_WITH_AS((void)parse_token(chord + ".C4:4"),
                       doctest::Contains("more than 128 pitches"), FormatError);
}

TEST_CASE("limits: write_midi writes at most WriteOptions::max_notes (20000) notes") {
  const fs::path d = temp_dir("writer_cap");
  std::vector<Note> notes(20001);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    notes[i].onset_beats = static_cast<double>(i) * 0.25;
    notes[i].duration_beats = 0.25;
  }
  CHECK_THROWS_WITH_AS(write_midi(d / "x.mid", notes, 120.0),
                       doctest::Contains("above the limit of 20000"), std::invalid_argument);
  CHECK_FALSE(fs::exists(d / "x.mid"));
  std::vector<Note> far(1);
  far[0].onset_beats = 1e9;
  far[0].duration_beats = 1;
  CHECK_THROWS_AS(write_midi(d / "y.mid", far, 120.0), std::invalid_argument);
  fs::remove_all(d);
}

TEST_CASE("regressions: vocabulary and token inputs found by fuzzing") {
  for (const char* target : {"vocabulary", "tokens"}) {
    const fs::path dir = regressions(target);
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      CAPTURE(e.path().string());
      const std::string text = read_text(e.path());
      try {
        if (std::string(target) == "vocabulary") {
          const Vocabulary v = Vocabulary::from_text(text, "regression");
          CHECK(Vocabulary::from_text(v.to_text()) == v);
        } else {
          for (const Token& t : parse_tokens(text)) CHECK(parse_token(to_string(t)) == t);
          (void)Encoder().parse(text);
        }
      } catch (const FormatError&) {
      }
    }
  }
}

TEST_CASE("regressions: MIDI inputs found by fuzzing") {
  const fs::path dir = regressions("midi");
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::directory_iterator(dir)) {
    CAPTURE(e.path().string());
    try {
      (void)read_midi(e.path());
    } catch (const FormatError&) {
    }
  }
}
