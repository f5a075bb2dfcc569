// SPDX-License-Identifier: MIT
/// ProcessGroup: the processes that train one model together, data-parallel (Horovod's and
/// PyTorch DDP's scheme), and the one sum per step that keeps them in step. The trainer sees only
/// this interface; train/data_parallel.hpp implements it over MPI.
///
/// Process r of N trains windows [b0, b1) of every global batch of B windows
/// (data/batch_share.hpp) and gets the gradient of its mean loss over its n_r scored positions,
///   g_r = (1/n_r) sum_{i in share r} dl_i/dw.
/// The global batch's gradient is the mean over all n = sum_r n_r positions:
///   g = (1/n) sum_r n_r g_r,
/// so each process scales its gradient by n_r, one all-reduce sums the scaled gradients, and
/// every process divides by n. The same buffer carries the loss totals, the stop requests and
/// the elapsed time of process 0, so every process takes the same decisions after the step:
///
///   buffer (P + 5):  [ n_r g_r (P) | nll_sum_r | n_r | correct_r | stop_r | t_0 (0 on r > 0) ]
///
/// Every process then clips and takes the same Adam step from the same sums, so the weights
/// stay equal; StepReduce::weights_agree checks that with a checksum every few steps. In float,
/// n_r g_r and the division differ from one process's mean by rounding only (docs/math.md,
/// data-parallel training).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "lstmidi/core/config.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"

namespace lstmidi {

/// The processes of one data-parallel run.
class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Sums data[0..n) over every process, in place; every process receives the same sums.
  virtual void sum(float* data, std::size_t n) = 0;
  virtual void sum(double* data, std::size_t n) = 0;
  /// Whether `value` is the same on every process (every process gets the same answer).
  virtual bool same_everywhere(std::uint64_t value) = 0;
};

/// Thrown when the processes of a data-parallel run no longer hold the same weights.
class ProcessesDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What every process knows after a step's sum.
struct GroupStep {
  LossTotals totals;   // of the global batch
  bool stop = false;   // some process was asked to stop
  double elapsed = 0;  // process 0's training seconds
};

/// The fused buffer of one step and the sum over the group.
template <typename T>
class StepReduce {
 public:
  static constexpr Index kExtra = 5;

  /// Replaces `grads` (this process's mean gradient over local.count positions) with the
  /// global batch's mean gradient, and returns the global totals and decisions.
  GroupStep reduce(ProcessGroup& group, Vector<T>& grads, const LossTotals& local, bool stop,
                   double elapsed) {
    const Index P = grads.size();
    buffer_.resize(P + kExtra);
    buffer_.head(P) = grads * static_cast<T>(local.count);  // n_r g_r
    buffer_[P] = static_cast<T>(local.nll_sum);
    buffer_[P + 1] = static_cast<T>(local.count);
    buffer_[P + 2] = static_cast<T>(local.correct);
    buffer_[P + 3] = stop ? T(1) : T(0);
    buffer_[P + 4] = group.rank() == 0 ? static_cast<T>(elapsed) : T(0);
    group.sum(buffer_.data(), static_cast<std::size_t>(buffer_.size()));
    GroupStep s;
    s.totals.nll_sum = static_cast<double>(buffer_[P]);
    s.totals.count = static_cast<Index>(buffer_[P + 1] + T(0.5));
    s.totals.correct = static_cast<Index>(buffer_[P + 2] + T(0.5));
    s.stop = buffer_[P + 3] > T(0.5);
    s.elapsed = static_cast<double>(buffer_[P + 4]);
    // g = (1/n) sum_r n_r g_r; no scored position anywhere: a zero gradient.
    const T inv = s.totals.count > 0 ? T(1) / static_cast<T>(s.totals.count) : T(0);
    grads = buffer_.head(P) * inv;
    return s;
  }

  /// Bytes summed per step: what one all-reduce moves for P parameters.
  static std::size_t bytes(Index P) { return static_cast<std::size_t>(P + kExtra) * sizeof(T); }

 private:
  Vector<T> buffer_;
};

/// Sums validation totals over the group (each process scored its own batches).
inline LossTotals sum_totals(ProcessGroup& group, const LossTotals& local) {
  double v[3] = {local.nll_sum, static_cast<double>(local.count),
                 static_cast<double>(local.correct)};
  group.sum(v, 3);
  LossTotals t;
  t.nll_sum = v[0];
  t.count = static_cast<Index>(v[1] + 0.5);
  t.correct = static_cast<Index>(v[2] + 0.5);
  return t;
}

/// Throws ProcessesDiverged unless every process holds the same weights (CRC-32 of the bytes).
template <typename T>
void check_same_weights(ProcessGroup& group, const Vector<T>& w, std::size_t step) {
  const std::uint32_t h = crc32(reinterpret_cast<const std::uint8_t*>(w.data()),
                                static_cast<std::size_t>(w.size()) * sizeof(T));
  if (!group.same_everywhere(h))
    throw ProcessesDiverged(detail::concat(
        "the ", group.size(), " processes hold different weights after step ", step, " (process ",
        group.rank(), ": checksum ", h,
        "); they must run the same program on the same data with the same settings"));
}

}  // namespace lstmidi
