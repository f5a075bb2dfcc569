// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;

TEST_CASE("sampling: temperature 0 is argmax, top-k and top-p restrict the support") {
  Vector<float> z(5);
  z << 1.0f, 3.0f, 2.0f, -1.0f, 2.5f;
  Rng rng(1);
  CHECK(argmax(z) == 1);
  CHECK(sample(z, SamplingConfig{0.0, 0, 1.0}, rng) == 1);
  const auto pk = sampling_distribution(z, SamplingConfig{1.0, 2, 1.0});
  CHECK(pk[1] > 0);
  CHECK(pk[4] > 0);
  CHECK(pk[0] == 0);
  CHECK(pk[2] == 0);
  CHECK(pk[1] + pk[4] == doctest::Approx(1.0));
  // softmax of z: p(1) ~ 0.47, p(4) ~ 0.28, p(2) ~ 0.17: top-p 0.7 keeps tokens 1 and 4.
  const auto pp = sampling_distribution(z, SamplingConfig{1.0, 0, 0.7});
  CHECK(pp[1] > 0);
  CHECK(pp[4] > 0);
  CHECK(pp[2] == 0);
  for (int i = 0; i < 200; ++i) {
    const TokenId t = sample(z, SamplingConfig{1.0, 2, 1.0}, rng);
    CHECK((t == 1 || t == 4));
  }
}

TEST_CASE("sampling: frequencies follow softmax(z / T), and temperature sharpens") {
  Vector<double> z(3);
  z << 0.0, std::log(2.0), std::log(5.0);  // probabilities 1/8, 2/8, 5/8
  Rng rng(3);
  std::vector<int> count(3, 0);
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(sample(z, SamplingConfig{}, rng))];
  CHECK(count[0] / double(n) == doctest::Approx(0.125).epsilon(0.05));
  CHECK(count[2] / double(n) == doctest::Approx(0.625).epsilon(0.02));
  const auto cold = sampling_distribution(z, SamplingConfig{0.5, 0, 1.0});
  CHECK(cold[2] == doctest::Approx(25.0 / 30.0));
  const auto hot = sampling_distribution(z, SamplingConfig{2.0, 0, 1.0});
  CHECK(hot[2] < 0.625);
  CHECK_THROWS_AS(sampling_distribution(z, SamplingConfig{-1.0, 0, 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampling_distribution(z, SamplingConfig{1.0, 0, 0.0}), std::invalid_argument);
}

TEST_CASE("sampling: the same seed gives the same draws") {
  Vector<float> z = Vector<float>::LinSpaced(50, -2.0f, 2.0f);
  Rng a(77), b(77);
  for (int i = 0; i < 100; ++i)
    CHECK(sample(z, SamplingConfig{0.8, 10, 0.9}, a) == sample(z, SamplingConfig{0.8, 10, 0.9}, b));
}
