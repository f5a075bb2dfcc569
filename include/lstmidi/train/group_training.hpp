// SPDX-License-Identifier: MIT
/// GroupTraining<T, Batch>: the trainer's side of data-parallel training (train/process_group.hpp
/// has the scheme and the fused sum). Alone (no group) every call is the single-process case.
///
///   train_share   process r of N: forward and backward on windows [b0, b1) of the global
///                 batch (data/batch_share.hpp), then the group's sum makes the gradient the
///                 global batch's; the totals, the stop request and the elapsed time returned
///                 are the group's, so every process takes the same decisions
///   after_step    every `check_every` steps: all processes hold the same weights, or
///                 ProcessesDiverged
///   scores(i)     validation batches are dealt out round-robin; sum() adds their totals
///
/// Dropout masks come from a per-step generator drawn from the shared Rng and the process's
/// rank: every process draws once per step, so the shared Rng (and a checkpoint) stays the
/// same everywhere. Process 0 alone writes files (writer()).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/batch_share.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/train/batch_states.hpp"
#include "lstmidi/train/process_group.hpp"

namespace lstmidi {

template <typename T, typename Batch>
class GroupTraining {
 public:
  /// Joins `group` (not owned; null = alone), checking the weights every `check_every` steps.
  void join(ProcessGroup* group, std::size_t check_every) {
    group_ = group;
    check_every_ = std::max<std::size_t>(1, check_every);
  }

  bool active() const { return group_ != nullptr; }
  /// Whether this process writes the run's files: process 0, or the only one.
  bool writer() const { return !group_ || group_->rank() == 0; }

  /// This process's share of `batch`, forward and backward from blank states, then the sum:
  /// model's gradients become the global batch's mean gradient. After the pass, `stop` and
  /// `elapsed()` give this process's stop request and training seconds; the result carries
  /// the group's.
  template <typename Elapsed>
  const GroupStep& train_share(Model<T>& model, const Batch& batch, BatchStates<T>& states,
                               Rng& rng, const std::atomic<bool>* stop, Elapsed&& elapsed) {
    if constexpr (std::is_same_v<Batch, TokenBatch>)
      require(batch.carry.empty(),
              "data-parallel training cannot carry the state between windows; train in one "
              "process");
    require(batch.B >= group_->size(), "data-parallel training needs at least one window per ",
            "process in every batch: ", batch.B, " windows for ", group_->size(), " processes");
    const auto [b0, b1] = batch_share(group_->rank(), group_->size(), batch.B);
    take_windows(batch, b0, b1, share_);
    Rng step_rng(rng.next_u64(), static_cast<std::uint64_t>(group_->rank()) + 1);
    const LossTotals local =
        model.forward_backward(share_, states.blank(model, share_.B), step_rng, true);
    agreed_ = reduce_.reduce(*group_, model.params().grads, local, stop && stop->load(), elapsed());
    return agreed_;
  }

  /// The last step's decisions, as the group took them.
  const GroupStep& agreed() const { return agreed_; }

  void after_step(const Vector<T>& weights) {
    if (group_ && ++steps_ % check_every_ == 0) check_same_weights(*group_, weights, steps_);
  }

  /// Whether this process scores validation batch i.
  bool scores(std::size_t i) const {
    return !group_ ||
           static_cast<int>(i % static_cast<std::size_t>(group_->size())) == group_->rank();
  }

  /// The group's validation totals from this process's.
  LossTotals sum(const LossTotals& local) const {
    return group_ ? sum_totals(*group_, local) : local;
  }

 private:
  ProcessGroup* group_ = nullptr;  // null: training alone
  std::size_t check_every_ = 100;  // steps between weight checks across the group
  std::size_t steps_ = 0;
  StepReduce<T> reduce_;
  GroupStep agreed_;
  Batch share_;  // this process's windows of the global batch
};

}  // namespace lstmidi
