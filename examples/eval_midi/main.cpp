// SPDX-License-Identifier: MIT
// lstmidi-eval: score a trained model on a folder of MIDI files.
//
//   lstmidi-eval --model runs/jsb --data jsb_chorales/valid
//
// Every file is scored as a whole piece from its start, the LSTM state carried from step to
// step. Pianoroll models: the NLL of every frame given the frames before it (the first
// predicted from the all-zero frame), pooled over all frames of all files, in nats per frame:
// the number the polyphonic-music benchmarks publish (Boulanger-Lewandowski et al. 2012).
// Tokens models: the NLL per token of every next-token prediction (music::score_sequences).
// The last line printed is always "nll_per_step <nats>".
#include <filesystem>
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/music.hpp>
#include <lstmidi/music/pianoroll.hpp>

#include "cli_main.hpp"

using namespace lstmidi;

int main(int argc, char** argv) {
  CLI::App app{"Score a trained lstmidi model on a folder of MIDI files", "lstmidi-eval"};
  std::string model_dir, data;
  int threads = 1, chunk = 256;
  app.add_option("--model", model_dir, "Model directory written by lstmidi-train")->required();
  app.add_option("--data", data, "Folder of .mid/.midi files (searched recursively), or one file")
      ->required();
  app.add_option("--threads", threads, "Worker threads (0 = all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--chunk", chunk, "Steps per forward call (the state is carried across chunks)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();

  return cli::run(app, argc, argv, [&]() -> int {
    cli::set_threads(threads);
    music::MusicModel<float> mm = music::load_music_model<float>(model_dir);
    std::cout.setf(std::ios::fixed);
    std::cout.precision(4);
    double nll = 0;
    if (mm.mode == ModelMode::pianoroll) {
      const music::RollCorpus corpus = music::load_roll_corpus(data, mm.roll);
      for (const auto& w : corpus.warnings) std::cerr << "warning: " << w << '\n';
      const LossTotals m = music::score_frames(*mm.model, corpus.pieces, chunk);
      std::cout << "pianoroll model, " << mm.roll.frame_beats << " beat(s) per frame; "
                << corpus.pieces.size() << " files, " << m.count << " frames\n";
      if (!mm.key_probs.empty()) {
        const LossTotals u = music::unigram_frame_nll(mm.key_probs, corpus.pieces);
        std::cout << "unigram baseline (training key frequencies): nll per frame " << u.mean()
                  << '\n';
      }
      std::cout << "exact frames (every key right at p > 1/2): " << 100 * m.accuracy() << "%\n";
      nll = m.mean();
    } else {
      const music::Encoder encoder(mm.encoder);
      const bool same_key = mm.meta.count("same_key") && mm.meta.at("same_key") == "1";
      const music::Corpus corpus = music::load_corpus(data, encoder, {}, same_key);
      for (const auto& w : corpus.warnings) std::cerr << "warning: " << w << '\n';
      std::vector<std::vector<TokenId>> ids;
      for (const auto& piece : corpus.pieces) ids.push_back(mm.vocab.encode(piece));
      const music::SequenceScore s = music::score_sequences(*mm.model, ids, chunk);
      std::cout << "tokens model; " << corpus.pieces.size() << " files, " << s.tokens
                << " tokens; perplexity " << s.perplexity() << ", accuracy " << 100 * s.accuracy
                << "%\n";
      nll = s.nll;
    }
    std::cout.precision(6);
    std::cout << "nll_per_step " << nll << '\n';
    return 0;
  });
}
