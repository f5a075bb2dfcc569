// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary text -> music::Vocabulary::from_text.
// The only acceptable outcomes are a Vocabulary or lstmidi::FormatError. An accepted file must
// re-serialise to text that loads to an equal vocabulary, and lookups must stay in range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lstmidi/music/vocabulary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lstmidi::music;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Vocabulary v;
  try {
    v = Vocabulary::from_text(text, "fuzz-vocab.txt");
  } catch (const lstmidi::FormatError&) {
    return 0;
  }
  const Vocabulary again = Vocabulary::from_text(v.to_text(), "re-serialised");
  if (!(again == v)) std::abort();
  // Every kept token maps to itself, its text round-trips, and nearest() stays in range.
  for (lstmidi::TokenId id = Vocabulary::kReserved; id < static_cast<lstmidi::TokenId>(v.size());
       ++id) {
    const Token& t = v.token(id);
    if (v.find(t) != id) std::abort();
    if (to_string(t) != v.str(id)) std::abort();
    if (auto moved = transpose(t, 1)) {
      const lstmidi::TokenId near = v.id(*moved);
      if (near < 0 || near >= static_cast<lstmidi::TokenId>(v.size())) std::abort();
    }
  }
  return 0;
}
