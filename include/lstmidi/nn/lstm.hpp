// SPDX-License-Identifier: MIT
/// Lstm<T>: one LSTM layer over a whole window, with full backpropagation through time.
/// Derivation: docs/math.md#lstm-forward and docs/math.md#bptt. Hochreiter & Schmidhuber 1997,
/// forget gate from Gers et al. 2000; the exact form and gate order of PyTorch's nn.LSTM.
///
/// Parameters (one ParamBuffer, gate row blocks in the order [i; f; g; o]):
///   W: (4H, D)  input weights        U: (4H, H)  recurrent weights        b: (4H, 1) bias
///
/// Forward, for t = 0..T-1 (x_t: (D, B); h_t, c_t: (H, B); h_{-1} = h0, c_{-1} = c0):
///   a_t = W x_t + U h_{t-1} + b                     (4H, B) pre-activations
///   i_t = sigmoid(a_t[0:H])     f_t = sigmoid(a_t[H:2H])
///   g_t = tanh(a_t[2H:3H])      o_t = sigmoid(a_t[3H:4H])
///   c_t = f_t * c_{t-1} + i_t * g_t
///   h_t = o_t * tanh(c_t)
///
/// Formulated for speed (the cuDNN way): W x_t for all T steps is one GEMM (W X, X: (D, T*B)),
/// or a column gather of W when the input is a token id (one-hot); each step then adds one
/// recurrent GEMM U h_{t-1} and does the element-wise gate math in one pass over its (4H, B)
/// block. U is packed once per window for those T products (U^T once per backward sweep,
/// core/packed_gemm.hpp). The weight gradients are accumulated by large GEMMs after the sweep.
///
/// Weight drop (optional, training only): DropConnect on the recurrent weights (Wan et al. 2013),
/// as in Merity et al. 2018's weight-dropped LSTM. drop_recurrent_weights() draws one mask
/// M (4H, H) of 0 and 1/(1-p) for the next window; that forward and its backward use
///   U~ = M * U:   a_t = W x_t + U~ h_{t-1} + b,   dh_next = U~^T da_t,   dU += M * (dA H_prev^T)
/// The same connections are dropped at every step and for every sequence of the window.
///
/// Cache kept for backward (the minimum, see docs/performance.md#memory): the activated gates
/// (4H, T*B), all cell states c_{-1..T-1} (H, (T+1)*B) and hidden states h_{-1..T-1}
/// (H, (T+1)*B). tanh(c_t) is recomputed in backward instead of stored. Backward overwrites the
/// gate cache with the gate gradients, so one forward serves one backward (a second backward
/// is refused).
///
/// Generation, one step at a time with carried state and a packed (optionally 16-bit) weight
/// snapshot, is a separate engine over the same parameters: LstmStepper in nn/lstm_step.hpp.
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/gemm.hpp"
#include "lstmidi/core/gemm_nt.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/parallel.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/nn/dropout.hpp"

namespace lstmidi {

/// How the LSTM weights are initialised.
enum class InitScheme {
  keras,    ///< Glorot-uniform W, orthogonal U, zero bias with forget-gate bias 1 (default)
  pytorch,  ///< every weight and bias U(-1/sqrt(H), 1/sqrt(H)), as torch.nn.LSTM
};

/// The cell update, written once for the window forward below and for the generation steps
/// (nn/lstm_step.hpp). i, f, g, o: the pre-activations of the four gates, (n, B) blocks,
/// activated in place; c_in, c_out (may be the same block), h: (n, B).
///   i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
///   c_out = f * c_in + i * g        h = o * tanh(c_out)
/// sigmoid(x) = 0.5 * tanh(0.5 x) + 0.5: one vectorised tanh instead of an exp and a divide.
template <typename T, typename I, typename F, typename G, typename O, typename Cin, typename Cout,
          typename Hout>
void lstm_cell(I&& i, F&& f, G&& g, O&& o, const Cin& c_in, Cout&& c_out, Hout&& h) {
  i.array() = (i.array() * T(0.5)).tanh() * T(0.5) + T(0.5);
  f.array() = (f.array() * T(0.5)).tanh() * T(0.5) + T(0.5);
  g.array() = g.array().tanh();
  o.array() = (o.array() * T(0.5)).tanh() * T(0.5) + T(0.5);
  c_out.array() = f.array() * c_in.array() + i.array() * g.array();
  h.array() = o.array() * c_out.array().tanh();
}

template <typename T>
class Lstm {
 public:
  Lstm(ParamAllocator& alloc, Index input_size, Index hidden_size)
      : D_(input_size), H_(hidden_size) {
    require(input_size > 0 && hidden_size > 0,
            "Lstm: input and hidden sizes must be positive, got D=", input_size,
            " H=", hidden_size);
    W_ = alloc.take(4 * H_, D_);
    U_ = alloc.take(4 * H_, H_);
    b_ = alloc.take(4 * H_, 1);
  }

  Index input_size() const { return D_; }
  Index hidden_size() const { return H_; }
  const ParamSlot& W() const { return W_; }
  const ParamSlot& U() const { return U_; }
  const ParamSlot& b() const { return b_; }

  /// The weight-drop rate p and mask (set_rate(p); freeze_mask for gradient checks).
  Dropout<T>& weight_drop() { return weight_drop_; }
  const Dropout<T>& weight_drop() const { return weight_drop_; }

  /// Draws the weight-drop mask for the next forward and its backward, when training with a
  /// rate > 0; otherwise the next forward uses U itself. Applies to one forward only.
  void drop_recurrent_weights(const ParamBuffer<T>& p, Rng& rng, bool training) {
    drop_next_ = training && weight_drop_.rate() > 0;
    if (drop_next_) weight_drop_.forward(U_.in(p.values), U_dropped_, rng, true);
  }

  void init(ParamBuffer<T>& p, Rng& rng, InitScheme scheme = InitScheme::keras) const {
    MatrixMap<T> W = W_.in(p.values), U = U_.in(p.values), b = b_.in(p.values);
    if (scheme == InitScheme::pytorch) {
      const double k = 1.0 / std::sqrt(static_cast<double>(H_));
      init_uniform(W, k, rng);
      init_uniform(U, k, rng);
      init_uniform(b, k, rng);
      return;
    }
    init_glorot_uniform(W, rng);
    init_orthogonal(U, rng);
    b.setZero();
    b.middleRows(H_, H_).setOnes();  // forget-gate bias 1 (Jozefowicz et al. 2015)
  }

  // ----------------------------------------------------------------------------------------
  /// Forward over a window of dense inputs. X: (D, T*B), h0, c0: (H, B).
  /// Results: output() (H, T*B), final_h(), final_c() (H, B).
  void forward(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& X, Index B,
               const Eigen::Ref<const Matrix<T>>& h0, const Eigen::Ref<const Matrix<T>>& c0) {
    require(B > 0 && X.cols() % B == 0 && X.cols() > 0, "Lstm::forward: X has ", X.cols(),
            " columns, not a positive multiple of the batch size ", B);
    require_shape(X, D_, X.cols(), "Lstm::forward X");
    prepare(X.cols() / B, B, h0, c0);
    // All input projections in one GEMM: A = W X; the bias is added step by step, a = W x + b
    // just before U h_{t-1} joins it.
    gemm_packed(A_, W_.in(p.values), X);
    const auto bias = b_.in(p.values).col(0);
    recurrence(p, [&](Index j0, Index n) { A_.middleCols(j0, n).colwise() += bias; });
  }

  /// Forward over a window of token ids (one-hot inputs, D = vocabulary size): W x_t is the
  /// column W[:, id], so the input projection is a gather. ids: T*B time-major.
  void forward_tokens(const ParamBuffer<T>& p, const std::vector<TokenId>& ids, Index B,
                      const Eigen::Ref<const Matrix<T>>& h0,
                      const Eigen::Ref<const Matrix<T>>& c0) {
    const Index n = static_cast<Index>(ids.size());
    require(B > 0 && n % B == 0 && n > 0, "Lstm::forward_tokens: ", n,
            " ids is not a positive multiple of the batch size ", B);
    require_token_ids(ids, "Lstm::forward_tokens");
    prepare(n / B, B, h0, c0);
    ConstMatrixMap<T> W = W_.in(p.values);
    const auto bias = b_.in(p.values).col(0);
    recurrence(p, [&](Index j0, Index cols) {
      for (Index j = j0; j < j0 + cols; ++j) A_.col(j) = W.col(ids[static_cast<size_t>(j)]) + bias;
    });
  }

  /// h_0..h_{T-1}: (H, T*B), time-major.
  auto output() const { return Hs_.middleCols(B_, T_ * B_); }
  auto final_h() const { return Hs_.rightCols(B_); }
  auto final_c() const { return Cs_.rightCols(B_); }
  /// The gate cache (4H, T*B), step t in columns [t*B, (t+1)*B): after forward the activated
  /// gates [i; f; g; o], after backward the gate gradients [da_i; da_f; da_g; da_o] (the sweep
  /// overwrites the cache in place). Read by the tests that check every intermediate value.
  const Matrix<T>& gates() const { return A_; }
  /// c_{-1}, c_0 .. c_{T-1}: (H, (T+1)*B), time-major; c_{-1} is the initial state.
  const Matrix<T>& cell_states() const { return Cs_; }

  // ----------------------------------------------------------------------------------------
  /// Backward (BPTT over the window). dY = dL/dh_t for every step: (H, T*B). X is the input
  /// given to forward. Adds dL/dW, dL/dU, dL/db to p.grads; if dX is not null it receives
  /// dL/dX (D, T*B). dh0(), dc0() then hold dL/dh0, dL/dc0.
  ///
  ///   dh   = dY_t + dh_next                       dc = dc_next + dh * o * (1 - tanh^2(c_t))
  ///   da_o = dh * tanh(c_t) * o * (1 - o)         da_f = dc * c_{t-1} * f * (1 - f)
  ///   da_i = dc * g * i * (1 - i)                 da_g = dc * i * (1 - g^2)
  ///   dc_next = dc * f                            dh_next = U^T da_t
  /// after the sweep (dA = [da_0 .. da_{T-1}]: (4H, T*B), H_prev = [h_{-1} .. h_{T-2}]):
  ///   dW += dA X^T     dU += dA H_prev^T     db += dA 1     dX = W^T dA
  void backward(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& X,
                const Eigen::Ref<const Matrix<T>>& dY, Matrix<T>* dX) {
    require_shape(X, D_, T_ * B_, "Lstm::backward X");
    sweep(p, dY);
    weight_gradients(p, &X, nullptr);
    if (dX) gemm_packed(*dX, W_.in(p.values).transpose(), A_);
  }

  /// Backward for forward_tokens: dW[:, id] += da for each position (scatter-add).
  void backward_tokens(ParamBuffer<T>& p, const std::vector<TokenId>& ids,
                       const Eigen::Ref<const Matrix<T>>& dY) {
    require(static_cast<Index>(ids.size()) == T_ * B_, "Lstm::backward_tokens: ids size mismatch");
    require_token_ids(ids, "Lstm::backward_tokens");  // before the sweep uses up the cache
    sweep(p, dY);
    weight_gradients(p, nullptr, &ids);
  }

  const Matrix<T>& dh0() const { return dh_next_; }
  const Matrix<T>& dc0() const { return dc_next_; }

  /// Floats kept between forward and backward (the BPTT cache), for the memory report.
  Index cache_size() const { return A_.size() + Hs_.size() + Cs_.size(); }

 private:
  // Every id a column of W: a token of the vocabulary.
  void require_token_ids(const std::vector<TokenId>& ids, const char* what) const {
    for (TokenId id : ids)
      require(id >= 0 && id < D_, what, ": token id ", id, " outside [0, ", D_, ")");
  }

  void prepare(Index steps, Index B, const Eigen::Ref<const Matrix<T>>& h0,
               const Eigen::Ref<const Matrix<T>>& c0) {
    require_shape(h0, H_, B, "Lstm initial h0");
    require_shape(c0, H_, B, "Lstm initial c0");
    T_ = steps;
    B_ = B;
    A_.resize(4 * H_, steps * B);
    Hs_.resize(H_, (steps + 1) * B);
    Cs_.resize(H_, (steps + 1) * B);
    Hs_.leftCols(B) = h0;
    Cs_.leftCols(B) = c0;
  }

  // The batch columns of a window never interact in the recurrence, so the time loops run on
  // independent column slices, one per thread (OpenMP, when enabled), with no synchronisation
  // inside the loop. Inside a parallel region Eigen's own GEMM runs single-threaded. The large
  // GEMMs before and after the loops use Eigen's threads instead.
  template <typename Body>
  void for_each_slice(Body&& body) const {
    const Index slices =
        std::max<Index>(1, std::min<Index>(Eigen::nbThreads(), B_ / kMinSliceColumns));
    parallel_for(slices, static_cast<int>(slices),
                 [&](Index s) { body(s * B_ / slices, (s + 1) * B_ / slices); });
  }

  // The U of the last forward: M * U under weight drop, else U itself.
  Eigen::Ref<const Matrix<T>> recurrent_weights(const ParamBuffer<T>& p) const {
    if (dropped_) return U_dropped_;
    return U_.in(p.values);
  }

  // U (or U~ = M * U under weight drop) is packed once for the window's T steps
  // (core/packed_gemm.hpp). input(j0, n) completes the input part of the gate columns
  // [j0, j0 + n) of A_ (a slice's columns of one step) just before the step needs them.
  template <typename Input>
  void recurrence(const ParamBuffer<T>& p, Input&& input) {
    dropped_ = drop_next_;
    drop_next_ = false;
    cache_fresh_ = true;
    U_packed_.pack(recurrent_weights(p), Eigen::nbThreads());
    for_each_slice([&](Index b0, Index b1) {
      const Index n = b1 - b0;
      for (Index t = 0; t < T_; ++t) {
        auto a = A_.middleCols(t * B_ + b0, n);
        input(t * B_ + b0, n);
        U_packed_.multiply(Hs_.middleCols(t * B_ + b0, n), a, /*accumulate=*/true);
        lstm_cell<T>(a.topRows(H_), a.middleRows(H_, H_), a.middleRows(2 * H_, H_),
                     a.bottomRows(H_), Cs_.middleCols(t * B_ + b0, n),
                     Cs_.middleCols((t + 1) * B_ + b0, n), Hs_.middleCols((t + 1) * B_ + b0, n));
      }
    });
  }

  // Reverse sweep: turns the gate cache A_ into dA in place; accumulates dU and db.
  void sweep(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& dY) {
    require(cache_fresh_,
            "Lstm::backward: no forward since the last backward (backward turns the forward's "
            "cache into gate gradients, so each backward needs a forward of its own)");
    require_shape(dY, H_, T_ * B_, "Lstm::backward dY");
    cache_fresh_ = false;
    const Index H = H_, B = B_;
    U_packed_.pack_transpose(recurrent_weights(p), Eigen::nbThreads());
    dh_next_.setZero(H, B);
    dc_next_.setZero(H, B);
    dh_.resize(H, B);
    dc_.resize(H, B);
    tmp_.resize(H, B);
    for_each_slice([&](Index b0, Index b1) {
      const Index n = b1 - b0;
      auto dh = dh_.middleCols(b0, n).array();
      auto dc = dc_.middleCols(b0, n).array();
      auto tmp = tmp_.middleCols(b0, n).array();
      auto dc_next = dc_next_.middleCols(b0, n).array();
      for (Index t = T_ - 1; t >= 0; --t) {
        auto a = A_.middleCols(t * B + b0, n);  // activated gates i, f, g, o; becomes da_t
        auto i = a.topRows(H).array();
        auto f = a.middleRows(H, H).array();
        auto g = a.middleRows(2 * H, H).array();
        auto o = a.bottomRows(H).array();
        const auto c = Cs_.middleCols((t + 1) * B + b0, n).array();
        const auto c_prev = Cs_.middleCols(t * B + b0, n).array();

        dh = dY.middleCols(t * B + b0, n).array() + dh_next_.middleCols(b0, n).array();
        tmp = c.tanh();  // tanh(c_t)
        dc = dc_next + dh * o * (T(1) - tmp.square());
        o = dh * tmp * o * (T(1) - o);     // da_o
        dc_next = dc * f;                  // to t-1
        f = dc * c_prev * f * (T(1) - f);  // da_f
        tmp = dc * g * i * (T(1) - i);     // da_i
        g = dc * i * (T(1) - g.square());  // da_g
        i = tmp;
        U_packed_.multiply(a, dh_next_.middleCols(b0, n),
                           /*accumulate=*/false);  // U^T da_t, to t-1
      }
    });
  }

  // After the sweep, one pass over dA (core/gemm_nt.hpp) for
  //   dU += dA H_prev^T     db += dA 1     dW += dA X^T
  // X: a dense input, or (X null) the one-hot columns of ids, where dW += dA X^T is the
  // scatter dW[:, ids[j]] += dA[:, j]. Under weight drop dU = M * (dA H_prev^T), through dU_.
  void weight_gradients(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>* X,
                        const std::vector<TokenId>* ids) {
    const auto H_prev = Hs_.leftCols(T_ * B_);
    if (dropped_) dU_.setZero(4 * H_, H_);
    auto add = [&](auto&& dU) {
      if (X)
        gemm_nt_add_layer(A_, dU, H_prev, W_.in(p.grads), *X, b_.in(p.grads).col(0));
      else
        gemm_nt_add_token_layer(A_, dU, H_prev, W_.in(p.grads), *ids, b_.in(p.grads).col(0));
    };
    if (dropped_) {
      add(dU_);
      U_.in(p.grads).array() += dU_.array() * weight_drop_.mask().array();
    } else {
      add(U_.in(p.grads));
    }
  }

  static constexpr Index kMinSliceColumns = 8;  // narrower slices make GEMMs inefficient

  Index D_, H_;
  ParamSlot W_, U_, b_;
  Index T_ = 0, B_ = 0;
  Matrix<T> A_;               // (4H, T*B) activated gates; gate gradients after backward
  bool cache_fresh_ = false;  // A_ holds a forward's gates that no backward has consumed
  Matrix<T> Hs_;              // (H, (T+1)*B) h_{-1}, h_0 .. h_{T-1}
  Matrix<T> Cs_;              // (H, (T+1)*B) c_{-1}, c_0 .. c_{T-1}
  Matrix<T> dh_, dc_, tmp_, dh_next_, dc_next_;  // (H, B) backward workspace
  PackedMatrix<T> U_packed_;                     // U in forward, U^T in backward
  Dropout<T> weight_drop_;                       // rate 0 unless set: no weight drop
  bool drop_next_ = false, dropped_ = false;     // weight drop for the next / last forward
  Matrix<T> U_dropped_, dU_;                     // (4H, H) M * U and dA H_prev^T, weight drop only
};

}  // namespace lstmidi
