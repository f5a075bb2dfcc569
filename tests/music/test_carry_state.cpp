// SPDX-License-Identifier: MIT
// Training with the LSTM state carried from window to window (WindowOptions::carry_state,
// data/lane_order.hpp, Trainer's carried state).
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "lstmidi/data/lane_order.hpp"
#include "lstmidi/music/windows.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/optim/clip.hpp"
#include "lstmidi/train/trainer.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
// Pieces of the given lengths whose tokens are all different (piece i plays length 1 + i, note
// k of it pitch 30 + k), so an input id tells its piece and position.
std::vector<std::vector<Token>> unique_pieces(const std::vector<int>& lengths) {
  std::vector<std::vector<Token>> out;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    std::vector<Token> p;
    for (int k = 0; k < lengths[i]; ++k)
      p.push_back(Token::notes({30 + k}, static_cast<int>(i) + 1));
    out.push_back(p);
  }
  return out;
}

WindowOptions carry_options() {
  WindowOptions o;
  o.steps = 4;
  o.stride = 4;
  o.batch_size = 3;
  o.valid_fraction = 0.0;
  o.seed = 5;
  o.carry_state = true;
  return o;
}
}  // namespace

TEST_CASE("lane_stream: every window once, each sequence whole and in order, seeded") {
  std::vector<Window> w;
  const std::vector<std::uint32_t> counts = {3, 1, 4, 2, 5};
  for (std::uint32_t s = 0; s < counts.size(); ++s)
    for (std::uint32_t k = 0; k < counts[s]; ++k) w.push_back({s, 0, 4 * k});
  const auto a = lane_stream(w, 9, 0);
  CHECK(a == lane_stream(w, 9, 0));
  CHECK(std::set<std::size_t>(a.begin(), a.end()).size() == w.size());
  REQUIRE(a.size() == w.size());
  for (std::size_t i = 1; i < a.size(); ++i)
    if (w[a[i]].seq == w[a[i - 1]].seq) CHECK(continues(w[a[i - 1]], w[a[i]], 4));
  std::set<std::uint32_t> seen;  // a sequence never comes back once left
  for (std::size_t i = 0; i < a.size(); ++i)
    if (i == 0 || w[a[i]].seq != w[a[i - 1]].seq) CHECK(seen.insert(w[a[i]].seq).second);
  bool differs = false;
  for (std::uint64_t e = 1; e < 6; ++e) differs |= lane_stream(w, 9, e) != a;
  CHECK(differs);
}

TEST_CASE("windows with carry_state: columns read pieces in order, carry marks continuations") {
  const auto data = unique_pieces({7, 20, 13, 30, 3, 9});
  const Vocabulary v = Vocabulary::build(data);
  std::map<TokenId, std::pair<std::size_t, std::size_t>> where;  // id -> (piece, position)
  std::vector<std::vector<TokenId>> ids;
  for (std::size_t p = 0; p < data.size(); ++p) {
    ids.push_back(v.encode(data[p]));
    for (std::size_t k = 1; k + 1 < ids.back().size(); ++k) where[ids.back()[k]] = {p, k};
  }
  const WindowOptions o = carry_options();
  WindowSampler ws(data, v, o), again(data, v, o);
  std::size_t targets = 0;
  for (const auto& s : ids) targets += s.size() - 1;
  // Windows of 4 following each other, the last of a piece padded.
  std::size_t windows = 0;
  for (const auto& s : ids) windows += (s.size() - 1 + 3) / 4;
  CHECK(ws.train_windows() == windows);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<std::pair<std::size_t, std::size_t>> trained;  // (piece, target position)
    TokenBatch prev;
    for (std::size_t k = 0; k < ws.batches_per_epoch(); ++k) {
      const TokenBatch batch = ws.next_batch();
      const TokenBatch twin = again.next_batch();
      CHECK(batch.inputs == twin.inputs);  // the same seed, the same batches
      CHECK(batch.carry == twin.carry);
      REQUIRE(batch.carry.size() == 3);
      for (Index b = 0; b < batch.B; ++b) {
        const TokenId first = batch.input(0, b);
        for (Index t = 0; t < batch.T; ++t) {
          const TokenId y = batch.target(t, b);
          if (y < 0) continue;
          // The piece of the window: that of its first non-<bos> id.
          const TokenId x = batch.input(t, b) == Vocabulary::kBos ? y : batch.input(t, b);
          const std::size_t piece = where.count(x) ? where.at(x).first : 0;
          const std::size_t pos =
              batch.input(t, b) == Vocabulary::kBos ? 1 : where.at(x).second + 1;
          if (y != Vocabulary::kEos) CHECK(where.at(y) == std::make_pair(piece, pos));
          trained.insert({piece, pos});
        }
        // A column carries its state exactly when its window goes on from the one before.
        const bool follows = k > 0 && prev.target(batch.T - 1, b) == first &&
                             first != Vocabulary::kPad && first != Vocabulary::kBos;
        CHECK(static_cast<bool>(batch.carry[static_cast<std::size_t>(b)]) == follows);
      }
      prev = batch;
    }
    CHECK(trained.size() == targets);  // every target once per epoch
    CHECK(std::set<std::pair<std::size_t, std::size_t>>(trained.begin(), trained.end()).size() ==
          targets);
  }
  WindowOptions bad = o;
  bad.stride = 2;
  CHECK_THROWS_WITH_AS(WindowSampler(data, v, bad), doctest::Contains("stride"),
                       std::invalid_argument);
  bad = o;
  bad.carry_state = false;  // no carry marks without it
  CHECK(WindowSampler(data, v, bad).next_batch().carry.empty());
}

TEST_CASE("trainer with carry_state: the steps of a loop that carries the state, not a blank one") {
  const auto data = unique_pieces({11, 26, 17, 9});
  const Vocabulary v = Vocabulary::build(data);
  ModelConfig mc;
  mc.vocab_size = static_cast<Index>(v.size());
  mc.embedding_size = 5;
  mc.hidden_sizes = {6};
  mc.dropout = 0;
  TrainOptions to;
  to.epochs = 2;
  to.adam.lr = 0.02;
  // The trainer's weights after two epochs.
  Model<float> trained(mc);
  Rng init(3);
  trained.init(init);
  const Vector<float> start = trained.params().values;
  {
    WindowSampler ws(data, v, carry_options());
    Rng rng(11);
    Trainer<float, WindowSampler> tr(trained, ws, to, rng);
    tr.run();
  }
  // The same steps by hand, each window starting from the state the last batch left in its
  // column when `carry` says so (or always blank).
  auto by_hand = [&](bool carry) {
    Model<float> m(mc);
    m.params().values = start;
    WindowSampler ws(data, v, carry_options());
    Adam<float> adam(m.num_params(), to.adam);
    Rng rng(11);
    auto state = m.zero_state(3);
    for (std::size_t k = 0; k < 2 * ws.batches_per_epoch(); ++k) {
      const TokenBatch batch = ws.next_batch();
      for (Index b = 0; b < 3; ++b)
        if (!carry || !batch.carry[static_cast<std::size_t>(b)]) {
          state.h[0].col(b).setZero();
          state.c[0].col(b).setZero();
        }
      m.params().zero_grad();
      m.forward_backward(batch, state, rng, true);
      clip_global_norm(m.params().grads, to.clip);
      adam.step(m.params().values, m.params().grads);
    }
    return Vector<float>(m.params().values);
  };
  const Vector<float> carried = by_hand(true);
  CHECK(trained.params().values == carried);
  CHECK(!(by_hand(false) == carried));  // the carried state made a difference
}
