// SPDX-License-Identifier: MIT
// Small helpers shared by the core tests.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

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

/// A fixture of named matrices, one per line: "name rows cols v0 v1 ..." (row-major); lines
/// starting with '#' are comments. Written by the scripts in tests/parity/.
inline std::map<std::string, Matrix<double>> read_fixture(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::map<std::string, Matrix<double>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    Index r = 0, c = 0;
    ls >> name >> r >> c;
    Matrix<double> m(r, c);
    for (Index i = 0; i < r; ++i)
      for (Index j = 0; j < c; ++j) ls >> m(i, j);  // row-major in the file
    REQUIRE_MESSAGE(!ls.fail(), "bad fixture line for " << name);
    out[name] = m;
  }
  return out;
}

/// A fixture of named scalars in LSTMIDI_TEST_DATA_DIR, one "name value" per line ('#'
/// starts a comment): the worked examples of docs/math.md.
inline std::map<std::string, double> read_scalar_fixture(const std::string& file) {
  std::ifstream in(std::string(LSTMIDI_TEST_DATA_DIR) + "/" + file);
  REQUIRE_MESSAGE(in.good(), "cannot open " << file);
  std::map<std::string, double> v;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    double x = 0;
    ls >> name >> x;
    REQUIRE_MESSAGE(!ls.fail(), "bad line: " << line);
    v[name] = x;
  }
  return v;
}

}  // namespace lstmidi::test
