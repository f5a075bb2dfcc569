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
/// gate cache with the gate gradients, so one forward serves one backward.
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/init.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/nn/dropout.hpp"

namespace lstmidi {

/// How the LSTM weights are initialised.
enum class InitScheme {
  keras,    ///< Glorot-uniform W, orthogonal U, zero bias with forget-gate bias 1 (default)
  pytorch,  ///< every weight and bias U(-1/sqrt(H), 1/sqrt(H)), as torch.nn.LSTM
};

/// The number format of the weight snapshot that generation steps read (Lstm::pack_step_weights).
enum class GenerationWeights {
  float32,  ///< the weights as trained: steps equal the unpacked steps to float rounding
  float16,  ///< rounded to 16-bit floats (relative error <= 2^-11): half the bytes per step,
            ///< 2-4x faster steps where reading the weights is the bottleneck (4x for the
            ///< classic model when 16-bit weights fit the cache and float ones do not;
            ///< docs/performance.md); opt-in, since the logits then differ slightly
};

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
    // All input projections in one GEMM: A = W X + b.
    A_.noalias() = W_.in(p.values) * X;
    A_.colwise() += b_.in(p.values).col(0);
    recurrence(p);
  }

  /// Forward over a window of token ids (one-hot inputs, D = vocabulary size): W x_t is the
  /// column W[:, id], so the input projection is a gather. ids: T*B time-major.
  void forward_tokens(const ParamBuffer<T>& p, const std::vector<TokenId>& ids, Index B,
                      const Eigen::Ref<const Matrix<T>>& h0,
                      const Eigen::Ref<const Matrix<T>>& c0) {
    const Index n = static_cast<Index>(ids.size());
    require(B > 0 && n % B == 0 && n > 0, "Lstm::forward_tokens: ", n,
            " ids is not a positive multiple of the batch size ", B);
    for (TokenId id : ids)
      require(id >= 0 && id < D_, "Lstm::forward_tokens: token id ", id, " outside [0, ", D_, ")");
    prepare(n / B, B, h0, c0);
    ConstMatrixMap<T> W = W_.in(p.values);
    const auto bias = b_.in(p.values).col(0);
    for (Index j = 0; j < n; ++j) A_.col(j) = W.col(ids[static_cast<size_t>(j)]) + bias;
    recurrence(p);
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
    W_.in(p.grads).noalias() += A_ * X.transpose();
    if (dX) dX->noalias() = W_.in(p.values).transpose() * A_;
  }

  /// Backward for forward_tokens: dW[:, id] += da for each position (scatter-add).
  void backward_tokens(ParamBuffer<T>& p, const std::vector<TokenId>& ids,
                       const Eigen::Ref<const Matrix<T>>& dY) {
    require(static_cast<Index>(ids.size()) == T_ * B_, "Lstm::backward_tokens: ids size mismatch");
    sweep(p, dY);
    MatrixMap<T> dW = W_.in(p.grads);
    for (Index j = 0; j < T_ * B_; ++j) dW.col(ids[static_cast<size_t>(j)]) += A_.col(j);
  }

  const Matrix<T>& dh0() const { return dh_next_; }
  const Matrix<T>& dc0() const { return dc_next_; }

  // ----------------------------------------------------------------------------------------
  /// One step for inference with carried state: x (D, B); h, c (H, B) in/out.
  /// Generation runs at B = 1, where each step is a matrix-vector product bound by memory
  /// bandwidth; the hidden units are split across threads (each thread reads its rows of W and
  /// U and updates its units' c and h), which Eigen does not do for products with one column.
  /// After pack_step_weights(), the step reads the packed snapshot instead (see there).
  void step(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& x, Matrix<T>& h,
            Matrix<T>& c) {
    require_shape(x, D_, h.cols(), "Lstm::step x");
    require_shape(c, H_, h.cols(), "Lstm::step c");
    if (step_packed_) {
      // [x; h] as one (D+H, B) operand of the packed [W U].
      xh_.resize(D_ + H_, h.cols());
      xh_.topRows(D_) = x;
      xh_.bottomRows(H_) = h;
      step_units(h, c, padded_units(), detail::kPackMr, [&](Index k0, Index k1) {
        packed_step_gates(k0, k1, 0, D_ + H_, xh_);
        add_step_bias(k0, k1);
      });
      return;
    }
    ConstMatrixMap<T> W = W_.in(p.values);
    plain_step(p, h, c,
               [&](Index row, Index n, auto&& a) { a.noalias() = W.middleRows(row, n) * x; });
  }

  /// One step from token ids (one-hot input): W x is the column W[:, id].
  void step_tokens(const ParamBuffer<T>& p, const std::vector<TokenId>& ids, Matrix<T>& h,
                   Matrix<T>& c) {
    const Index B = static_cast<Index>(ids.size());
    require(h.rows() == H_ && c.rows() == H_ && h.cols() == B && c.cols() == B,
            "Lstm::step_tokens: state shape mismatch");
    for (TokenId id : ids)
      require(id >= 0 && id < D_, "Lstm::step_tokens: token id ", id, " outside [0, ", D_, ")");
    if (step_packed_) {
      step_units(h, c, padded_units(), detail::kPackMr, [&](Index k0, Index k1) {
        packed_step_gates(k0, k1, D_, H_, h);  // U h only: the U part of each panel
        add_step_bias(k0, k1);
        with_step_panels([&](const auto* panels) {
          // W[:, id] from the snapshot: 16 consecutive values per panel at depth id.
          const Index K = D_ + H_;
          for (Index g = 0; g < 4; ++g)
            for (Index r0 = g * padded_units() + k0; r0 < g * padded_units() + k1;
                 r0 += detail::kPackMr)
              for (Index j = 0; j < B; ++j) {
                const auto* w = panels + r0 * K + ids[static_cast<size_t>(j)] * detail::kPackMr;
                T* a = a_.data() + j * a_.rows() + r0;
                for (Index r = 0; r < detail::kPackMr; ++r) a[r] += detail::widen(w[r]);
              }
        });
      });
      return;
    }
    ConstMatrixMap<T> W = W_.in(p.values);
    plain_step(p, h, c, [&](Index row, Index n, auto&& a) {
      for (Index j = 0; j < B; ++j) a.col(j) = W.block(row, ids[static_cast<size_t>(j)], n, 1);
    });
  }

  /// Packs a snapshot of W, U and b from p for step() and step_tokens(), which then read it
  /// instead of p's weights until unpack_step_weights(). The rows of [W U] are laid out in the
  /// 16-row panels of core/packed_gemm.hpp, each gate's rows padded to a multiple of 16 units,
  /// so that each thread streams through its own contiguous panels with the register kernel:
  /// at batch 1, where a step is bound by how fast the weights are read, that was 1.3-1.9x
  /// faster than Eigen's matrix-vector products on row blocks of W and U for the classic model
  /// (docs/performance.md). Where the register kernel is not active (double, builds without
  /// AVX2 + FMA) a float32 snapshot does nothing and steps read p as before.
  ///
  /// GenerationWeights::float16 stores W and U rounded to 16-bit floats (the bias stays
  /// float); the products widen them back exactly and accumulate in float. It needs the
  /// register kernel and F16C (half_steps_supported()) and throws std::invalid_argument
  /// otherwise.
  void pack_step_weights(const ParamBuffer<T>& p,
                         GenerationWeights format = GenerationWeights::float32) {
    if (format == GenerationWeights::float16)
      require(half_steps_supported(),
              "16-bit generation weights need a float model in a build with AVX2, FMA and F16C "
              "(LSTMIDI_ARCH='-mavx2 -mfma -mf16c' or -march=native)");
    if constexpr (PackedMatrix<T>::kernel_active()) {
      const Index Hp = padded_units();
      ConstMatrixMap<T> W = W_.in(p.values), U = U_.in(p.values), b = b_.in(p.values);
      Matrix<T> WU = Matrix<T>::Zero(4 * Hp, D_ + H_);
      step_bias_.setZero(4 * Hp);
      for (Index g = 0; g < 4; ++g) {
        WU.block(g * Hp, 0, H_, D_) = W.middleRows(g * H_, H_);
        WU.block(g * Hp, D_, H_, H_) = U.middleRows(g * H_, H_);
        step_bias_.segment(g * Hp, H_) = b.col(0).segment(g * H_, H_);
      }
      step_weights_.pack(WU);
      step_half_.clear();
#ifdef LSTMIDI_PACKED_F16
      if (format == GenerationWeights::float16) {
        step_half_.resize(step_weights_.panels().size());
        detail::floats_to_halves(step_weights_.panels().data(), step_half_.data(),
                                 static_cast<Index>(step_half_.size()));
        step_weights_ = PackedMatrix<T>();  // the float panels are not read any more
      }
#endif
      step_packed_ = true;
      step_format_ = format;
    } else {
      (void)p;
    }
  }

  /// Drops the snapshot: steps read the weights of the ParamBuffer they are given again.
  void unpack_step_weights() {
    if (!step_packed_) return;
    step_packed_ = false;
    step_format_ = GenerationWeights::float32;
    step_weights_ = PackedMatrix<T>();
    step_half_ = {};
    step_bias_.resize(0);
  }

  /// Whether steps read a packed snapshot (pack_step_weights() with the register kernel active).
  bool step_weights_packed() const { return step_packed_; }
  /// The format of the snapshot steps read (float32 when not packed).
  GenerationWeights step_weights_format() const { return step_format_; }

  /// Whether this build can pack 16-bit generation weights: float, AVX2 + FMA + F16C.
  static constexpr bool half_steps_supported() {
#ifdef LSTMIDI_PACKED_F16
    return PackedMatrix<T>::kernel_active();
#else
    return false;
#endif
  }

  /// Floats kept between forward and backward (the BPTT cache), for the memory report.
  Index cache_size() const { return A_.size() + Hs_.size() + Cs_.size(); }

 private:
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

  // Activates the gates of a (4H, B) block in place, then c_out = f*c_in + i*g, h = o*tanh(c).
  template <typename A, typename Cin, typename Cout, typename Hout>
  void cell(A&& a, const Cin& c_in, Cout&& c_out, Hout&& h) const {
    const Index H = H_;
    // sigmoid(x) = 0.5 * tanh(0.5 x) + 0.5: one vectorised tanh instead of exp + divide.
    a.topRows(2 * H).array() = (a.topRows(2 * H).array() * T(0.5)).tanh() * T(0.5) + T(0.5);
    a.middleRows(2 * H, H).array() = a.middleRows(2 * H, H).array().tanh();
    a.bottomRows(H).array() = (a.bottomRows(H).array() * T(0.5)).tanh() * T(0.5) + T(0.5);
    c_out.array() = a.middleRows(H, H).array() * c_in.array() +
                    a.topRows(H).array() * a.middleRows(2 * H, H).array();
    h.array() = a.bottomRows(H).array() * c_out.array().tanh();
  }

  // A step reading p's weights: a = (W x) + U h + b for the gate rows of each thread's units;
  // input(row, n, a) writes the W x part of n gate rows starting at `row`.
  template <typename Input>
  void plain_step(const ParamBuffer<T>& p, Matrix<T>& h, Matrix<T>& c, Input&& input) {
    ConstMatrixMap<T> U = U_.in(p.values), bias = b_.in(p.values);
    step_units(h, c, H_, 1, [&](Index k0, Index k1) {
      for (Index g = 0; g < 4; ++g) {
        auto a = a_.middleRows(g * H_ + k0, k1 - k0);
        input(g * H_ + k0, k1 - k0, a);
        a.noalias() += U.middleRows(g * H_ + k0, k1 - k0) * h;
        a.colwise() += bias.col(0).segment(g * H_ + k0, k1 - k0);
      }
    });
  }

  // Units per gate in the packed step layout: H rounded up to whole 16-row panels.
  Index padded_units() const {
    return (H_ + detail::kPackMr - 1) / detail::kPackMr * detail::kPackMr;
  }

  // Calls f with the snapshot's panels: const T* (float32) or const detail::Half* (float16).
  template <typename F>
  void with_step_panels(F&& f) const {
    if (step_format_ == GenerationWeights::float16)
      f(static_cast<const detail::Half*>(step_half_.data()));
    else
      f(step_weights_.panels().data());
  }

  // a[g*Hp + u] = the packed [W U] rows of units [k0, k1) of every gate, depths [k, k+kc),
  // times X (kc, B). Rows are whole panels: k0 and k1 are multiples of 16.
  void packed_step_gates(Index k0, Index k1, Index k, Index kc, const Matrix<T>& X) {
    const Index Hp = padded_units(), K = D_ + H_, B = X.cols();
    with_step_panels([&](const auto* panels) {
      for (Index g = 0; g < 4; ++g)
        for (Index r0 = g * Hp + k0; r0 < g * Hp + k1; r0 += detail::kPackMr) {
          const auto* w = panels + r0 * K + k * detail::kPackMr;
          T* a = a_.data() + r0;
#ifdef LSTMIDI_PACKED_AVX2
          if constexpr (std::is_same_v<T, float> &&
                        (std::is_same_v<std::decay_t<decltype(*w)>, float> ||
                         half_steps_supported())) {
            for (Index j0 = 0; j0 < B; j0 += detail::kPackNr)
              detail::packed_tile_f32(std::min(detail::kPackNr, B - j0), kc, w,
                                      X.data() + j0 * X.rows(), X.rows(), a + j0 * a_.rows(),
                                      a_.rows(), detail::kPackMr, /*assign=*/true);
            continue;
          }
#endif
          // Snapshot packed by a translation unit built with other flags: same sums, slowly.
          detail::packed_panels_portable(w, detail::kPackMr, kc, X.data(), X.rows(), B, a,
                                         a_.rows(), /*accumulate=*/false);
        }
    });
  }

  void add_step_bias(Index k0, Index k1) {
    const Index Hp = padded_units();
    for (Index g = 0; g < 4; ++g)
      a_.middleRows(g * Hp + k0, k1 - k0).colwise() += step_bias_.segment(g * Hp + k0, k1 - k0);
  }

  // One step with carried state: fill(k0, k1) writes the pre-activations a = W x + U h + b of
  // units [k0, k1) of every gate into a_ (gate g of unit k at row g*S + k); then the cell
  // update of those units. Units are split across threads in multiples of `grain`; rows from
  // H to S (padding of the packed layout) are computed and ignored.
  template <typename Fill>
  void step_units(Matrix<T>& h, Matrix<T>& c, Index S, Index grain, Fill&& fill) {
    const Index H = H_, B = h.cols();
    a_.resize(4 * S, B);
    h_next_.resize(H, B);
    auto units = [&](Index k0, Index k1) {
      fill(k0, k1);
      k1 = std::min(k1, H);
      if (k0 >= k1) return;
      const Index n = k1 - k0;
      auto i = a_.middleRows(k0, n).array(), f = a_.middleRows(S + k0, n).array();
      auto g = a_.middleRows(2 * S + k0, n).array(), o = a_.middleRows(3 * S + k0, n).array();
      i = (i * T(0.5)).tanh() * T(0.5) + T(0.5);
      f = (f * T(0.5)).tanh() * T(0.5) + T(0.5);
      g = g.tanh();
      o = (o * T(0.5)).tanh() * T(0.5) + T(0.5);
      auto cs = c.middleRows(k0, n).array();
      cs = f * cs + i * g;
      h_next_.middleRows(k0, n).array() = o * cs.tanh();
    };
    const Index grains = S / grain;  // S is a multiple of grain
    [[maybe_unused]] const Index slices =
        std::max<Index>(1, std::min<Index>({Eigen::nbThreads(), H / kMinSliceUnits, grains}));
    auto slice = [&](Index s) {
      units(grains * s / slices * grain, grains * (s + 1) / slices * grain);
    };
#ifdef _OPENMP
    if (slices > 1) {
      const int threads = static_cast<int>(slices);
#pragma omp parallel for num_threads(threads) schedule(static, 1)
      for (Index s = 0; s < slices; ++s) slice(s);
    } else {
      slice(0);
    }
#else
    slice(0);
#endif
    h.swap(h_next_);
  }

  // Fewer units per thread: forking costs more than it saves.
  static constexpr Index kMinSliceUnits = 64;

  // The batch columns of a window never interact in the recurrence, so the time loops run on
  // independent column slices, one per thread (OpenMP, when enabled), with no synchronisation
  // inside the loop. Inside a parallel region Eigen's own GEMM runs single-threaded. The large
  // GEMMs before and after the loops use Eigen's threads instead.
  template <typename Body>
  void for_each_slice(Body&& body) const {
    [[maybe_unused]] const Index slices =
        std::max<Index>(1, std::min<Index>(Eigen::nbThreads(), B_ / kMinSliceColumns));
#ifdef _OPENMP
    if (slices > 1) {
      const int threads = static_cast<int>(slices);
#pragma omp parallel for num_threads(threads) schedule(static, 1)
      for (Index s = 0; s < slices; ++s) body(s * B_ / slices, (s + 1) * B_ / slices);
      return;
    }
#endif
    body(Index{0}, B_);
  }

  // The U of the last forward: M * U under weight drop, else U itself.
  Eigen::Ref<const Matrix<T>> recurrent_weights(const ParamBuffer<T>& p) const {
    if (dropped_) return U_dropped_;
    return U_.in(p.values);
  }

  // U (or U~ = M * U under weight drop) is packed once for the window's T steps
  // (core/packed_gemm.hpp).
  void recurrence(const ParamBuffer<T>& p) {
    dropped_ = drop_next_;
    drop_next_ = false;
    U_packed_.pack(recurrent_weights(p));
    for_each_slice([&](Index b0, Index b1) {
      const Index n = b1 - b0;
      for (Index t = 0; t < T_; ++t) {
        auto a = A_.middleCols(t * B_ + b0, n);
        U_packed_.multiply(Hs_.middleCols(t * B_ + b0, n), a, /*accumulate=*/true);
        cell(a, Cs_.middleCols(t * B_ + b0, n), Cs_.middleCols((t + 1) * B_ + b0, n),
             Hs_.middleCols((t + 1) * B_ + b0, n));
      }
    });
  }

  // Reverse sweep: turns the gate cache A_ into dA in place; accumulates dU and db.
  void sweep(ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& dY) {
    require_shape(dY, H_, T_ * B_, "Lstm::backward dY");
    const Index H = H_, B = B_;
    U_packed_.pack_transpose(recurrent_weights(p));
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
    if (dropped_) {
      dU_.noalias() = A_ * Hs_.leftCols(T_ * B).transpose();
      U_.in(p.grads).array() += dU_.array() * weight_drop_.mask().array();
    } else {
      U_.in(p.grads).noalias() += A_ * Hs_.leftCols(T_ * B).transpose();
    }
    b_.in(p.grads).col(0) += A_.rowwise().sum();
  }

  static constexpr Index kMinSliceColumns = 8;  // narrower slices make GEMMs inefficient

  Index D_, H_;
  ParamSlot W_, U_, b_;
  Index T_ = 0, B_ = 0;
  Matrix<T> A_;   // (4H, T*B) activated gates; gate gradients after backward
  Matrix<T> Hs_;  // (H, (T+1)*B) h_{-1}, h_0 .. h_{T-1}
  Matrix<T> Cs_;  // (H, (T+1)*B) c_{-1}, c_0 .. c_{T-1}
  Matrix<T> dh_, dc_, tmp_, dh_next_, dc_next_;  // (H, B) backward workspace
  Matrix<T> a_, h_next_, xh_;                    // (4H or 4Hp, B), (H, B), (D+H, B) step work
  PackedMatrix<T> step_weights_;                 // [W U] snapshot for steps, when packed
  std::vector<detail::Half> step_half_;          // the same panels as 16-bit floats (float16)
  GenerationWeights step_format_ = GenerationWeights::float32;
  Vector<T> step_bias_;                          // b in the same padded row layout
  bool step_packed_ = false;
  PackedMatrix<T> U_packed_;                     // U in forward, U^T in backward
  Dropout<T> weight_drop_;                       // rate 0 unless set: no weight drop
  bool drop_next_ = false, dropped_ = false;     // weight drop for the next / last forward
  Matrix<T> U_dropped_, dU_;                     // (4H, H) M * U and dA H_prev^T, weight drop only
};

}  // namespace lstmidi
