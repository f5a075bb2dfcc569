// SPDX-License-Identifier: MIT
/// GenerationPack: a scope guard that packs a Model's weights for generation (the snapshots of
/// nn/lstm_step.hpp) for as long as it lives, and leaves the model as it found it.
#pragma once

#include "lstmidi/model/model.hpp"

namespace lstmidi {

/// Packs a model for generation in the given format for the guard's lifetime
/// (Model::pack_for_generation()), unless it was packed so already; on leaving the scope,
/// exceptions included, the model is back as it was (unpacked, or packed in its former format).
template <typename T>
class GenerationPack {
 public:
  explicit GenerationPack(Model<T>& model, GenerationWeights format = GenerationWeights::float32)
      : model_(model),
        was_packed_(model.packed_for_generation()),
        was_format_(model.generation_weights()) {
    owner_ = !was_packed_ || was_format_ != format;
    if (owner_) model_.pack_for_generation(format);
  }
  ~GenerationPack() {
    if (!owner_) return;
    if (was_packed_)
      model_.pack_for_generation(was_format_);
    else
      model_.unpack_for_generation();
  }
  GenerationPack(const GenerationPack&) = delete;
  GenerationPack& operator=(const GenerationPack&) = delete;

 private:
  Model<T>& model_;
  bool was_packed_;
  GenerationWeights was_format_;
  bool owner_ = false;
};

}  // namespace lstmidi
