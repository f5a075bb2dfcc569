// SPDX-License-Identifier: MIT
/// Adam (Kingma & Ba 2015, Algorithm 1), with optional decoupled weight decay (AdamW,
/// Loshchilov & Hutter 2019). docs/math.md#adam. Works on the flat parameter vector.
///
///   m_t = b1 m_{t-1} + (1 - b1) g_t            v_t = b2 v_{t-1} + (1 - b2) g_t^2
///   mhat = m_t / (1 - b1^t)                    vhat = v_t / (1 - b2^t)
///   theta_t = theta_{t-1} - lr * ( mhat / (sqrt(vhat) + eps) + wd * theta_{t-1} )
///
/// The decay is multiplied by lr, as in PyTorch's AdamW and llm.c; Loshchilov & Hutter's
/// Algorithm 2 does not multiply it by lr, so their lambda is lr * wd here (docs/math.md#adam).
///
/// eps is added after the bias correction, as in the paper's Algorithm 1 and PyTorch (Keras's
/// `epsilon` is the paper's "epsilon hat" of the efficient form instead; see docs/math.md).
#pragma once

#include <cmath>
#include <cstdint>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/parallel.hpp"

namespace lstmidi {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled (AdamW); 0 = plain Adam

  void validate() const {
    require(lr > 0 && std::isfinite(lr), "Adam: learning rate must be positive, got ", lr);
    require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam: betas must be in [0, 1)");
    require(eps > 0, "Adam: eps must be positive");
    require(weight_decay >= 0, "Adam: weight decay must be >= 0");
  }
};

template <typename T>
class Adam {
 public:
  explicit Adam(Index num_params = 0, AdamConfig config = {}) : cfg_(config) {
    cfg_.validate();
    reset(num_params);
  }

  void reset(Index num_params) {
    m_ = Vector<T>::Zero(num_params);
    v_ = Vector<T>::Zero(num_params);
    t_ = 0;
  }

  /// One update of params from grads (same size as the state).
  void step(Vector<T>& params, const Vector<T>& grads) {
    require(params.size() == m_.size() && grads.size() == m_.size(), "Adam::step: ", params.size(),
            " parameters and ", grads.size(), " gradients for a state of ", m_.size());
    ++t_;
    const double c1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(t_));
    const T b1 = static_cast<T>(cfg_.beta1), b2 = static_cast<T>(cfg_.beta2);
    const T lr = static_cast<T>(cfg_.lr), eps = static_cast<T>(cfg_.eps);
    const T inv_c1 = static_cast<T>(1.0 / c1), inv_c2 = static_cast<T>(1.0 / c2);
    const T wd = static_cast<T>(cfg_.weight_decay);
    // The three updates run chunk by chunk (each chunk's m, v and parameters stay in cache
    // between them), the chunks split across Eigen::nbThreads() threads. Every element gets
    // the same operations whichever chunk and thread it falls in, so the result does not
    // depend on the thread count (and equals three passes over the whole vectors).
    auto update = [&](Index i0, Index n) {
      auto m = m_.segment(i0, n).array();
      auto v = v_.segment(i0, n).array();
      auto p = params.segment(i0, n).array();
      const auto g = grads.segment(i0, n).array();
      m = b1 * m + (T(1) - b1) * g;
      v = b2 * v + (T(1) - b2) * g.square();
      p -= lr * ((m * inv_c1) / ((v * inv_c2).sqrt() + eps) + wd * p);
    };
    const Index size = m_.size(), chunks = (size + kChunk - 1) / kChunk;
    parallel_for(chunks, chunks >= 4 ? Eigen::nbThreads() : 1,
                 [&](Index c) { update(c * kChunk, std::min(kChunk, size - c * kChunk)); });
  }

  const AdamConfig& config() const { return cfg_; }
  void set_config(const AdamConfig& c) {
    c.validate();
    cfg_ = c;
  }
  void set_lr(double lr) {
    AdamConfig c = cfg_;
    c.lr = lr;
    set_config(c);
  }

  const Vector<T>& m() const { return m_; }
  const Vector<T>& v() const { return v_; }
  std::int64_t steps() const { return t_; }

  /// Restores a saved state (m, v same size; t >= 0).
  void set_state(Vector<T> m, Vector<T> v, std::int64_t t) {
    require(m.size() == v.size() && t >= 0, "Adam::set_state: inconsistent state");
    m_ = std::move(m);
    v_ = std::move(v);
    t_ = t;
  }

 private:
  // Elements per chunk of step(): 16 KB of each of m, v, parameters and gradients; a multiple
  // of every vector width, so chunks start aligned as the whole vectors do.
  static constexpr Index kChunk = 4096;

  AdamConfig cfg_;
  Vector<T> m_, v_;  // (P) first and second moment estimates
  std::int64_t t_ = 0;
};

}  // namespace lstmidi
