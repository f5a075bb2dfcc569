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

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE4_2__) && (defined(__x86_64__) || defined(_M_X64))
#include <nmmintrin.h>
#define LSTMIDI_CRC32C_HARDWARE 1
#endif

namespace lstmidi {

/// Slicing-by-8 over the reflected polynomial 0x82F63B78: any CPU.
inline std::uint32_t crc32c_portable(const std::uint8_t* data, std::size_t n,
                                     std::uint32_t crc = 0) {
  static const auto t = [] {
    std::array<std::uint32_t, 8 * 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k)
        t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[t[(k - 1) * 256 + i] & 0xFFu];
    return t;
  }();
  crc = ~crc;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint32_t lo =
        crc ^ (std::uint32_t{data[i]} | std::uint32_t{data[i + 1]} << 8 |
               std::uint32_t{data[i + 2]} << 16 | std::uint32_t{data[i + 3]} << 24);
    crc = t[7 * 256 + (lo & 0xFFu)] ^ t[6 * 256 + ((lo >> 8) & 0xFFu)] ^
          t[5 * 256 + ((lo >> 16) & 0xFFu)] ^ t[4 * 256 + (lo >> 24)] ^ t[3 * 256 + data[i + 4]] ^
          t[2 * 256 + data[i + 5]] ^ t[1 * 256 + data[i + 6]] ^ t[data[i + 7]];
  }
  for (; i < n; ++i) crc = t[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
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
