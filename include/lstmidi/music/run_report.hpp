// SPDX-License-Identifier: MIT
/// The report a training run ends with (its evaluation.txt): the best model scored on whole
/// validation pieces, the LSTM's state carried from the first step to the last, next to the
/// baselines that need no LSTM: n-gram models of the training tokens, or each key's training
/// frequency in piano-roll mode.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "lstmidi/model/model.hpp"
#include "lstmidi/music/metrics.hpp"
#include "lstmidi/music/roll_model.hpp"

namespace lstmidi::music {

/// Tokens mode. `seq_len` is the training windows' length (the epoch lines' validation loss is
/// over such windows, from a blank state, and the report says why the two figures differ);
/// `name` says how a setting is named to the reader ("epochs" -> "--epochs" for a program).
template <typename T>
std::string token_report(Model<T>& best, const std::vector<std::vector<TokenId>>& train_ids,
                         const std::vector<std::vector<TokenId>>& valid_ids, Index vocab_size,
                         int seq_len, const std::function<std::string(const std::string&)>& name) {
  std::ostringstream rep;
  rep.setf(std::ios::fixed);
  rep.precision(3);
  if (valid_ids.empty()) return rep.str();
  const auto m = score_sequences(best, valid_ids);
  const auto base = ngram_baselines(train_ids, valid_ids, vocab_size);
  rep << "validation, " << m.tokens << " tokens of " << valid_ids.size() << " whole pieces:\n"
      << baseline_table(m, base)
      << "(whole pieces, the LSTM's state carried from the first event to the last; the "
         "epoch lines' valid loss is over windows of "
      << seq_len << " events, each starting from a blank state, so the two differ)\n";
  if (!(m.nll < base.bigram.nll))
    rep << "note: the LSTM does no better than the bigram baseline (the previous event "
           "alone): it has not learned more than which event follows which; train longer ("
        << name("epochs") << "), on more data, or with another " << name("lr") << '\n';
  return rep.str();
}

/// Piano-roll mode: nats per frame of whole held-out pieces, and the share of frames predicted
/// exactly, against the unigram baseline of `key_probs` (each key's training frequency).
template <typename T>
std::string roll_report(Model<T>& best, const std::vector<std::vector<Frame>>& held_out,
                        const std::vector<double>& key_probs) {
  std::ostringstream rep;
  rep.setf(std::ios::fixed);
  rep.precision(3);
  if (held_out.empty()) return rep.str();
  const LossTotals m = score_frames(best, held_out);
  const LossTotals u = unigram_frame_nll(key_probs, held_out);
  rep << "validation, " << m.count << " frames of " << held_out.size()
      << " whole pieces (nats per frame):\n"
      << "  lstm     nll " << m.mean() << "  exact frames " << 100 * m.accuracy() << "%\n"
      << "  unigram  nll " << u.mean() << "  (each key from its training frequency)\n";
  return rep.str();
}

}  // namespace lstmidi::music
