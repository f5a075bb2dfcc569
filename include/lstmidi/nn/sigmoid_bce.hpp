// SPDX-License-Identifier: MIT
/// Fused sigmoid + binary cross-entropy over columns of logits: the loss of a piano-roll frame,
/// every key an independent Bernoulli variable (Boulanger-Lewandowski et al. 2012's frame NLL).
///
///   Z: (K, N) logits, Y: (K, N) targets in {0, 1}, mask_j = 1 if column j is counted
///   p_kj        = sigmoid(z_kj) = 1 / (1 + exp(-z_kj))
///   -log p(y_j) = -sum_k [y log p + (1-y) log(1-p)] = sum_k [softplus(z_kj) - y_kj z_kj]
///   softplus(z) = log(1 + e^z) = max(z, 0) + log1p(exp(-|z|))
///   L           = (1/n) sum_{j counted} -log p(y_j)          (n = number of counted columns)
///   dZ_kj       = (sigmoid(z_kj) - y_kj) / n                 (0 for columns not counted)
///
/// softplus is written so that exp() only ever sees -|z| <= 0, and the sigmoid as
/// 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) for z < 0, so logits of any magnitude stay finite
/// (a wrong prediction with |z| = 1e4 costs 1e4 nats, not infinity). Loss sums in double.
/// LossTotals: nll_sum = summed frame NLLs, count = counted frames, correct = frames whose
/// thresholded prediction (z > 0, i.e. p > 1/2) equals the target on every key.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"

namespace lstmidi {

/// log(1 + e^z) without overflow.
template <typename T>
inline T softplus(T z) {
  return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)));
}

/// 1 / (1 + e^-z) without overflow.
template <typename T>
inline T stable_sigmoid(T z) {
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

/// Computes the frame loss of logits Z against 0/1 targets Y (same shape); mask has one entry
/// per column (nonzero = counted) or is empty (every column counted). When dZ is not null it
/// receives dL/dZ (K, N) for the mean loss L = totals.mean().
/// dZ may be the logits matrix itself: each column is read before it is overwritten.
template <typename T, typename TargetDerived>
LossTotals sigmoid_bce(const Eigen::Ref<const Matrix<T>>& Z,
                       const Eigen::MatrixBase<TargetDerived>& Y,
                       const std::vector<std::uint8_t>& mask, Matrix<T>* dZ) {
  const Index K = Z.rows(), N = Z.cols();
  require(Y.rows() == K && Y.cols() == N, "sigmoid_bce: targets are (", Y.rows(), ", ", Y.cols(),
          "), logits (", K, ", ", N, ")");
  require(mask.empty() || static_cast<Index>(mask.size()) == N, "sigmoid_bce: ", mask.size(),
          " mask entries for ", N, " columns");
  auto counted = [&](Index j) { return mask.empty() || mask[static_cast<size_t>(j)] != 0; };
  LossTotals tot;
  for (Index j = 0; j < N; ++j)
    if (counted(j)) ++tot.count;
  if (dZ) dZ->resize(K, N);
  const T scale = tot.count > 0 ? T(1) / static_cast<T>(tot.count) : T(0);
  for (Index j = 0; j < N; ++j) {
    if (!counted(j)) {
      if (dZ) dZ->col(j).setZero();
      continue;
    }
    double nll = 0;
    bool exact = true;
    for (Index k = 0; k < K; ++k) {
      const T z = Z(k, j);
      const T y = static_cast<T>(Y(k, j));
      require(y == T(0) || y == T(1), "sigmoid_bce: target ", y, " is not 0 or 1");
      nll += static_cast<double>(softplus(z) - y * z);
      if ((z > T(0)) != (y == T(1))) exact = false;
      if (dZ) (*dZ)(k, j) = (stable_sigmoid(z) - y) * scale;
    }
    tot.nll_sum += nll;
    if (exact) ++tot.correct;
  }
  return tot;
}

}  // namespace lstmidi
