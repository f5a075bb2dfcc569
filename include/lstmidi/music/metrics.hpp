// SPDX-License-Identifier: MIT
/// Measures of whether a model learned the music, on the same next-token predictions:
///
///   model:    -log p(y_t | y_<t) with the LSTM run over each whole piece (state carried)
///   unigram:  p(y) = (count(y) + 1) / (n + V)                     (add-one smoothing)
///   bigram:   p(y | x) = (count(x y) + k p_uni(y) V) / (count(x) + k V),  k = 0.1
///             (additive smoothing towards the unigram, so unseen pairs keep probability)
/// reported as mean NLL (nats/token), perplexity exp(NLL) and accuracy (argmax == target).
///
///   pitch-class histogram: share of note onsets on each of the 12 pitch classes (C..B);
///   distance: total variation, 0.5 * sum |p_k - q_k|, 0 = same distribution, 1 = disjoint.
#pragma once

#include <array>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/model/model.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/nn/softmax_cross_entropy.hpp"

namespace lstmidi::music {

struct SequenceScore {
  double nll = 0;  // mean negative log-likelihood, nats per token
  double accuracy = 0;
  std::size_t tokens = 0;
  double perplexity() const { return std::exp(nll); }
};

/// Scores every next-token prediction of each id sequence (position 1..n-1 given the prefix),
/// running the model over whole pieces in chunks of `chunk` steps with the state carried.
template <typename T>
SequenceScore score_sequences(Model<T>& model, const std::vector<std::vector<TokenId>>& seqs,
                              Index chunk = 256) {
  LossTotals tot;
  for (const auto& s : seqs) {
    if (s.size() < 2) continue;
    auto state = model.zero_state(1);
    const Index n = static_cast<Index>(s.size()) - 1;
    for (Index start = 0; start < n; start += chunk) {
      const Index len = std::min(chunk, n - start);
      TokenBatch b(len, 1);
      for (Index t = 0; t < len; ++t) {
        b.input(t, 0) = s[static_cast<size_t>(start + t)];
        b.target(t, 0) = s[static_cast<size_t>(start + t + 1)];
      }
      tot += model.evaluate(b, state);
    }
  }
  return {tot.mean(), tot.accuracy(), static_cast<std::size_t>(tot.count)};
}

struct NgramBaselines {
  SequenceScore unigram, bigram;
};

/// The training statistics the n-gram baselines are fitted on: how often each id follows each
/// other (position 0 of a sequence predicts nothing). Unigram and context counts follow from
/// these, so a model can carry them (as text, ngram_counts_text) and a scorer rebuild the
/// baselines without the training data.
struct NgramCounts {
  Index V = 0;
  std::map<std::pair<TokenId, TokenId>, double> bigrams;
};

inline NgramCounts count_ngrams(const std::vector<std::vector<TokenId>>& train, Index V) {
  NgramCounts c;
  c.V = V;
  for (const auto& s : train)
    for (size_t i = 1; i < s.size(); ++i) c.bigrams[{s[i - 1], s[i]}] += 1;
  return c;
}

/// "lstmidi-bigrams 1 V" then one "x y count" line per pair.
inline std::string ngram_counts_text(const NgramCounts& c) {
  std::ostringstream os;
  os << "lstmidi-bigrams 1 " << c.V << '\n';
  for (const auto& [xy, n] : c.bigrams) os << xy.first << ' ' << xy.second << ' ' << n << '\n';
  return os.str();
}

/// Parses ngram_counts_text; throws FormatError naming `source` on anything else.
inline NgramCounts ngram_counts_from_text(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string magic;
  int version = 0;
  NgramCounts c;
  if (!(in >> magic >> version >> c.V) || magic != "lstmidi-bigrams" || version != 1 || c.V < 1 ||
      c.V > (1 << 20))
    throw FormatError(source + ": not a bigram table");
  TokenId x = 0, y = 0;
  double n = 0;
  while (in >> x >> y >> n) {
    if (x < 0 || y < 0 || x >= c.V || y >= c.V || !(n > 0) || !std::isfinite(n))
      throw FormatError(source + ": bad bigram entry");
    c.bigrams[{x, y}] = n;
  }
  if (!in.eof()) throw FormatError(source + ": bad bigram entry");
  return c;
}

/// Scores the unigram and bigram models fitted on `counts` on `valid`.
inline NgramBaselines score_ngrams(const NgramCounts& counts,
                                   const std::vector<std::vector<TokenId>>& valid) {
  const Index V = counts.V;
  const auto& bi = counts.bigrams;
  std::vector<double> uni(static_cast<size_t>(V), 0.0);
  std::vector<double> ctx(static_cast<size_t>(V), 0.0);
  double n = 0;
  for (const auto& [xy, c] : bi) {
    uni[static_cast<size_t>(xy.second)] += c;
    ctx[static_cast<size_t>(xy.first)] += c;
    n += c;
  }
  const double Vd = static_cast<double>(V), k = 0.1;
  std::vector<double> p_uni(static_cast<size_t>(V));
  for (Index y = 0; y < V; ++y)
    p_uni[static_cast<size_t>(y)] = (uni[static_cast<size_t>(y)] + 1) / (n + Vd);
  const TokenId uni_best =
      static_cast<TokenId>(std::max_element(p_uni.begin(), p_uni.end()) - p_uni.begin());
  // Most frequent successor of each context, for bigram accuracy.
  std::map<TokenId, std::pair<double, TokenId>> best_next;
  for (const auto& [xy, c] : bi) {
    auto& b = best_next[xy.first];
    if (c > b.first) b = {c, xy.second};
  }
  NgramBaselines out;
  double nll_u = 0, nll_b = 0, acc_u = 0, acc_b = 0, m = 0;
  for (const auto& s : valid)
    for (size_t i = 1; i < s.size(); ++i) {
      const TokenId x = s[i - 1], y = s[i];
      if (x < 0 || y < 0 || x >= V || y >= V) continue;
      nll_u -= std::log(p_uni[static_cast<size_t>(y)]);
      auto it = bi.find({x, y});
      const double cxy = it == bi.end() ? 0.0 : it->second;
      const double p =
          (cxy + k * p_uni[static_cast<size_t>(y)] * Vd) / (ctx[static_cast<size_t>(x)] + k * Vd);
      nll_b -= std::log(p);
      acc_u += y == uni_best;
      auto bn = best_next.find(x);
      acc_b += (bn != best_next.end() ? bn->second.second : uni_best) == y;
      m += 1;
    }
  if (m > 0) {
    out.unigram = {nll_u / m, acc_u / m, static_cast<std::size_t>(m)};
    out.bigram = {nll_b / m, acc_b / m, static_cast<std::size_t>(m)};
  }
  return out;
}

/// Fits unigram and bigram models on `train` and scores them on `valid` (vocabulary size V).
inline NgramBaselines ngram_baselines(const std::vector<std::vector<TokenId>>& train,
                                      const std::vector<std::vector<TokenId>>& valid, Index V) {
  return score_ngrams(count_ngrams(train, V), valid);
}

/// The table of evaluation.txt (and of lstmidi-eval): the LSTM's score of whole pieces next to
/// the unigram and bigram baselines, three decimals.
inline std::string baseline_table(const SequenceScore& lstm, const NgramBaselines& base) {
  std::ostringstream rep;
  rep.setf(std::ios::fixed);
  rep.precision(3);
  auto row = [&](const char* name, const SequenceScore& s) {
    rep << "  " << name << "nll " << s.nll << "  perplexity " << s.perplexity() << "  accuracy "
        << 100 * s.accuracy << "%\n";
  };
  row("lstm     ", lstm);
  row("bigram   ", base.bigram);
  row("unigram  ", base.unigram);
  return rep.str();
}

using PitchClassHistogram = std::array<double, 12>;

inline PitchClassHistogram pitch_class_histogram(const std::vector<Note>& notes) {
  PitchClassHistogram h{};
  for (const Note& n : notes) h[static_cast<size_t>(n.pitch % 12)] += 1;
  double total = 0;
  for (double x : h) total += x;
  if (total > 0)
    for (double& x : h) x /= total;
  return h;
}

inline double total_variation(const PitchClassHistogram& p, const PitchClassHistogram& q) {
  double d = 0;
  for (size_t k = 0; k < 12; ++k) d += std::abs(p[k] - q[k]);
  return 0.5 * d;
}

/// The total variation between the pitch classes of a generated piece's own notes (pitched notes
/// from `split` beats on, moved up by `key_shift` semitones into the model's key) and
/// `reference` (the training corpus's).
inline double generated_pitch_class_distance(const std::vector<Note>& notes, double split,
                                             int key_shift, const PitchClassHistogram& reference) {
  std::vector<Note> generated_only;
  for (const auto& n : notes)
    if (!n.drum && n.onset_beats >= split) generated_only.push_back(n);
  for (auto& n : generated_only) n.pitch += key_shift;
  return total_variation(pitch_class_histogram(generated_only), reference);
}

}  // namespace lstmidi::music
