// SPDX-License-Identifier: MIT
/// CRC-32C (Castagnoli; iSCSI, ext4, SSE 4.2's crc32 instruction): the checksum of files read
/// whole on every run, where a table-driven CRC-32 would cost as much as the rest of the read.
/// crc32c("123456789") = 0xE3069283.
///
/// crc32c() uses the crc32 instruction where the build targets SSE 4.2 (any x86-64 build with
/// -mavx2 does) and crc32c_portable() elsewhere; both give the same value for the same bytes,
/// so a file written by one build is read by the other. Like crc32(), a running checksum is
/// continued by passing the previous value as `crc`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lstmidi/io/binary.hpp"

#if defined(__SSE4_2__) && (defined(__x86_64__) || defined(_M_X64))
#include <nmmintrin.h>
#define LSTMIDI_CRC32C_HARDWARE 1
#endif

namespace lstmidi {

/// Slicing-by-8 over the reflected polynomial 0x82F63B78: any CPU.
inline std::uint32_t crc32c_portable(const std::uint8_t* data, std::size_t n,
                                     std::uint32_t crc = 0) {
  return detail::crc_slice8<0x82F63B78u>(data, n, crc);
}

inline std::uint32_t crc32c(const std::uint8_t* data, std::size_t n, std::uint32_t crc = 0) {
#ifdef LSTMIDI_CRC32C_HARDWARE
  std::uint64_t c = ~crc;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);  // little-endian, any alignment
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; i < n; ++i) c32 = _mm_crc32_u8(c32, data[i]);
  return ~c32;
#else
  return crc32c_portable(data, n, crc);
#endif
}

}  // namespace lstmidi
