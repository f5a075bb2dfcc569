// SPDX-License-Identifier: MIT
/// BatchStates<T>: the LSTM state (h, c of every layer, H x B each) a batch starts from, kept
/// between batches so that no batch allocates one.
///
///   blank(model, B)            every column zero: each window starts afresh
///   carried(model, carry)      column b keeps the final state of the previous batch run from
///                              carried() where carry[b] is set (window b continues that
///                              column's window: truncated BPTT over a whole piece, no
///                              gradient flows into the previous batch), zero elsewhere
///
/// Invariant: the state carried() returns is the one the model's forward pass left in it, so
/// the caller must run every carried batch through that state and nothing else in between.
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/model/model.hpp"

namespace lstmidi {

template <typename T>
class BatchStates {
 public:
  using State = typename Model<T>::State;

  State& blank(const Model<T>& model, Index B) {
    if (blank_.batch() != B) blank_ = model.zero_state(B);
    for (auto& h : blank_.h) h.setZero();
    for (auto& c : blank_.c) c.setZero();
    return blank_;
  }

  State& carried(const Model<T>& model, const std::vector<std::uint8_t>& carry) {
    const auto B = static_cast<Index>(carry.size());
    if (carried_.batch() != B) carried_ = model.zero_state(B);
    for (Index b = 0; b < B; ++b) {
      if (carry[static_cast<std::size_t>(b)]) continue;
      for (auto& h : carried_.h) h.col(b).setZero();
      for (auto& c : carried_.c) c.col(b).setZero();
    }
    return carried_;
  }

 private:
  State blank_, carried_;
};

}  // namespace lstmidi
