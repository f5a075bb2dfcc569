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
/// Source supplies batches; music::WindowSampler (TokenBatch) and music::FrameSampler
/// (FrameBatch, pianoroll models) are two. It must offer next_batch(Batch&), position() ->
/// {epoch, batch}, seek(position), batches_per_epoch(), valid_batches() and valid_batch(i,
/// Batch&), and its batch order must depend only on (seed, epoch, batch). The batch type is the
/// return type of the source's next_batch() when it has one, TokenBatch otherwise.
///
/// Exact resume: last.lstmidi holds the weights, Adam's moments and step count, the weight
/// average when there is one, the Rng state (dropout masks), the sampler position and the epoch's
/// running totals. Every window starts from a zero LSTM state, so a run killed at any moment and
/// resumed from its last checkpoint reaches the same weights as one never interrupted. Checkpoints
/// are written mid-epoch every `checkpoint_seconds` and at every epoch end, always atomically.
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

#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/optim/clip.hpp"
#include "lstmidi/optim/weight_average.hpp"
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
  AdamConfig adam;             // learning rate, betas, eps, weight decay
  double clip = 5.0;           // global-norm clipping threshold; <= 0 disables
  int patience = 0;            // stop after this many epochs without validation improvement; 0 = never
  double lr_decay = 1.0;       // multiply the learning rate by this after each epoch without
                               // validation improvement (0.5 halves it); 1 = never
  double time_budget_seconds = 0;   // stop (after saving) once this much training time is spent; 0 = none
  double checkpoint_seconds = 60;   // mid-epoch checkpoint interval
  double weight_average = 0;  // decay of a moving average of the weights (optim/weight_average.hpp)
                              // that is validated and saved instead of the current weights;
                              // 0.999 spans about 1000 steps; 0 = off
  std::string out_dir;         // where model.lstmidi, last.lstmidi, history.csv, loss.svg go
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
    require(!out_dir.empty(), "an output directory is required");
  }
};

/// Reported after every batch.
struct BatchProgress {
  int epoch = 0;       // 1-based
  int epochs = 0;
  std::size_t batch = 0;  // 1-based within the epoch
  std::size_t batches = 0;
  double loss = 0;     // running mean over the epoch so far
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

namespace detail {
/// The batch type a Source hands out: decltype(source.next_batch()), or TokenBatch when the
/// source only has next_batch(TokenBatch&).
template <typename Source, typename = void>
struct SourceBatch {
  using type = TokenBatch;
};
template <typename Source>
struct SourceBatch<Source, std::void_t<decltype(std::declval<Source&>().next_batch())>> {
  using type = std::decay_t<decltype(std::declval<Source&>().next_batch())>;
};
}  // namespace detail

template <typename T, typename Source>
class Trainer {
 public:
  using Batch = typename detail::SourceBatch<Source>::type;

  static constexpr const char* kBestFile = "model.lstmidi";
  static constexpr const char* kLastFile = "last.lstmidi";

  /// `meta` is stored in every saved model (e.g. the vocabulary's checksum).
  Trainer(Model<T>& model, Source& data, const TrainOptions& options, Rng& rng,
          std::map<std::string, std::string> meta = {})
      : model_(model),
        data_(data),
        opt_(options),
        rng_(rng),
        meta_(std::move(meta)),
        adam_(model.num_params(), options.adam),
        average_(options.weight_average) {
    opt_.validate();
  }

  /// Whether the weights validated and saved are a moving average of the trained ones.
  bool averaging() const { return opt_.weight_average > 0; }
  const WeightAverage<T>& weight_average() const { return average_; }

  std::filesystem::path best_path() const { return std::filesystem::path(opt_.out_dir) / kBestFile; }
  std::filesystem::path last_path() const { return std::filesystem::path(opt_.out_dir) / kLastFile; }

  /// Continues from <out>/last.lstmidi. Throws IoError/FormatError if it is missing or broken,
  /// and std::invalid_argument if it belongs to a model of another shape.
  void resume() {
    const Checkpoint<T> ck = load_checkpoint<T>(last_path().string());
    require(ck.config == model_.config(), last_path().string(),
            ": the checkpoint is for a model of another shape; use the same settings as the "
            "interrupted run (they are saved in the model directory)");
    require(ck.has_optimizer, last_path().string(), ": no optimizer state to resume from");
    require(ck.has_average == averaging(), last_path().string(), ": the interrupted run ",
            ck.has_average ? "averaged" : "did not average", " its weights; resume it with ",
            ck.has_average ? "the same" : "no", " weight-average setting");
    for (const char* key : {"epoch", "batch", "best_valid", "best_epoch", "bad_epochs", "elapsed",
                            "history", "run_nll", "run_count", "run_correct", "run_norm",
                            "run_batches", "run_seconds"})
      if (!ck.meta.count(key))
        throw FormatError(last_path().string() + ": checkpoint lacks '" + key + "'");
    model_.params().values = ck.params;
    Vector<T> m = ck.adam_m, v = ck.adam_v;
    adam_.set_config(ck.adam);
    adam_.set_state(std::move(m), std::move(v), ck.adam_steps);
    rng_.set_state(ck.rng);
    if (ck.has_average) average_.set_state(ck.average, ck.average_steps);
    auto num = [&](const char* k) {
      const std::string& text = ck.meta.at(k);
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        throw FormatError(last_path().string() + ": bad value '" + text + "' for '" + k + "'");
      return v;
    };
    auto count = [&](const char* k) {
      const double v = num(k);
      if (!(v >= 0 && v < 9e15 && v == std::floor(v)))
        throw FormatError(last_path().string() + ": bad value for '" + k + "'");
      return static_cast<std::uint64_t>(v);
    };
    auto pos = data_.position();
    pos.epoch = count("epoch");
    pos.batch = count("batch");
    if (pos.batch >= data_.batches_per_epoch())
      throw FormatError(last_path().string() + ": its data position is beyond this data set");
    data_.seek(pos);
    best_valid_ = num("best_valid");
    best_epoch_ = static_cast<int>(num("best_epoch"));
    bad_epochs_ = static_cast<int>(num("bad_epochs"));
    elapsed_ = num("elapsed");
    history_ = parse_history_csv(ck.meta.at("history"));
    run_.nll_sum = num("run_nll");
    run_.count = static_cast<Index>(count("run_count"));
    run_.correct = static_cast<Index>(count("run_correct"));
    run_norm_ = num("run_norm");
    run_batches_ = static_cast<std::size_t>(count("run_batches"));
    run_seconds_ = num("run_seconds");
    for (const auto& [k, v2] : meta_) {
      if (k.rfind(kEmbeddedPrefix, 0) == 0) continue;  // files carried along, not the data
      auto it = ck.meta.find(k);
      require(it != ck.meta.end() && it->second == v2, last_path().string(), ": its '", k,
              "' differs from this run's (different data or vocabulary?)");
    }
  }

  TrainResult run(TrainObserver* observer = nullptr) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(opt_.out_dir, ec);
    if (ec) throw IoError(opt_.out_dir + ": cannot create the output directory (" + ec.message() + ")");
    TrainObserver quiet;
    TrainObserver& obs = observer ? *observer : quiet;
    const std::size_t per_epoch = data_.batches_per_epoch();
    using Clock = std::chrono::steady_clock;
    auto session_start = Clock::now();
    const double elapsed_at_start = elapsed_;
    auto last_save = Clock::now();
    auto seconds_since = [](Clock::time_point t) {
      return std::chrono::duration<double>(Clock::now() - t).count();
    };
    TrainResult result;
    Batch batch;
    while (static_cast<int>(data_.position().epoch) < opt_.epochs) {
      const int epoch = static_cast<int>(data_.position().epoch) + 1;
      auto epoch_start = Clock::now();
      const double seconds_before = run_seconds_;
      std::size_t tokens_this_session = 0;
      while (true) {
        data_.next_batch(batch);
        typename Model<T>::State& state = zero_state(batch.B);
        model_.params().zero_grad();
        const LossTotals tot = model_.forward_backward(batch, state, rng_, true);
        const double norm = clip_global_norm(model_.params().grads, opt_.clip);
        if (!std::isfinite(tot.mean()) || !std::isfinite(norm))
          throw TrainingDiverged(detail::concat(
              "training diverged at epoch ", epoch, ", batch ", run_batches_ + 1, ": the ",
              std::isfinite(tot.mean()) ? "gradient norm" : "loss",
              " is not a finite number. The saved models are from before this point; try a "
              "lower learning rate (--lr) or stronger clipping (--clip)."));
        adam_.step(model_.params().values, model_.params().grads);
        if (averaging()) average_.update(model_.params().values);
        run_ += tot;
        run_norm_ += norm;
        ++run_batches_;
        tokens_this_session += static_cast<std::size_t>(tot.count);
        const double epoch_elapsed = seconds_since(epoch_start);
        run_seconds_ = seconds_before + epoch_elapsed;
        elapsed_ = elapsed_at_start + seconds_since(session_start);
        const bool epoch_done = data_.position().batch == 0;
        BatchProgress bp;
        bp.epoch = epoch;
        bp.epochs = opt_.epochs;
        bp.batch = run_batches_;
        bp.batches = per_epoch;
        bp.loss = run_.mean();
        bp.tokens_per_second = epoch_elapsed > 0 ? tokens_this_session / epoch_elapsed : 0;
        bp.unit = model_.config().mode == ModelMode::pianoroll ? "frames" : "tok";
        const double per_batch = run_seconds_ / static_cast<double>(run_batches_);
        bp.epoch_seconds_left = per_batch * static_cast<double>(per_epoch - run_batches_);
        bp.run_seconds_left =
            bp.epoch_seconds_left +
            per_batch * static_cast<double>(per_epoch) * static_cast<double>(opt_.epochs - epoch);
        if (opt_.time_budget_seconds > 0)
          bp.run_seconds_left =
              std::min(bp.run_seconds_left, std::max(0.0, opt_.time_budget_seconds - elapsed_));
        obs.on_batch(bp);
        if (epoch_done) break;  // the epoch's end (validation, files) comes before any stop
        if (opt_.stop && opt_.stop->load()) {
          save_last();
          return finish(result, StopReason::interrupted);
        }
        const bool out_of_time = opt_.time_budget_seconds > 0 && elapsed_ >= opt_.time_budget_seconds;
        if (out_of_time || seconds_since(last_save) >= opt_.checkpoint_seconds) {
          save_last();
          last_save = Clock::now();
        }
        if (out_of_time) {
          if (!fs::exists(best_path())) {  // no finished epoch yet: keep what there is
            std::map<std::string, std::string> m = meta_;
            m["epoch"] = detail::concat(epoch - 1, " + ", run_batches_, "/", per_epoch, " batches");
            with_evaluated_weights([&] {
              save_checkpoint(best_path().string(), make_checkpoint(model_, nullptr, nullptr, m));
            });
          }
          obs.on_note(detail::concat("time budget of ", opt_.time_budget_seconds,
                                     " s reached in epoch ", epoch, "; stopping (resume with --resume)"));
          return finish(result, StopReason::time_budget);
        }
      }
      // End of epoch: validation, history, files.
      EpochStats es;
      es.epoch = epoch;
      es.train_loss = run_.mean();
      es.train_accuracy = run_.accuracy();
      es.seconds = run_seconds_;
      es.tokens_per_second = run_seconds_ > 0 ? static_cast<double>(run_.count) / run_seconds_ : 0;
      es.grad_norm = run_norm_ / static_cast<double>(std::max<std::size_t>(1, run_batches_));
      const std::size_t nv = data_.valid_batches();
      if (nv > 0) {
        LossTotals v;
        with_evaluated_weights([&] {
          for (std::size_t i = 0; i < nv; ++i) {
            data_.valid_batch(i, batch);
            v += model_.evaluate(batch, zero_state(batch.B));
          }
        });
        es.valid_loss = v.mean();
        // Perplexity is a categorical model's: a piano-roll loss sums 88 keys' log-losses, and
        // its exponential (about 1e25 for an untrained model) tells nothing.
        if (model_.config().mode == ModelMode::tokens) es.valid_perplexity = std::exp(v.mean());
        es.valid_accuracy = v.accuracy();
        if (!std::isfinite(es.valid_loss))
          throw TrainingDiverged(detail::concat("validation loss is not finite after epoch ", epoch,
                                                "; the saved models are from before this point"));
      }
      const double score = nv > 0 ? es.valid_loss : es.train_loss;
      const bool improved = nv == 0 || !(score >= best_valid_);  // first epoch: best is NaN
      if (improved) {
        best_valid_ = score;
        best_epoch_ = epoch;
        bad_epochs_ = 0;
      } else {
        ++bad_epochs_;
        // Learning-rate decay on a plateau. Before save_last(): the checkpoint keeps the
        // lowered rate (in its Adam settings), so a resumed run goes on with it.
        if (opt_.lr_decay < 1.0) adam_.set_lr(adam_.config().lr * opt_.lr_decay);
      }
      history_.push_back(es);
      run_ = LossTotals{};
      run_norm_ = 0;
      run_batches_ = 0;
      run_seconds_ = 0;
      if (improved) {
        std::map<std::string, std::string> m = meta_;
        m["epoch"] = std::to_string(epoch);
        m["valid_loss"] = detail::fmt_double(es.valid_loss);
        with_evaluated_weights([&] {
          save_checkpoint(best_path().string(), make_checkpoint(model_, nullptr, nullptr, m));
        });
      }
      save_last();
      last_save = Clock::now();
      write_file_atomic((fs::path(opt_.out_dir) / "history.csv").string(), history_csv(history_));
      write_file_atomic((fs::path(opt_.out_dir) / "loss.svg").string(), loss_curve_svg(history_));
      obs.on_epoch(es, improved);
      if (!improved && opt_.lr_decay < 1.0)
        obs.on_note(detail::concat("learning rate lowered to ", adam_.config().lr));
      if (opt_.stop && opt_.stop->load() && epoch < opt_.epochs)
        return finish(result, StopReason::interrupted);  // last.lstmidi was just saved
      if (opt_.patience > 0 && bad_epochs_ >= opt_.patience) {
        obs.on_note(detail::concat("early stopping: no validation improvement for ", bad_epochs_,
                                   " epochs; best was epoch ", best_epoch_));
        return finish(result, StopReason::early_stopping);
      }
      if (opt_.time_budget_seconds > 0 && elapsed_ >= opt_.time_budget_seconds &&
          epoch < opt_.epochs) {
        obs.on_note(detail::concat("time budget of ", opt_.time_budget_seconds,
                                   " s reached after epoch ", epoch, "; stopping"));
        return finish(result, StopReason::time_budget);
      }
    }
    return finish(result, StopReason::finished);
  }

  const Adam<T>& optimizer() const { return adam_; }
  const std::vector<EpochStats>& history() const { return history_; }

 private:
  typename Model<T>::State& zero_state(Index B) {
    if (state_.batch() != B) state_ = model_.zero_state(B);
    for (auto& h : state_.h) h.setZero();
    for (auto& c : state_.c) c.setZero();
    return state_;
  }

  void save_last() {
    std::map<std::string, std::string> m = meta_;
    const auto pos = data_.position();
    m["epoch"] = std::to_string(pos.epoch);
    m["batch"] = std::to_string(pos.batch);
    m["best_valid"] = detail::fmt_double(best_valid_);
    m["best_epoch"] = std::to_string(best_epoch_);
    m["bad_epochs"] = std::to_string(bad_epochs_);
    m["elapsed"] = detail::fmt_double(elapsed_);
    m["history"] = history_csv(history_);
    m["run_nll"] = detail::fmt_double(run_.nll_sum);
    m["run_count"] = std::to_string(run_.count);
    m["run_correct"] = std::to_string(run_.correct);
    m["run_norm"] = detail::fmt_double(run_norm_);
    m["run_batches"] = std::to_string(run_batches_);
    m["run_seconds"] = detail::fmt_double(run_seconds_);
    Checkpoint<T> ck = make_checkpoint(model_, &adam_, &rng_, m);
    if (averaging()) {
      ck.has_average = true;
      ck.average_steps = average_.steps();
      ck.average = average_.steps() > 0 ? average_.value() : model_.params().values;
      if (average_.steps() == 0) ck.average_steps = 1;  // nothing trained yet: the start weights
    }
    save_checkpoint(last_path().string(), ck);
  }

  /// Runs f with the model holding the weights that are validated and saved: the moving
  /// average when averaging (the trained weights are put back afterwards), else the weights.
  template <typename F>
  void with_evaluated_weights(F&& f) {
    if (!averaging() || average_.steps() == 0) {
      f();
      return;
    }
    Vector<T>& w = model_.params().values;
    trained_.resize(w.size());
    trained_ = w;
    w = average_.value();
    try {
      f();
    } catch (...) {
      w = trained_;
      throw;
    }
    w = trained_;
  }

  TrainResult& finish(TrainResult& r, StopReason why) {
    r.history = history_;
    r.best_valid_loss = best_valid_;
    r.best_epoch = best_epoch_;
    r.reason = why;
    return r;
  }

  Model<T>& model_;
  Source& data_;
  TrainOptions opt_;
  Rng& rng_;
  std::map<std::string, std::string> meta_;
  Adam<T> adam_;
  WeightAverage<T> average_;
  Vector<T> trained_;  // the trained weights while the average is in the model
  typename Model<T>::State state_;
  std::vector<EpochStats> history_;
  double best_valid_ = NAN;
  int best_epoch_ = 0;
  int bad_epochs_ = 0;
  double elapsed_ = 0;
  LossTotals run_;       // running totals of the current epoch
  double run_norm_ = 0;  // sum of pre-clip gradient norms this epoch
  std::size_t run_batches_ = 0;
  double run_seconds_ = 0;
};

}  // namespace lstmidi
