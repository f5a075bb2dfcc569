// SPDX-License-Identifier: MIT
/// generate(): new tokens from a trained model, one step of work per token.
///
///   feed the primer p_1..p_k through Model::step (the LSTM state carries everything seen);
///   then repeat n times:  z = logits of the last step;  y ~ sample(z, settings);  step(y)
///
/// The classic Keras tutorial instead re-runs the whole 100-event window for each new event;
/// carrying the state gives the same distribution for an LSTM whose state would not have been
/// reset, at 1/100 of the work (bench/bench_lstm.cpp measures both).
#pragma once

#include <functional>
#include <limits>
#include <vector>

#include "lstmidi/core/rng.hpp"
#include "lstmidi/model/generation_pack.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/sample/sampling.hpp"

namespace lstmidi {

struct GenerateOptions {
  Index length = 200;                 // tokens to produce after the primer
  SamplingConfig sampling;
  std::vector<TokenId> forbidden;     // ids never produced (e.g. padding, unknown)
  TokenId stop_token = -1;            // end early when this id is drawn (not included); -1 = never
  Index min_length = 0;               // stop_token is never drawn before this many tokens
  /// Weights the steps read: float16 is faster where the weights do not fit the cache, and
  /// gives slightly different logits (see GenerationWeights).
  GenerationWeights weights = GenerationWeights::float32;
  /// Called after every generated token with (tokens so far, length): a program shows progress
  /// with it, and stops the generation by throwing from it.
  std::function<void(Index, Index)> progress;

  static constexpr Index kMaxLength = 1000000;
  void validate() const {
    require(length >= 0 && length <= kMaxLength, "length must be in [0, ", kMaxLength, "], got ", length);
    require(min_length >= 0 && min_length <= length, "min_length must be in [0, length = ",
            length, "], got ", min_length);
    sampling.validate();
  }
};

/// Returns the generated ids (without the primer). The primer must not be empty.
template <typename T>
std::vector<TokenId> generate(Model<T>& model, const std::vector<TokenId>& primer,
                              const GenerateOptions& options, Rng& rng) {
  options.validate();
  require(!primer.empty(), "generate: the primer needs at least one token");
  const Index V = model.config().vocab_size;
  for (TokenId id : primer)
    require(id >= 0 && id < V, "generate: primer token id ", id, " outside the vocabulary [0, ", V, ")");
  for (TokenId id : options.forbidden)
    require(id >= 0 && id < V, "generate: forbidden id ", id, " outside the vocabulary");
  const GenerationPack<T> packed(model, options.weights);  // read many times, packed once
  auto state = model.zero_state(1);
  std::vector<TokenId> one(1);
  Vector<T> logits(V);
  for (TokenId id : primer) {
    one[0] = id;
    logits = model.step(one, state).col(0);
  }
  std::vector<TokenId> out;
  out.reserve(static_cast<size_t>(options.length));
  for (Index k = 0; k < options.length; ++k) {
    for (TokenId f : options.forbidden) logits[f] = -std::numeric_limits<T>::infinity();
    if (options.stop_token >= 0 && k < options.min_length)
      logits[options.stop_token] = -std::numeric_limits<T>::infinity();
    const TokenId next = sample(logits, options.sampling, rng);
    if (next == options.stop_token) break;
    out.push_back(next);
    one[0] = next;
    logits = model.step(one, state).col(0);
    if (options.progress) options.progress(k + 1, options.length);
  }
  return out;
}

}  // namespace lstmidi
