// SPDX-License-Identifier: MIT
// Small helpers shared by the core tests.
#pragma once

#include <lstmidi/lstmidi.hpp>

namespace lstmidi::test {

template <typename T>
Matrix<T> random_matrix(Index rows, Index cols, Rng& rng, double scale = 1.0) {
  Matrix<T> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<T>(rng.uniform(-scale, scale));
  return m;
}

inline std::vector<TokenId> random_ids(Index n, Index V, Rng& rng) {
  std::vector<TokenId> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = static_cast<TokenId>(rng.below(static_cast<std::uint32_t>(V)));
  return ids;
}

}  // namespace lstmidi::test
