// SPDX-License-Identifier: MIT
// EpochOrder: each epoch visits every window once, in an order fixed by (seed, epoch), so a
// sampler resumed from its position hands out the same batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "test_helpers.hpp"

using namespace lstmidi;

TEST_CASE("epoch order: every epoch is a permutation, reproducible from (seed, epoch)") {
  const std::size_t windows = 10, batches = batch_count(windows, 4);
  CHECK(batches == 3);
  EpochOrder order(7);
  std::vector<std::vector<std::size_t>> epochs;
  for (int e = 0; e < 3; ++e) {
    std::vector<std::size_t> seen;
    for (std::size_t b = 0; b < batches; ++b) {
      CHECK(order.position() == SamplerPosition{static_cast<std::uint64_t>(e), b});
      const auto next = order.next(windows, batches);
      CHECK(next.index == b);
      if (b == 0) seen = next.order;
    }
    std::vector<std::size_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> all(windows);
    std::iota(all.begin(), all.end(), std::size_t{0});
    CHECK(sorted == all);
    epochs.push_back(seen);
  }
  CHECK(order.position() == SamplerPosition{3, 0});
  CHECK(epochs[0] != epochs[1]);  // a new shuffle each epoch
  CHECK(epochs[1] != epochs[2]);

  EpochOrder resumed(7);  // seek into epoch 1: the same order as the first run's epoch 1
  resumed.seek({1, 2}, batches, "Sampler");
  const auto next = resumed.next(windows, batches);
  CHECK(next.index == 2);
  CHECK(next.order == epochs[1]);
  CHECK(resumed.position() == SamplerPosition{2, 0});

  EpochOrder other(8);
  CHECK(other.next(windows, batches).order != epochs[0]);  // the seed matters
}

TEST_CASE("epoch order: seeking past the last batch names the sampler") {
  EpochOrder order(1);
  CHECK_THROWS_WITH_AS(order.seek({0, 3}, 3, "WindowSampler"),
                       doctest::Contains("WindowSampler::seek: batch 3 is beyond the 3 batches"),
                       std::invalid_argument);
  CHECK(batch_count(0, 4) == 0);
  CHECK(batch_count(8, 4) == 2);
  CHECK(batch_count(9, 4) == 3);
}

TEST_CASE("validation pieces: the share asked for, at least one, never all, fixed by the seed") {
  auto held = [](const std::vector<bool>& v) {
    return static_cast<std::size_t>(std::count(v.begin(), v.end(), true));
  };
  CHECK(held(validation_pieces(100, 0.1, 1)) == 10);
  CHECK(held(validation_pieces(100, 0.0, 1)) == 0);
  CHECK(held(validation_pieces(5, 0.01, 1)) == 1);  // rounds to 0, but a fraction was asked for
  CHECK(held(validation_pieces(2, 0.9, 1)) == 1);   // never every piece
  CHECK(held(validation_pieces(1, 0.5, 1)) == 0);   // one piece: it must be trained on
  CHECK(validation_pieces(0, 0.5, 1).empty());
  CHECK(validation_pieces(50, 0.2, 7) == validation_pieces(50, 0.2, 7));
  CHECK(validation_pieces(50, 0.2, 7) != validation_pieces(50, 0.2, 8));
  CHECK_THROWS_AS(validation_pieces(10, 1.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(validation_pieces(10, -0.1, 1), std::invalid_argument);
}
