// SPDX-License-Identifier: MIT
/// music::TrainSettings: every setting of a training run on MIDI files, with its default, and
/// what follows from them: the encoding, the windows, the model's shape (model_config) and the
/// training loop's options (train_options). A run's settings.ini names each field by its setting
/// name (the field with
/// '-' for '_': seq_len is "seq-len"); the program lstmidi-train exposes each as a flag of that
/// name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/model/model_config.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/frame_sampler.hpp"
#include "lstmidi/music/windows.hpp"
#include "lstmidi/train/memory_estimate.hpp"
#include "lstmidi/train/trainer.hpp"

namespace lstmidi::music {

struct TrainSettings {
  // Where: the data, the held-out data (piano-roll mode), the run folder.
  std::string data, valid_data, out;
  bool resume = false;  // continue the run in `out` (its settings and data unchanged)
  // What a step is: "tokens" (events) or "pianoroll" (88-key frames).
  std::string mode = "tokens";
  // Tokens mode: the encoding and its grid.
  std::string encoding = "events";    // events, durations or pitch-only
  std::string instruments = "parts";  // events: parts, programs or families
  bool tempo_words = false, no_time_signature_words = false;
  int steps_per_beat = 4, max_duration = 16;
  std::uint64_t min_count = 2;
  bool same_key = false;
  int embedding = 64;
  // Piano-roll mode.
  double frame_beats = 1.0, input_dropout = 0;
  std::string output = "independent";  // how a frame's keys are predicted: independent or nade
  int nade_hidden = 150;               // the nade output's hidden units
  // Reading.
  bool keep_drums = false, sustain = false;
  // The network.
  int layers = 2, hidden = 256;
  double dropout = 0.3, weight_drop = 0;
  std::string loss = "all";  // positions scored: all, or last
  // Windows and batches.
  int seq_len = 64, stride = 16, batch = 32, transpose = 0;
  bool carry_state = false;  // tokens mode: windows read pieces in order, state carried over
  double valid_fraction = 0.1;
  std::uint64_t seed = 1;
  // The training loop.
  int epochs = 30, patience = 8;
  double lr = 2e-3, lr_decay = 1.0, clip = 5.0, weight_decay = 0, weight_average = 0;
  double time_budget = 0, checkpoint_every = 60;
  // What the run leaves for the generator, and what it may take.
  int primer_len = 32;
  std::string max_memory = "auto";  // a byte size ("8G"), or auto: 80% of the machine's memory
  // Where the corpus cache lives (music/corpus_cache.hpp): none (read every file), auto
  // ($XDG_CACHE_HOME/lstmidi or ~/.cache/lstmidi: lstmidi-train's default), or a folder.
  std::string cache = "none";

  bool pianoroll() const { return mode == "pianoroll"; }
};

/// A setting given a value the run's mode or encoding does not read: its name, and what reads it
/// ("mode tokens", "mode pianoroll" or "encoding events").
struct UnreadSetting {
  std::string setting;
  std::string read_by;
};

/// The first setting that differs from its default but is not read in `s`'s mode or encoding;
/// nothing when every changed setting is read. A settings file lists every setting, so a default
/// value is never an error.
inline std::optional<UnreadSetting> unread_setting(const TrainSettings& s) {
  const TrainSettings d;
  struct Rule {
    const char* name;
    bool changed;
  };
  const std::vector<Rule> tokens_only = {{"embedding", s.embedding != d.embedding},
                                         {"encoding", s.encoding != d.encoding},
                                         {"steps-per-beat", s.steps_per_beat != d.steps_per_beat},
                                         {"max-duration", s.max_duration != d.max_duration},
                                         {"min-count", s.min_count != d.min_count},
                                         {"same-key", s.same_key},
                                         {"carry-state", s.carry_state},
                                         {"instruments", s.instruments != d.instruments},
                                         {"tempo-words", s.tempo_words},
                                         {"no-time-signature-words", s.no_time_signature_words}};
  const std::vector<Rule> pianoroll_only = {{"frame-beats", s.frame_beats != d.frame_beats},
                                            {"valid-data", !s.valid_data.empty()},
                                            {"input-dropout", s.input_dropout != d.input_dropout},
                                            {"output", s.output != d.output},
                                            {"nade-hidden", s.nade_hidden != d.nade_hidden}};
  for (const Rule& r : s.pianoroll() ? tokens_only : pianoroll_only)
    if (r.changed) return UnreadSetting{r.name, s.pianoroll() ? "mode tokens" : "mode pianoroll"};
  if (!s.pianoroll() && s.encoding != "events") {
    const std::vector<Rule> events_only = {{"instruments", s.instruments != d.instruments},
                                           {"tempo-words", s.tempo_words},
                                           {"no-time-signature-words", s.no_time_signature_words}};
    for (const Rule& r : events_only)
      if (r.changed) return UnreadSetting{r.name, "encoding events"};
  }
  return std::nullopt;
}

/// The network the settings describe, for `inputs` input/output ids (the vocabulary's size) or
/// keys (piano-roll mode).
inline ModelConfig model_config(const TrainSettings& s, Index inputs) {
  ModelConfig mc;
  if (s.pianoroll()) mc.mode = ModelMode::pianoroll;
  mc.vocab_size = inputs;
  mc.embedding_size = s.pianoroll() ? 0 : s.embedding;
  mc.hidden_sizes.assign(static_cast<std::size_t>(s.layers), s.hidden);
  mc.dropout = s.dropout;
  mc.input_dropout = s.input_dropout;
  mc.weight_drop = s.weight_drop;
  mc.loss_positions = s.loss == "last" ? LossPositions::last : LossPositions::all;
  if (s.pianoroll() && s.output == "nade") {
    mc.output = FrameOutput::nade;
    mc.nade_hidden = s.nade_hidden;
  }
  return mc;
}

/// Tokens mode: the encoding the settings describe.
inline EncoderOptions encoder_options(const TrainSettings& s) {
  EncoderOptions eo;
  eo.encoding = s.encoding == "pitch-only" ? Encoding::PitchOnly
                : s.encoding == "events"   ? Encoding::Events
                                           : Encoding::Durations;
  eo.steps_per_beat = s.steps_per_beat;
  eo.max_duration = s.max_duration;
  eo.events.instruments = parse_instrument_mode(s.instruments);
  eo.events.tempo = s.tempo_words;
  eo.events.time_signatures = !s.no_time_signature_words;
  return eo;
}

/// Tokens mode: the training and validation windows.
inline WindowOptions window_options(const TrainSettings& s) {
  WindowOptions wo;
  wo.steps = s.seq_len;
  wo.stride = s.stride;
  wo.batch_size = s.batch;
  wo.valid_fraction = s.valid_fraction;
  wo.max_transpose = s.transpose;
  wo.seed = s.seed;
  wo.carry_state = s.carry_state;
  return wo;
}

/// Piano-roll mode: the windows over frames of `keys` keys; a separate validation folder
/// replaces the held-out share.
inline FrameWindowOptions frame_window_options(const TrainSettings& s, Index keys) {
  FrameWindowOptions wo;
  wo.steps = s.seq_len;
  wo.stride = s.stride;
  wo.batch_size = s.batch;
  wo.keys = keys;
  wo.valid_fraction = s.valid_data.empty() ? s.valid_fraction : 0.0;
  wo.max_transpose = s.transpose;
  wo.seed = s.seed;
  return wo;
}

/// The training loop's options (the caller adds `stop`).
inline TrainOptions train_options(const TrainSettings& s) {
  TrainOptions to;
  to.epochs = s.epochs;
  to.adam.lr = s.lr;
  to.adam.weight_decay = s.weight_decay;
  to.clip = s.clip;
  to.patience = s.patience;
  to.lr_decay = s.lr_decay;
  to.time_budget_seconds = s.time_budget;
  to.checkpoint_seconds = s.checkpoint_every;
  to.weight_average = s.weight_average;
  to.out_dir = s.out;
  return to;
}

/// The memory limit the settings give: max_memory as bytes, or (auto) 80% of the machine's
/// memory or of ulimit -v; 0 = no limit known.
inline std::uint64_t memory_limit(const TrainSettings& s) {
  const std::uint64_t given = parse_byte_size(s.max_memory);
  return given > 0 ? given : memory_limit_default();
}

}  // namespace lstmidi::music
