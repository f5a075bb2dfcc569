// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <set>

#include "lstmidi/data/window_sampler.hpp"

using namespace lstmidi;

namespace {
using Starts = std::vector<std::int64_t>;
}

TEST_CASE("window_starts: each tail rule at the end of a sequence") {
  // m = 10 targets, T = 4, S = 3: whole windows at 0, 3, 6 (6 + 4 = 10 <= 10).
  CHECK(window_starts(10, 4, 3, WindowTail::full_only) == Starts{0, 3, 6});
  CHECK(window_starts(10, 4, 3, WindowTail::pad_short) == Starts{0, 3, 6});
  CHECK(window_starts(10, 4, 3, WindowTail::end_aligned) == Starts{0, 3, 6});
  CHECK(window_starts(10, 4, 3, WindowTail::padded) == Starts{0, 3, 6, 9});
  // m = 11: target 11 is after the last whole window.
  CHECK(window_starts(11, 4, 3, WindowTail::full_only) == Starts{0, 3, 6});
  CHECK(window_starts(11, 4, 3, WindowTail::end_aligned) == Starts{0, 3, 6, 7});
  // Shorter than one window.
  CHECK(window_starts(2, 4, 3, WindowTail::full_only).empty());
  CHECK(window_starts(2, 4, 3, WindowTail::pad_short) == Starts{0});
  CHECK(window_starts(2, 4, 3, WindowTail::end_aligned) == Starts{0});
  CHECK(window_starts(2, 4, 4, WindowTail::padded) == Starts{0});
  // Nothing to predict.
  for (auto tail :
       {WindowTail::full_only, WindowTail::pad_short, WindowTail::end_aligned, WindowTail::padded})
    CHECK(window_starts(0, 4, 3, tail).empty());
  CHECK_THROWS_AS(window_starts(10, 0, 3, WindowTail::padded), std::invalid_argument);
}

TEST_CASE(
    "window_starts: every target is covered by end_aligned, exactly once by padded with S = T") {
  for (std::int64_t m = 1; m <= 40; ++m)
    for (std::int64_t T = 1; T <= 9; ++T)
      for (std::int64_t S = 1; S <= 9; ++S) {
        CAPTURE(m);
        CAPTURE(T);
        CAPTURE(S);
        std::set<std::int64_t> covered;  // targets s+1 .. s+T, within 1..m
        for (std::int64_t s : window_starts(m, T, S, WindowTail::end_aligned))
          for (std::int64_t k = s + 1; k <= std::min(m, s + T); ++k) covered.insert(k);
        if (S <= T) CHECK(covered.size() == static_cast<std::size_t>(m));
        std::vector<int> count(static_cast<std::size_t>(m + 1), 0);
        for (std::int64_t s : window_starts(m, T, T, WindowTail::padded))
          for (std::int64_t k = s + 1; k <= std::min(m, s + T); ++k)
            ++count[static_cast<size_t>(k)];
        for (std::int64_t k = 1; k <= m; ++k) CHECK(count[static_cast<size_t>(k)] == 1);
      }
}

TEST_CASE("WindowSchedule: every training window once per epoch, padding in the last batch") {
  WindowSchedule sched(7, 4);
  for (std::uint32_t i = 0; i < 10; ++i) sched.train().push_back({0, 0, i});
  for (std::uint32_t i = 0; i < 5; ++i) sched.valid().push_back({1, 0, i});
  REQUIRE(sched.batches_per_epoch() == 3);
  REQUIRE(sched.valid_batches() == 2);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<std::uint32_t> seen;
    std::vector<Index> columns;
    for (int b = 0; b < 3; ++b)
      sched.next_batch([&](Index col, const Window& w) {
        seen.insert(w.start);
        if (b == 2) columns.push_back(col);
      });
    CHECK(seen.size() == 10);
    CHECK(std::set<std::uint32_t>(seen.begin(), seen.end()).size() == 10);
    CHECK(columns == std::vector<Index>{0, 1});  // 10 = 4 + 4 + 2: columns 2, 3 are padding
  }
  CHECK(sched.position() == SamplerPosition{2, 0});
  std::vector<std::uint32_t> valid;
  sched.valid_batch(1, "test", [&](Index, const Window& w) { valid.push_back(w.start); });
  CHECK(valid == std::vector<std::uint32_t>{4});  // in the order added
  CHECK_THROWS_AS(sched.valid_batch(2, "test", [](Index, const Window&) {}), std::invalid_argument);
}

TEST_CASE("fill_token_window: inputs, next-token targets and padding past the end") {
  TokenBatch batch(4, 2);
  const std::vector<TokenId> ids{5, 6, 7};
  fill_token_window(batch, 1, ids, 1);
  CHECK(batch.input(0, 1) == 6);
  CHECK(batch.target(0, 1) == 7);
  CHECK(batch.input(1, 1) == 7);
  CHECK(batch.target(1, 1) == -1);
  CHECK(batch.input(2, 1) == 0);
  CHECK(batch.target(3, 1) == -1);
  CHECK(batch.input(0, 0) == 0);  // the other column untouched
}

TEST_CASE("WindowSchedule: the batch size changes only before the first batch") {
  WindowSchedule sched(1, 4);
  for (std::uint32_t i = 0; i < 10; ++i) sched.train().push_back({0, 0, i});
  sched.set_batch_size(10);
  CHECK(sched.batches_per_epoch() == 1);
  CHECK_THROWS_AS(sched.set_batch_size(0), std::invalid_argument);
  sched.next_batch([](Index, const Window&) {});
  CHECK_THROWS_WITH_AS(sched.set_batch_size(2), doctest::Contains("fixed once batches"),
                       std::invalid_argument);
}
