// SPDX-License-Identifier: MIT
/// Trainer<T, Source>: the training loop — mini-batches, BPTT, clipping, Adam, validation,
/// checkpoints, resuming, early stopping, a time budget and divergence detection.
///
/// Per batch:  zero grads -> Model::forward_backward -> n = clip_global_norm(g, clip)
///             -> Adam step                     (a NaN/inf loss or norm stops the run first)
///             -> with weight_average > 0, the moving average of the weights is updated; it is
///                what is validated and saved as model.lstmidi (optim/weight_average.hpp)
/// Per epoch:  mean validation loss L_v, perplexity exp(L_v) (token models; NaN for piano-roll
///             models), accuracy; the model with the lowest L_v so far is saved as
///             <out>/model.lstmidi (the last model when there is no validation set); the resume
///             checkpoint <out>/last.lstmidi, history.csv and loss.svg are rewritten.
///
/// Source supplies the batches (train/batch_source.hpp says what it must offer).
///
/// Exact resume: last.lstmidi holds the weights, Adam's moments and step count, the weight
/// average when there is one, the Rng state (dropout masks), the sampler position and the epoch's
/// running totals. Every window starts from a zero LSTM state, so a run killed at any moment and
/// resumed from its last checkpoint reaches the same weights as one never interrupted. (Batches
/// that carry the state between windows, TokenBatch::carry, are the exception: the carried state
/// is not in the checkpoint, and the windows that would carry it start blank after a resume.)
/// Checkpoints are written mid-epoch every `checkpoint_seconds` and at every epoch end, always
/// atomically.
///
/// Data-parallel (set_process_group; train/group_training.hpp): each of N processes trains its
/// share of every global batch and takes the same clipped Adam step from the group's sum.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/optim/clip.hpp"
#include "lstmidi/optim/weight_average.hpp"
#include "lstmidi/train/batch_source.hpp"
#include "lstmidi/train/batch_states.hpp"
#include "lstmidi/train/group_training.hpp"
#include "lstmidi/train/history.hpp"
#include "lstmidi/train/process_group.hpp"
#include "lstmidi/train/resume_state.hpp"
#include "lstmidi/train/run_checkpoints.hpp"
#include "lstmidi/train/train_options.hpp"

namespace lstmidi {

template <typename T, typename Source>
class Trainer {
 public:
  using Batch = typename detail::SourceBatch<Source>::type;

  /// `meta` is stored in every saved model (e.g. the vocabulary's checksum).
  Trainer(Model<T>& model, Source& data, const TrainOptions& options, Rng& rng,
          std::map<std::string, std::string> meta = {})
      : model_(model),
        data_(data),
        opt_(options),
        rng_(rng),
        files_(options.out_dir, std::move(meta)),
        adam_(model.num_params(), options.adam),
        average_(options.weight_average) {
    opt_.validate();
  }

  /// Trains data-parallel with the processes of `group` (not owned; null = alone), checking
  /// every `check_every` steps that all of them hold the same weights. Every process must run
  /// the same Trainer on the same data; the global batch is the source's batch size, which must
  /// be at least the number of processes.
  void set_process_group(ProcessGroup* group, std::size_t check_every = 100) {
    group_.join(group, check_every);
    files_.set_writer(group_.writer());
  }

  /// Whether the weights validated and saved are a moving average of the trained ones.
  bool averaging() const { return opt_.weight_average > 0; }
  const WeightAverage<T>& weight_average() const { return average_; }
  /// Whether the run writes files (TrainOptions::out_dir given), or trains in memory only.
  bool writes_files() const { return files_.enabled(); }
  std::filesystem::path best_path() const { return files_.best_path(); }
  std::filesystem::path last_path() const { return files_.last_path(); }

  /// Continues from <out>/last.lstmidi. Throws IoError/FormatError if it is missing or broken,
  /// and std::invalid_argument if it belongs to a model of another shape.
  void resume() {
    ResumeState st = files_.restore(model_, adam_, rng_, averaging() ? &average_ : nullptr);
    if (st.position.batch >= data_.batches_per_epoch())
      throw FormatError(last_path().string() + ": its data position is beyond this data set");
    data_.seek(st.position);
    st_ = std::move(st);
  }

  /// Trains until the last epoch, early stopping, the time budget or a stop request. Each
  /// epoch: train_batch() over the epoch's batches (with a mid-epoch checkpoint every
  /// checkpoint_seconds), then validate() and end_epoch(), which keeps the best model.
  TrainResult run(TrainObserver* observer = nullptr) {
    files_.create_folder();
    TrainObserver quiet;
    TrainObserver& obs = observer ? *observer : quiet;
    session_start_ = Clock::now();
    elapsed_at_start_ = st_.elapsed;
    last_save_ = Clock::now();
    Batch batch;
    while (static_cast<int>(data_.position().epoch) < opt_.epochs) {
      const int epoch = static_cast<int>(data_.position().epoch) + 1;
      if (const auto stop = train_epoch(epoch, batch, obs)) return st_.result(*stop);
      EpochStats es = validate(epoch, batch);
      const bool improved = end_epoch(es);
      obs.on_epoch(es, improved);
      if (!improved && opt_.lr_decay < 1.0)
        obs.on_note(detail::concat("learning rate lowered to ", adam_.config().lr));
      if (const auto stop = stop_after_epoch(epoch, obs)) return st_.result(*stop);
    }
    return st_.result(StopReason::finished);
  }

  const Adam<T>& optimizer() const { return adam_; }
  const std::vector<EpochStats>& history() const { return st_.history; }
  /// Where the run stands (what a resume checkpoint stores).
  const ResumeState& state() const { return st_; }
  /// The weights of the best epoch so far (validated weights: the average when averaging),
  /// kept in memory by a run without an output folder; empty otherwise (they are in
  /// model.lstmidi) and before the first epoch ends.
  const Vector<T>& best_weights() const { return best_weights_; }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  // The batches of one epoch, from where the data stands. Returns a reason when the run must
  // stop inside the epoch (time budget, stop request), after saving what a resume needs.
  std::optional<StopReason> train_epoch(int epoch, Batch& batch, TrainObserver& obs) {
    const auto epoch_start = Clock::now();
    const double seconds_before = st_.run_seconds;
    std::size_t positions_this_session = 0;
    while (true) {
      data_.next_batch(batch);
      positions_this_session += static_cast<std::size_t>(train_batch(batch, epoch).count);
      const double epoch_elapsed = seconds_since(epoch_start);
      st_.run_seconds = seconds_before + epoch_elapsed;
      st_.elapsed = group_.active() ? group_.agreed().elapsed
                                    : elapsed_at_start_ + seconds_since(session_start_);
      obs.on_batch(progress(epoch, positions_this_session, epoch_elapsed));
      if (data_.position().batch == 0) return std::nullopt;  // the epoch's end comes first
      if (stop_requested()) {
        save_last();
        return StopReason::interrupted;
      }
      const bool out_of_time =
          opt_.time_budget_seconds > 0 && st_.elapsed >= opt_.time_budget_seconds;
      if (out_of_time || seconds_since(last_save_) >= opt_.checkpoint_seconds) {
        save_last();
        last_save_ = Clock::now();
      }
      if (out_of_time) {
        save_unfinished_best(epoch);
        obs.on_note(detail::concat("time budget of ", opt_.time_budget_seconds,
                                   " s reached in epoch ", epoch,
                                   "; stopping (a resume continues from the checkpoint)"));
        return StopReason::time_budget;
      }
    }
  }

  // One training step: zero grads, forward and backward, clip, Adam, the weight average.
  // Throws TrainingDiverged (before changing the weights) when the loss or the norm is not
  // finite.
  LossTotals train_batch(Batch& batch, int epoch) {
    model_.params().zero_grad();
    const LossTotals tot =
        group_.active()
            ? group_
                  .train_share(model_, batch, states_, rng_, opt_.stop,
                               [&] { return elapsed_at_start_ + seconds_since(session_start_); })
                  .totals
            : model_.forward_backward(batch, start_state(batch), rng_, true);
    const double norm = clip_global_norm(model_.params().grads, opt_.clip);
    if (!std::isfinite(tot.mean()) || !std::isfinite(norm))
      throw TrainingDiverged(detail::concat(
          "training diverged at epoch ", epoch, ", batch ", st_.run_batches + 1, ": the ",
          std::isfinite(tot.mean()) ? "gradient norm" : "loss",
          " is not a finite number. The saved models are from before this point; try a "
          "lower learning rate or stronger gradient clipping."));
    adam_.step(model_.params().values, model_.params().grads);
    if (averaging()) average_.update(model_.params().values);
    st_.run += tot;
    st_.run_norm += norm;
    ++st_.run_batches;
    group_.after_step(model_.params().values);
    return tot;
  }

  // A stop request: this process's, or in a group any process's as of the last step's sum.
  bool stop_requested() const {
    if (group_.active()) return group_.agreed().stop;
    return opt_.stop && opt_.stop->load();
  }

  BatchProgress progress(int epoch, std::size_t positions, double epoch_elapsed) const {
    return batch_progress(opt_, st_, epoch, data_.batches_per_epoch(), positions, epoch_elapsed,
                          model_.config().mode == ModelMode::pianoroll ? "frames" : "tok");
  }

  // The epoch's statistics: its training totals and the validation loss of the weights that
  // are saved (the average when averaging). Throws TrainingDiverged on a non-finite loss.
  EpochStats validate(int epoch, Batch& batch) {
    EpochStats es = st_.training_stats(epoch);
    const std::size_t nv = data_.valid_batches();
    if (nv == 0) return es;
    LossTotals v;
    with_evaluated_weights([&] {
      for (std::size_t i = 0; i < nv; ++i) {
        if (!group_.scores(i)) continue;  // another process scores it
        data_.valid_batch(i, batch);
        v += model_.evaluate(batch, zero_state(batch.B));
      }
    });
    v = group_.sum(v);
    es.valid_loss = v.mean();
    // Perplexity is a categorical model's: a piano-roll loss sums 88 keys' log-losses, and
    // its exponential (about 1e25 for an untrained model) tells nothing.
    if (model_.config().mode == ModelMode::tokens) es.valid_perplexity = std::exp(v.mean());
    es.valid_accuracy = v.accuracy();
    if (!std::isfinite(es.valid_loss))
      throw TrainingDiverged(detail::concat("validation loss is not finite after epoch ", epoch,
                                            "; the saved models are from before this point"));
    return es;
  }

  // Keeps the best model, lowers the learning rate on a plateau, starts the next epoch's
  // totals and writes the epoch's files. Returns whether the epoch improved on the best.
  bool end_epoch(const EpochStats& es) {
    const bool has_valid = data_.valid_batches() > 0;
    const double score = has_valid ? es.valid_loss : es.train_loss;
    const bool improved = !has_valid || !(score >= st_.best_valid);  // first epoch: best is NaN
    if (improved) {
      st_.best_valid = score;
      st_.best_epoch = es.epoch;
      st_.bad_epochs = 0;
    } else {
      ++st_.bad_epochs;
      // Learning-rate decay on a plateau. Before save_last(): the checkpoint keeps the
      // lowered rate (in its Adam settings), so a resumed run goes on with it.
      if (opt_.lr_decay < 1.0) adam_.set_lr(adam_.config().lr * opt_.lr_decay);
    }
    st_.history.push_back(es);
    st_.new_epoch();
    if (improved) save_best(es);
    save_last();
    last_save_ = Clock::now();
    files_.save_history(st_.history);
    return improved;
  }

  std::optional<StopReason> stop_after_epoch(int epoch, TrainObserver& obs) const {
    if (stop_requested() && epoch < opt_.epochs)
      return StopReason::interrupted;  // last.lstmidi was just saved
    if (opt_.patience > 0 && st_.bad_epochs >= opt_.patience) {
      obs.on_note(detail::concat("early stopping: no validation improvement for ", st_.bad_epochs,
                                 " epochs; best was epoch ", st_.best_epoch));
      return StopReason::early_stopping;
    }
    if (opt_.time_budget_seconds > 0 && st_.elapsed >= opt_.time_budget_seconds &&
        epoch < opt_.epochs) {
      obs.on_note(detail::concat("time budget of ", opt_.time_budget_seconds,
                                 " s reached after epoch ", epoch, "; stopping"));
      return StopReason::time_budget;
    }
    return std::nullopt;
  }

  // The state a training batch starts from: blank, except the columns TokenBatch::carry marks,
  // which keep the final state of the previous training batch (after a resume that state is
  // gone, and they start blank too).
  typename Model<T>::State& start_state(const Batch& batch) {
    if constexpr (std::is_same_v<Batch, TokenBatch>) {
      if (!batch.carry.empty()) {
        require(static_cast<Index>(batch.carry.size()) == batch.B, "TokenBatch::carry has ",
                batch.carry.size(), " entries for ", batch.B, " windows");
        return states_.carried(model_, batch.carry);
      }
    }
    return zero_state(batch.B);
  }

  typename Model<T>::State& zero_state(Index B) { return states_.blank(model_, B); }

  // The best model so far: model.lstmidi, or the weights in memory without an output folder.
  void save_best(const EpochStats& es) {
    with_evaluated_weights([&] {
      if (!writes_files()) best_weights_ = model_.params().values;
      files_.save_best(model_, {{"epoch", std::to_string(es.epoch)},
                                {"valid_loss", detail::fmt_double(es.valid_loss)}});
    });
  }

  // A time budget that ends the run before its first epoch does: keep what there is.
  void save_unfinished_best(int epoch) {
    if (!files_.writes() || std::filesystem::exists(best_path())) return;
    const std::string got = detail::concat(epoch - 1, " + ", st_.run_batches, "/",
                                           data_.batches_per_epoch(), " batches");
    with_evaluated_weights([&] { files_.save_best(model_, {{"epoch", got}}); });
  }

  // The resume checkpoint: weights, Adam, Rng, the weight average and the ResumeState.
  void save_last() {
    if (!files_.writes()) return;
    st_.position = data_.position();
    files_.save_last(model_, adam_, rng_, averaging() ? &average_ : nullptr, st_);
  }

  // Runs f with the model holding the weights that are validated and saved: the moving
  // average when averaging, else the trained weights.
  template <typename F>
  void with_evaluated_weights(F&& f) {
    with_average_weights(model_.params().values, averaging() ? &average_ : nullptr, trained_,
                         std::forward<F>(f));
  }

  Model<T>& model_;
  Source& data_;
  TrainOptions opt_;
  Rng& rng_;
  RunCheckpoints<T> files_;
  Adam<T> adam_;
  WeightAverage<T> average_;
  Vector<T> trained_;       // the trained weights while the average is in the model
  Vector<T> best_weights_;  // the best epoch's weights, without an output folder
  BatchStates<T> states_;   // blank, and carried from the last training batch (carry)
  ResumeState st_;
  Clock::time_point session_start_, last_save_;
  double elapsed_at_start_ = 0;
  GroupTraining<T, Batch> group_;  // data-parallel processes (inactive: training alone)
};

}  // namespace lstmidi
