// SPDX-License-Identifier: MIT
/// Finite-difference gradient checking (docs/math.md#gradient-checks; CS231n "Gradient checks").
///
///   numeric_j = (-L(+2d) + 8 L(+d) - 8 L(-d) + L(-2d)) / (12 d)     (L(+d) = L(theta + d e_j))
///   rel_j     = |analytic_j - numeric_j| / max(|analytic_j|, |numeric_j|, floor)
///
/// d is the step `delta` (docs/math.md calls it δ; h is the hidden state there). The five-point
/// stencil has truncation error O(d^4), so d can be large (1e-3) and the round-off of the loss,
/// about 1e-16 |L| / d, stays near 1e-13. Entries whose gradient is below
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

/// Compares `analytic` (the gradient of loss() at theta) with the five-point finite difference
/// above, four evaluations of loss() per entry, for the entries in `which` (all entries when
/// empty). loss() must read theta through `theta`; every entry is restored after its check.
template <typename Loss>
GradCheckResult gradient_check(Vector<double>& theta, const Vector<double>& analytic, Loss&& loss,
                               const std::vector<Index>& which = {}, double delta = 1e-3,
                               double floor = 1e-6) {
  require(theta.size() == analytic.size(), "gradient_check: size mismatch");
  GradCheckResult res;
  auto check_one = [&](Index j) {
    const double saved = theta[j];
    auto at = [&](double delta) {
      theta[j] = saved + delta;
      return static_cast<double>(loss());
    };
    const double num =
        (-at(2 * delta) + 8 * at(delta) - 8 * at(-delta) + at(-2 * delta)) / (12 * delta);
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
