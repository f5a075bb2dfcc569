// SPDX-License-Identifier: MIT
/// How alike two sets of pieces are in the statistics of music/piece_features.hpp (the
/// evaluation of Yang & Lerch 2018, "On the evaluation of generative models in music").
/// docs/statistics.md explains what each feature measures.
///
/// Overlap of two samples a, b of one feature (one value per piece):
///   p, q  = Gaussian kernel density estimates of a and of b with one common bandwidth
///           h = max(h_a, h_b, h_min), h_x = Silverman's rule for sample x,
///           0.9 min(sd, IQR / 1.34) n^(-1/5)  (sd alone when IQR = 0; 0 for n = 1),
///           h_min = 1e-3 * (max - min of a and b pooled) (1e-3 max(1, |x|) when all values are
///           one x). Common, because two estimates of one distribution must not differ by their
///           smoothing alone: a feature that is 4.0 in nine pieces of ten on both sides (the
///           chorales' polyphony) gave spikes of widths 5x apart with a bandwidth per set, and an
///           overlap of 0.37. The floor handles constant features: the same constant on both
///           sides gives two equal densities (overlap 1), different constants two spikes
///           1000 h_min apart (overlap 0).
///   overlap = integral of min(p(x), q(x)) dx, trapezoid rule on >= 2000 evenly spaced points
///           from the pooled min - 4 h to the pooled max + 4 h, at most h / 4 apart; clamped to
///           [0, 1]
/// 1 = the two sets cannot be told apart by that feature, 0 = they never take the same values.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/note.hpp"
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/piece_features.hpp"

namespace lstmidi::music {

namespace detail {

/// The q-quantile of sorted values, linear between order statistics.
inline double quantile_sorted(const std::vector<double>& s, double q) {
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  return i + 1 < s.size() ? s[i] + frac * (s[i + 1] - s[i]) : s[i];
}

/// Silverman's rule of thumb 0.9 min(sd, IQR / 1.34) n^(-1/5); 0 for fewer than 2 values.
inline double silverman_bandwidth(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  if (n < 2) return 0;
  double mean = 0;
  for (double x : sorted) mean += x;
  mean /= static_cast<double>(n);
  double ss = 0;
  for (double x : sorted) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  const double iqr = quantile_sorted(sorted, 0.75) - quantile_sorted(sorted, 0.25);
  const double spread = iqr > 0 ? std::min(sd, iqr / 1.34) : sd;
  return 0.9 * spread * std::pow(static_cast<double>(n), -0.2);
}

/// Gaussian kernel density of sorted values with bandwidth h > 0.
struct Kde {
  std::vector<double> sorted;
  double h = 1;
  double operator()(double x) const {
    // Kernels further than 9 h away add less than exp(-40) each: left out.
    auto it = std::lower_bound(sorted.begin(), sorted.end(), x - 9 * h);
    const auto stop = std::upper_bound(it, sorted.end(), x + 9 * h);
    double s = 0;
    for (; it != stop; ++it) {
      const double z = (x - *it) / h;
      s += std::exp(-0.5 * z * z);
    }
    return s / (static_cast<double>(sorted.size()) * h * std::sqrt(2 * 3.14159265358979323846));
  }
};

}  // namespace detail

/// The overlapping area of the kernel density estimates of `a` and `b` (definition at the top
/// of this file): 1 for samples from one distribution, 0 for disjoint ones. Symmetric in a, b.
/// Throws std::invalid_argument for an empty sample or a non-finite value.
inline double overlap_area(const std::vector<double>& a, const std::vector<double>& b) {
  require(!a.empty() && !b.empty(), "overlap_area: both samples need at least one value (got ",
          a.size(), " and ", b.size(), ")");
  for (const auto* v : {&a, &b})
    for (double x : *v) require(std::isfinite(x), "overlap_area: a value is not finite: ", x);
  detail::Kde p{a, 0}, q{b, 0};
  std::sort(p.sorted.begin(), p.sorted.end());
  std::sort(q.sorted.begin(), q.sorted.end());
  const double lo = std::min(p.sorted.front(), q.sorted.front());
  const double hi = std::max(p.sorted.back(), q.sorted.back());
  const double floor_h = hi > lo ? 1e-3 * (hi - lo) : 1e-3 * std::max(1.0, std::abs(lo));
  const double h = std::max(
      {detail::silverman_bandwidth(p.sorted), detail::silverman_bandwidth(q.sorted), floor_h});
  p.h = q.h = h;
  const double x0 = lo - 4 * h, x1 = hi + 4 * h;
  // >= 2000 points, at most h / 4 apart; h >= 1e-3 (hi - lo) bounds the count to ~4000 + 32.
  const double wanted = std::ceil((x1 - x0) / (h / 4)) + 1;
  const auto points = static_cast<std::size_t>(std::clamp(wanted, 2000.0, 1e6));
  const double dx = (x1 - x0) / static_cast<double>(points - 1);
  double area = 0;
  for (std::size_t i = 0; i < points; ++i) {
    const double x = x0 + dx * static_cast<double>(i);
    const double m = std::min(p(x), q(x));
    area += (i == 0 || i + 1 == points) ? 0.5 * m : m;
  }
  return std::clamp(area * dx, 0.0, 1.0);
}

/// One feature compared between two sets of pieces.
struct FeatureComparison {
  std::string name;
  double generated_mean = 0;
  double reference_mean = 0;
  double overlap = 0;  // overlap_area of the per-piece values, 0..1
};

struct SetComparison {
  std::vector<FeatureComparison> features;  // in the order of kPieceFeatureNames
  double mean_overlap = 0;                  // mean of features[i].overlap
  std::size_t generated_pieces = 0;         // pieces used (those with usable notes)
  std::size_t reference_pieces = 0;
};

/// Per-piece features of both sets, then per feature the two means and the overlap of the two
/// distributions. Pieces without usable notes are left out; throws std::invalid_argument when a
/// set has none left.
inline SetComparison compare_sets(const std::vector<std::vector<Note>>& generated,
                                  const std::vector<std::vector<Note>>& reference,
                                  int steps_per_beat = 4) {
  auto features_of = [&](const std::vector<std::vector<Note>>& set, const char* which) {
    std::vector<std::vector<double>> columns(kNumPieceFeatures);
    for (const auto& piece : set) {
      if (!has_usable_notes(piece)) continue;
      const auto v = piece_features(piece, steps_per_beat).values();
      for (std::size_t k = 0; k < kNumPieceFeatures; ++k) columns[k].push_back(v[k]);
    }
    require(!columns[0].empty(), "compare_sets: the ", which, " set has no piece with notes (",
            set.size(), " pieces given)");
    return columns;
  };
  const auto gen = features_of(generated, "generated");
  const auto ref = features_of(reference, "reference");
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  SetComparison out;
  out.generated_pieces = gen[0].size();
  out.reference_pieces = ref[0].size();
  for (std::size_t k = 0; k < kNumPieceFeatures; ++k) {
    out.features.push_back(
        {kPieceFeatureNames[k], mean(gen[k]), mean(ref[k]), overlap_area(gen[k], ref[k])});
    out.mean_overlap += out.features.back().overlap / static_cast<double>(kNumPieceFeatures);
  }
  return out;
}

}  // namespace lstmidi::music
