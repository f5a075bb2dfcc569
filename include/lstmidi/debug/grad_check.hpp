// SPDX-License-Identifier: MIT
/// Finite-difference gradient checking (docs/math.md#gradient-checks; CS231n "Gradient checks").
///
///   numeric_j = (-L(+2h) + 8 L(+h) - 8 L(-h) + L(-2h)) / (12 h)     (L(+h) = L(theta + h e_j))
///   rel_j     = |analytic_j - numeric_j| / max(|analytic_j|, |numeric_j|, floor)
///
/// The five-point stencil has truncation error O(h^4), so h can be large (1e-3) and the
/// round-off of the loss, about 1e-16 |L| / h, stays near 1e-13. Entries whose gradient is below
/// `floor` (1e-6) are therefore compared on an absolute scale: no finite difference of a loss
/// of order 1 can resolve them to a relative 1e-6 in double precision.
/// Run it in double precision with dropout masks frozen and everything else deterministic.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "lstmidi/core/config.hpp"

namespace lstmidi {

struct GradCheckResult {
  double max_rel_error = 0.0;
  Index worst_index = -1;
  double analytic_at_worst = 0.0;
  double numeric_at_worst = 0.0;
  Index checked = 0;
};

/// Compares `analytic` (the gradient of loss() at theta) with central differences for the
/// entries in `which` (all entries when empty). loss() must read theta through `theta`.
template <typename Loss>
GradCheckResult gradient_check(Vector<double>& theta, const Vector<double>& analytic, Loss&& loss,
                               const std::vector<Index>& which = {}, double h = 1e-3,
                               double floor = 1e-6) {
  require(theta.size() == analytic.size(), "gradient_check: size mismatch");
  GradCheckResult res;
  auto check_one = [&](Index j) {
    const double saved = theta[j];
    auto at = [&](double delta) {
      theta[j] = saved + delta;
      return static_cast<double>(loss());
    };
    const double num = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    theta[j] = saved;
    const double a = analytic[j];
    const double rel = std::abs(a - num) / std::max({std::abs(a), std::abs(num), floor});
    ++res.checked;
    if (rel > res.max_rel_error || res.worst_index < 0) {
      res.max_rel_error = rel;
      res.worst_index = j;
      res.analytic_at_worst = a;
      res.numeric_at_worst = num;
    }
  };
  if (which.empty()) {
    for (Index j = 0; j < theta.size(); ++j) check_one(j);
  } else {
    for (Index j : which) check_one(j);
  }
  return res;
}

}  // namespace lstmidi
