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
#include "lstmidi/core/parallel.hpp"
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
    const bool draw = !frozen_ || mask_.rows() != X.rows() || mask_.cols() != X.cols();
    if (draw) mask_.resize(X.rows(), X.cols());
    Y.resize(X.rows(), X.cols());
    // m[k] = rng.uniform_f32() < keep ? scale : 0 for k = 0, 1, ... (column-major), drawn a
    // block at a time (Rng::fill_u32). Column ranges run on several threads, each from a copy
    // of the stream moved on to its first draw (Rng::advance), so the mask is the serial one.
    const Index rows = X.rows(), cols = X.cols();
    const Rng start = rng;
    parallel_ranges(cols, std::max<Index>(1, kGrain / std::max<Index>(rows, 1)),
                    [&](Index j0, Index j1) {
                      if (draw) {
                        Rng r = start;
                        r.advance(static_cast<std::uint64_t>(j0 * rows));
                        draw_mask(r, mask_.data() + j0 * rows, (j1 - j0) * rows);
                      }
                      Y.middleCols(j0, j1 - j0).array() =
                          X.middleCols(j0, j1 - j0).array() * mask_.middleCols(j0, j1 - j0).array();
                    });
    if (draw) rng.advance(static_cast<std::uint64_t>(mask_.size()));
  }

  /// dX = dY * mask (dX may be dY).
  void backward(const Eigen::Ref<const Matrix<T>>& dY, Matrix<T>& dX) const {
    if (!active_) {
      if (dX.data() != dY.data()) dX = dY;
      return;
    }
    require_shape(dY, mask_.rows(), mask_.cols(), "Dropout::backward dY");
    dX.resize(dY.rows(), dY.cols());
    parallel_ranges(dY.cols(), std::max<Index>(1, kGrain / std::max<Index>(dY.rows(), 1)),
                    [&](Index j0, Index j1) {
                      dX.middleCols(j0, j1 - j0).array() = dY.middleCols(j0, j1 - j0).array() *
                                                           mask_.middleCols(j0, j1 - j0).array();
                    });
  }

 private:
  static constexpr Index kBlock = 1024;  // draws per Rng::fill_u32 call (4 KB on the stack)
  static constexpr Index kGrain = Index{1} << 16;  // elements per thread, at least

  // m[0..n) from the next n draws of r.
  void draw_mask(Rng& r, T* m, Index n) const {
    const float keep = static_cast<float>(1.0 - p_);
    const T scale = static_cast<T>(1.0 / (1.0 - p_));
    std::uint32_t bits[kBlock];
    for (Index k0 = 0; k0 < n; k0 += kBlock) {
      const Index len = std::min<Index>(kBlock, n - k0);
      r.fill_u32(bits, static_cast<std::size_t>(len));
      for (Index k = 0; k < len; ++k) m[k0 + k] = Rng::to_unit_f32(bits[k]) < keep ? scale : T(0);
    }
  }

  double p_ = 0.0;
  bool frozen_ = false;
  bool active_ = false;
  Matrix<T> mask_;
};

}  // namespace lstmidi
