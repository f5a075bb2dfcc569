// SPDX-License-Identifier: MIT
/// Half: 16-bit IEEE floats (binary16) for the 16-bit generation weights, and their exact
/// widening to float (portable) and rounding from float (F16C builds, `-mf16c`).
#pragma once

#include <cstdint>
#include <cstring>

#include "lstmidi/core/config.hpp"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace lstmidi::detail {

/// A 16-bit IEEE float (binary16), as stored in half-precision panels: 1 sign bit, 5 exponent
/// bits, 10 mantissa bits; relative rounding error at most 2^-11 for |v| in [6.1e-5, 65504].
struct Half {
  std::uint16_t bits;
};

/// The float a Half stands for (exact: every binary16 value is a float).
inline float half_to_float(Half h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (h.bits >> 10) & 0x1fu;
  std::uint32_t mantissa = h.bits & 0x3ffu, bits = sign;
  if (exponent == 0x1f) {  // infinity or NaN
    bits |= 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits |= ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {  // subnormal, mantissa * 2^-24: normalise into a float
    std::uint32_t e = 113;
    while (!(mantissa & 0x400u)) mantissa <<= 1, --e;
    bits |= (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float widen(float v) {
  return v;
}
inline double widen(double v) {
  return v;
}
inline float widen(Half v) {
  return half_to_float(v);
}

#if defined(__F16C__)
/// dst[i] = src[i] rounded to the nearest binary16 (ties to even), n values.
inline void floats_to_halves(const float* src, Half* dst, Index n) {
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i].bits = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}
#endif

}  // namespace lstmidi::detail
