// SPDX-License-Identifier: MIT
/// What a training run leaves for the generator and the evaluator besides the weights: the
/// primers file (openings of training pieces, one per line) and the metadata every model file
/// carries (the encoding, the corpus's pitch classes, its usual tempo, metre and key, the
/// training pieces' fingerprints and the n-gram baselines' counts).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lstmidi/core/rng.hpp"
#include "lstmidi/music/corpus.hpp"
#include "lstmidi/music/frames.hpp"
#include "lstmidi/music/metrics.hpp"
#include "lstmidi/music/model_metadata.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/music/windows.hpp"

namespace lstmidi::music {

/// How many primers a run saves at most, drawn from its training pieces.
inline constexpr std::size_t kSavedPrimers = 64;

/// The order in which a run of seed `seed` draws pieces for its primers.
inline std::vector<std::size_t> primer_order(std::size_t pieces, std::uint64_t seed) {
  std::vector<std::size_t> order(pieces);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng prng(seed, 77);
  prng.shuffle(order.begin(), order.end());
  return order;
}

/// Tokens mode: the openings (up to `length` events) of up to kSavedPrimers training pieces
/// drawn in primer_order, one line each, written through the vocabulary so a primer holds only
/// events the model knows. Validation pieces among the draws are skipped, not replaced.
inline std::string token_primers_text(const std::vector<std::vector<Token>>& pieces,
                                      const Vocabulary& vocab, const WindowSampler& sampler,
                                      std::uint64_t seed, std::size_t length) {
  const std::vector<std::size_t> order = primer_order(pieces.size(), seed);
  std::string primers;
  for (std::size_t k = 0; k < std::min(kSavedPrimers, order.size()); ++k) {
    if (sampler.is_validation_piece(order[k])) continue;
    const std::vector<TokenId> ids = vocab.encode(pieces[order[k]], /*add_bos_eos=*/false);
    std::string line;
    for (std::size_t i = 0, n = 0; i < ids.size() && n < length; ++i) {
      if (ids[i] < Vocabulary::kReserved) continue;  // <unk>: no event to write
      line += (n++ ? " " : "") + to_string(vocab.token(ids[i]));
    }
    primers += line + '\n';
  }
  return primers;
}

/// Piano-roll mode: the openings (up to `length` frames) of up to kSavedPrimers of the
/// training pieces, in primer_order, one text line each (frames_to_line).
inline std::string frame_primers_text(const std::vector<std::vector<Frame>>& train_pieces,
                                      const RollOptions& ro, std::uint64_t seed,
                                      std::size_t length) {
  const std::vector<std::size_t> order = primer_order(train_pieces.size(), seed);
  std::string primers;
  for (std::size_t k = 0; k < std::min(kSavedPrimers, order.size()); ++k) {
    const auto& piece = train_pieces[order[k]];
    const std::vector<Frame> opening(
        piece.begin(), piece.begin() + static_cast<long>(std::min(length, piece.size())));
    primers += frames_to_line(opening, ro) + '\n';
  }
  return primers;
}

/// Tokens mode: the metadata of a run over `corpus` (encoded by `encoder`, ids by `vocab`,
/// split by `sampler`): the encoding, the pitch-class histogram of its pitched notes (the
/// generator's key check), the training pieces' fingerprints (so lstmidi-eval can tell when it
/// scores them), the bigram counts of the baselines, and the usual opening tempo, time and key
/// signature (what the generator writes when a primer gives none).
inline std::map<std::string, std::string> token_run_metadata(const Corpus& corpus,
                                                             const Encoder& encoder,
                                                             const Vocabulary& vocab,
                                                             const WindowSampler& sampler,
                                                             bool same_key) {
  auto meta = music_metadata(encoder.options(), vocab);
  std::vector<Note> pitched;
  for (const auto& piece : corpus.pieces)
    for (const Note& n : encoder.decode(piece))
      if (!n.drum) pitched.push_back(n);
  std::string pcs;
  for (double x : pitch_class_histogram(pitched))
    pcs += (pcs.empty() ? "" : ",") + std::to_string(x);
  meta["pc_hist"] = pcs;
  meta["same_key"] = same_key ? "1" : "0";
  std::vector<std::vector<TokenId>> train_pieces;
  for (std::size_t i = 0; i < corpus.pieces.size(); ++i)
    if (!sampler.is_validation_piece(i)) train_pieces.push_back(vocab.encode(corpus.pieces[i]));
  store_training_pieces(meta, train_pieces);
  embed_file(meta, kBigramsFile, ngram_counts_text(count_ngrams(train_pieces, vocab.size())));
  if (auto t = most_common(corpus.opening_tempos)) meta["common_tempo"] = std::to_string(*t);
  if (auto ts = most_common(corpus.opening_time_signatures); ts && ts->first != kNoSignature)
    meta["common_time_signature"] = std::to_string(ts->first) + "/" + std::to_string(ts->second);
  if (auto k = most_common(corpus.opening_keys); k && k->first != kNoSignature)
    meta["common_key"] = std::to_string(k->first) + (k->second ? "m" : "");
  return meta;
}

}  // namespace lstmidi::music
