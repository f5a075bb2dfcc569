// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> SMF guard -> libsmf -> notes (programs, parts, drums,
// sustain pedal, tempo map, time and key signatures) -> tokens of every encoding -> ids ->
// notes; the events encoding's notes also go through write_song and back through the reader,
// and must come back exactly on the grid. Any crash, sanitizer report, leak, timeout or abort
// is a bug; FormatError is the expected outcome for most inputs.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/round_trip.hpp"
#include "lstmidi/music/vocabulary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lstmidi::music;
  try {
    ReadOptions options;
    options.keep_drums = size % 2 == 1;
    options.sustain = size % 3 == 1;
    const Song song = read_midi_bytes(data, size, "fuzz.mid", options);
    for (Encoding e : {Encoding::Durations, Encoding::PitchOnly, Encoding::Events}) {
      EncoderOptions eo;
      eo.encoding = e;
      eo.events.instruments = static_cast<InstrumentMode>(size % 3);
      eo.events.tempo = size % 5 == 0;
      const Encoder enc(eo);
      const auto tokens = enc.encode(song);
      const Vocabulary vocab = Vocabulary::build({tokens});
      const auto ids = vocab.encode(tokens);
      const auto notes = enc.decode(vocab.decode(ids));
      for (const Token& t : tokens) (void)parse_token(to_string(t));
      (void)notes;
      // The event round trip through a file is exact for every file the reader accepts
      // (files small enough for the writer's note cap).
      if (e == Encoding::Events && song.notes.size() <= 2000) {
        const Song decoded = enc.decode_song(tokens);
        static const std::string tmp = (std::filesystem::temp_directory_path() /
                                        ("fuzz_events_" + std::to_string(::getpid()) + ".mid"))
                                           .string();
        try {
          write_song(tmp, decoded);
        } catch (const std::invalid_argument&) {
          continue;  // beyond the writer's documented limits (times, tracks): refused, not written
        }
        ReadOptions back_options;
        back_options.keep_drums = true;
        const RoundTripStats st = event_round_trip_stats(song, read_midi(tmp, back_options), eo);
        if (st.exact != st.notes) std::abort();
      }
    }
  } catch (const lstmidi::FormatError&) {
  }
  return 0;
}
