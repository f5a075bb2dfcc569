// SPDX-License-Identifier: MIT
/// Dense<T>: the affine output layer, producing logits for the softmax.
///
///   W: (V, H)   b: (V, 1)
///   Z  = W X + b 1^T                 X: (H, N), Z: (V, N)
///   dW += dZ X^T    db += dZ 1    dX = W^T dZ
#pragma once

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/gemm.hpp"
#include "lstmidi/core/gemm_nt.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/parallel.hpp"
#include "lstmidi/core/params.hpp"

namespace lstmidi {

template <typename T>
class Dense {
 public:
  Dense(ParamAllocator& alloc, Index input_size, Index output_size)
      : H_(input_size), V_(output_size) {
    require(input_size > 0 && output_size > 0, "Dense: sizes must be positive");
    W_ = alloc.take(V_, H_);
    b_ = alloc.take(V_, 1);
  }

  Index input_size() const { return H_; }
  Index output_size() const { return V_; }
  const ParamSlot& W() const { return W_; }
  const ParamSlot& b() const { return b_; }

  /// Glorot-uniform weights, zero bias (the Keras default).
  void init(ParamBuffer<T>& p, Rng& rng) const {
    MatrixMap<T> W = W_.in(p.values);
    init_glorot_uniform(W, rng);
    b_.in(p.values).setZero();
  }

  void forward(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& X, Matrix<T>& Z) const {
    require(X.rows() == H_, "Dense::forward: input has ", X.rows(), " rows, expected ", H_);
    Z.resize(V_, X.cols());
    gemm_packed(Z, W_.in(p.values), X);
    const auto bias = b_.in(p.values).col(0);
    parallel_ranges(Z.cols(), std::max<Index>(1, (Index{1} << 15) / V_),
                    [&](Index j0, Index j1) { Z.middleCols(j0, j1 - j0).colwise() += bias; });
  }

  /// Accumulates dW, db; writes dX (H, N) when asked.
  void backward(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& X,
                const Eigen::Ref<const Matrix<T>>& dZ, Matrix<T>* dX) const {
    require_shape(dZ, V_, X.cols(), "Dense::backward dZ");
    gemm_nt_add_layer(dZ, W_.in(p.grads), X, b_.in(p.grads).col(0));  // dW += dZ X^T, db += dZ 1
    if (dX) {
      dX->resize(H_, X.cols());
      gemm_packed(*dX, W_.in(p.values).transpose(), dZ);
    }
  }

 private:
  Index H_, V_;
  ParamSlot W_, b_;
};

}  // namespace lstmidi
