// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>
#include <lstmidi/core/rng.hpp>
#include <numeric>
#include <vector>

using lstmidi::Rng;

TEST_CASE("rng: same seed gives the same stream, different seeds differ") {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u32();
    CHECK(x == b.next_u32());
    differs |= x != c.next_u32();
  }
  CHECK(differs);
}

TEST_CASE("rng: PCG32 reference output for the default seed") {
  // Known first outputs of pcg32 seeded with (42, 54), from the PCG paper's demo program.
  Rng r(42, 54);
  const std::uint32_t expected[] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                    0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (std::uint32_t e : expected) CHECK(r.next_u32() == e);
}

TEST_CASE("rng: saved state resumes the exact stream") {
  Rng r(7);
  for (int i = 0; i < 10; ++i) r.next_u32();
  const Rng::State s = r.state();
  std::vector<double> first;
  for (int i = 0; i < 20; ++i) first.push_back(r.uniform());
  Rng other(999);
  other.set_state(s);
  for (int i = 0; i < 20; ++i) CHECK(other.uniform() == first[static_cast<size_t>(i)]);
}

TEST_CASE("rng: conversions stay in range and look uniform") {
  Rng r(1);
  double sum = 0;
  std::vector<int> hist(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    const float f = r.uniform_f32();
    REQUIRE(f >= 0.0f);
    REQUIRE(f < 1.0f);
    sum += u;
    const auto k = r.below(10);
    REQUIRE(k < 10u);
    ++hist[k];
  }
  CHECK(sum / 100000 == doctest::Approx(0.5).epsilon(0.01));
  for (int h : hist) CHECK(h == doctest::Approx(10000).epsilon(0.05));
  double m = 0, m2 = 0;
  for (int i = 0; i < 100000; ++i) {
    const double z = r.normal();
    m += z;
    m2 += z * z;
  }
  CHECK(std::abs(m / 100000) < 0.02);
  CHECK(m2 / 100000 == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("rng: shuffle is a seeded permutation") {
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  auto a = v, b = v;
  Rng r1(5), r2(5);
  r1.shuffle(a.begin(), a.end());
  r2.shuffle(b.begin(), b.end());
  CHECK(a == b);
  CHECK(a != v);
  std::sort(a.begin(), a.end());
  CHECK(a == v);
}

TEST_CASE("rng: fill_u32 gives the draws of next_u32, bit for bit, and leaves the same state") {
  // Lengths below, at and around the lane count, and long runs with a tail.
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 1000u, 4099u}) {
    CAPTURE(n);
    Rng one(123, 9), block(123, 9);
    one.next_u32();  // start mid-stream
    block.next_u32();
    std::vector<std::uint32_t> expected(n), got(n + 1, 0xdeadbeef);
    for (auto& x : expected) x = one.next_u32();
    block.fill_u32(got.data(), n);
    CHECK(std::equal(expected.begin(), expected.end(), got.begin()));
    CHECK(got[n] == 0xdeadbeef);  // nothing written past n
    CHECK(block.state().state == one.state().state);
    CHECK(block.next_u32() == one.next_u32());
  }
}

TEST_CASE("rng: advance(n) moves the stream as n draws do") {
  for (std::uint64_t n : {0ull, 1ull, 2ull, 15ull, 16ull, 17ull, 1000ull, 65537ull, 1234567ull}) {
    CAPTURE(n);
    Rng one(77, 3), jump(77, 3);
    one.next_u32();  // start mid-stream
    jump.next_u32();
    for (std::uint64_t k = 0; k < n; ++k) one.next_u32();
    jump.advance(n);
    CHECK(jump.state().state == one.state().state);
    CHECK(jump.next_u32() == one.next_u32());
  }
  // Steps compose: 2^40 + 5 draws at once, or in two parts.
  Rng a(5), b(5);
  a.advance((1ull << 40) + 5);
  b.advance(1ull << 40);
  b.advance(5);
  CHECK(a.state().state == b.state().state);
}
