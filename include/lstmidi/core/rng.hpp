// SPDX-License-Identifier: MIT
/// Rng: the one random number generator of the library, PCG32 (O'Neill 2014, "PCG: A Family of
/// Simple Fast Space-Efficient Statistically Good Algorithms for Random Number Generation").
///
///   state_{n+1} = state_n * 6364136223846793005 + inc          (64-bit LCG, inc odd)
///   out_n       = rotr32(((state_n >> 18) ^ state_n) >> 27, state_n >> 59)
///
/// Every conversion to floats, normals, Bernoulli draws and shuffles is written here, so the
/// same seed gives the same stream on every platform and standard library (the standard
/// library's distributions are implementation-defined). The state is two 64-bit words and is
/// saved in checkpoints.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lstmidi {

class Rng {
 public:
  struct State {
    std::uint64_t state = 0;
    std::uint64_t inc = 1;
  };

  explicit Rng(std::uint64_t seed = 0x853c49e6748fea9bULL,
               std::uint64_t stream = 0xda3e39cb94b95bdbULL) {
    seed_with(seed, stream);
  }

  void seed_with(std::uint64_t seed, std::uint64_t stream = 0xda3e39cb94b95bdbULL) {
    s_.state = 0;
    s_.inc = (stream << 1u) | 1u;
    next_u32();
    s_.state += seed;
    next_u32();
  }

  State state() const { return s_; }
  void set_state(const State& s) {
    s_ = s;
    s_.inc |= 1u;
  }

  std::uint32_t next_u32() {
    const std::uint64_t old = s_.state;
    s_.state = old * kMultiplier + s_.inc;
    return output(old);
  }

  /// out[0..n) = the next n values of next_u32(), bit for bit, and the stream moves n draws on.
  /// Fast path for long runs of draws (dropout masks): kLanes independent lanes, lane j at draw
  /// k + j, each stepped kLanes draws at a time by the composed LCG
  ///   state_{k+L} = a^L state_k + inc (a^{L-1} + ... + a + 1)      (mod 2^64, L = kLanes)
  /// so the lanes share no dependency chain and the compiler vectorises them.
  void fill_u32(std::uint32_t* out, std::size_t n) {
    std::size_t k = 0;
    if (n >= kLanes) {
      std::uint64_t lane[kLanes];
      lane[0] = s_.state;
      for (std::size_t j = 1; j < kLanes; ++j) lane[j] = lane[j - 1] * kMultiplier + s_.inc;
      std::uint64_t mul = 1, add = 0;  // x -> mul x + add is kLanes steps of the LCG
      for (std::size_t j = 0; j < kLanes; ++j) {
        add = add * kMultiplier + s_.inc;
        mul *= kMultiplier;
      }
      for (; k + kLanes <= n; k += kLanes) {
        for (std::size_t j = 0; j < kLanes; ++j) {
          const std::uint64_t old = lane[j];
          out[k + j] = output(old);
          lane[j] = old * mul + add;
        }
      }
      s_.state = lane[0];  // the state before draw k
    }
    for (; k < n; ++k) out[k] = next_u32();
  }

  /// Moves the stream `delta` draws on, as `delta` calls of next_u32() would, in O(log delta)
  /// steps: n steps of the LCG are the affine map x -> A x + C with A = a^n and
  /// C = inc (a^{n-1} + ... + a + 1), built from the maps of 1, 2, 4, ... steps by squaring
  /// (Brown 1994, "Random number generation with arbitrary strides"). Lets several threads draw
  /// disjoint parts of one stream (dropout masks) and still give the serial draws.
  void advance(std::uint64_t delta) {
    std::uint64_t step_mul = kMultiplier, step_add = s_.inc;  // the map of 2^i steps
    std::uint64_t mul = 1, add = 0;                           // the map of the steps so far
    for (; delta > 0; delta >>= 1u) {
      if (delta & 1u) {
        mul *= step_mul;
        add = add * step_mul + step_add;
      }
      step_add *= step_mul + 1;  // (x -> m x + c) twice: m^2 x + (m + 1) c
      step_mul *= step_mul;
    }
    s_.state = s_.state * mul + add;
  }

  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  /// Uniform in [0, 1) with 24 random bits (exact in float).
  float uniform_f32() { return to_unit_f32(next_u32()); }
  /// The conversion uniform_f32() applies to one draw: its top 24 bits, scaled by 2^-24.
  static float to_unit_f32(std::uint32_t u) {
    return static_cast<float>(u >> 8) * (1.0f / 16777216.0f);
  }

  /// Uniform in [0, 1) with 53 random bits (exact in double).
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), unbiased (Lemire's rejection on 32 bits). n must be > 0.
  std::uint32_t below(std::uint32_t n) {
    std::uint64_t m = std::uint64_t{next_u32()} * n;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
      while (low < threshold) {
        m = std::uint64_t{next_u32()} * n;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  /// Standard normal by the Box-Muller transform (one draw per call; no cached second value, so
  /// the state alone describes the stream).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Fisher-Yates shuffle.
  template <typename It>
  void shuffle(It first, It last) {
    const auto n = last - first;
    for (auto i = n - 1; i > 0; --i) {
      const auto j = static_cast<decltype(i)>(below(static_cast<std::uint32_t>(i + 1)));
      using std::swap;
      swap(first[i], first[j]);
    }
  }

 private:
  static constexpr std::uint64_t kMultiplier = 6364136223846793005ULL;
  static constexpr std::size_t kLanes = 16;

  // The PCG output permutation (XSH RR) of the state before a step.
  static std::uint32_t output(std::uint64_t old) {
    const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rot = static_cast<std::uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }

  State s_;
};

}  // namespace lstmidi
