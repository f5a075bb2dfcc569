// SPDX-License-Identifier: MIT
/// TokenBatch: a mini-batch of B token windows of length T with next-token targets, time-major.
///
///   inputs[t*B + b]  = token at step t of window b
///   targets[t*B + b] = token at step t+1 of window b (the one to predict); -1 = no target
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

struct TokenBatch {
  Index T = 0;                   // steps per window
  Index B = 0;                   // windows per batch
  std::vector<TokenId> inputs;   // size T*B, time-major
  std::vector<TokenId> targets;  // size T*B, time-major; -1 marks a position without a target
  /// Empty: every window starts from a blank LSTM state. Else size B: carry[b] = 1 when window
  /// b continues the one in column b of the previous batch, whose final state it starts from.
  std::vector<std::uint8_t> carry;

  TokenBatch() = default;
  TokenBatch(Index steps, Index batch)
      : T(steps),
        B(batch),
        inputs(static_cast<size_t>(steps * batch), 0),
        targets(static_cast<size_t>(steps * batch), -1) {}

  TokenId& input(Index t, Index b) { return inputs[static_cast<size_t>(t * B + b)]; }
  TokenId& target(Index t, Index b) { return targets[static_cast<size_t>(t * B + b)]; }
  TokenId input(Index t, Index b) const { return inputs[static_cast<size_t>(t * B + b)]; }
  TokenId target(Index t, Index b) const { return targets[static_cast<size_t>(t * B + b)]; }
};

}  // namespace lstmidi
