// SPDX-License-Identifier: MIT
/// ModelConfig: the hyperparameters that fix a Model's shape (model/model.hpp), what a model
/// file stores to rebuild it (model/checkpoint.hpp), with the limits that keep a corrupted or
/// hostile file from allocating absurd amounts of memory.
#pragma once

#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/model/output_head.hpp"

namespace lstmidi {

/// Which positions of a window the loss scores. The values are stored in model files.
enum class LossPositions : int { all = 0, last = 1 };

/// The hyperparameters that fix the model's shape. Everything else (learning rate, window
/// length...) belongs to training.
struct ModelConfig {
  Index vocab_size = 0;                       // V; in pianoroll mode the number of keys K
  Index embedding_size = 64;                  // E; 0 = one-hot input (D = V); 0 in pianoroll mode
  std::vector<Index> hidden_sizes{256, 256};  // H per LSTM layer
  double dropout = 0.2;                       // after each LSTM layer
  double input_dropout = 0;                   // pianoroll mode: on the input frames (keys of the
                                              // previous frame hidden at random); 0 = off
  double weight_drop = 0;                     // DropConnect on each layer's recurrent weights U
                                              // (nn/lstm.hpp); 0 = off
  LossPositions loss_positions = LossPositions::all;
  ModelMode mode = ModelMode::tokens;
  FrameOutput output = FrameOutput::independent;  // pianoroll mode: how a frame's keys are
                                                  // predicted (model/output_head.hpp)
  Index nade_hidden = 0;                          // N_h of FrameOutput::nade (nn/nade.hpp);
                                                  // 0 for the independent output

  Index num_layers() const { return static_cast<Index>(hidden_sizes.size()); }

  /// Number of parameters of the model this config describes (no allocation).
  Index num_params() const {
    Index D = embedding_size > 0 ? embedding_size : vocab_size;
    Index n = embedding_size > 0 ? embedding_size * vocab_size : 0;
    for (Index H : hidden_sizes) {
      n += 4 * H * (D + H + 1);
      D = H;
    }
    n += vocab_size * (D + 1);
    if (output == FrameOutput::nade) n += nade_hidden * (D + 1) + 2 * nade_hidden * vocab_size;
    return n;
  }

  /// Limits keep a corrupted or hostile config from allocating absurd amounts of memory.
  static constexpr Index kMaxVocab = 1 << 20;
  static constexpr Index kMaxWidth = 1 << 14;
  static constexpr Index kMaxLayers = 16;

  void validate() const {
    require(vocab_size > 0 && vocab_size <= kMaxVocab, "model: vocabulary size must be in [1, ",
            kMaxVocab, "], got ", vocab_size);
    require(embedding_size >= 0 && embedding_size <= kMaxWidth,
            "model: embedding size must be in [0, ", kMaxWidth, "], got ", embedding_size);
    require(!hidden_sizes.empty() && num_layers() <= kMaxLayers, "model: between 1 and ",
            kMaxLayers, " LSTM layers, got ", num_layers());
    for (Index h : hidden_sizes)
      require(h > 0 && h <= kMaxWidth, "model: hidden sizes must be in [1, ", kMaxWidth, "], got ",
              h);
    require(dropout >= 0 && dropout < 1, "model: dropout must be in [0, 1), got ", dropout);
    require(input_dropout >= 0 && input_dropout < 1, "model: input dropout must be in [0, 1), got ",
            input_dropout);
    require(weight_drop >= 0 && weight_drop < 1, "model: weight drop must be in [0, 1), got ",
            weight_drop);
    require(mode == ModelMode::tokens || mode == ModelMode::pianoroll, "model: unknown mode");
    require(output == FrameOutput::independent || output == FrameOutput::nade,
            "model: unknown frame output");
    require(output == FrameOutput::independent || mode == ModelMode::pianoroll,
            "model: the nade output predicts piano-roll frames; it needs pianoroll mode");
    require(output == FrameOutput::nade ? nade_hidden > 0 && nade_hidden <= kMaxWidth
                                        : nade_hidden == 0,
            "model: the nade output needs a hidden size in [1, ", kMaxWidth,
            "] and the independent output none, got ", nade_hidden);
    require(mode != ModelMode::pianoroll || embedding_size == 0,
            "model: pianoroll mode takes dense frames; the embedding size must be 0, got ",
            embedding_size);
    require(mode == ModelMode::pianoroll || input_dropout == 0,
            "model: input dropout is for pianoroll mode (token models regularise the embedding "
            "through the layer dropout)");
  }

  bool operator==(const ModelConfig& o) const {
    return vocab_size == o.vocab_size && embedding_size == o.embedding_size &&
           hidden_sizes == o.hidden_sizes && dropout == o.dropout &&
           input_dropout == o.input_dropout && weight_drop == o.weight_drop &&
           loss_positions == o.loss_positions && mode == o.mode && output == o.output &&
           nade_hidden == o.nade_hidden;
  }
};

}  // namespace lstmidi
