// SPDX-License-Identifier: MIT
/// Embedding<T>: token id -> learned vector, the input layer of the model.
///
///   E: (E, V)                X[:, j] = E[:, id_j]          (X: (E, N), N = T*B ids)
///   dE[:, id_j] += dX[:, j]   (scatter-add; ids repeat, so gradients accumulate)
///
/// Same result as multiplying E by one-hot columns (E * onehot(id) = E[:, id]) without the
/// V-wide product; tests/core/test_embedding.cpp checks the equality.
#pragma once

#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/params.hpp"

namespace lstmidi {

template <typename T>
class Embedding {
 public:
  Embedding(ParamAllocator& alloc, Index vocab_size, Index embedding_size)
      : V_(vocab_size), E_(embedding_size) {
    require(vocab_size > 0 && embedding_size > 0,
            "Embedding: vocabulary and embedding sizes must be positive");
    table_ = alloc.take(E_, V_);
  }

  Index vocab_size() const { return V_; }
  Index embedding_size() const { return E_; }
  const ParamSlot& table() const { return table_; }

  /// U(-0.05, 0.05), the Keras default for embeddings.
  void init(ParamBuffer<T>& p, Rng& rng) const {
    MatrixMap<T> E = table_.in(p.values);
    init_uniform(E, 0.05, rng);
  }

  /// X: (E, N) receives the columns of the ids.
  void forward(const ParamBuffer<T>& p, const std::vector<TokenId>& ids, Matrix<T>& X) const {
    check_ids(ids);
    ConstMatrixMap<T> E = table_.in(p.values);
    X.resize(E_, static_cast<Index>(ids.size()));
    for (size_t j = 0; j < ids.size(); ++j) X.col(static_cast<Index>(j)) = E.col(ids[j]);
  }

  /// dX: (E, N). Adds dX's columns into the rows of dE they came from.
  void backward(ParamBuffer<T>& p, const std::vector<TokenId>& ids,
                const Eigen::Ref<const Matrix<T>>& dX) const {
    require_shape(dX, E_, static_cast<Index>(ids.size()), "Embedding::backward dX");
    MatrixMap<T> dE = table_.in(p.grads);
    for (size_t j = 0; j < ids.size(); ++j) dE.col(ids[j]) += dX.col(static_cast<Index>(j));
  }

 private:
  void check_ids(const std::vector<TokenId>& ids) const {
    for (TokenId id : ids)
      require(id >= 0 && id < V_, "Embedding: token id ", id, " outside the vocabulary [0, ", V_,
              ")");
  }

  Index V_, E_;
  ParamSlot table_;
};

}  // namespace lstmidi
