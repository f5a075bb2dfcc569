// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lstmidi/music/round_trip_folder.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

TEST_CASE("round_trip_folder: a folder written again, note for note, with its signatures") {
  const fs::path dir = fs::temp_directory_path() / ("lstmidi_rtf_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "in" / "sub");
  Song s;
  for (int t = 0; t < 12; ++t) {
    Note n;
    n.pitch = 60 + t % 5;
    n.onset_beats = 0.5 * t;
    n.duration_beats = t % 3 == 0 ? 1.5 : 0.5;  // overlapping notes
    n.velocity = 40 + 7 * t;
    n.program = t % 2 ? 73 : 0;
    n.part = t % 2;
    s.notes.push_back(n);
  }
  s.time_signatures = {{0.0, 3, 4}};
  s.key_signatures = {{0.0, -3, false}};
  write_song(dir / "in" / "a.mid", s);
  write_song(dir / "in" / "sub" / "b.mid", s);
  std::ofstream(dir / "in" / "broken.mid") << "MThd not really";
  EncoderOptions eo;
  eo.encoding = Encoding::Events;
  int heard = 0, skipped = 0;
  const FolderRoundTrip t = round_trip_folder(
      dir / "in", dir / "out", eo, [&](const fs::path&, const RoundTripStats&) { ++heard; },
      [&](const std::string&) { ++skipped; });
  CHECK(t.written == 2);
  CHECK(t.skipped == 1);
  CHECK(heard == 2);
  CHECK(skipped == 1);
  CHECK(t.notes.notes == 24);
  CHECK(t.notes.exact == 24);
  CHECK(t.signatures_kept == t.signatures);
  CHECK(t.keys_kept == 2);
  CHECK(fs::is_regular_file(dir / "out" / "sub" / "b.mid"));  // the same relative path
  CHECK_THROWS_AS(round_trip_folder(dir / "in", dir / "in", eo), std::invalid_argument);
  CHECK_THROWS_AS(round_trip_folder(dir / "in" / "a.mid", dir / "in", eo), std::invalid_argument);
  fs::remove_all(dir);
}
