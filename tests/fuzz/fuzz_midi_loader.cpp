// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> SMF guard -> libsmf -> notes -> tokens -> ids -> notes.
// Any crash, sanitizer report, leak or timeout is a bug; FormatError is the expected outcome
// for most inputs.
#include <cstddef>
#include <cstdint>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/vocabulary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lstmidi::music;
  try {
    ReadOptions options;
    options.keep_drums = size % 2 == 1;
    const Song song = read_midi_bytes(data, size, "fuzz.mid", options);
    for (Encoding e : {Encoding::Durations, Encoding::PitchOnly}) {
      EncoderOptions eo;
      eo.encoding = e;
      const Encoder enc(eo);
      const auto tokens = enc.encode(song);
      const Vocabulary vocab = Vocabulary::build({tokens});
      const auto ids = vocab.encode(tokens);
      const auto notes = enc.decode(vocab.decode(ids));
      for (const Token& t : tokens) (void)parse_token(to_string(t));
      (void)notes;
    }
  } catch (const lstmidi::FormatError&) {
  }
  return 0;
}
