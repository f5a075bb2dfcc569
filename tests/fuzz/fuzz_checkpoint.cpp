// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> decode_checkpoint<float> (and <double>).
// The only acceptable outcomes are a Checkpoint or lstmidi::FormatError. A decoded checkpoint
// must survive encode -> decode unchanged, and the model it describes must be buildable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lstmidi/model/checkpoint.hpp"

namespace {

template <typename T>
void check_one(const std::uint8_t* data, std::size_t size) {
  using namespace lstmidi;
  Checkpoint<T> ck;
  try {
    ck = decode_checkpoint<T>(data, size, "fuzz.lstmidi");
  } catch (const FormatError&) {
    return;
  }
  // Round trip: what we decoded must encode to a file that decodes to the same thing.
  const std::vector<std::uint8_t> again = encode_checkpoint(ck);
  const Checkpoint<T> ck2 = decode_checkpoint<T>(again.data(), again.size(), "re-encoded");
  if (!(ck2.config == ck.config) || ck2.params != ck.params ||
      ck2.has_optimizer != ck.has_optimizer || ck2.adam_steps != ck.adam_steps ||
      ck2.adam_m != ck.adam_m || ck2.adam_v != ck.adam_v || ck2.meta != ck.meta ||
      ck2.rng.state != ck.rng.state || ck2.rng.inc != ck.rng.inc)
    std::abort();
  // The weights must fit the model the config describes.
  auto model = model_from_checkpoint(ck);
  if (model->num_params() != ck.params.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_one<float>(data, size);
  check_one<double>(data, size);
  return 0;
}
