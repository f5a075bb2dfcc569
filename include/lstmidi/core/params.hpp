// SPDX-License-Identifier: MIT
/// ParamBuffer: one contiguous vector holding every parameter of a model, and a gradient
/// vector of the same layout (as llm.c does). Layers keep offsets into it and read their
/// tensors as Eigen::Map views, so the optimiser, clipping, zeroing, saving and gradient checks
/// all work on two flat vectors.
#pragma once

#include "lstmidi/core/config.hpp"

namespace lstmidi {

template <typename T>
struct ParamBuffer {
  Vector<T> values;  // (P) all parameters
  Vector<T> grads;   // (P) dL/d values, same layout

  explicit ParamBuffer(Index size = 0) { resize(size); }
  void resize(Index size) {
    values = Vector<T>::Zero(size);
    grads = Vector<T>::Zero(size);
  }
  Index size() const { return values.size(); }
  void zero_grad() { grads.setZero(); }
};

/// A tensor's place in a ParamBuffer: offset and shape. Views are made on demand.
struct ParamSlot {
  Index offset = 0;
  Index rows = 0;
  Index cols = 0;
  Index size() const { return rows * cols; }

  template <typename T>
  MatrixMap<T> in(Vector<T>& flat) const {
    return MatrixMap<T>(flat.data() + offset, rows, cols);
  }
  template <typename T>
  ConstMatrixMap<T> in(const Vector<T>& flat) const {
    return ConstMatrixMap<T>(flat.data() + offset, rows, cols);
  }
};

/// Hands out consecutive slots; layers call it once at construction.
class ParamAllocator {
 public:
  ParamSlot take(Index rows, Index cols) {
    ParamSlot s{next_, rows, cols};
    next_ += rows * cols;
    return s;
  }
  Index size() const { return next_; }

 private:
  Index next_ = 0;
};

}  // namespace lstmidi
