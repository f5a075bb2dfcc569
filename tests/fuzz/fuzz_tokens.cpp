// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary text -> music::parse_tokens and Encoder::parse (the
// --primer-notes parser, chord, pitch-only and events encodings). The only acceptable outcomes are
// tokens or lstmidi::FormatError. Every parsed token must print canonically and re-parse to itself,
// and parsed primers must decode to notes without error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/token.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lstmidi::music;
  if (size == 0) return 0;
  // First byte picks the settings; the rest is the text.
  const std::uint8_t knob = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    for (const Token& t : parse_tokens(text, knob % 2 == 0 ? 0 : 1 + knob % 16)) {
      const std::string s = to_string(t);
      if (parse_token(s) != t) std::abort();
      if (to_string(parse_token(s)) != s) std::abort();
    }
  } catch (const lstmidi::FormatError&) {
  }
  try {
    EncoderOptions eo;
    eo.encoding = (knob & 2)    ? Encoding::PitchOnly
                  : (knob & 64) ? Encoding::Events
                                : Encoding::Durations;
    eo.max_duration = 1 + (knob >> 2) % 32;
    const Encoder enc(eo);
    const std::vector<Token> tokens = enc.parse(text);
    const auto notes = enc.decode(tokens);
    for (const Note& n : notes)
      if (n.pitch < kMinPitch || n.pitch > kMaxPitch || !(n.duration_beats >= 0)) std::abort();
  } catch (const lstmidi::FormatError&) {
  }
  return 0;
}
