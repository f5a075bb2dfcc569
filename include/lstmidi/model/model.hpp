// SPDX-License-Identifier: MIT
/// Model<T>: the stacked next-token model
///
///   token ids -> Embedding (or one-hot) -> L x (Lstm -> Dropout) -> Dense -> softmax
///
/// Shapes for a window of T steps and B sequences (N = T*B columns, time-major):
///   ids (N) -> X_0 (E, N) -> h^(l) (H_l, N) -> X_l = dropout(h^(l)) -> Z (V, N) logits
/// With LossPositions::last only the final step's B columns are scored (the classic Keras
/// setup); otherwise every position with a target is.
///
/// Backward runs the same chain in reverse (docs/math.md#stacking):
///   dZ = (softmax(Z) - Y)/n -> dX_L = W_y^T dZ -> dh^(l) = m^(l) * dX_l
///   -> Lstm BPTT -> dX_{l-1} ... -> dE
/// (m^(l): the dropout mask of layer l, 0 or 1/(1-p), nn/dropout.hpp; names as docs/math.md.)
/// All parameters live in one ParamBuffer (params()), in the order embedding, layers, dense.
/// The input side (ids or frames) is here; the output side, the dense layer and the loss of
/// the mode, is the OutputHead (model/output_head.hpp).
///
/// Piano-roll mode (ModelMode::pianoroll, Boulanger-Lewandowski et al. 2012's task): each step
/// is a multi-hot frame of K = vocab_size keys instead of a token, and every key of the next
/// frame is an independent Bernoulli variable:
///   frames X_0 (K, N) -> h^(l) -> X_l -> Z (K, N) logits -> sigmoid BCE (nn/sigmoid_bce.hpp)
///   dZ = (sigmoid(Z) - Y)/n, then the same chain down to the first layer (no dX_0 needed).
/// Batches are FrameBatch (data/frame_batch.hpp); generation steps take a (K, B) frame.
/// With FrameOutput::nade the keys are instead predicted one after another within the frame
/// (nn/nade.hpp, through the OutputHead); the layers below are the same.
///
/// Training-only regularisers besides dropout (all off at inference, docs/math.md#stacking):
///   weight_drop > 0: each layer's recurrent weights U are DropConnect-masked, one mask per
///     layer and window (nn/lstm.hpp);
///   input_dropout q > 0 (pianoroll mode): training sees m^(0) * X_0 instead of X_0, the
///     mask m^(0) 0 or 1/(1 - q) per key and frame, so the model cannot lean on copying the
///     frame it is given.
#pragma once

#include <memory>
#include <type_traits>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/parallel.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/batch.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/model/model_config.hpp"
#include "lstmidi/model/output_head.hpp"
#include "lstmidi/nn/dense.hpp"
#include "lstmidi/nn/dropout.hpp"
#include "lstmidi/nn/embedding.hpp"
#include "lstmidi/nn/lstm.hpp"
#include "lstmidi/nn/lstm_step.hpp"
#include "lstmidi/nn/sigmoid_bce.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"

namespace lstmidi {

template <typename T>
class Model {
 public:
  /// Carried LSTM state, one (H_l, B) pair per layer.
  struct State {
    std::vector<Matrix<T>> h, c;
    Index batch() const { return h.empty() ? 0 : h[0].cols(); }
  };

  explicit Model(const ModelConfig& cfg) : cfg_(cfg), input_dropout_(cfg.input_dropout) {
    cfg_.validate();
    ParamAllocator alloc;
    Index D = cfg_.vocab_size;
    if (cfg_.embedding_size > 0) {
      embedding_ = std::make_unique<Embedding<T>>(alloc, cfg_.vocab_size, cfg_.embedding_size);
      D = cfg_.embedding_size;
    }
    for (Index H : cfg_.hidden_sizes) {
      layers_.emplace_back(alloc, D, H);
      layers_.back().weight_drop().set_rate(cfg_.weight_drop);
      steppers_.emplace_back(layers_.back());
      dropouts_.emplace_back(cfg_.dropout);
      D = H;
    }
    const Index nade_hidden = cfg_.output == FrameOutput::nade ? cfg_.nade_hidden : 0;
    head_ = std::make_unique<OutputHead<T>>(alloc, D, cfg_.vocab_size, cfg_.mode, nade_hidden);
    params_.resize(alloc.size());
    outputs_.resize(layers_.size());
  }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return cfg_; }
  /// The weights and gradients. Any packed generation snapshot is dropped first (see
  /// pack_for_generation()), so weights changed through this reference are what the next
  /// step() reads.
  ParamBuffer<T>& params() {
    unpack_for_generation();
    return params_;
  }
  const ParamBuffer<T>& params() const { return params_; }
  Index num_params() const { return params_.size(); }
  Index num_layers() const { return cfg_.num_layers(); }
  Lstm<T>& layer(Index l) { return layers_[static_cast<size_t>(l)]; }
  Dropout<T>& dropout(Index l) { return dropouts_[static_cast<size_t>(l)]; }
  /// Dropout on the input frames (pianoroll mode; rate 0 unless configured).
  Dropout<T>& input_dropout() { return input_dropout_; }
  Dense<T>& dense() { return head_->dense(); }
  OutputHead<T>& head() { return *head_; }
  const OutputHead<T>& head() const { return *head_; }
  Embedding<T>* embedding() { return embedding_.get(); }

  /// Draws every weight from rng (Glorot/orthogonal/forget-bias-1 by default).
  void init(Rng& rng, InitScheme scheme = InitScheme::keras) {
    if (embedding_) embedding_->init(params_, rng);
    for (const auto& l : layers_) l.init(params_, rng, scheme);
    head_->init(params_, rng);
  }

  State zero_state(Index B) const {
    State s;
    for (Index H : cfg_.hidden_sizes) {
      s.h.push_back(Matrix<T>::Zero(H, B));
      s.c.push_back(Matrix<T>::Zero(H, B));
    }
    return s;
  }

  /// Forward and backward over one batch: adds the gradient of the mean loss to
  /// params().grads (call params().zero_grad() first) and moves `state` to the window's final
  /// state (truncated BPTT: no gradient flows into the carried state). Dropout masks come from
  /// rng when training is true.
  LossTotals forward_backward(const TokenBatch& batch, State& state, Rng& rng,
                              bool training = true) {
    const LossTotals tot = forward(batch, state, rng, training, /*need_grad=*/true);
    backward(batch);
    return tot;
  }

  /// The same for a batch of piano-roll frames (pianoroll mode).
  LossTotals forward_backward(const FrameBatch& batch, State& state, Rng& rng,
                              bool training = true) {
    const LossTotals tot = forward(batch, state, rng, training, /*need_grad=*/true);
    backward(batch);
    return tot;
  }

  /// Forward only, dropout off; state moves to the final state.
  LossTotals evaluate(const TokenBatch& batch, State& state) {
    Rng unused(0);
    return forward(batch, state, unused, /*training=*/false, /*need_grad=*/false);
  }

  /// Forward only over piano-roll frames (pianoroll mode), dropout off; state moves on.
  LossTotals evaluate(const FrameBatch& batch, State& state) {
    Rng unused(0);
    return forward(batch, state, unused, /*training=*/false, /*need_grad=*/false);
  }

  /// Packs a snapshot of every layer's weights for step() and step_frame()
  /// (LstmStepper::pack): faster steps at batch 1, where reading the weights is the bottleneck
  /// (docs/performance.md). The snapshot lasts until unpack_for_generation() or the next non-const
  /// params() call; weights must not be changed through a reference to params() obtained
  /// before packing. generate() and generate_frames() pack for their own duration
  /// (GenerationPack). GenerationWeights::float16 halves the bytes each step reads, at the
  /// cost of logits that differ slightly from the float model's; it throws
  /// std::invalid_argument where the build cannot do it (LstmStepper<T>::half_supported()).
  void pack_for_generation(GenerationWeights format = GenerationWeights::float32) {
    // LstmStepper::pack refuses an unsupported format before it changes anything, and
    // every layer answers alike, so a refusal leaves no layer packed.
    for (auto& s : steppers_) s.pack(params_, format);
  }
  void unpack_for_generation() {
    for (auto& s : steppers_) s.unpack();
  }
  bool packed_for_generation() const { return !steppers_.empty() && steppers_.front().packed(); }
  /// The format of the packed snapshot (float32 when not packed).
  GenerationWeights generation_weights() const {
    return steppers_.empty() ? GenerationWeights::float32 : steppers_.front().format();
  }

  /// One generation step for B sequences: ids (B) -> logits (V, B); state carried.
  const Matrix<T>& step(const std::vector<TokenId>& ids, State& state) {
    require_mode(ModelMode::tokens);
    check_state(state, static_cast<Index>(ids.size()));
    const size_t L = layers_.size();
    if (embedding_) {
      embedding_->forward(params_, ids, step_x_);
      steppers_[0].step(params_, step_x_, state.h[0], state.c[0]);
    } else {
      steppers_[0].step_tokens(params_, ids, state.h[0], state.c[0]);
    }
    for (size_t l = 1; l < L; ++l)
      steppers_[l].step(params_, state.h[l - 1], state.h[l], state.c[l]);
    return head_->logits(params_, state.h[L - 1]);
  }

  /// One generation step in pianoroll mode: frames (K, B) of 0/1 -> logits (K, B), state
  /// carried; p(key on) = sigmoid(logit). For the nade output these are the visible biases:
  /// the next frame is drawn by head().nade()->sample from them and state.h.back().
  const Matrix<T>& step_frame(const Eigen::Ref<const Matrix<T>>& frames, State& state) {
    require_mode(ModelMode::pianoroll);
    require(frames.rows() == cfg_.vocab_size, "model: frame has ", frames.rows(),
            " keys, the model ", cfg_.vocab_size);
    check_state(state, frames.cols());
    const size_t L = layers_.size();
    steppers_[0].step(params_, frames, state.h[0], state.c[0]);
    for (size_t l = 1; l < L; ++l)
      steppers_[l].step(params_, state.h[l - 1], state.h[l], state.c[l]);
    return head_->logits(params_, state.h[L - 1]);
  }

  /// Floats kept from forward for backward in the last forward_backward (memory report).
  Index activation_floats() const {
    Index n = x0_.size();
    if (inputs_dropped_) n += xin_.size() + input_dropout_.mask().size();
    for (const auto& l : layers_) n += l.cache_size();
    for (const auto& d : outputs_) n += d.size();
    for (const auto& d : dropouts_) n += d.mask().size();
    return n + head_->activation_floats();
  }

 private:
  void check_state(const State& s, Index B) const {
    require(static_cast<Index>(s.h.size()) == num_layers() &&
                static_cast<Index>(s.c.size()) == num_layers(),
            "model state has ", s.h.size(), " layers, the model ", num_layers());
    for (size_t l = 0; l < layers_.size(); ++l) {
      require_shape(s.h[l], cfg_.hidden_sizes[l], B, "model state h");
      require_shape(s.c[l], cfg_.hidden_sizes[l], B, "model state c");
    }
  }

  void require_mode(ModelMode m) const {
    require(cfg_.mode == m, "model: this ",
            cfg_.mode == ModelMode::pianoroll ? "pianoroll" : "tokens", " model was given ",
            m == ModelMode::pianoroll ? "piano-roll frames" : "token ids");
  }

  /// Weight-drop masks for this window's forward and backward (training with weight_drop > 0
  /// only: otherwise no Rng draws, and the layers use U itself).
  void draw_weight_drop(Rng& rng, bool training) {
    for (auto& layer : layers_) layer.drop_recurrent_weights(params_, rng, training);
  }

  /// Layers above the first, dropout and the carried state (the first layer has run).
  void forward_stack(Index B, State& state, Rng& rng, bool training) {
    for (size_t l = 0; l < layers_.size(); ++l) {
      if (l > 0) layers_[l].forward(params_, outputs_[l - 1], B, state.h[l], state.c[l]);
      dropouts_[l].forward(layers_[l].output(), outputs_[l], rng, training);
      state.h[l] = layers_[l].final_h();
      state.c[l] = layers_[l].final_c();
    }
  }

  /// The frames as Matrix<T>: the batch's own storage for float, a converted copy otherwise.
  const Matrix<T>& frame_inputs(const FrameBatch& batch) {
    if constexpr (std::is_same_v<T, float>) {
      return batch.inputs;
    } else {
      x0_ = batch.inputs.template cast<T>();
      return x0_;
    }
  }

  LossTotals forward(const FrameBatch& batch, State& state, Rng& rng, bool training,
                     bool need_grad) {
    require_mode(ModelMode::pianoroll);
    const Index steps = batch.T, B = batch.B, K = cfg_.vocab_size;
    require(steps > 0 && B > 0 && batch.inputs.rows() == K && batch.inputs.cols() == steps * B &&
                batch.targets.rows() == K && batch.targets.cols() == steps * B &&
                static_cast<Index>(batch.mask.size()) == steps * B,
            "model: frame batch must hold (K, T*B) inputs and targets and T*B mask entries (K=", K,
            ", T=", steps, ", B=", B, ")");
    check_state(state, B);
    draw_weight_drop(rng, training);
    // Input dropout draws its mask before the layers' masks, and only when it is on, so runs
    // without it consume the Rng exactly as before.
    inputs_dropped_ = training && cfg_.input_dropout > 0;
    if (inputs_dropped_) input_dropout_.forward(frame_inputs(batch), xin_, rng, true);
    layers_[0].forward(params_, inputs_dropped_ ? xin_ : frame_inputs(batch), B, state.h[0],
                       state.c[0]);
    forward_stack(B, state, rng, training);
    return head_->forward(params_, scored(outputs_.back(), steps, B), batch, need_grad);
  }

  LossTotals forward(const TokenBatch& batch, State& state, Rng& rng, bool training,
                     bool need_grad) {
    require_mode(ModelMode::tokens);
    const Index steps = batch.T, B = batch.B;
    require(steps > 0 && B > 0 && static_cast<Index>(batch.inputs.size()) == steps * B &&
                static_cast<Index>(batch.targets.size()) == steps * B,
            "model: batch must hold T*B inputs and targets (T=", steps, ", B=", B, ")");
    check_state(state, B);
    draw_weight_drop(rng, training);
    if (embedding_) {
      embedding_->forward(params_, batch.inputs, x0_);
      layers_[0].forward(params_, x0_, B, state.h[0], state.c[0]);
    } else {
      layers_[0].forward_tokens(params_, batch.inputs, B, state.h[0], state.c[0]);
    }
    forward_stack(B, state, rng, training);
    return head_->forward(params_, scored(outputs_.back(), steps, B), batch, need_grad);
  }

  /// The columns the loss scores: all T*B, or the last step's B (LossPositions::last).
  auto scored(const Matrix<T>& Y, Index steps, Index B) const {
    return Y.rightCols(cfg_.loss_positions == LossPositions::last ? B : steps * B);
  }

  /// The head and layers L-1..1 backward; leaves dL/d(output of layer 0) in dy_.
  void backward_stack(Index steps, Index B) {
    const Index N = steps * B;
    const size_t L = layers_.size();
    const auto top = scored(outputs_[L - 1], steps, B);
    head_->backward(params_, top, dtop_);
    const Index scored_cols = top.cols();
    dy_.resize(cfg_.hidden_sizes[L - 1], N);
    dy_.leftCols(N - scored_cols).setZero();
    parallel_ranges(scored_cols, std::max<Index>(1, (Index{1} << 16) / dy_.rows()),
                    [&](Index j0, Index j1) {
                      dy_.middleCols(N - scored_cols + j0, j1 - j0) = dtop_.middleCols(j0, j1 - j0);
                    });
    for (size_t l = L; l-- > 1;) {
      dropouts_[l].backward(dy_, dy_);
      layers_[l].backward(params_, outputs_[l - 1], dy_, &dx_);
      dy_.swap(dx_);
    }
    dropouts_[0].backward(dy_, dy_);
  }

  void backward(const FrameBatch& batch) {
    backward_stack(batch.T, batch.B);
    layers_[0].backward(params_, inputs_dropped_ ? xin_ : frame_inputs(batch), dy_, nullptr);
  }

  void backward(const TokenBatch& batch) {
    backward_stack(batch.T, batch.B);
    if (embedding_) {
      layers_[0].backward(params_, x0_, dy_, &dx_);
      embedding_->backward(params_, batch.inputs, dx_);
    } else {
      layers_[0].backward_tokens(params_, batch.inputs, dy_);
    }
  }

  ModelConfig cfg_;
  ParamBuffer<T> params_;
  std::unique_ptr<Embedding<T>> embedding_;
  std::vector<Lstm<T>> layers_;
  std::vector<LstmStepper<T>> steppers_;  // generation steps over layers_' parameters
  std::vector<Dropout<T>> dropouts_;
  Dropout<T> input_dropout_;             // pianoroll mode: on the input frames
  bool inputs_dropped_ = false;          // the last forward used xin_ (dropped-out inputs)
  Matrix<T> xin_;                        // (K, N) input frames after input dropout
  std::unique_ptr<OutputHead<T>> head_;  // dense layer and loss of the model's mode

  Matrix<T> x0_;                    // (E, N) embedded inputs
  std::vector<Matrix<T>> outputs_;  // (H_l, N) dropout(h^(l)): input of layer l+1 / dense
  Matrix<T> dtop_, dy_, dx_;        // backward buffers
  Matrix<T> step_x_;                // generation: embedded ids
};

}  // namespace lstmidi
