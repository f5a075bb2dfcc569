// SPDX-License-Identifier: MIT
/// LstmStepper<T>: the generation engine of one LSTM layer, one time step at a time with carried
/// state, over the parameters of an Lstm<T> (nn/lstm.hpp, where the math is). Each step is
///   a = W x + U h + b,   then the cell update lstm_cell() of nn/lstm.hpp,
/// so a step equals one column of Lstm::forward to float rounding (tests/core/test_lstm.cpp).
///
/// What makes it fast at batch 1, where a step is a matrix-vector product bound by how fast the
/// weights are read:
///   - the hidden units are split across threads, each reading its own rows of W and U and
///     updating its own units' c and h (Eigen does not thread products with one column);
///   - pack() lays a snapshot of [W U] out in the 16-row panels of core/packed_gemm.hpp, so
///     each thread streams through contiguous panels with the register kernel;
///   - GenerationWeights::float16 stores that snapshot as 16-bit floats: half the bytes per step.
/// Measured figures: docs/performance.md.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/packed_gemm.hpp"
#include "lstmidi/core/parallel.hpp"
#include "lstmidi/core/params.hpp"
#include "lstmidi/nn/lstm.hpp"

namespace lstmidi {

/// The number format of the weight snapshot that generation steps read (LstmStepper::pack).
enum class GenerationWeights {
  float32,  ///< the weights as trained: steps equal the unpacked steps to float rounding
  float16,  ///< rounded to 16-bit floats (relative error <= 2^-11): half the bytes per step;
            ///< opt-in, since the logits then differ slightly
};

template <typename T>
class LstmStepper {
 public:
  /// Steps over the parameters of `layer` (its sizes and slots; the values are read from the
  /// ParamBuffer given to each step, or from the snapshot after pack()).
  explicit LstmStepper(const Lstm<T>& layer)
      : D_(layer.input_size()),
        H_(layer.hidden_size()),
        W_(layer.W()),
        U_(layer.U()),
        b_(layer.b()) {}

  /// One step for inference with carried state: x (D, B); h, c (H, B) in/out.
  /// Generation runs at B = 1, where each step is a matrix-vector product bound by memory
  /// bandwidth; the hidden units are split across threads (each thread reads its rows of W and
  /// U and updates its units' c and h), which Eigen does not do for products with one column.
  /// After pack(), the step reads the packed snapshot instead (see there).
  void step(const ParamBuffer<T>& p, const Eigen::Ref<const Matrix<T>>& x, Matrix<T>& h,
            Matrix<T>& c) {
    require_shape(x, D_, h.cols(), "LstmStepper::step x");
    require_shape(c, H_, h.cols(), "LstmStepper::step c");
    if (packed_) {
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
            "LstmStepper::step_tokens: state shape mismatch");
    for (TokenId id : ids)
      require(id >= 0 && id < D_, "LstmStepper::step_tokens: token id ", id, " outside [0, ", D_,
              ")");
    if (packed_) {
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
  /// instead of p's weights until unpack(). The rows of [W U] are laid out in the 16-row panels
  /// of core/packed_gemm.hpp, each gate's rows padded to a multiple of 16 units, so that each
  /// thread streams through its own contiguous panels with the register kernel. Where the
  /// register kernel is not active (double, builds without AVX2 + FMA) a float32 snapshot does
  /// nothing and steps read p as before.
  ///
  /// GenerationWeights::float16 stores W and U rounded to 16-bit floats (the bias stays float);
  /// the products widen them back exactly and accumulate in float. It needs the register kernel
  /// and F16C (half_supported()) and throws std::invalid_argument otherwise, before changing
  /// anything.
  void pack(const ParamBuffer<T>& p, GenerationWeights format = GenerationWeights::float32) {
    if (format == GenerationWeights::float16)
      require(half_supported(),
              "16-bit generation weights need a float model in a build with AVX2, FMA and F16C "
              "(LSTMIDI_ARCH='-mavx2 -mfma -mf16c' or -march=native)");
    if constexpr (PackedMatrix<T>::kernel_active()) {
      const Index Hp = padded_units();
      ConstMatrixMap<T> W = W_.in(p.values), U = U_.in(p.values), b = b_.in(p.values);
      Matrix<T> WU = Matrix<T>::Zero(4 * Hp, D_ + H_);
      bias_.setZero(4 * Hp);
      for (Index g = 0; g < 4; ++g) {
        WU.block(g * Hp, 0, H_, D_) = W.middleRows(g * H_, H_);
        WU.block(g * Hp, D_, H_, H_) = U.middleRows(g * H_, H_);
        bias_.segment(g * Hp, H_) = b.col(0).segment(g * H_, H_);
      }
      weights_.pack(WU);
      half_.clear();
#ifdef LSTMIDI_PACKED_F16
      if (format == GenerationWeights::float16) {
        half_.resize(weights_.panels().size());
        detail::floats_to_halves(weights_.panels().data(), half_.data(),
                                 static_cast<Index>(half_.size()));
        weights_ = PackedMatrix<T>();  // the float panels are not read any more
      }
#endif
      packed_ = true;
      format_ = format;
    } else {
      (void)p;
    }
  }

  /// Drops the snapshot: steps read the weights of the ParamBuffer they are given again.
  void unpack() {
    if (!packed_) return;
    packed_ = false;
    format_ = GenerationWeights::float32;
    weights_ = PackedMatrix<T>();
    half_ = {};
    bias_.resize(0);
  }

  /// Whether steps read a packed snapshot (pack() with the register kernel active).
  bool packed() const {
    return packed_;
  }
  /// The format of the snapshot steps read (float32 when not packed).
  GenerationWeights format() const {
    return format_;
  }

  /// Whether this build can pack 16-bit generation weights: float, AVX2 + FMA + F16C.
  static constexpr bool half_supported() {
#ifdef LSTMIDI_PACKED_F16
    return PackedMatrix<T>::kernel_active();
#else
    return false;
#endif
  }

 private:
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
    if (format_ == GenerationWeights::float16)
      f(static_cast<const detail::Half*>(half_.data()));
    else
      f(weights_.panels().data());
  }

  // a[g*Hp + u] = the packed [W U] rows of units [k0, k1) of every gate, depths [k, k+kc),
  // times X (kc, B). Rows are whole panels: k0 and k1 are multiples of 16. AVX-512 builds
  // multiply two neighbouring panels per tile: at batch 1 the step is bound by reading the
  // weights, and two streams of panels at once read faster than one. Each element's sum is the
  // same FMAs in the same order with either kernel (no depth blocking here), so steps are
  // bit-identical between the builds.
  void packed_step_gates(Index k0, Index k1, Index k, Index kc, const Matrix<T>& X) {
    const Index Hp = padded_units(), K = D_ + H_, B = X.cols(), lda = a_.rows();
    with_step_panels([&](const auto* panels) {
      for (Index g = 0; g < 4; ++g)
        for (Index r0 = g * Hp + k0, end = g * Hp + k1; r0 < end;) {
          const auto* w = panels + r0 * K + k * detail::kPackMr;
          T* a = a_.data() + r0;
#ifdef LSTMIDI_PACKED_AVX2
          if constexpr (std::is_same_v<T, float> &&
                        (std::is_same_v<std::decay_t<decltype(*w)>, float> || half_supported())) {
#ifdef LSTMIDI_PACKED_512
            const Index count = std::min<Index>(2, (end - r0) / detail::kPackMr);
            for (Index j0 = 0; j0 < B; j0 += detail::kPackNr) {
              const Index nr = std::min(detail::kPackNr, B - j0);
              const T* x = X.data() + j0 * X.rows();
              detail::packed_tile_512(count, nr, kc, w, K * detail::kPackMr, x, X.rows(),
                                      a + j0 * lda, lda, count * detail::kPackMr, true);
            }
            r0 += count * detail::kPackMr;
#else
            for (Index j0 = 0; j0 < B; j0 += detail::kPackNr)
              detail::packed_tile_f32(std::min(detail::kPackNr, B - j0), kc, w,
                                      X.data() + j0 * X.rows(), X.rows(), a + j0 * lda, lda,
                                      detail::kPackMr, /*assign=*/true);
            r0 += detail::kPackMr;
#endif
            continue;
          }
#endif
          // Snapshot packed by a translation unit built with other flags: same sums, slowly.
          detail::packed_panels_portable(w, detail::kPackMr, kc, X.data(), X.rows(), B, a, lda,
                                         /*accumulate=*/false);
          r0 += detail::kPackMr;
        }
    });
  }

  void add_step_bias(Index k0, Index k1) {
    const Index Hp = padded_units();
    for (Index g = 0; g < 4; ++g)
      a_.middleRows(g * Hp + k0, k1 - k0).colwise() += bias_.segment(g * Hp + k0, k1 - k0);
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
      auto cs = c.middleRows(k0, n);
      lstm_cell<T>(a_.middleRows(k0, n), a_.middleRows(S + k0, n), a_.middleRows(2 * S + k0, n),
                   a_.middleRows(3 * S + k0, n), cs, cs, h_next_.middleRows(k0, n));
    };
    const Index grains = S / grain;  // S is a multiple of grain
    const Index slices =
        std::max<Index>(1, std::min<Index>({Eigen::nbThreads(), H / kMinSliceUnits, grains}));
    parallel_for(slices, static_cast<int>(slices), [&](Index s) {
      units(grains * s / slices * grain, grains * (s + 1) / slices * grain);
    });
    h.swap(h_next_);
  }

  // Fewer units per thread: forking costs more than it saves.
  static constexpr Index kMinSliceUnits = 64;

  Index D_, H_;
  ParamSlot W_, U_, b_;
  Matrix<T> a_, h_next_, xh_;               // (4H or 4Hp, B), (H, B), (D+H, B) step work
  PackedMatrix<T> weights_;                 // [W U] snapshot, when packed
  detail::PanelVector<detail::Half> half_;  // the same panels as 16-bit floats (float16)
  GenerationWeights format_ = GenerationWeights::float32;
  Vector<T> bias_;  // b in the same padded row layout
  bool packed_ = false;
};

}  // namespace lstmidi
