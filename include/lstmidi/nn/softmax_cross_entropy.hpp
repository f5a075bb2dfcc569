// SPDX-License-Identifier: MIT
/// Fused softmax + cross-entropy loss over columns of logits (Bridle 1990; docs/math.md#softmax).
///
///   Z: (V, N) logits, y_j the target of column j (-1 = no target, column ignored)
///   log p_j = z_j - logsumexp(z_j),  logsumexp(z) = m + log sum exp(z - m),  m = max z
///   L       = -(1/n) sum_j log p_j[y_j]              (n = number of columns with a target)
///   dZ_j    = (softmax(z_j) - onehot(y_j)) / n       (0 for ignored columns)
///
/// Subtracting the column maximum keeps every exp() <= 1, so logits of any magnitude stay
/// finite. Sums of the loss are accumulated in double.
#pragma once

#include <cmath>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/parallel.hpp"

namespace lstmidi {

/// Totals over a batch; add several together to pool an evaluation.
struct LossTotals {
  double nll_sum = 0.0;  // sum of -log p[target] over counted positions
  Index count = 0;       // positions with a target
  Index correct = 0;     // positions whose argmax equals the target

  double mean() const { return count > 0 ? nll_sum / static_cast<double>(count) : 0.0; }
  double accuracy() const {
    return count > 0 ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  }
  LossTotals& operator+=(const LossTotals& o) {
    nll_sum += o.nll_sum;
    count += o.count;
    correct += o.correct;
    return *this;
  }
};

/// Computes the loss of logits Z against targets; when dZ is not null it receives
/// dL/dZ (V, N) for the mean loss L = totals.mean(). Targets outside [-1, V) throw.
/// dZ may be the logits matrix itself: each column is read before it is overwritten.
template <typename T>
LossTotals softmax_cross_entropy(const Eigen::Ref<const Matrix<T>>& Z,
                                 const std::vector<TokenId>& targets, Matrix<T>* dZ) {
  const Index V = Z.rows(), N = Z.cols();
  require(static_cast<Index>(targets.size()) == N, "softmax_cross_entropy: ", targets.size(),
          " targets for ", N, " columns of logits");
  LossTotals tot;
  for (TokenId y : targets) {
    require(y >= -1 && y < V, "softmax_cross_entropy: target ", y, " outside [0, ", V, ")");
    if (y >= 0) ++tot.count;
  }
  if (dZ) dZ->resize(V, N);
  const T scale = tot.count > 0 ? T(1) / static_cast<T>(tot.count) : T(0);
  // Columns are independent: ranges of them run on several threads, each column's loss kept
  // apart and summed afterwards in column order, so the totals do not depend on the split.
  std::vector<double> nll(static_cast<size_t>(N), 0.0);
  std::vector<char> hit(static_cast<size_t>(N), 0);
  parallel_ranges(N, std::max<Index>(1, (Index{1} << 15) / std::max<Index>(V, 1)),
                  [&](Index j0, Index j1) {
                    for (Index j = j0; j < j1; ++j) {
                      const TokenId y = targets[static_cast<size_t>(j)];
                      if (y < 0) {
                        if (dZ) dZ->col(j).setZero();
                        continue;
                      }
                      Index best = 0;
                      const T m = Z.col(j).maxCoeff(&best);
                      const T sum = (Z.col(j).array() - m).exp().sum();
                      const T lse = m + std::log(sum);
                      nll[static_cast<size_t>(j)] = static_cast<double>(lse - Z(y, j));
                      hit[static_cast<size_t>(j)] = best == y;
                      if (dZ) {
                        dZ->col(j).array() = (Z.col(j).array() - lse).exp() * scale;
                        (*dZ)(y, j) -= scale;
                      }
                    }
                  });
  for (Index j = 0; j < N; ++j) {
    if (targets[static_cast<size_t>(j)] < 0) continue;
    tot.nll_sum += nll[static_cast<size_t>(j)];
    tot.correct += hit[static_cast<size_t>(j)];
  }
  return tot;
}

/// log softmax of one column of logits, computed stably.
template <typename T>
Vector<T> log_softmax(const Eigen::Ref<const Vector<T>>& z) {
  const T m = z.maxCoeff();
  const T lse = m + std::log((z.array() - m).exp().sum());
  return (z.array() - lse).matrix();
}

}  // namespace lstmidi
