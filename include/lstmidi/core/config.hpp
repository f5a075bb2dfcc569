// SPDX-License-Identifier: MIT
/// Common types, matrix aliases and error helpers used by every header.
///
/// Conventions (see docs/math.md#notation):
///   - column-major, features x batch: a batch of B vectors is a (D, B) matrix;
///   - a window of T steps is one (D, T*B) matrix, step t at columns [t*B, (t+1)*B);
///   - letters: B batch, T time, D input width, H hidden, V vocabulary, L layers.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lstmidi {

using Index = Eigen::Index;

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using VectorMap = Eigen::Map<Vector<T>>;

/// Token ids, time-major: id of step t, sequence b at [t*B + b].
using TokenId = std::int32_t;

/// Thrown when a file (model, vocabulary, MIDI) cannot be read or written.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown when a file's content is malformed, corrupted or of the wrong kind.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

/// Boundary check: throws std::invalid_argument with a message built from the arguments.
template <typename... Args>
inline void require(bool ok, Args&&... message) {
  if (!ok) throw std::invalid_argument(detail::concat(std::forward<Args>(message)...));
}

/// Throws std::invalid_argument unless m is (rows, cols); `what` names the argument.
template <typename Derived>
inline void require_shape(const Eigen::EigenBase<Derived>& m, Index rows, Index cols,
                          const char* what) {
  if (m.rows() != rows || m.cols() != cols)
    throw std::invalid_argument(detail::concat(what, ": expected shape (", rows, ", ", cols,
                                               "), got (", m.rows(), ", ", m.cols(), ")"));
}

}  // namespace lstmidi
