// SPDX-License-Identifier: MIT
/// WindowSampler: training windows and shuffled mini-batches from per-piece token sequences.
///
/// Each piece becomes ids  <bos> t_1 ... t_n <eos>  (add_bos_eos). A window of T steps starting
/// at position s has inputs ids[s .. s+T-1] and next-token targets ids[s+1 .. s+T]; starts are
/// 0, S, 2S, ... while s+T < len (stride S), and by default (WindowTail::end_aligned) one more
/// window ending at <eos> when targets are left after the last start, so every target is
/// trained on: the closing bars and the end of the piece itself, which the generator may then
/// draw. A piece shorter than T+1 ids gives one window, padded at the end with <pad> inputs and
/// target -1 (no loss). Pieces of fewer than 2 ids give none.
///
/// Validation split BY PIECE (data/piece_split.hpp): round(valid_fraction * n) pieces drawn
/// with the seed (at least 1 when the fraction is > 0 and n >= 2; never all) are validation
/// pieces. No window of a validation piece is ever in a training batch.
///
/// Transposition (training windows only): every shift k in [-max_transpose, +max_transpose] is
/// tried for every window; a shifted window is kept only if all its tokens stay in MIDI range
/// and are in the vocabulary exactly. Unshifted windows map unseen tokens by the vocabulary's
/// UnknownPolicy.
///
/// Windows, batches and the epoch order are those of data/window_sampler.hpp: epoch e visits all training windows in the order of a Fisher-Yates shuffle drawn
/// from Rng(seed, stream = e + 1), B windows per batch; the last batch of an epoch is padded
/// (inputs <pad>, targets -1) when the count is not a multiple of B. The order depends only on
/// (seed, epoch), so SamplerPosition {epoch, batch} is all a checkpoint needs to resume and
/// reproduce exactly the same batches.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/piece_split.hpp"
#include "lstmidi/data/window_sampler.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"

namespace lstmidi::music {

struct WindowOptions {
  Index steps = 64;             // T: tokens per window
  Index stride = 16;            // S: distance between window starts
  Index batch_size = 32;        // B: windows per batch
  double valid_fraction = 0.1;  // share of pieces held out for validation, 0 <= f < 1
  int max_transpose = 0;        // N: also train in all keys within +-N semitones
  std::uint64_t seed = 1;
  bool add_bos_eos = true;
  UnknownPolicy unknown = UnknownPolicy::Nearest;
  /// The windows at a piece's end: end_aligned trains every target; pad_short leaves the
  /// targets after the last whole window out (up to S - 1 of them, often <eos> itself).
  WindowTail tail = WindowTail::end_aligned;
};

using lstmidi::SamplerPosition;  // {epoch, batch}: data/epoch_order.hpp

class WindowSampler {
 public:
  WindowSampler(const std::vector<std::vector<Token>>& pieces, const Vocabulary& vocab,
                const WindowOptions& options = {})
      : opt_(options), schedule_(options.seed, options.batch_size) {
    require(opt_.steps >= 1, "WindowOptions::steps must be >= 1, got ", opt_.steps);
    require(opt_.stride >= 1, "WindowOptions::stride must be >= 1, got ", opt_.stride);
    require(opt_.batch_size >= 1, "WindowOptions::batch_size must be >= 1, got ", opt_.batch_size);
    require(opt_.valid_fraction >= 0.0 && opt_.valid_fraction < 1.0,
            "WindowOptions::valid_fraction must be in [0, 1), got ", opt_.valid_fraction);
    require(opt_.max_transpose >= 0 && opt_.max_transpose <= 24,
            "WindowOptions::max_transpose must be 0..24, got ", opt_.max_transpose);
    require(!pieces.empty(), "WindowSampler: no pieces (the dataset is empty)");

    // Split by piece.
    const std::size_t n = pieces.size();
    is_valid_ = validation_pieces(n, opt_.valid_fraction, opt_.seed);
    const auto n_valid =
        static_cast<std::size_t>(std::count(is_valid_.begin(), is_valid_.end(), true));

    // Id sequences per (piece, shift); -1 = not representable in that key.
    const int N = opt_.max_transpose;
    shifts_ = 2 * N + 1;
    ids_.resize(n * static_cast<std::size_t>(shifts_));
    for (std::size_t p = 0; p < n; ++p) {
      for (int k = -N; k <= N; ++k) {
        if (k != 0 && is_valid_[p]) continue;
        std::vector<TokenId>& out = ids_[p * static_cast<std::size_t>(shifts_) + static_cast<std::size_t>(k + N)];
        if (k == 0) {
          out = vocab.encode(pieces[p], opt_.add_bos_eos, opt_.unknown);
        } else {
          if (opt_.add_bos_eos) out.push_back(Vocabulary::kBos);
          for (const Token& t : pieces[p]) {
            const auto moved = transpose(t, k);
            const auto id = moved ? vocab.find(*moved) : std::nullopt;
            out.push_back(id ? *id : -1);
          }
          if (opt_.add_bos_eos) out.push_back(Vocabulary::kEos);
        }
        add_windows(p, k, out);
      }
    }
    require(!schedule_.train().empty(), "WindowSampler: no training windows (", n - n_valid,
            " training pieces; each needs at least 2 ids)");
  }

  const WindowOptions& options() const { return opt_; }
  bool is_validation_piece(std::size_t piece) const { return is_valid_.at(piece); }
  std::size_t train_windows() const { return schedule_.train().size(); }
  std::size_t valid_windows() const { return schedule_.valid().size(); }
  std::size_t batches_per_epoch() const { return schedule_.batches_per_epoch(); }
  /// Changes the windows per batch (e.g. to cap it at train_windows()); only before the first
  /// batch, since the batch order depends on it.
  void set_batch_size(Index b) {
    schedule_.set_batch_size(b);
    opt_.batch_size = b;
  }
  std::size_t valid_batches() const { return schedule_.valid_batches(); }

  SamplerPosition position() const { return schedule_.position(); }
  /// Continue from `p` (e.g. from a checkpoint); the next batch is batch p.batch of epoch p.epoch.
  void seek(const SamplerPosition& p) { schedule_.seek(p, "WindowSampler"); }

  /// The next training batch (T x B, time-major); moves to the next epoch after the last one.
  void next_batch(TokenBatch& out) {
    out = TokenBatch(opt_.steps, opt_.batch_size);
    schedule_.next_batch(
        [&](Index b, const Window& w) { fill_token_window(out, b, ids_[w.seq], w.start); });
  }
  TokenBatch next_batch() {
    TokenBatch b;
    next_batch(b);
    return b;
  }

  /// Validation batch i (fixed order: piece, then start), 0 <= i < valid_batches().
  void valid_batch(std::size_t i, TokenBatch& out) const {
    out = TokenBatch(opt_.steps, opt_.batch_size);
    schedule_.valid_batch(i, "WindowSampler", [&](Index b, const Window& w) {
      fill_token_window(out, b, ids_[w.seq], w.start);
    });
  }

 private:
  // The windows of one (piece, shift) sequence; a window with an id that is not representable
  // in that key (-1) is left out.
  void add_windows(std::size_t piece, int shift, const std::vector<TokenId>& ids) {
    const auto len = static_cast<std::int64_t>(ids.size());
    const std::int64_t T = opt_.steps;
    // prefix count of unusable ids, so a window is checked in O(1)
    std::vector<std::int64_t> bad(ids.size() + 1, 0);
    for (std::size_t i = 0; i < ids.size(); ++i) bad[i + 1] = bad[i] + (ids[i] < 0 ? 1 : 0);
    const auto seq = static_cast<std::uint32_t>(piece * static_cast<std::size_t>(shifts_) +
                                                static_cast<std::size_t>(shift + opt_.max_transpose));
    for (const std::int64_t s : window_starts(len - 1, T, opt_.stride, opt_.tail)) {
      const std::int64_t e = std::min(len, s + T + 1);
      if (bad[static_cast<std::size_t>(e)] - bad[static_cast<std::size_t>(s)] != 0) continue;
      (is_valid_[piece] ? schedule_.valid() : schedule_.train())
          .push_back({seq, shift, static_cast<std::uint32_t>(s)});
    }
  }

  WindowOptions opt_;
  int shifts_ = 1;
  std::vector<bool> is_valid_;
  std::vector<std::vector<TokenId>> ids_;
  WindowSchedule schedule_;  // the windows, their epoch order and the position
};

}  // namespace lstmidi::music
