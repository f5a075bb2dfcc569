// SPDX-License-Identifier: MIT
/// ResumeState: where a training run stands, besides its weights, Adam's moments and the Rng
/// (which the checkpoint holds itself): what a resume needs to continue exactly. The Trainer
/// keeps one and writes it into the metadata of every resume checkpoint (last.lstmidi), one key
/// per field, numbers in full precision (%.17g), so that read(write(s)) == s bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/data/epoch_order.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"
#include "lstmidi/train/history.hpp"
#include "lstmidi/train/train_options.hpp"

namespace lstmidi {

struct ResumeState {
  SamplerPosition position;  // the next batch
  double best_valid = NAN;   // the best validation loss so far (NaN before the first epoch)
  int best_epoch = 0;
  int bad_epochs = 0;  // epochs since the best one
  double elapsed = 0;  // training seconds of the whole run (the time budget's clock)
  std::vector<EpochStats> history;
  // Running totals of the epoch in progress.
  LossTotals run;
  double run_norm = 0;  // sum of pre-clip gradient norms
  std::size_t run_batches = 0;
  double run_seconds = 0;

  /// Starts a new epoch's running totals.
  void new_epoch() {
    run = LossTotals{};
    run_norm = 0;
    run_batches = 0;
    run_seconds = 0;
  }

  /// The epoch's training statistics from its running totals (validation not filled in).
  EpochStats training_stats(int epoch) const {
    EpochStats es;
    es.epoch = epoch;
    es.train_loss = run.mean();
    es.train_accuracy = run.accuracy();
    es.seconds = run_seconds;
    es.tokens_per_second = run_seconds > 0 ? static_cast<double>(run.count) / run_seconds : 0;
    es.grad_norm = run_norm / static_cast<double>(std::max<std::size_t>(1, run_batches));
    return es;
  }

  /// What a run that ends here for `why` reports.
  TrainResult result(StopReason why) const {
    TrainResult r;
    r.history = history;
    r.best_valid_loss = best_valid;
    r.best_epoch = best_epoch;
    r.reason = why;
    return r;
  }

  /// Adds the state's keys to checkpoint metadata.
  void write(std::map<std::string, std::string>& m) const {
    m["epoch"] = std::to_string(position.epoch);
    m["batch"] = std::to_string(position.batch);
    m["best_valid"] = detail::fmt_double(best_valid);
    m["best_epoch"] = std::to_string(best_epoch);
    m["bad_epochs"] = std::to_string(bad_epochs);
    m["elapsed"] = detail::fmt_double(elapsed);
    m["history"] = history_csv(history);
    m["run_nll"] = detail::fmt_double(run.nll_sum);
    m["run_count"] = std::to_string(run.count);
    m["run_correct"] = std::to_string(run.correct);
    m["run_norm"] = detail::fmt_double(run_norm);
    m["run_batches"] = std::to_string(run_batches);
    m["run_seconds"] = detail::fmt_double(run_seconds);
  }

  /// Reads what write() stored; `where` names the file in errors. Throws FormatError for a
  /// missing key or a value that is not a number of the right kind.
  static ResumeState read(const std::map<std::string, std::string>& m, const std::string& where) {
    for (const char* key :
         {"epoch", "batch", "best_valid", "best_epoch", "bad_epochs", "elapsed", "history",
          "run_nll", "run_count", "run_correct", "run_norm", "run_batches", "run_seconds"})
      if (!m.count(key)) throw FormatError(where + ": checkpoint lacks '" + key + "'");
    auto num = [&](const char* k) {
      const std::string& text = m.at(k);
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        throw FormatError(where + ": bad value '" + text + "' for '" + k + "'");
      return v;
    };
    auto count = [&](const char* k) {
      const double v = num(k);
      if (!(v >= 0 && v < 9e15 && v == std::floor(v)))
        throw FormatError(where + ": bad value for '" + k + "'");
      return static_cast<std::uint64_t>(v);
    };
    ResumeState s;
    s.position.epoch = count("epoch");
    s.position.batch = count("batch");
    s.best_valid = num("best_valid");
    s.best_epoch = static_cast<int>(num("best_epoch"));
    s.bad_epochs = static_cast<int>(num("bad_epochs"));
    s.elapsed = num("elapsed");
    s.history = parse_history_csv(m.at("history"));
    s.run.nll_sum = num("run_nll");
    s.run.count = static_cast<Index>(count("run_count"));
    s.run.correct = static_cast<Index>(count("run_correct"));
    s.run_norm = num("run_norm");
    s.run_batches = static_cast<std::size_t>(count("run_batches"));
    s.run_seconds = num("run_seconds");
    return s;
  }
};

/// The progress report after a batch: `positions` trained in this session's part of the epoch
/// in `epoch_elapsed` seconds, the epoch's and the run's remaining time at the epoch's pace so
/// far (capped by what is left of the time budget). `unit` names a position ("tok", "frames").
inline BatchProgress batch_progress(const TrainOptions& opt, const ResumeState& st, int epoch,
                                    std::size_t per_epoch, std::size_t positions,
                                    double epoch_elapsed, const char* unit) {
  BatchProgress bp;
  bp.epoch = epoch;
  bp.epochs = opt.epochs;
  bp.batch = st.run_batches;
  bp.batches = per_epoch;
  bp.loss = st.run.mean();
  bp.tokens_per_second = epoch_elapsed > 0 ? static_cast<double>(positions) / epoch_elapsed : 0;
  bp.unit = unit;
  const double per_batch = st.run_seconds / static_cast<double>(st.run_batches);
  bp.epoch_seconds_left = per_batch * static_cast<double>(per_epoch - st.run_batches);
  bp.run_seconds_left = bp.epoch_seconds_left + per_batch * static_cast<double>(per_epoch) *
                                                    static_cast<double>(opt.epochs - epoch);
  if (opt.time_budget_seconds > 0)
    bp.run_seconds_left =
        std::min(bp.run_seconds_left, std::max(0.0, opt.time_budget_seconds - st.elapsed));
  return bp;
}

}  // namespace lstmidi
