// SPDX-License-Identifier: MIT
// lstmidi-chars: a character-level text model on the same library as the music programs.
//
//   lstmidi-chars train  --text data/text/devils_dictionary.txt --out runs/devil [--epochs 5 ...]
//   lstmidi-chars sample --model runs/devil [--length 600 --temperature 0.8 --primer "CAT, n."]
//
// train: bytes -> CharVocabulary -> CharWindowSampler (last 10% of the text held out) ->
// Model + Trainer (BPTT, Adam, clipping, best model by validation loss, exact resume).
// sample: load_char_model -> generate() from the primer -> bytes on stdout.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/sample/generator.hpp>
#include <lstmidi/text/char_corpus.hpp>
#include <lstmidi/text/char_model.hpp>
#include <lstmidi/train/progress.hpp>
#include <lstmidi/train/trainer.hpp>
#include <vector>

#include "cli_main.hpp"

namespace fs = std::filesystem;
using namespace lstmidi;

int main(int argc, char** argv) {
  CLI::App app{"Train a character-level LSTM on a text file, or sample from one", "lstmidi-chars"};
  cli::add_version(app);
  app.require_subcommand(1);

  // --- train ---
  CLI::App* train = app.add_subcommand("train", "Train a model on a text file");
  std::string text_file, out;
  int layers = 2, hidden = 256, embedding = 32, seq_len = 100, batch = 32, epochs = 20, threads = 0,
      patience = 0;
  double dropout = 0.1, lr = 2e-3, clip = 5.0, valid_fraction = 0.1, time_budget = 0;
  std::uint64_t seed = 1;
  bool resume = false, quiet = false;
  train->add_option("--text", text_file, "Training text (any bytes; the last part is held out)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--out", out, "Model directory to write")->required();
  train->add_option("--layers", layers, "Number of LSTM layers")
      ->check(cli::Range(1, 16))
      ->capture_default_str();
  train->add_option("--hidden", hidden, "Hidden units per LSTM layer")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  train->add_option("--embedding", embedding, "Character embedding size (0 = one-hot input)")
      ->check(cli::Range(0, 4096))
      ->capture_default_str();
  train->add_option("--dropout", dropout, "Dropout after each LSTM layer")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  train->add_option("--seq-len", seq_len, "Characters per training window (BPTT length)")
      ->check(cli::Range(2, 4096))
      ->capture_default_str();
  train->add_option("--batch", batch, "Windows per mini-batch")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  train->add_option("--epochs", epochs, "Passes over the training text")
      ->check(cli::Range(1, 100000))
      ->capture_default_str();
  train->add_option("--lr", lr, "Adam learning rate")
      ->check(cli::Range(1e-7, 1.0))
      ->capture_default_str();
  train->add_option("--clip", clip, "Global gradient-norm clipping threshold (0 = off)")
      ->check(cli::Range(0.0, 1e6))
      ->capture_default_str();
  train
      ->add_option("--valid-fraction", valid_fraction,
                   "Share of the text, at its end, held out for validation")
      ->check(cli::Range(0.0, 0.9))
      ->capture_default_str();
  train
      ->add_option("--patience", patience,
                   "Stop after this many epochs without validation improvement (0 = never)")
      ->check(cli::Range(0, 100000))
      ->capture_default_str();
  train->add_option("--seed", seed, "Seed for initialisation, shuffling and dropout")
      ->check(cli::Seed())
      ->capture_default_str();
  train
      ->add_option("--time-budget", time_budget,
                   "Stop after this many seconds of training (0 = no limit)")
      ->check(cli::Range(0.0, 1e9))
      ->capture_default_str();
  train->add_option("--threads", threads, "Worker threads (0 = all cores)")
      ->check(cli::Range(0, 256))
      ->capture_default_str();
  train->add_flag("--resume", resume, "Continue the interrupted run in --out (same settings)");
  train->add_flag("--quiet", quiet, "Only print the per-epoch summary lines");

  // --- sample ---
  CLI::App* sample_cmd = app.add_subcommand("sample", "Write text with a trained model to stdout");
  std::string model_dir, prime = "\n";
  int length = 500, top_k = 0, sample_threads = 1;
  double temperature = 1.0, top_p = 1.0;  // lstmidi-generate's default too
  std::uint64_t sample_seed = 1;
  sample_cmd->add_option("--model", model_dir, "Model directory written by lstmidi-chars train")
      ->required();
  sample_cmd->add_option("--length", length, "Characters to generate after the primer")
      ->check(cli::Range(1, 1000000))
      ->capture_default_str();
  sample_cmd
      ->add_option(
          "--temperature", temperature,
          "Randomness: <1 safer, 1 the model's own distribution; 0 = always the most likely")
      ->check(cli::Range(0.0, 100.0))
      ->capture_default_str();
  sample_cmd
      ->add_option("--top-k", top_k, "Sample only among the K most likely characters (0 = all)")
      ->check(cli::Range(0, 256))
      ->capture_default_str();
  sample_cmd
      ->add_option("--top-p", top_p,
                   "Sample only among the most likely characters whose probabilities sum to P")
      ->check(cli::Range(0.001, 1.0))
      ->capture_default_str();
  sample_cmd->add_option("--seed", sample_seed, "Random seed (same seed, same text)")
      ->check(cli::Seed())
      ->capture_default_str();
  // --primer as in lstmidi-generate (--prime, its older name, still works).
  sample_cmd->add_option("--primer,--prime", prime,
                         "Text the model continues (printed first); default a newline");
  sample_cmd->add_option("--threads", sample_threads, "Worker threads")
      ->check(cli::Range(1, 256))
      ->capture_default_str();

  return cli::run(app, argc, argv, [&]() -> int {
    if (*sample_cmd) {
      cli::set_threads(sample_threads);
      text::CharModel<float> cm = text::load_char_model<float>(model_dir);
      if (prime.empty()) throw std::invalid_argument("--primer: give at least one character");
      if (sample_cmd->count("--prime") == 0 && !cm.vocab.contains(prime[0]))
        prime = std::string(1, cm.vocab.byte(0));  // a text without newlines: its first character
      const std::vector<TokenId> primer = cm.vocab.encode(prime);
      GenerateOptions go;
      go.length = length;
      go.sampling.temperature = temperature;
      go.sampling.top_k = top_k;
      go.sampling.top_p = top_p;
      Rng rng(sample_seed);
      std::cout << prime << cm.vocab.decode(generate(*cm.model, primer, go, rng)) << '\n';
      return 0;
    }

    cli::set_threads(threads);
    if (!resume && fs::exists(fs::path(out) / "last.lstmidi"))
      throw std::invalid_argument(
          out +
          " already holds a training run: pass --resume to continue it, or choose another --out");
    if (resume && !fs::exists(fs::path(out) / "last.lstmidi"))
      throw std::invalid_argument(out + ": nothing to resume (no last.lstmidi)");

    // 1. Data: bytes -> vocabulary -> windows.
    const std::string corpus = text::read_text_file(text_file);
    const text::CharVocabulary vocab = text::CharVocabulary::build(corpus);
    text::CharWindowOptions wo;
    wo.steps = seq_len;
    wo.batch_size = batch;
    wo.valid_fraction = valid_fraction;
    wo.seed = seed;
    text::CharWindowSampler sampler(corpus, vocab, wo);
    std::cout << "data: " << corpus.size() << " characters, " << vocab.size() << " distinct; "
              << sampler.train_windows() << " training / " << sampler.valid_windows()
              << " validation windows of " << seq_len << ", " << sampler.batches_per_epoch()
              << " batches per epoch\n";

    // 2. Model.
    ModelConfig mc;
    mc.vocab_size = vocab.size();
    mc.embedding_size = embedding;
    mc.hidden_sizes.assign(static_cast<size_t>(layers), hidden);
    mc.dropout = dropout;
    Model<float> model(mc);
    Rng rng(seed);
    model.init(rng);
    std::cout << "model: " << layers << " x LSTM(" << hidden << "), embedding " << embedding
              << ", dropout " << dropout << ", " << model.num_params() << " parameters, "
              << Eigen::nbThreads() << " thread(s)\n";
    fs::create_directories(out);
    const fs::path vocab_path = fs::path(out) / text::kCharVocabFile;
    if (!resume) {
      vocab.save(vocab_path.string());
      write_file_atomic((fs::path(out) / "settings.ini").string(),
                        train->config_to_str(true, false));
    } else if (!(text::CharVocabulary::load(vocab_path.string()) == vocab)) {
      throw std::invalid_argument(
          out + ": the text changed since the run began (the vocabulary differs)");
    }

    // 3. Train.
    TrainOptions to;
    to.epochs = epochs;
    to.adam.lr = lr;
    to.clip = clip;
    to.patience = patience;
    to.time_budget_seconds = time_budget;
    to.out_dir = out;
    Trainer<float, text::CharWindowSampler> trainer(model, sampler, to, rng,
                                                    text::char_metadata(vocab));
    if (resume) {
      trainer.resume();
      std::cout << "resuming at epoch " << sampler.position().epoch + 1 << ", batch "
                << sampler.position().batch << '\n';
    }
    ProgressPrinter printer(std::cerr, std::cout, ::isatty(2) != 0, !quiet);
    const TrainResult res = trainer.run(&printer);

    // 4. Report: the saved model on the held-out text, against the unigram baseline.
    text::CharModel<float> best = text::load_char_model<float>(out);
    LossTotals v;
    TokenBatch b;
    for (std::size_t i = 0; i < sampler.valid_batches(); ++i) {
      sampler.valid_batch(i, b);
      auto state = best.model->zero_state(b.B);
      v += best.model->evaluate(b, state);
    }
    std::vector<double> freq(static_cast<size_t>(vocab.size()), 1.0);  // add-one counts
    const auto& ids = sampler.ids();
    for (std::size_t i = 0; i < sampler.valid_begin(); ++i) freq[static_cast<size_t>(ids[i])] += 1;
    double total = 0, unigram = 0;
    for (double f : freq) total += f;
    for (std::size_t i = sampler.valid_begin() + 1; i < ids.size(); ++i)
      unigram -= std::log(freq[static_cast<size_t>(ids[i])] / total);
    const double n_valid = static_cast<double>(ids.size() - sampler.valid_begin() - 1);
    std::cout.setf(std::ios::fixed);
    std::cout.precision(3);
    if (v.count > 0)
      std::cout << "validation (" << v.count << " characters): lstm " << v.mean() << " nats/char ("
                << v.mean() / std::log(2.0) << " bits, accuracy " << 100 * v.accuracy()
                << "%); unigram " << unigram / n_valid << " nats/char\n";
    std::cout << "best epoch " << res.best_epoch << " of " << res.history.size()
              << "; model: " << (fs::path(out) / text::kCharModelFile).string() << '\n';
    return 0;
  });
}
