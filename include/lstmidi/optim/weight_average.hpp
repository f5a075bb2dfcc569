// SPDX-License-Identifier: MIT
/// WeightAverage<T>: an exponential moving average of the weights along the optimizer's path
/// (Polyak & Juditsky 1992 averaging, in its exponential form), the weights one validates and
/// saves when training with small, noisy mini-batches. docs/math.md#weight-averaging.
///
/// After optimizer step t, with decay beta in [0, 1) and theta_t the new weights:
///   a_t = beta a_{t-1} + (1 - beta) theta_t,   a_0 = 0          (the running sum)
///   abar_t = a_t / (1 - beta^t)                                 (bias-corrected, as Adam's m)
/// kept directly in corrected form, which needs no division when read:
///   abar_t = abar_{t-1} + w_t (theta_t - abar_{t-1}),   w_t = (1 - beta) / (1 - beta^t)
/// (w_1 = 1: the first average is the first weights). The average spans about 1 / (1 - beta)
/// steps; beta = 0 makes it the current weights.
#pragma once

#include <cmath>
#include <cstdint>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

template <typename T>
class WeightAverage {
 public:
  explicit WeightAverage(double decay = 0.999) : decay_(decay) {
    require(decay >= 0 && decay < 1, "weight average: decay must be in [0, 1), got ", decay);
  }

  /// Folds the weights after one more optimizer step into the average.
  void update(const Vector<T>& weights) {
    if (t_ > 0)
      require(weights.size() == avg_.size(), "WeightAverage::update: ", weights.size(),
              " weights for an average of ", avg_.size());
    ++t_;
    const double w = (1.0 - decay_) / (1.0 - std::pow(decay_, static_cast<double>(t_)));
    if (t_ == 1 || w >= 1.0) {
      avg_ = weights;
    } else {
      avg_ += static_cast<T>(w) * (weights - avg_);
    }
  }

  double decay() const { return decay_; }
  std::int64_t steps() const { return t_; }
  /// The bias-corrected average (empty before the first update).
  const Vector<T>& value() const { return avg_; }

  /// Restores a saved average (for exact resume).
  void set_state(Vector<T> average, std::int64_t steps) {
    require(steps >= 1, "weight average: step count must be positive, got ", steps);
    require(average.allFinite(), "weight average: the saved average is not finite");
    avg_ = std::move(average);
    t_ = steps;
  }

 private:
  double decay_;
  Vector<T> avg_;
  std::int64_t t_ = 0;
};

/// Runs f with `weights` holding the average (when it has any steps), then puts the trained
/// weights back, also when f throws; `scratch` keeps them meanwhile (reused to spare an
/// allocation per call). average == nullptr, or no steps yet: f runs on the weights as they are.
template <typename T, typename F>
void with_average_weights(Vector<T>& weights, const WeightAverage<T>* average, Vector<T>& scratch,
                          F&& f) {
  if (!average || average->steps() == 0) {
    f();
    return;
  }
  scratch.resize(weights.size());
  scratch = weights;
  weights = average->value();
  try {
    f();
  } catch (...) {
    weights = scratch;
    throw;
  }
  weights = scratch;
}

}  // namespace lstmidi
