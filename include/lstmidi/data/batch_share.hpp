// SPDX-License-Identifier: MIT
/// Batch shares: the windows of one global batch that one of N processes trains (data-parallel
/// training, train/data_parallel.hpp).
///
///   global batch of B windows, process r of N:  windows [b0, b1) with
///   b0 = floor(r * B / N), b1 = floor((r + 1) * B / N)
/// The shares are disjoint, cover the batch, and differ in size by at most one window; a
/// process may get none when N > B. Taking a share keeps the batch's T and its time-major
/// layout: out[t*B' + j] = in[t*B + b0 + j], B' = b1 - b0.
#pragma once

#include <cstddef>
#include <utility>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/frame_batch.hpp"

namespace lstmidi {

/// The windows [b0, b1) of a batch of B that process `rank` of `size` trains.
inline std::pair<Index, Index> batch_share(int rank, int size, Index B) {
  require(size >= 1 && rank >= 0 && rank < size, "batch_share: rank ", rank, " of ", size);
  return {B * rank / size, B * (rank + 1) / size};
}

/// Windows [b0, b1) of `in` into `out` (resized as needed).
inline void take_windows(const TokenBatch& in, Index b0, Index b1, TokenBatch& out) {
  require(0 <= b0 && b0 <= b1 && b1 <= in.B, "take_windows: windows ", b0, "..", b1, " of ", in.B);
  const Index n = b1 - b0;
  if (out.T != in.T || out.B != n) out = TokenBatch(in.T, n);
  for (Index t = 0; t < in.T; ++t)
    for (Index j = 0; j < n; ++j) {
      out.input(t, j) = in.input(t, b0 + j);
      out.target(t, j) = in.target(t, b0 + j);
    }
}

inline void take_windows(const FrameBatch& in, Index b0, Index b1, FrameBatch& out) {
  require(0 <= b0 && b0 <= b1 && b1 <= in.B, "take_windows: windows ", b0, "..", b1, " of ", in.B);
  const Index n = b1 - b0;
  if (out.T != in.T || out.B != n || out.keys() != in.keys()) out = FrameBatch(in.T, n, in.keys());
  for (Index t = 0; t < in.T; ++t) {
    out.inputs.middleCols(t * n, n) = in.inputs.middleCols(t * in.B + b0, n);
    out.targets.middleCols(t * n, n) = in.targets.middleCols(t * in.B + b0, n);
    for (Index j = 0; j < n; ++j)
      out.mask[static_cast<std::size_t>(t * n + j)] =
          in.mask[static_cast<std::size_t>(t * in.B + b0 + j)];
  }
}

}  // namespace lstmidi
