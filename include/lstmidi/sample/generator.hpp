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

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "lstmidi/core/rng.hpp"
#include "lstmidi/model/generation_pack.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/sample/sampling.hpp"

namespace lstmidi {

/// A rule on the order of tokens, kept while generating (music::VoiceRule is one): `restart` is
/// called when a generation starts, `accept` with every primer token and every drawn one in
/// order, and `ban` appends the ids that may not be drawn next. A step where the rule and
/// `forbidden` together would leave no id ignores the rule.
struct TokenRule {
  std::function<void()> restart;
  std::function<void(TokenId)> accept;
  std::function<void(std::vector<TokenId>&)> ban;
  explicit operator bool() const { return restart && accept && ban; }
};

struct GenerateOptions {
  Index length = 200;  // tokens to produce after the primer
  SamplingConfig sampling;
  std::vector<TokenId> forbidden;  // ids never produced (e.g. padding, unknown)
  TokenId stop_token = -1;         // end early when this id is drawn (not included); -1 = never
  Index min_length = 0;            // stop_token is never drawn before this many tokens
  TokenRule rule;                  // none when empty
  /// Per id (vocabulary size values > 0, or empty for none): multiplies the logits before
  /// sampling, so id k is drawn as at temperature sampling.temperature / logit_scale[k] (e.g.
  /// one kind of word hotter than the rest).
  std::vector<double> logit_scale;
  /// After `length` tokens, go on until this id is drawn (not included), at most
  /// `finish_within` more tokens (e.g. to the end of a bar); -1 = stop at `length`.
  TokenId finish_at = -1;
  Index finish_within = 0;
  /// Weights the steps read: float16 is faster where the weights do not fit the cache, and
  /// gives slightly different logits (see GenerationWeights).
  GenerationWeights weights = GenerationWeights::float32;
  /// Called after every generated token with (tokens so far, length): a program shows progress
  /// with it, and stops the generation by throwing from it.
  std::function<void(Index, Index)> progress;

  static constexpr Index kMaxLength = 1000000;
  void validate() const {
    require(length >= 0 && length <= kMaxLength, "length must be in [0, ", kMaxLength, "], got ",
            length);
    require(finish_within >= 0 && finish_within <= kMaxLength, "finish_within must be in [0, ",
            kMaxLength, "], got ", finish_within);
    require(min_length >= 0 && min_length <= length, "min_length must be in [0, length = ", length,
            "], got ", min_length);
    sampling.validate();
    for (double x : logit_scale)
      require(x > 0 && std::isfinite(x), "logit_scale values must be > 0, got ", x);
  }
};

/// Sets the logits of the ids `rule` bans to -infinity, unless that would leave none finite.
template <typename T>
void apply_rule(const TokenRule& rule, Vector<T>& logits, std::vector<TokenId>& banned) {
  banned.clear();
  rule.ban(banned);
  if (banned.empty()) return;
  std::vector<char> off(static_cast<size_t>(logits.size()), 0);
  for (TokenId id : banned)
    if (id >= 0 && id < logits.size()) off[static_cast<size_t>(id)] = 1;
  bool any_left = false;
  for (Index k = 0; k < logits.size() && !any_left; ++k)
    any_left = !off[static_cast<size_t>(k)] && std::isfinite(static_cast<double>(logits[k]));
  if (!any_left) return;
  for (Index k = 0; k < logits.size(); ++k)
    if (off[static_cast<size_t>(k)]) logits[k] = -std::numeric_limits<T>::infinity();
}

/// Returns the generated ids (without the primer). The primer must not be empty.
template <typename T>
std::vector<TokenId> generate(Model<T>& model, const std::vector<TokenId>& primer,
                              const GenerateOptions& options, Rng& rng) {
  options.validate();
  require(!primer.empty(), "generate: the primer needs at least one token");
  const Index V = model.config().vocab_size;
  for (TokenId id : primer)
    require(id >= 0 && id < V, "generate: primer token id ", id, " outside the vocabulary [0, ", V,
            ")");
  for (TokenId id : options.forbidden)
    require(id >= 0 && id < V, "generate: forbidden id ", id, " outside the vocabulary");
  require(options.logit_scale.empty() || static_cast<Index>(options.logit_scale.size()) == V,
          "generate: logit_scale has ", options.logit_scale.size(), " values for ", V, " ids");
  const GenerationPack<T> packed(model, options.weights);  // read many times, packed once
  auto state = model.zero_state(1);
  std::vector<TokenId> one(1);
  Vector<T> logits(V);
  std::vector<TokenId> banned;
  if (options.rule) options.rule.restart();
  for (TokenId id : primer) {
    if (options.rule) options.rule.accept(id);
    one[0] = id;
    logits = model.step(one, state).col(0);
  }
  std::vector<TokenId> out;
  out.reserve(static_cast<size_t>(options.length));
  const Index most = options.length + (options.finish_at >= 0 ? options.finish_within : 0);
  for (Index k = 0; k < most; ++k) {
    for (TokenId f : options.forbidden) logits[f] = -std::numeric_limits<T>::infinity();
    if (options.stop_token >= 0 && k < options.min_length)
      logits[options.stop_token] = -std::numeric_limits<T>::infinity();
    if (options.rule) apply_rule(options.rule, logits, banned);
    for (size_t k = 0; k < options.logit_scale.size(); ++k)
      logits[static_cast<Index>(k)] *= static_cast<T>(options.logit_scale[k]);
    const TokenId next = sample(logits, options.sampling, rng);
    if (next == options.stop_token || (k >= options.length && next == options.finish_at)) break;
    out.push_back(next);
    if (options.rule) options.rule.accept(next);
    one[0] = next;
    logits = model.step(one, state).col(0);
    if (options.progress) options.progress(std::min(k + 1, options.length), options.length);
  }
  return out;
}

}  // namespace lstmidi
