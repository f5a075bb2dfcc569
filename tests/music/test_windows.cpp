// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "lstmidi/music/windows.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
// Piece i is a scale of `len` notes starting at pitch 48 + i, so windows tell their piece apart.
std::vector<std::vector<Token>> pieces(int count, int len) {
  std::vector<std::vector<Token>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<Token> p;
    for (int k = 0; k < len; ++k) p.push_back(Token::notes({48 + i + k % 12}, 1 + k % 3));
    out.push_back(p);
  }
  return out;
}
bool same(const TokenBatch& a, const TokenBatch& b) {
  return a.T == b.T && a.B == b.B && a.inputs == b.inputs && a.targets == b.targets;
}
}  // namespace

TEST_CASE("windows: next-token targets, strides and counts") {
  std::vector<std::vector<Token>> data(1);  // 20 different tokens: a window's start is unique
  for (int k = 0; k < 20; ++k) data[0].push_back(Token::notes({40 + k}, 1));
  const Vocabulary v = Vocabulary::build(data);
  WindowOptions o;
  o.steps = 8;
  o.stride = 4;
  o.batch_size = 2;
  o.valid_fraction = 0.0;
  const std::vector<TokenId> ids = v.encode(data[0]);
  // 22 ids (<bos> + 20 + <eos>), 21 targets: starts 0, 4, 8, 12 (s + 8 <= 21), and one more
  // window ending at <eos> (start 13), so every target is trained on (WindowTail::end_aligned).
  // pad_short leaves the last target, <eos>, out.
  for (const WindowTail tail : {WindowTail::end_aligned, WindowTail::pad_short}) {
    CAPTURE(static_cast<int>(tail));
    o.tail = tail;
    WindowSampler ws(data, v, o);
    const bool aligned = tail == WindowTail::end_aligned;
    CHECK(ws.train_windows() == (aligned ? 5u : 4u));
    CHECK(ws.valid_windows() == 0);
    CHECK(ws.batches_per_epoch() == (aligned ? 3u : 2u));
    std::set<TokenId> firsts;
    std::set<TokenId> targets;
    for (std::size_t b = 0; b < ws.batches_per_epoch(); ++b) {
      const TokenBatch batch = ws.next_batch();
      CHECK(batch.T == 8);
      CHECK(batch.B == 2);
      for (Index w = 0; w < 2; ++w) {
        if (batch.input(0, w) == Vocabulary::kPad) continue;  // the last batch's padding
        std::size_t s = 0;  // the window's start: the only place its inputs match
        auto matches = [&](std::size_t at) {
          for (Index t = 0; t < 8; ++t)
            if (ids[at + static_cast<std::size_t>(t)] != batch.input(t, w)) return false;
          return true;
        };
        while (!matches(s)) ++s;
        firsts.insert(static_cast<TokenId>(s));
        for (Index t = 0; t < 8; ++t) {
          CHECK(batch.target(t, w) == ids[s + static_cast<std::size_t>(t) + 1]);
          targets.insert(batch.target(t, w));
        }
      }
    }
    CHECK(firsts ==
          (aligned ? std::set<TokenId>{0, 4, 8, 12, 13} : std::set<TokenId>{0, 4, 8, 12}));
    CHECK(targets.count(Vocabulary::kEos) == (aligned ? 1u : 0u));
    CHECK(ws.position() == SamplerPosition{1, 0});
  }
}

TEST_CASE("windows: short pieces are padded, a partial last batch too") {
  const auto data = pieces(1, 3);
  WindowOptions o;
  o.steps = 8;
  o.batch_size = 3;
  o.valid_fraction = 0.0;
  WindowSampler ws(data, Vocabulary::build(data), o);
  REQUIRE(ws.train_windows() == 1);
  const TokenBatch b = ws.next_batch();
  CHECK(b.input(0, 0) == Vocabulary::kBos);
  CHECK(b.target(3, 0) == Vocabulary::kEos);
  CHECK(b.input(5, 0) == Vocabulary::kPad);
  CHECK(b.target(4, 0) == -1);
  for (Index w = 1; w < 3; ++w)
    for (Index t = 0; t < 8; ++t) {
      CHECK(b.input(t, w) == Vocabulary::kPad);
      CHECK(b.target(t, w) == -1);
    }
}

TEST_CASE("windows: validation split by piece, seeded") {
  const auto data = pieces(10, 40);
  const Vocabulary v = Vocabulary::build(data);
  WindowOptions o;
  o.steps = 8;
  o.stride = 8;
  o.batch_size = 4;
  o.valid_fraction = 0.3;
  o.seed = 7;
  WindowSampler ws(data, v, o);
  std::set<TokenId> valid_first, train_first;  // the pitch right after <bos> names the piece
  std::size_t n_valid = 0;
  for (std::size_t p = 0; p < data.size(); ++p) n_valid += ws.is_validation_piece(p) ? 1 : 0;
  CHECK(n_valid == 3);
  // Every window's tokens come from one piece; check no validation piece reaches training.
  std::set<TokenId> valid_ids;
  for (std::size_t p = 0; p < data.size(); ++p)
    if (ws.is_validation_piece(p)) valid_ids.insert(v.id(data[p][0]));
  for (std::size_t b = 0; b < ws.batches_per_epoch(); ++b) {
    const TokenBatch batch = ws.next_batch();
    for (Index w = 0; w < batch.B; ++w)
      if (batch.input(0, w) == Vocabulary::kBos) CHECK(valid_ids.count(batch.input(1, w)) == 0);
  }
  CHECK(ws.valid_windows() == 3 * 6);  // 41 targets: starts 0, 8, .., 32 and 33 (ending at <eos>)
  TokenBatch vb;
  ws.valid_batch(0, vb);
  CHECK(vb.input(0, 0) == Vocabulary::kBos);
  CHECK(valid_ids.count(vb.input(1, 0)) == 1);
  // Another seed gives another split; the same seed the same one.
  WindowOptions o2 = o;
  o2.seed = 8;
  WindowSampler other(data, v, o2), again(data, v, o);
  bool differs = false;
  for (std::size_t p = 0; p < data.size(); ++p) {
    differs = differs || other.is_validation_piece(p) != ws.is_validation_piece(p);
    CHECK(again.is_validation_piece(p) == ws.is_validation_piece(p));
  }
  CHECK(differs);
}

TEST_CASE("windows: deterministic and resumable from a position") {
  const auto data = pieces(6, 50);
  const Vocabulary v = Vocabulary::build(data);
  WindowOptions o;
  o.steps = 10;
  o.stride = 3;
  o.batch_size = 5;
  o.seed = 123;
  WindowSampler a(data, v, o), b(data, v, o);
  std::vector<TokenBatch> run;
  const std::size_t total = a.batches_per_epoch() * 2 + 3;  // crosses epochs
  for (std::size_t i = 0; i < total; ++i) run.push_back(a.next_batch());
  for (std::size_t i = 0; i < total; ++i) CHECK(same(run[i], b.next_batch()));
  // Epochs differ in order.
  CHECK(!same(run[0], run[a.batches_per_epoch()]));
  // "Kill" after batch k and resume in a fresh sampler from the saved position.
  WindowSampler c(data, v, o);
  const std::size_t k = a.batches_per_epoch() + 2;
  for (std::size_t i = 0; i < k; ++i) c.next_batch();
  const SamplerPosition saved = c.position();
  WindowSampler resumed(data, v, o);
  resumed.seek(saved);
  for (std::size_t i = k; i < total; ++i) CHECK(same(run[i], resumed.next_batch()));
  CHECK_THROWS_AS(resumed.seek({0, 100000}), std::invalid_argument);
}

TEST_CASE("windows: transposition adds keys that stay in range and in the vocabulary") {
  std::vector<std::vector<Token>> data = {parse_tokens("C4:4 E4:4 G4:4 C5:4 G9:4 rest:4")};
  std::vector<std::vector<Token>> all = data;
  for (int k = -2; k <= 2; ++k)
    if (k != 0) {
      std::vector<Token> moved;
      for (const Token& t : data[0])
        if (auto m = transpose(t, k)) moved.push_back(*m);
      all.push_back(moved);
    }
  const Vocabulary v = Vocabulary::build(all);
  WindowOptions o;
  o.steps = 3;
  o.stride = 1;
  o.valid_fraction = 0.0;
  o.max_transpose = 2;
  WindowSampler ws(data, v, o);
  // 8 ids, starts 0..4. Windows touching G9 (position 5) cannot move up. Up: starts 0,1 only
  // (start s covers ids s..s+3); down: all 5; unshifted: 5.
  CHECK(ws.train_windows() == 5 + 2 * 5 + 2 * 2);
  o.max_transpose = 0;
  CHECK(WindowSampler(data, v, o).train_windows() == 5);
}

TEST_CASE("windows: empty or unusable data is a clear error") {
  const Vocabulary v;
  CHECK_THROWS_WITH_AS(WindowSampler({}, v), doctest::Contains("empty"), std::invalid_argument);
  WindowOptions o;
  o.add_bos_eos = false;
  o.valid_fraction = 0.0;
  CHECK_THROWS_WITH_AS(WindowSampler({parse_tokens("C4:4")}, v, o),
                       doctest::Contains("no training windows"), std::invalid_argument);
  o.steps = 0;
  CHECK_THROWS_AS(WindowSampler({parse_tokens("C4:4 D4:4")}, v, o), std::invalid_argument);
}
