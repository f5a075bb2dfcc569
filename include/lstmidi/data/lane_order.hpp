// SPDX-License-Identifier: MIT
/// LaneOrder: training batches whose columns read sequences in order, so the LSTM state a
/// window ends with can start the next window of the same sequence (truncated BPTT over whole
/// pieces; what TokenBatch::carry marks).
///
/// The training windows of a sequence follow each other (stride = window length T), so window
/// k + 1 of a sequence starts where window k ended. Epoch e lays the sequences end to end in
/// the order of a Fisher-Yates shuffle drawn from Rng(seed, e + 1), each with its windows in
/// order: a stream of the n training windows. The stream is cut into B lanes of
/// L = ceil(n / B) windows; column b of batch k holds window b * L + k of the stream (padding
/// past its end). Hence an epoch has the same L batches as a shuffled one, every training
/// window is visited exactly once per epoch, and the order depends only on (seed, e).
///
/// A column carries the state of the batch before it exactly when k > 0 and its window is the
/// next one of the sequence the column's previous window belongs to (continues()). A sequence
/// cut by a lane's end goes on at batch 0 of the next lane from a blank state.
#pragma once

#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/window_sampler.hpp"

namespace lstmidi {

/// True when window `w` is the one that follows `prev` in the same sequence (T steps on).
inline bool continues(const Window& prev, const Window& w, Index steps) {
  return prev.seq == w.seq && prev.shift == w.shift &&
         static_cast<std::int64_t>(prev.start) + steps == static_cast<std::int64_t>(w.start);
}

/// The stream of epoch `epoch` over `windows` (those of one sequence contiguous and in order
/// of start, as a sampler adds them): indices into `windows`, sequence by sequence in the
/// order of the shuffle drawn from Rng(seed, epoch + 1).
inline std::vector<std::size_t> lane_stream(const std::vector<Window>& windows, std::uint64_t seed,
                                            std::uint64_t epoch) {
  // The runs of one sequence: [first[i], first[i + 1]).
  std::vector<std::size_t> first;
  for (std::size_t i = 0; i < windows.size(); ++i)
    if (i == 0 || windows[i].seq != windows[i - 1].seq) first.push_back(i);
  const std::size_t runs = first.size();
  first.push_back(windows.size());
  std::vector<std::size_t> order(runs);
  for (std::size_t i = 0; i < runs; ++i) order[i] = i;
  Rng rng(seed, epoch + 1);
  rng.shuffle(order.begin(), order.end());
  std::vector<std::size_t> stream;
  stream.reserve(windows.size());
  for (std::size_t r : order)
    for (std::size_t i = first[r]; i < first[r + 1]; ++i) stream.push_back(i);
  return stream;
}

/// Calls f(b, window, carried) for every column b of batch `batch` of an epoch whose stream is
/// `stream` (lane_stream), `batches` batches of B columns (batches = ceil(n / B)); columns past
/// the stream's end are left out (padding). `carried` says the column's state carries over
/// from batch `batch` - 1.
template <typename F>
void visit_lanes(const std::vector<Window>& windows, const std::vector<std::size_t>& stream,
                 std::size_t batches, std::size_t batch, Index B, Index steps, F&& f) {
  for (Index b = 0; b < B; ++b) {
    const std::size_t k = static_cast<std::size_t>(b) * batches + batch;
    if (batch >= batches || k >= stream.size()) continue;
    const Window& w = windows[stream[k]];
    const bool carried = batch > 0 && continues(windows[stream[k - 1]], w, steps);
    f(b, w, carried);
  }
}

}  // namespace lstmidi
