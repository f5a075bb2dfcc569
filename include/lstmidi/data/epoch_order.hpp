// SPDX-License-Identifier: MIT
/// EpochOrder: the order in which an epoch visits the training windows, and where a window
/// sampler stands. The token, piano-roll and character samplers all use it.
///
/// Epoch e visits the n training windows in the order of a Fisher-Yates shuffle drawn from
/// Rng(seed, e + 1). Each epoch's order depends on (seed, e) alone, so SamplerPosition
/// {epoch, batch} is all a checkpoint needs to resume exactly, at any batch. Batch k of an
/// epoch holds windows perm[k*B .. k*B + B - 1] (the last batch of an epoch may be short).
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"

namespace lstmidi {

/// The next batch a sampler gives is batch `batch` of epoch `epoch`.
struct SamplerPosition {
  std::uint64_t epoch = 0;
  std::uint64_t batch = 0;
  friend bool operator==(const SamplerPosition& a, const SamplerPosition& b) {
    return a.epoch == b.epoch && a.batch == b.batch;
  }
};

/// Batches of batch_size needed for `windows` windows, the last one possibly short.
inline std::size_t batch_count(std::size_t windows, Index batch_size) {
  const auto b = static_cast<std::size_t>(batch_size);
  return (windows + b - 1) / b;
}

class EpochOrder {
 public:
  explicit EpochOrder(std::uint64_t seed = 0) : seed_(seed) {}

  SamplerPosition position() const { return pos_; }

  /// Continue from p; `batches` per epoch; `who` names the sampler in the error.
  void seek(const SamplerPosition& p, std::size_t batches, const char* who) {
    require(p.batch < batches, who, "::seek: batch ", p.batch, " is beyond the ", batches,
            " batches of an epoch");
    pos_ = p;
  }

  /// Which windows the next batch holds: the order of its epoch over `windows` windows, and
  /// its index in the epoch. Then moves on, to the next epoch after the last of `batches`.
  struct Batch {
    const std::vector<std::size_t>& order;
    std::size_t index;
  };
  Batch next(std::size_t windows, std::size_t batches) {
    if (order_epoch_ != pos_.epoch || order_.size() != windows || order_.empty())
      shuffle(windows, pos_.epoch);
    const Batch b{order_, static_cast<std::size_t>(pos_.batch)};
    if (++pos_.batch == batches) {
      pos_.batch = 0;
      ++pos_.epoch;
    }
    return b;
  }

 private:
  void shuffle(std::size_t windows, std::uint64_t epoch) {
    order_.resize(windows);
    for (std::size_t i = 0; i < windows; ++i) order_[i] = i;
    Rng rng(seed_, epoch + 1);
    rng.shuffle(order_.begin(), order_.end());
    order_epoch_ = epoch;
  }

  std::uint64_t seed_;
  SamplerPosition pos_;
  std::vector<std::size_t> order_;
  std::uint64_t order_epoch_ = 0;
};

}  // namespace lstmidi
