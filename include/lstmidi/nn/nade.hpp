// SPDX-License-Identifier: MIT
/// Nade<T>: the keys of a piano-roll frame predicted one after another, each conditioned on the
/// time model's output y and on the keys below it already decided in the frame (the neural
/// autoregressive distribution estimator of Larochelle & Murray 2011, conditioned on a
/// recurrent network as in Boulanger-Lewandowski et al. 2012's RNN-NADE; docs/math.md#nade).
///
/// Per frame (one column), keys k = 0 .. K-1 from low to high, x the frame's 0/1 keys:
///   a_0     = W_c y + b_c                         (N_h)   the hidden bias, from the time model
///   a_{k+1} = a_k + W[:, k] x_k                   (N_h)   the keys decided so far
///   h_k     = sigmoid(a_k)                        (N_h)
///   z_k     = v_k + V[k, :] h_k                   the logit of key k; v (K) = the visible bias,
///                                                 from the head's dense layer (W_o y + b_o)
///   -log p(x) = sum_k softplus(z_k) - x_k z_k     (nn/sigmoid_bce.hpp)
/// Shapes: y (H), W_c (N_h, H), b_c (N_h), W (N_h, K), V (K, N_h); N columns of a batch at once.
///
/// Backward for L = (1/n) sum over the n counted frames, dz_k = (sigmoid(z_k) - x_k)/n:
///   dv_k  = dz_k                 dV[k, :] += dz_k h_k^T
///   da_k  = (V[k, :]^T dz_k) * h_k * (1 - h_k)
///   S_k   = sum_{j > k} da_j     (a_j for j > k holds W[:, k] x_k)
///   dW[:, k] += S_k x_k          dW_c += S_{-1} y^T    db_c += S_{-1}    dy = W_c^T S_{-1}
/// with S_{-1} = sum_k da_k. Training knows every key of the frame, so the key axis is one
/// loop of K steps over all N frames together: (N_h, N) blocks, a rank-1 update per key. The
/// frames are taken in chunks of kChunk columns, so the cached h_k stay (N_h, K * kChunk).
///
/// forward() with gradients computes the whole backward at once (it has everything it needs)
/// and keeps dW, dV and S for backward(), which adds them and dy; dL/dv goes back to the caller.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/gemm.hpp"
#include "lstmidi/core/gemm_nt.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/nn/sigmoid_bce.hpp"

namespace lstmidi {

template <typename T>
class Nade {
 public:
  static constexpr Index kChunk = 256;  // frames per block of the key loop

  Nade(ParamAllocator& alloc, Index input_size, Index keys, Index hidden)
      : H_(input_size), K_(keys), Nh_(hidden) {
    require(input_size > 0 && keys > 0 && hidden > 0, "Nade: sizes must be positive");
    Wc_ = alloc.take(Nh_, H_);
    bc_ = alloc.take(Nh_, 1);
    W_ = alloc.take(Nh_, K_);
    V_ = alloc.take(K_, Nh_);
  }

  Index input_size() const { return H_; }
  Index keys() const { return K_; }
  Index hidden_size() const { return Nh_; }
  const ParamSlot& Wc() const { return Wc_; }
  const ParamSlot& bc() const { return bc_; }
  const ParamSlot& W() const { return W_; }
  const ParamSlot& V() const { return V_; }

  /// Glorot-uniform W_c and W, zero b_c and V: a new head predicts exactly what the
  /// independent output with the same dense layer predicts, and learns the dependencies.
  void init(ParamBuffer<T>& p, Rng& rng) const {
    MatrixMap<T> Wc = Wc_.in(p.values);
    init_glorot_uniform(Wc, rng);
    MatrixMap<T> W = W_.in(p.values);
    init_glorot_uniform(W, rng);
    bc_.in(p.values).setZero();
    V_.in(p.values).setZero();
  }

  /// Loss of the frames X (K, N) (0/1) given the time model's outputs Y (H, N) and the visible
  /// biases Bv (K, N); mask: one entry per column (nonzero = counted) or empty. When dBv is not
  /// null it receives dL/dBv (K, N) for the mean loss, and backward() may follow; dBv may be
  /// Bv's own storage.
  template <typename TargetDerived>
  LossTotals forward(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& Y,
                     const Eigen::Ref<const Matrix<T>>& Bv,
                     const Eigen::MatrixBase<TargetDerived>& X,
                     const std::vector<std::uint8_t>& mask, Matrix<T>* dBv) {
    const Index N = Y.cols();
    require(Y.rows() == H_, "Nade::forward: input has ", Y.rows(), " rows, expected ", H_);
    require_shape(Bv, K_, N, "Nade::forward visible biases");
    require(X.rows() == K_ && X.cols() == N, "Nade::forward: targets are (", X.rows(), ", ",
            X.cols(), "), expected (", K_, ", ", N, ")");
    require(mask.empty() || static_cast<Index>(mask.size()) == N, "Nade::forward: ", mask.size(),
            " mask entries for ", N, " columns");
    Index counted = 0;
    for (Index j = 0; j < N; ++j) counted += mask.empty() || mask[static_cast<size_t>(j)] != 0;
    const bool grad = dBv != nullptr;
    if (grad) {
      dW_.setZero(Nh_, K_);
      dV_.setZero(K_, Nh_);
      S_.resize(Nh_, N);
      if (dBv->rows() != K_ || dBv->cols() != N) dBv->resize(K_, N);
    }
    LossTotals tot;
    for (Index c0 = 0; c0 < N; c0 += kChunk) {
      const Index m = std::min(kChunk, N - c0);
      x_ = X.middleCols(c0, m).template cast<T>();
      // Forward along the keys: a_0 = W_c y + b_c, then h_k, z_k and a_{k+1} = a_k + W[:, k] x_k.
      gemm_packed(a_, Wc_.in(p.values), Y.middleCols(c0, m));
      a_.colwise() += bc_.in(p.values).col(0);
      z_ = Bv.middleCols(c0, m);
      h_.resize(Nh_, K_ * m);
      const ConstMatrixMap<T> W = W_.in(p.values), V = V_.in(p.values);
      for (Index k = 0; k < K_; ++k) {
        auto hk = h_.middleCols(k * m, m);
        hk.array() = (a_.array() * T(0.5)).tanh() * T(0.5) + T(0.5);  // sigmoid(a_k)
        z_.row(k).noalias() += V.row(k) * hk;
        a_.noalias() += W.col(k) * x_.row(k);
      }
      std::vector<std::uint8_t> chunk_mask;
      if (!mask.empty()) chunk_mask.assign(mask.begin() + c0, mask.begin() + c0 + m);
      const LossTotals part = sigmoid_bce<T>(z_, x_, chunk_mask, grad ? &dz_ : nullptr);
      tot += part;
      if (!grad) continue;
      // sigmoid_bce scaled by 1/(counted in this chunk); the loss is over all counted frames.
      if (part.count > 0) dz_ *= static_cast<T>(part.count) / static_cast<T>(counted);
      dBv->middleCols(c0, m) = dz_;
      // Backward along the keys, high to low: S holds sum_{j > k} da_j.
      auto S = S_.middleCols(c0, m);
      S.setZero();
      for (Index k = K_; k-- > 0;) {
        const auto hk = h_.middleCols(k * m, m);
        dW_.col(k).noalias() += S * x_.row(k).transpose();
        dV_.row(k).noalias() += dz_.row(k) * hk.transpose();
        da_.noalias() = V.row(k).transpose() * dz_.row(k);
        da_.array() *= hk.array() * (T(1) - hk.array());
        S += da_;
      }
    }
    return tot;
  }

  /// After forward() with dBv: adds dW_c, db_c, dW, dV to p.grads and W_c^T S to dY (H, N).
  void backward(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& Y, Matrix<T>& dY) const {
    require_shape(S_, Nh_, Y.cols(), "Nade::backward (forward with gradients first)");
    require_shape(dY, H_, Y.cols(), "Nade::backward dY");
    // dW_c += S Y^T, db_c += S 1
    gemm_nt_add_layer(S_, Wc_.in(p.grads), Y, bc_.in(p.grads).col(0));
    W_.in(p.grads) += dW_;
    V_.in(p.grads) += dV_;
    gemm_packed_add(dY, Wc_.in(p.values).transpose(), S_);
  }

  /// Draws one frame key by key, low to high, given the time model's output y (H, 1) and the
  /// visible biases bv (K, 1): x_k = draw(z_k), then a += W[:, k] when key k is on. draw is any
  /// callable double -> bool (the temperature and top-p rule of the caller). x: (K, 1) 0/1.
  template <typename Draw>
  void sample(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& y,
              const Eigen::Ref<const Matrix<T>>& bv, Draw&& draw, Matrix<T>& x) const {
    require_shape(y, H_, 1, "Nade::sample y");
    require_shape(bv, K_, 1, "Nade::sample visible biases");
    const ConstMatrixMap<T> W = W_.in(p.values), V = V_.in(p.values);
    Vector<T> a = Wc_.in(p.values) * y.col(0);
    a += bc_.in(p.values).col(0);
    Vector<T> h(Nh_);
    x.setZero(K_, 1);
    for (Index k = 0; k < K_; ++k) {
      h.array() = (a.array() * T(0.5)).tanh() * T(0.5) + T(0.5);
      const T z = bv(k, 0) + V.row(k).dot(h);
      if (draw(static_cast<double>(z))) {
        x(k, 0) = T(1);
        a += W.col(k);
      }
    }
  }

  /// Floats kept for backward (the memory report).
  Index activation_floats() const { return h_.size() + S_.size() + dz_.size(); }

 private:
  Index H_, K_, Nh_;
  ParamSlot Wc_, bc_, W_, V_;
  Matrix<T> x_;        // (K, m) the chunk's keys
  Matrix<T> a_;        // (N_h, m) running hidden pre-activation
  Matrix<T> h_;        // (N_h, K * m) h_k of every key, block k = columns [k m, (k+1) m)
  Matrix<T> z_, dz_;   // (K, m) logits of the chunk, then dL/dz
  Matrix<T> da_;       // (N_h, m)
  Matrix<T> S_;        // (N_h, N) sum_k da_k per frame, kept for backward()
  Matrix<T> dW_, dV_;  // (N_h, K), (K, N_h) gradients kept for backward()
};

}  // namespace lstmidi
