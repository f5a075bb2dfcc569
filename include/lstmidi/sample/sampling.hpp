// SPDX-License-Identifier: MIT
/// Choosing the next token from the model's logits z (V values). docs/math.md#sampling.
///
///   temperature tau > 0:  p = softmax(z / tau); tau < 1 sharpens (tau -> 0 is argmax),
///                         tau = 1 is the model's distribution, tau > 1 flattens it
///   top-k (Fan et al. 2018):        keep the k most likely tokens, renormalise
///   top-p (Holtzman et al. 2020):   keep the smallest set of most likely tokens whose
///                                   probability sum reaches p, renormalise
/// The draw walks the cumulative distribution with one uniform number from the seeded Rng.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"

namespace lstmidi {

struct SamplingConfig {
  double temperature = 1.0;  // 0 = greedy (argmax)
  Index top_k = 0;           // 0 = no limit
  double top_p = 1.0;        // 1 = no limit

  void validate() const {
    require(temperature >= 0 && std::isfinite(temperature), "temperature must be >= 0, got ",
            temperature);
    require(top_k >= 0, "top-k must be >= 0, got ", top_k);
    require(top_p > 0 && top_p <= 1, "top-p must be in (0, 1], got ", top_p);
  }
};

template <typename Derived>
TokenId argmax(const Eigen::MatrixBase<Derived>& logits) {
  Index best = 0;
  logits.maxCoeff(&best);
  return static_cast<TokenId>(best);
}

/// The probabilities sampling draws from, after temperature, top-k and top-p (V values, sum 1).
template <typename Derived>
std::vector<double> sampling_distribution(const Eigen::MatrixBase<Derived>& logits,
                                          const SamplingConfig& cfg) {
  cfg.validate();
  const Index V = logits.size();
  require(V > 0, "sampling: empty logits");
  std::vector<double> p(static_cast<size_t>(V), 0.0);
  if (cfg.temperature == 0.0) {
    p[static_cast<size_t>(argmax(logits))] = 1.0;
    return p;
  }
  std::vector<Index> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), Index{0});
  // Stable order: larger logit first, ties by smaller id.
  std::stable_sort(order.begin(), order.end(),
                   [&](Index a, Index b) { return logits(a) > logits(b); });
  const double m = static_cast<double>(logits(order[0]));
  require(std::isfinite(m), "sampling: logits are not finite");
  double sum = 0.0;
  for (Index k = 0; k < V; ++k) {
    const double e = std::exp((static_cast<double>(logits(k)) - m) / cfg.temperature);
    p[static_cast<size_t>(k)] = e;
    sum += e;
  }
  for (double& x : p) x /= sum;
  size_t keep = static_cast<size_t>(V);
  if (cfg.top_k > 0) keep = std::min(keep, static_cast<size_t>(cfg.top_k));
  if (cfg.top_p < 1.0) {
    double mass = 0.0;
    for (size_t r = 0; r < keep; ++r) {
      mass += p[static_cast<size_t>(order[r])];
      if (mass >= cfg.top_p) {
        keep = r + 1;
        break;
      }
    }
  }
  double kept = 0.0;
  for (size_t r = 0; r < keep; ++r) kept += p[static_cast<size_t>(order[r])];
  for (size_t r = keep; r < static_cast<size_t>(V); ++r) p[static_cast<size_t>(order[r])] = 0.0;
  for (double& x : p) x /= kept;
  return p;
}

/// Draws one token id from logits with the given settings.
template <typename Derived>
TokenId sample(const Eigen::MatrixBase<Derived>& logits, const SamplingConfig& cfg, Rng& rng) {
  const std::vector<double> p = sampling_distribution(logits, cfg);
  const double u = rng.uniform();
  double cdf = 0.0;
  TokenId last = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] <= 0.0) continue;
    last = static_cast<TokenId>(k);
    cdf += p[k];
    if (u < cdf) return last;
  }
  return last;  // rounding left u just above the total
}

}  // namespace lstmidi
