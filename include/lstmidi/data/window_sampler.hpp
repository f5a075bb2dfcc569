// SPDX-License-Identifier: MIT
/// The window sampler shared by the token, piano-roll and character data: where windows start
/// in a sequence (window_starts), the lists of training and validation windows with the epoch
/// order over them (WindowSchedule), and the batch of next-token windows (fill_token_windows).
/// The samplers of music/windows.hpp, music/frame_sampler.hpp and text/char_corpus.hpp are this
/// plus what their data needs (transposition, the zero frame, a split by position).
///
/// A sequence has m targets at positions 1..m (a token sequence of m + 1 ids; a piece of m
/// frames after the zero frame). A window of T steps starting at s predicts the targets
/// s+1 .. s+T; starts are 0, S, 2S, ... (stride S), and what happens at the end is a WindowTail.
///
/// Batches: epoch e visits the training windows in the order of EpochOrder (a seeded shuffle
/// per epoch, data/epoch_order.hpp), B windows per batch, the last batch of an epoch short
/// (its missing windows are padding: no target). Validation batches take the validation
/// windows in the order they were added.
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/epoch_order.hpp"

namespace lstmidi {

/// One window: which sequence, shifted how (a transposition, or 0), first input position.
struct Window {
  std::uint32_t seq = 0;
  std::int32_t shift = 0;
  std::uint32_t start = 0;
};

/// What the starts 0, S, 2S, ... do at the end of a sequence of m targets.
enum class WindowTail {
  full_only,    ///< whole windows only: s + T <= m
  pad_short,    ///< whole windows; a sequence shorter than T gives one padded window at 0
  end_aligned,  ///< as pad_short, and targets left after the last start get one more window
                ///< ending at the last target (s = m - T), so every target is trained on
  padded,       ///< every start s < m; the last window is padded (with S = T: each target of
                ///< the sequence in exactly one window, as validation needs)
};

/// The window starts over a sequence of m targets (none when m < 1).
inline std::vector<std::int64_t> window_starts(std::int64_t m, std::int64_t T, std::int64_t S,
                                               WindowTail tail) {
  require(T >= 1 && S >= 1, "window_starts: steps and stride must be >= 1, got T=", T, " S=", S);
  std::vector<std::int64_t> out;
  if (m < 1) return out;
  if (tail == WindowTail::padded) {
    for (std::int64_t s = 0; s < m; s += S) out.push_back(s);
    return out;
  }
  std::int64_t s = 0;
  for (; s + T <= m; s += S) out.push_back(s);
  if (tail == WindowTail::full_only) return out;
  if (m < T) {
    out.push_back(0);
  } else if (tail == WindowTail::end_aligned && s - S + T < m) {
    out.push_back(m - T);
  }
  return out;
}

/// The training and validation windows of a sampler, the epoch order over the training ones,
/// and the position {epoch, batch} a checkpoint stores to resume exactly.
class WindowSchedule {
 public:
  WindowSchedule(std::uint64_t seed, Index batch_size) : B_(batch_size), order_(seed) {}

  std::vector<Window>& train() { return train_; }
  std::vector<Window>& valid() { return valid_; }
  const std::vector<Window>& train() const { return train_; }
  const std::vector<Window>& valid() const { return valid_; }

  Index batch_size() const { return B_; }
  /// Changes the windows per batch (e.g. to cap it at the number of training windows); only
  /// before the first batch, since the batch order depends on it.
  void set_batch_size(Index b) {
    require(b >= 1, "batch size must be >= 1, got ", b);
    require(order_.position() == SamplerPosition{},
            "the batch size is fixed once batches have been drawn");
    B_ = b;
  }
  std::size_t batches_per_epoch() const { return batch_count(train_.size(), B_); }
  std::size_t valid_batches() const { return batch_count(valid_.size(), B_); }

  SamplerPosition position() const { return order_.position(); }
  /// Continue from `p`; `who` names the sampler in the error.
  void seek(const SamplerPosition& p, const char* who) { order_.seek(p, batches_per_epoch(), who); }

  /// Calls f(b, window) for every window of the next training batch (b = its column), then
  /// moves on (to the next epoch after the last batch).
  template <typename F>
  void next_batch(F&& f) {
    const auto next = order_.next(train_.size(), batches_per_epoch());
    visit(train_, &next.order, next.index, f);
  }

  /// Calls f(b, window) for every window of validation batch i, 0 <= i < valid_batches().
  template <typename F>
  void valid_batch(std::size_t i, const char* who, F&& f) const {
    require(i < valid_batches(), who, "::valid_batch: index ", i, " is beyond ", valid_batches());
    visit(valid_, nullptr, i, f);
  }

 private:
  template <typename F>
  void visit(const std::vector<Window>& windows, const std::vector<std::size_t>* perm,
             std::size_t batch, F& f) const {
    for (Index b = 0; b < B_; ++b) {
      const std::size_t k = batch * static_cast<std::size_t>(B_) + static_cast<std::size_t>(b);
      if (k >= windows.size()) continue;  // padding: the batch's caller left no target there
      f(b, windows[perm ? (*perm)[k] : k]);
    }
  }

  Index B_;
  std::vector<Window> train_, valid_;
  EpochOrder order_;
};

/// Writes the window starting at `start` of the id sequence `ids` into column b of `out`:
/// inputs ids[start + t], targets ids[start + t + 1], for t = 0..T-1; positions past the end of
/// the sequence keep the batch's padding (input 0, target -1).
inline void fill_token_window(TokenBatch& out, Index b, const std::vector<TokenId>& ids,
                              std::size_t start) {
  for (Index t = 0; t < out.T; ++t) {
    const std::size_t i = start + static_cast<std::size_t>(t);
    if (i < ids.size()) out.input(t, b) = ids[i];
    if (i + 1 < ids.size()) out.target(t, b) = ids[i + 1];
  }
}

/// What every window sampler answers from its WindowSchedule: the window and batch counts, the
/// position, seek, and the batch size. `Options` has `seed` and `batch_size`; `name` names the
/// sampler in messages. music::WindowSampler, music::FrameSampler and text::CharWindowSampler
/// derive from it and add their windows and how a window fills a batch.
template <typename Options>
class ScheduledSampler {
 public:
  const Options& options() const { return opt_; }
  std::size_t train_windows() const { return schedule_.train().size(); }
  std::size_t valid_windows() const { return schedule_.valid().size(); }
  std::size_t batches_per_epoch() const { return schedule_.batches_per_epoch(); }
  std::size_t valid_batches() const { return schedule_.valid_batches(); }
  /// Changes the windows per batch (e.g. to cap it at train_windows()); only before the first
  /// batch, since the batch order depends on it.
  void set_batch_size(Index b) {
    schedule_.set_batch_size(b);
    opt_.batch_size = b;
  }
  SamplerPosition position() const { return schedule_.position(); }
  /// Continue from `p` (e.g. from a checkpoint); the next batch is batch p.batch of epoch p.epoch.
  void seek(const SamplerPosition& p) { schedule_.seek(p, name_); }

 protected:
  ScheduledSampler(const Options& options, const char* name)
      : opt_(options), schedule_(options.seed, options.batch_size), name_(name) {}

  Options opt_;
  WindowSchedule schedule_;  // the windows, their epoch order and the position
  const char* name_;
};

}  // namespace lstmidi
