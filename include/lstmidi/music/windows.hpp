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
/// Windows, batches and the epoch order are those of data/window_sampler.hpp: epoch e visits all
/// training windows in the order of a Fisher-Yates shuffle drawn from Rng(seed, stream = e + 1), B
/// windows per batch; the last batch of an epoch is padded (inputs <pad>, targets -1) when the
/// count is not a multiple of B. The order depends only on (seed, epoch), so SamplerPosition
/// {epoch, batch} is all a checkpoint needs to resume and reproduce exactly the same batches.
///
/// carry_state (data/lane_order.hpp): the training windows of a piece follow each other
/// (stride = steps, the last one padded), each batch column reads pieces in order, and
/// TokenBatch::carry marks the columns whose state carries over from the batch before.
/// Validation windows are as without it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/lane_order.hpp"
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
  /// Training windows read pieces in order with the state carried between them (needs
  /// stride == steps).
  bool carry_state = false;
};

using lstmidi::SamplerPosition;  // {epoch, batch}: data/epoch_order.hpp

class WindowSampler : public ScheduledSampler<WindowOptions> {
 public:
  WindowSampler(const std::vector<std::vector<Token>>& pieces, const Vocabulary& vocab,
                const WindowOptions& options = {})
      : ScheduledSampler<WindowOptions>(options, "WindowSampler") {
    require(opt_.steps >= 1, "WindowOptions::steps must be >= 1, got ", opt_.steps);
    require(opt_.stride >= 1, "WindowOptions::stride must be >= 1, got ", opt_.stride);
    require(opt_.batch_size >= 1, "WindowOptions::batch_size must be >= 1, got ", opt_.batch_size);
    require(opt_.valid_fraction >= 0.0 && opt_.valid_fraction < 1.0,
            "WindowOptions::valid_fraction must be in [0, 1), got ", opt_.valid_fraction);
    require(opt_.max_transpose >= 0 && opt_.max_transpose <= 24,
            "WindowOptions::max_transpose must be 0..24, got ", opt_.max_transpose);
    require(!pieces.empty(), "WindowSampler: no pieces (the dataset is empty)");
    require(!opt_.carry_state || opt_.stride == opt_.steps,
            "carrying the state between windows (--carry-state) needs the stride equal to the "
            "window length (--seq-len ",
            opt_.steps, "), got a stride of ", opt_.stride);

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
        std::vector<TokenId>& out =
            ids_[p * static_cast<std::size_t>(shifts_) + static_cast<std::size_t>(k + N)];
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

  bool is_validation_piece(std::size_t piece) const { return is_valid_.at(piece); }

  /// The next training batch (T x B, time-major); moves to the next epoch after the last one.
  void next_batch(TokenBatch& out) {
    out = TokenBatch(opt_.steps, opt_.batch_size);
    if (!opt_.carry_state) {
      schedule_.next_batch(
          [&](Index b, const Window& w) { fill_token_window(out, b, ids_[w.seq], w.start); });
      return;
    }
    const SamplerPosition p = schedule_.position();
    if (stream_.empty() || stream_epoch_ != p.epoch) {
      stream_ = lane_stream(schedule_.train(), opt_.seed, p.epoch);
      stream_epoch_ = p.epoch;
    }
    out.carry.assign(static_cast<std::size_t>(opt_.batch_size), 0);
    visit_lanes(schedule_.train(), stream_, batches_per_epoch(), static_cast<std::size_t>(p.batch),
                opt_.batch_size, opt_.steps, [&](Index b, const Window& w, bool carried) {
                  fill_token_window(out, b, ids_[w.seq], w.start);
                  out.carry[static_cast<std::size_t>(b)] = carried ? 1 : 0;
                });
    schedule_.next_batch([](Index, const Window&) {});  // moves the position on
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
    const auto seq =
        static_cast<std::uint32_t>(piece * static_cast<std::size_t>(shifts_) +
                                   static_cast<std::size_t>(shift + opt_.max_transpose));
    const bool lanes = opt_.carry_state && !is_valid_[piece];
    for (const std::int64_t s :
         window_starts(len - 1, T, opt_.stride, lanes ? WindowTail::padded : opt_.tail)) {
      const std::int64_t e = std::min(len, s + T + 1);
      if (bad[static_cast<std::size_t>(e)] - bad[static_cast<std::size_t>(s)] != 0) continue;
      (is_valid_[piece] ? schedule_.valid() : schedule_.train())
          .push_back({seq, shift, static_cast<std::uint32_t>(s)});
    }
  }

  int shifts_ = 1;
  std::vector<bool> is_valid_;
  std::vector<std::vector<TokenId>> ids_;
  std::vector<std::size_t> stream_;  // carry_state: the training windows of epoch stream_epoch_
  std::uint64_t stream_epoch_ = 0;
};

}  // namespace lstmidi::music
