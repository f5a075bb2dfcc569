// SPDX-License-Identifier: MIT
/// Gradient clipping (Pascanu, Mikolov & Bengio 2013). docs/math.md#clipping.
///
///   global norm:  n = ||g||_2 over all parameters;  if n > c:  g <- g * c / (n + 1e-6)
///   by value:     g <- clamp(g, -c, c)   (changes the direction; offered as an option only)
#pragma once

#include <algorithm>
#include <cmath>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

/// ||g||_2: squares summed in blocks of 4096 in T, the block sums accumulated in double
/// (accurate for millions of parameters, and no temporary copy of the gradient).
template <typename T>
double global_norm(const Vector<T>& g) {
  constexpr Index kBlock = 4096;
  double sum = 0;
  for (Index k = 0; k < g.size(); k += kBlock)
    sum += static_cast<double>(g.segment(k, std::min(kBlock, g.size() - k)).squaredNorm());
  return std::sqrt(sum);
}

/// Scales g so its norm is at most max_norm; returns the norm before clipping (NaN or inf
/// when the gradient is not finite; g is then left untouched). max_norm <= 0 disables.
template <typename T>
double clip_global_norm(Vector<T>& g, double max_norm) {
  const double n = global_norm(g);
  if (!std::isfinite(n)) return n;
  if (max_norm > 0 && n > max_norm) g *= static_cast<T>(max_norm / (n + 1e-6));
  return n;
}

template <typename T>
void clip_by_value(Vector<T>& g, double limit) {
  require(limit > 0, "clip_by_value: limit must be positive");
  const T c = static_cast<T>(limit);
  g = g.cwiseMax(-c).cwiseMin(c);
}

}  // namespace lstmidi
