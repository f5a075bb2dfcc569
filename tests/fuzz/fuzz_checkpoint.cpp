// SPDX-License-Identifier: MIT
// libFuzzer target: arbitrary bytes -> decode_checkpoint<float> (and <double>).
// Inputs are tried as they are and "resealed" (length and CRC fixed up) so that the fuzzer
// reaches the field checks behind the checksum. The only acceptable outcomes are a Checkpoint or
// lstmidi::FormatError. A decoded checkpoint must survive encode -> decode unchanged, and the model
// it describes must be buildable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

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
  // Almost every mutation breaks the CRC, which hides the field checks behind it. So also try
  // the input "resealed": magic, version, payload length and CRC made right, payload as is.
  if (size >= 28) {
    std::vector<std::uint8_t> b(data, data + size);
    std::memcpy(b.data(), lstmidi::kCheckpointMagic, 8);
    const std::uint32_t version = lstmidi::kFormatVersion;
    std::memcpy(b.data() + 8, &version, 4);
    const std::uint64_t n = size - 28;
    std::memcpy(b.data() + 16, &n, 8);
    const std::uint32_t crc = lstmidi::crc32(b.data(), size - 4);
    std::memcpy(b.data() + size - 4, &crc, 4);
    check_one<float>(b.data(), b.size());
    check_one<double>(b.data(), b.size());
  }
  return 0;
}
