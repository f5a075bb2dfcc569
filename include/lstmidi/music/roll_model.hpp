// SPDX-License-Identifier: MIT
/// The piano-roll mode's side of a trained model: whole-piece scoring (nats per frame, the
/// figure of the benchmark tables), the unigram baseline it is compared with, and frame-by-frame
/// generation. This is the layer above the data (music/frames.hpp) and the model
/// (model/model.hpp) that joins them; the data headers below it do not include the model.
///
/// Next-frame prediction: each piece is preceded by an all-zero frame, so with frames
/// f_0 .. f_{n-1} the inputs are 0, f_0 .. f_{n-2} and the targets f_0 .. f_{n-1}: every frame
/// of the piece is predicted, the first one from the zero frame.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/data/frame_batch.hpp"
#include "lstmidi/model/generation_pack.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/music/frames.hpp"

namespace lstmidi::music {

/// The unigram baseline's key probabilities: p_k = (count_k + 1) / (n + 2), the add-one
/// smoothed share of the n training frames in which key k is on.
inline std::vector<double> unigram_key_probabilities(const std::vector<std::vector<Frame>>& train,
                                                     int keys) {
  std::vector<double> count(static_cast<size_t>(keys), 0.0);
  double n = 0;
  for (const auto& p : train)
    for (const Frame& f : p) {
      n += 1;
      for (std::uint8_t k : f) count[k] += 1;
    }
  for (double& c : count) c = (c + 1) / (n + 2);
  return count;
}

/// The frame NLL of the unigram baseline: every key independently on with probability p_k,
/// -log p(frame) = -sum_k [y_k log p_k + (1 - y_k) log(1 - p_k)], over every frame of `test`.
inline LossTotals unigram_frame_nll(const std::vector<double>& p_on,
                                    const std::vector<std::vector<Frame>>& test) {
  std::vector<double> log_on(p_on.size()), log_off(p_on.size());
  double all_off = 0;
  for (size_t k = 0; k < p_on.size(); ++k) {
    require(p_on[k] > 0 && p_on[k] < 1, "unigram_frame_nll: probability ", p_on[k], " of key ", k,
            " is not in (0, 1)");
    log_on[k] = std::log(p_on[k]);
    log_off[k] = std::log1p(-p_on[k]);
    all_off += log_off[k];
  }
  LossTotals tot;
  for (const auto& p : test)
    for (const Frame& f : p) {
      double lp = all_off;
      for (std::uint8_t k : f) {
        require(k < p_on.size(), "unigram_frame_nll: key ", int(k), " outside the model's keys");
        lp += log_on[k] - log_off[k];
      }
      tot.nll_sum -= lp;
      ++tot.count;
    }
  return tot;
}

inline LossTotals unigram_frame_nll(const std::vector<std::vector<Frame>>& train,
                                    const std::vector<std::vector<Frame>>& test, int keys) {
  return unigram_frame_nll(unigram_key_probabilities(train, keys), test);
}

/// Scores every frame of every piece with the model run over the whole piece from its start
/// (state carried, chunks of `chunk` steps), the first frame predicted from the zero frame.
template <typename T>
LossTotals score_frames(Model<T>& model, const std::vector<std::vector<Frame>>& pieces,
                        Index chunk = 256) {
  const Index K = model.config().vocab_size;
  LossTotals tot;
  for (const auto& piece : pieces) {
    auto state = model.zero_state(1);
    const auto n = static_cast<Index>(piece.size());
    for (Index start = 0; start < n; start += chunk) {
      const Index len = std::min(chunk, n - start);
      FrameBatch b(len, 1, K);
      for (Index t = 0; t < len; ++t) {
        const Index i = start + t;  // target frame index
        if (i > 0)
          for (std::uint8_t k : piece[static_cast<size_t>(i - 1)]) b.inputs(k, t) = 1;
        for (std::uint8_t k : piece[static_cast<size_t>(i)]) b.targets(k, t) = 1;
        b.mask[static_cast<size_t>(t)] = 1;
      }
      tot += model.evaluate(b, state);
    }
  }
  return tot;
}

/// Generates `length` frames after `primer`, one step of work per frame:
///
///   feed the zero frame, then the primer f_1..f_k through Model::step_frame (the state carries
///   everything seen); then repeat `length` times: z = the last step's 88 logits;
///   key k is on with probability sigmoid(z_k / temperature), each key drawn on its own
///   (temperature 0: on exactly when sigmoid(z_k) > 1/2); feed the new frame.
///
/// Returns the generated frames (without the primer). The primer may be empty: the first frame
/// is then drawn from the model's prediction after the zero frame. `weights` and `progress`
/// (called after every frame with (frames so far, length)) as in GenerateOptions.
template <typename T>
std::vector<Frame> generate_frames(Model<T>& model, const std::vector<Frame>& primer, Index length,
                                   double temperature, Rng& rng,
                                   GenerationWeights weights = GenerationWeights::float32,
                                   const std::function<void(Index, Index)>& progress = {}) {
  const Index K = model.config().vocab_size;
  require(model.config().mode == ModelMode::pianoroll,
          "generate_frames: the model does not predict frames (it is a token model)");
  require(length >= 0 && length <= 1000000, "generate_frames: length must be in [0, 1000000], got ",
          length);
  require(std::isfinite(temperature) && temperature >= 0,
          "generate_frames: temperature must be finite and >= 0, got ", temperature);
  for (const Frame& f : primer)
    for (std::uint8_t k : f)
      require(k < K, "generate_frames: primer key ", int(k), " outside 0..", K - 1);
  const GenerationPack<T> packed(model, weights);  // read many times, packed once
  auto state = model.zero_state(1);
  Matrix<T> x = Matrix<T>::Zero(K, 1);  // the zero frame first
  const Matrix<T>* z = &model.step_frame(x, state);
  auto feed = [&](const Frame& f) {
    x.setZero();
    for (std::uint8_t k : f) x(k, 0) = T(1);
    z = &model.step_frame(x, state);
  };
  for (const Frame& f : primer) feed(f);
  std::vector<Frame> out;
  out.reserve(static_cast<size_t>(length));
  for (Index i = 0; i < length; ++i) {
    Frame f;
    for (Index k = 0; k < K; ++k) {
      const double zk = static_cast<double>((*z)(k, 0));
      const bool on = temperature == 0 ? zk > 0 : rng.uniform() < stable_sigmoid(zk / temperature);
      if (on) f.push_back(static_cast<std::uint8_t>(k));
    }
    out.push_back(f);
    if (i + 1 < length) feed(out.back());
    if (progress) progress(i + 1, length);
  }
  return out;
}

}  // namespace lstmidi::music
