// SPDX-License-Identifier: MIT
/// What a training run is told and what it tells back: TrainOptions (epochs, Adam, clipping,
/// early stopping, time budget, checkpoints, the output folder, a stop flag), the progress
/// reported after every batch and epoch (BatchProgress, TrainObserver), and how the run ended
/// (TrainResult, StopReason, TrainingDiverged). The loop itself is train/trainer.hpp.
#pragma once

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/train/history.hpp"

namespace lstmidi {

/// Raised when the loss or the gradient stops being finite. The files already written stay
/// as they were.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Metadata keys starting with this carry whole files inside a model (music/model_dir.hpp:
/// the vocabulary, saved primers and settings of a one-file model). They describe the run,
/// not its data, so resume() does not compare them.
inline constexpr const char* kEmbeddedPrefix = "embedded:";

struct TrainOptions {
  int epochs = 20;
  AdamConfig adam;        // learning rate, betas, eps, weight decay
  double clip = 5.0;      // global-norm clipping threshold; <= 0 disables
  int patience = 0;       // stop after this many epochs without validation improvement; 0 = never
  double lr_decay = 1.0;  // multiply the learning rate by this after each epoch without
                          // validation improvement (0.5 halves it); 1 = never
  double time_budget_seconds =
      0;  // stop (after saving) once this much training time is spent; 0 = none
  double checkpoint_seconds = 60;  // mid-epoch checkpoint interval
  double weight_average = 0;  // decay of a moving average of the weights (optim/weight_average.hpp)
                              // that is validated and saved instead of the current weights;
                              // 0.999 spans about 1000 steps; 0 = off
  std::string out_dir;        // where model.lstmidi, last.lstmidi, history.csv, loss.svg go;
                              // empty: train in memory (best_weights()), write nothing
  /// When set and raised (by a signal handler, say: a lock-free atomic<bool> may be set there),
  /// the run saves its resume checkpoint after the current batch (or at the end of the epoch
  /// when that batch ends one) and returns StopReason::interrupted. Not owned.
  const std::atomic<bool>* stop = nullptr;

  void validate() const {
    require(epochs >= 1, "epochs must be >= 1, got ", epochs);
    adam.validate();
    require(std::isfinite(clip), "clip must be a number");
    require(patience >= 0, "patience must be >= 0");
    require(lr_decay > 0 && lr_decay <= 1, "lr_decay must be in (0, 1], got ", lr_decay);
    require(time_budget_seconds >= 0, "time budget must be >= 0");
    require(checkpoint_seconds > 0, "checkpoint interval must be > 0");
    require(weight_average >= 0 && weight_average < 1,
            "weight average decay must be in [0, 1), got ", weight_average);
  }
};

/// Reported after every batch.
struct BatchProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  std::size_t batch = 0;  // 1-based within the epoch
  std::size_t batches = 0;
  double loss = 0;               // running mean over the epoch so far
  double tokens_per_second = 0;  // training positions per second: tokens, or frames
  const char* unit = "tok";      // what a position is: "tok", or "frames" (piano-roll models)
  double epoch_seconds_left = 0;
  /// The rest of the run at this pace: this epoch's batches and every later epoch's (without
  /// validation), or what is left of the time budget when that ends it sooner.
  double run_seconds_left = 0;
};

/// interrupted: TrainOptions::stop was raised; the resume checkpoint was saved first.
enum class StopReason { finished, early_stopping, time_budget, interrupted };

struct TrainResult {
  std::vector<EpochStats> history;
  double best_valid_loss = NAN;
  int best_epoch = 0;
  StopReason reason = StopReason::finished;
};

/// Callbacks for progress reporting; the library itself prints nothing.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchProgress&) {}
  virtual void on_epoch(const EpochStats&, bool /*improved*/) {}
  virtual void on_note(const std::string&) {}
};

}  // namespace lstmidi
