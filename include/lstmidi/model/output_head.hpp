// SPDX-License-Identifier: MIT
/// OutputHead<T>: what a Model predicts from the top LSTM layer's outputs, and its loss. The one
/// place that knows the model's mode on the output side; a new kind of output is a new head
/// here, not a new copy of the model.
///
///   logits   z = W_o y + b_o                    y: (H, n) top-layer outputs, z: (O, n)
///   tokens:     O = V; p = softmax(z), loss = cross-entropy against the next token id
///               (nn/softmax_cross_entropy.hpp; target -1 = no loss)
///   pianoroll:  O = K keys; p_k = sigmoid(z_k), loss = the frame's Bernoulli NLL summed over
///               the keys (nn/sigmoid_bce.hpp; mask 0 = no loss)
///   backward    dy = W_o^T dz, dW_o += dz y^T, db_o += dz 1    with dz = dL/dz from the loss
///
/// Piano-roll frames have two outputs (FrameOutput): the independent one above, and the nade
/// one (nn/nade.hpp), in which z = W_o y + b_o are the visible biases and key k's logit adds
/// V[k, :] h_k, h_k a function of y and of the keys below k in the frame (exact likelihood,
/// keys drawn one after another in generation); dy then adds the NADE's W_c^T S.
///
/// The head scores the last n columns of a batch (all T*B, or the last step's B when the model
/// scores only the last position); forward() keeps dL/dz for the backward() that follows it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/nn/dense.hpp"
#include "lstmidi/nn/nade.hpp"
#include "lstmidi/nn/sigmoid_bce.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"

namespace lstmidi {

/// What one step is: a token (softmax over V) or a piano-roll frame (K independent sigmoids).
/// The values are stored in model files.
enum class ModelMode : int { tokens = 0, pianoroll = 1 };

/// How a piano-roll model predicts the keys of a frame: each on its own given the past
/// (independent sigmoids), or one after another, low to high, each also given the keys below
/// it (nade). The values are stored in model files.
enum class FrameOutput : int { independent = 0, nade = 1 };

template <typename T>
class OutputHead {
 public:
  /// nade_hidden > 0: the nade frame output with that many hidden units (pianoroll mode).
  OutputHead(ParamAllocator& alloc, Index hidden, Index outputs, ModelMode mode,
             Index nade_hidden = 0)
      : mode_(mode), dense_(alloc, hidden, outputs) {
    require(nade_hidden == 0 || mode == ModelMode::pianoroll,
            "OutputHead: the nade output is for piano-roll frames");
    if (nade_hidden > 0) nade_ = std::make_unique<Nade<T>>(alloc, hidden, outputs, nade_hidden);
  }

  ModelMode mode() const { return mode_; }
  Dense<T>& dense() { return dense_; }
  const Dense<T>& dense() const { return dense_; }
  /// The NADE of the nade frame output, or nullptr for the independent outputs.
  const Nade<T>* nade() const { return nade_.get(); }
  void init(ParamBuffer<T>& p, Rng& rng) const {
    dense_.init(p, rng);
    if (nade_) nade_->init(p, rng);
  }

  /// Logits and loss of the last Y.cols() columns of a token batch.
  LossTotals forward(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& Y,
                     const TokenBatch& batch, bool need_grad) {
    require(mode_ == ModelMode::tokens, "OutputHead: a piano-roll head was given token targets");
    const auto n = static_cast<std::ptrdiff_t>(Y.cols());
    targets_.assign(batch.targets.end() - n, batch.targets.end());
    dense_.forward(p, Y, z_);
    return softmax_cross_entropy<T>(z_, targets_, need_grad ? &z_ : nullptr);
  }

  /// Logits and loss of the last Y.cols() columns of a frame batch.
  LossTotals forward(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& Y,
                     const FrameBatch& batch, bool need_grad) {
    require(mode_ == ModelMode::pianoroll, "OutputHead: a token head was given frame targets");
    const Index n = Y.cols();
    mask_.assign(batch.mask.end() - n, batch.mask.end());
    dense_.forward(p, Y, z_);
    if (nade_)  // z_ = the visible biases, then dL/dz
      return nade_->forward(p, Y, z_, batch.targets.rightCols(n), mask_, need_grad ? &z_ : nullptr);
    return sigmoid_bce<T>(z_, batch.targets.rightCols(n), mask_, need_grad ? &z_ : nullptr);
  }

  /// dL/dY into dY (H, n) for the Y of the last forward with need_grad; adds dW_o, db_o.
  void backward(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& Y, Matrix<T>& dY) const {
    dense_.backward(p, Y, z_, &dY);  // z_ holds dL/dz
    if (nade_) nade_->backward(p, Y, dY);
  }

  /// The logits of one generation step: h (H, B) -> (O, B) (for the nade output, the visible
  /// biases: the frame is then drawn with nade()->sample).
  const Matrix<T>& logits(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& h) {
    dense_.forward(p, h, logits_);
    return logits_;
  }

  /// Floats kept from forward for backward (the memory report).
  Index activation_floats() const { return z_.size() + (nade_ ? nade_->activation_floats() : 0); }

 private:
  ModelMode mode_;
  Dense<T> dense_;
  std::unique_ptr<Nade<T>> nade_;   // the nade frame output, or null
  Matrix<T> z_;                     // logits, then dL/dz after a forward with need_grad
  Matrix<T> logits_;                // generation
  std::vector<TokenId> targets_;    // token targets of the scored columns
  std::vector<std::uint8_t> mask_;  // frame mask of the scored columns
};

}  // namespace lstmidi
