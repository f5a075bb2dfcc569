// SPDX-License-Identifier: MIT
/// The files a training run keeps in its folder, and the resume checkpoint read back.
///
///   RunCheckpoints<T>(dir, meta)  model.lstmidi (the best model: weights and `meta`, with its
///                                 epoch and validation loss), last.lstmidi (the resume
///                                 checkpoint), history.csv and loss.svg, all written
///                                 atomically; an empty dir writes nothing (training in memory).
///   resume_checkpoint(model, adam, rng, average, state, meta) -> Checkpoint<T>
///       the weights, Adam's moments and step count, the Rng, the weight average (when there is
///       one) and the ResumeState in the metadata beside `meta`
///   restore_resume_checkpoint(path, model, adam, rng, average, meta) -> ResumeState
///       the inverse, after checking that the file belongs to this run: the same model shape,
///       optimizer state present, the same weight-average setting, and every entry of `meta`
///       (the data's and vocabulary's checksums) equal; embedded files are not compared.
///
/// Invariant: restore(resume(x)) gives back x bit for bit (ResumeState writes its numbers in
/// full precision), which is what makes a killed and resumed run reach the same weights as one
/// never interrupted. `average` is null for a run that does not average its weights.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/optim/adam.hpp"
#include "lstmidi/optim/weight_average.hpp"
#include "lstmidi/train/history.hpp"
#include "lstmidi/train/resume_state.hpp"
#include "lstmidi/train/train_options.hpp"

namespace lstmidi {

template <typename T>
Checkpoint<T> resume_checkpoint(const Model<T>& model, const Adam<T>& adam, const Rng& rng,
                                const WeightAverage<T>* average, const ResumeState& state,
                                std::map<std::string, std::string> meta) {
  state.write(meta);
  Checkpoint<T> ck = make_checkpoint(model, &adam, &rng, std::move(meta));
  if (average) {
    ck.has_average = true;
    ck.average_steps = average->steps();
    ck.average = average->steps() > 0 ? average->value() : model.params().values;
    if (average->steps() == 0) ck.average_steps = 1;  // nothing trained yet: the start weights
  }
  return ck;
}

/// Throws IoError/FormatError when the file is missing or broken, std::invalid_argument when it
/// belongs to another run (the message says which setting differs).
template <typename T>
ResumeState restore_resume_checkpoint(const std::string& where, Model<T>& model, Adam<T>& adam,
                                      Rng& rng, WeightAverage<T>* average,
                                      const std::map<std::string, std::string>& meta) {
  const Checkpoint<T> ck = load_checkpoint<T>(where);
  require(ck.config == model.config(), where,
          ": the checkpoint is for a model of another shape; use the same settings as the "
          "interrupted run (they are saved in the model directory)");
  require(ck.has_optimizer, where, ": no optimizer state to resume from");
  const bool averaging = average != nullptr;
  require(ck.has_average == averaging, where, ": the interrupted run ",
          ck.has_average ? "averaged" : "did not average", " its weights; resume it with ",
          ck.has_average ? "the same" : "no", " weight-average setting");
  ResumeState st = ResumeState::read(ck.meta, where);
  for (const auto& [key, value] : meta) {
    if (key.rfind(kEmbeddedPrefix, 0) == 0) continue;  // files carried along, not the data
    auto it = ck.meta.find(key);
    require(it != ck.meta.end() && it->second == value, where, ": its '", key,
            "' differs from this run's (different data or vocabulary?)");
  }
  model.params().values = ck.params;
  Vector<T> m = ck.adam_m, v = ck.adam_v;
  adam.set_config(ck.adam);
  adam.set_state(std::move(m), std::move(v), ck.adam_steps);
  rng.set_state(ck.rng);
  if (average) average->set_state(ck.average, ck.average_steps);
  return st;
}

template <typename T>
class RunCheckpoints {
 public:
  static constexpr const char* kBestFile = "model.lstmidi";
  static constexpr const char* kLastFile = "last.lstmidi";

  RunCheckpoints(std::string dir, std::map<std::string, std::string> meta)
      : dir_(std::move(dir)), meta_(std::move(meta)) {}

  /// Whether the run has a folder; whether this process writes it (false on all but one of
  /// the processes of a data-parallel run).
  bool enabled() const { return !dir_.empty(); }
  bool writes() const { return enabled() && writer_; }
  void set_writer(bool writer) { writer_ = writer; }

  std::filesystem::path best_path() const { return std::filesystem::path(dir_) / kBestFile; }
  std::filesystem::path last_path() const { return std::filesystem::path(dir_) / kLastFile; }
  const std::map<std::string, std::string>& meta() const { return meta_; }

  void create_folder() const {
    if (!enabled()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw IoError(dir_ + ": cannot create the output directory (" + ec.message() + ")");
  }

  /// model.lstmidi from the model's weights as they are (the caller puts the validated ones
  /// in), with `about` (its epoch, its validation loss) added to the run's metadata.
  void save_best(const Model<T>& model, const std::map<std::string, std::string>& about) const {
    if (!writes()) return;
    std::map<std::string, std::string> m = meta_;
    for (const auto& [key, value] : about) m[key] = value;
    save_checkpoint(best_path().string(), make_checkpoint(model, nullptr, nullptr, m));
  }

  void save_last(const Model<T>& model, const Adam<T>& adam, const Rng& rng,
                 const WeightAverage<T>* average, const ResumeState& state) const {
    if (!writes()) return;
    save_checkpoint(last_path().string(),
                    resume_checkpoint(model, adam, rng, average, state, meta_));
  }

  void save_history(const std::vector<EpochStats>& history) const {
    if (!writes()) return;
    const std::filesystem::path dir(dir_);
    write_file_atomic((dir / "history.csv").string(), history_csv(history));
    write_file_atomic((dir / "loss.svg").string(), loss_curve_svg(history));
  }

  /// Reads last.lstmidi back into the model, optimizer, Rng and average (see
  /// restore_resume_checkpoint).
  ResumeState restore(Model<T>& model, Adam<T>& adam, Rng& rng, WeightAverage<T>* average) const {
    require(enabled(), "Trainer::resume: a run without an output folder has no checkpoint");
    return restore_resume_checkpoint(last_path().string(), model, adam, rng, average, meta_);
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> meta_;
  bool writer_ = true;
};

}  // namespace lstmidi
