// SPDX-License-Identifier: MIT
/// Dropout<T>: inverted dropout (Srivastava et al. 2014) between stacked layers, as Zaremba et
/// al. 2014 apply it to LSTMs (non-recurrent connections only).
///
///   training:   m = 0 with probability p, else 1/(1 - p), element-wise;   y = m * x,   dx = m * dy
///   inference:  y = x,                                                    dx = dy
///
/// m is the stored mask itself (mask(); docs/math.md#stacking writes it the same way), so
/// E[m] = 1 and forward and backward are one product each. It is drawn from the caller's Rng,
/// so a seed reproduces it; it can be frozen (gradient checks reuse one mask across many
/// forward passes).
#pragma once

#include <algorithm>
#include <cstdint>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"

namespace lstmidi {

template <typename T>
class Dropout {
 public:
  explicit Dropout(double p = 0.0) { set_rate(p); }

  void set_rate(double p) {
    require(p >= 0.0 && p < 1.0, "Dropout: rate must be in [0, 1), got ", p);
    p_ = p;
  }
  double rate() const { return p_; }

  /// Keep the current mask for later forward passes instead of drawing new ones.
  void freeze_mask(bool frozen) { frozen_ = frozen; }
  const Matrix<T>& mask() const { return mask_; }

  /// Y = X * mask in training mode (X, Y: same shape; Y may be X), Y = X otherwise.
  void forward(const Eigen::Ref<const Matrix<T>>& X, Matrix<T>& Y, Rng& rng, bool training) {
    active_ = training && p_ > 0.0;
    if (!active_) {
      if (Y.data() != X.data()) Y = X;
      return;
    }
    if (!frozen_ || mask_.rows() != X.rows() || mask_.cols() != X.cols()) {
      mask_.resize(X.rows(), X.cols());
      const float keep = static_cast<float>(1.0 - p_);
      const T scale = static_cast<T>(1.0 / (1.0 - p_));
      // m[k] = rng.uniform_f32() < keep ? scale : 0 for k = 0, 1, ..., drawn a block at a time
      // (Rng::fill_u32 gives the same draws as one call per element, without a serial chain).
      T* m = mask_.data();
      std::uint32_t bits[kBlock];
      for (Index k0 = 0; k0 < mask_.size(); k0 += kBlock) {
        const Index n = std::min<Index>(kBlock, mask_.size() - k0);
        rng.fill_u32(bits, static_cast<std::size_t>(n));
        for (Index k = 0; k < n; ++k) m[k0 + k] = Rng::to_unit_f32(bits[k]) < keep ? scale : T(0);
      }
    }
    Y.resize(X.rows(), X.cols());
    Y.array() = X.array() * mask_.array();
  }

  /// dX = dY * mask (dX may be dY).
  void backward(const Eigen::Ref<const Matrix<T>>& dY, Matrix<T>& dX) const {
    if (!active_) {
      if (dX.data() != dY.data()) dX = dY;
      return;
    }
    require_shape(dY, mask_.rows(), mask_.cols(), "Dropout::backward dY");
    dX.resize(dY.rows(), dY.cols());
    dX.array() = dY.array() * mask_.array();
  }

 private:
  static constexpr Index kBlock = 1024;  // draws per Rng::fill_u32 call (4 KB on the stack)

  double p_ = 0.0;
  bool frozen_ = false;
  bool active_ = false;
  Matrix<T> mask_;
};

}  // namespace lstmidi
