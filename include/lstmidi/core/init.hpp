// SPDX-License-Identifier: MIT
/// Weight initialisers, all drawn from lstmidi::Rng so a seed fixes every weight.
///
///   glorot_uniform (Glorot & Bengio 2010):  W ~ U(-a, a),  a = sqrt(6 / (fan_in + fan_out))
///   orthogonal     (Saxe et al. 2014):      Q from the QR decomposition of a Gaussian matrix,
///                                           columns sign-corrected by sign(diag(R))
///   uniform        (PyTorch's LSTM default): W ~ U(-1/sqrt(H), 1/sqrt(H))
#pragma once

#include <Eigen/QR>
#include <cmath>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"

namespace lstmidi {

/// Fills m with U(-limit, limit).
template <typename Derived>
void init_uniform(Eigen::MatrixBase<Derived>& m, double limit, Rng& rng) {
  for (Index j = 0; j < m.cols(); ++j)
    for (Index i = 0; i < m.rows(); ++i)
      m(i, j) = static_cast<typename Derived::Scalar>(rng.uniform(-limit, limit));
}

/// Glorot-uniform for a (fan_out, fan_in) weight matrix.
template <typename Derived>
void init_glorot_uniform(Eigen::MatrixBase<Derived>& m, Rng& rng) {
  const double limit = std::sqrt(6.0 / static_cast<double>(m.rows() + m.cols()));
  init_uniform(m, limit, rng);
}

/// Orthogonal init: for a tall (r >= c) matrix the columns are orthonormal, for a wide one the
/// rows. For the LSTM's recurrent matrix U (4H, H) this makes each column a unit vector and
/// the columns mutually orthogonal (the Keras "orthogonal" initialiser on its (H, 4H) kernel).
template <typename Derived>
void init_orthogonal(Eigen::MatrixBase<Derived>& m, Rng& rng) {
  using T = typename Derived::Scalar;
  const bool tall = m.rows() >= m.cols();
  const Index r = tall ? m.rows() : m.cols();
  const Index c = tall ? m.cols() : m.rows();
  Matrix<double> g(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Matrix<double>> qr(g);
  Matrix<double> q = qr.householderQ() * Matrix<double>::Identity(r, c);
  const Matrix<double> rr = qr.matrixQR().topRows(c).template triangularView<Eigen::Upper>();
  for (Index j = 0; j < c; ++j)
    if (rr(j, j) < 0) q.col(j) = -q.col(j);
  if (tall)
    m = q.cast<T>();
  else
    m = q.transpose().cast<T>();
}

}  // namespace lstmidi
