// SPDX-License-Identifier: MIT
/// FrameBatch: a mini-batch of B piano-roll windows of T frames with next-frame targets,
/// time-major, for the pianoroll mode of Model (K keys, multi-hot frames).
///
///   inputs.col(t*B + b)  = frame at step t of window b      (K values in {0, 1})
///   targets.col(t*B + b) = frame at step t+1 of window b    (the one to predict)
///   mask[t*B + b]        = 1 if that target is scored, 0 for padding
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

struct FrameBatch {
  Index T = 0;                     // steps per window
  Index B = 0;                     // windows per batch
  Matrix<float> inputs;            // (K, T*B), time-major
  Matrix<float> targets;           // (K, T*B), time-major
  std::vector<std::uint8_t> mask;  // T*B; 0 marks a position without a target

  FrameBatch() = default;
  /// All-zero inputs and targets, nothing scored.
  FrameBatch(Index steps, Index batch, Index keys)
      : T(steps),
        B(batch),
        inputs(Matrix<float>::Zero(keys, steps * batch)),
        targets(Matrix<float>::Zero(keys, steps * batch)),
        mask(static_cast<size_t>(steps * batch), 0) {}

  Index keys() const { return inputs.rows(); }
  Index col(Index t, Index b) const { return t * B + b; }
};

}  // namespace lstmidi
