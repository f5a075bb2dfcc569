// SPDX-License-Identifier: MIT
// lstmidi-train: learn a next-event model from a folder of MIDI files.
//
//   lstmidi-train --data data/jsb_chorales_16th --out runs/bach [--epochs 30 --hidden 256 ...]
//   lstmidi-train --mode pianoroll --frame-beats 1 --data jsb_chorales/train
//                 --valid-data jsb_chorales/valid --out runs/jsb
//
// Tokens mode reads and encodes the files, builds the vocabulary, trains an LSTM with BPTT and
// Adam, keeps the best model by validation loss, and reports how it compares with n-gram
// baselines. Pianoroll mode turns the files into 88-key frames (music/pianoroll.hpp) and
// learns every key of the next frame (sigmoid outputs); it reports the NLL per frame of whole
// validation pieces against the unigram (key frequency) baseline.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/music.hpp>
#include <lstmidi/music/pianoroll.hpp>
#include <lstmidi/train/interrupt.hpp>
#include <lstmidi/train/memory_estimate.hpp>
#include <lstmidi/train/progress.hpp>
#include <lstmidi/train/run_folder.hpp>
#include <lstmidi/train/settings_file.hpp>
#include <lstmidi/train/trainer.hpp>
#include <sstream>
#include <type_traits>
#include <vector>

#include "cli_main.hpp"
#ifdef LSTMIDI_WITH_MPI
#include <lstmidi/train/data_parallel.hpp>
#endif

namespace fs = std::filesystem;
using namespace lstmidi;

int main(int argc, char** argv) {
#ifdef LSTMIDI_WITH_MPI
  // lstmidi-train-mpi: one process of `mpirun -np N`, training its share of every batch.
  // Process 0 prints and writes the run's files; the others print only their errors.
  MpiSession mpi(argc, argv);
  MpiGroup group;
  const bool lead = group.rank() == 0;
  std::ostringstream held_output;
  std::streambuf* const stderr_buf = std::cerr.rdbuf();
  if (!lead) {
    std::cout.rdbuf(held_output.rdbuf());
    std::cerr.rdbuf(held_output.rdbuf());
  }
#else
  const bool lead = true;
#endif
  CLI::App app{"Train an LSTM on a folder of MIDI files", "lstmidi-train"};
  cli::add_version(app);
  std::string data, out, encoding = "events", loss = "all", mode = "tokens", valid_data,
                         instruments = "parts";
  int layers = 2, hidden = 256, embedding = 64, seq_len = 64, stride = 16, batch = 32, epochs = 30,
      transpose = 0, threads = 0, patience = 8, steps_per_beat = 4, max_duration = 16,
      primer_len = 32;
  double dropout = 0.3, lr = 2e-3, lr_decay = 1.0, clip = 5.0, valid_fraction = 0.1,
         time_budget = 0, weight_decay = 0, checkpoint_every = 60, frame_beats = 1.0,
         weight_average = 0, input_dropout = 0, weight_drop = 0;
  std::uint64_t seed = 1, min_count = 2;
  bool resume = false, keep_drums = false, quiet = false, same_key = false, sustain = false,
       tempo_words = false, no_time_signature_words = false;
  auto* data_opt = app.add_option("--data", data,
                                  "Folder of .mid/.midi files (searched recursively), or one file")
                       ->required();
  auto* out_opt = app.add_option("--out", out, "Model directory to write")->required();
  app.add_option("--mode", mode,
                 "What a step is: tokens (note/chord events) or pianoroll (88-key frames, every "
                 "key predicted)")
      ->check(CLI::IsMember({"tokens", "pianoroll"}))
      ->capture_default_str();
  app.add_option("--frame-beats", frame_beats,
                 "Pianoroll mode: frame length in beats (JSB benchmark 1, Nottingham 0.5)")
      ->check(cli::Range(1.0 / 64, 64.0))
      ->capture_default_str();
  auto* valid_data_opt = app.add_option(
      "--valid-data", valid_data,
      "Pianoroll mode: folder of validation files (instead of --valid-fraction of --data)");
  app.add_option("--layers", layers, "Number of LSTM layers")
      ->check(cli::Range(1, 16))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "Hidden units per LSTM layer")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--embedding", embedding, "Tokens mode: token embedding size (0 = one-hot input)")
      ->check(cli::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--dropout", dropout, "Dropout after each LSTM layer")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option("--input-dropout", input_dropout,
                 "Pianoroll mode: share of the input frame's keys hidden during training")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option(
         "--weight-drop", weight_drop,
         "Share of each LSTM layer's recurrent weights dropped per training window (DropConnect)")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option("--seq-len", seq_len, "Tokens per training window (BPTT length)")
      ->check(cli::Range(2, 4096))
      ->capture_default_str();
  app.add_option("--stride", stride, "Tokens between window starts")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--batch", batch, "Windows per mini-batch")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")
      ->check(cli::Range(1e-7, 1.0))
      ->capture_default_str();
  app.add_option("--lr-decay", lr_decay,
                 "Multiply the learning rate by this after each epoch without validation "
                 "improvement (1 = never)")
      ->check(cli::Range(1e-3, 1.0))
      ->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "Decoupled weight decay (AdamW); 0 = off")
      ->check(cli::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--weight-average", weight_average,
                 "Validate and save a moving average of the weights with this decay (0.999 spans "
                 "about 1000 steps); 0 = the weights themselves")
      ->check(cli::Range(0.0, 0.999999))
      ->capture_default_str();
  app.add_option("--epochs", epochs, "Passes over the training windows")
      ->check(cli::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--clip", clip, "Global gradient-norm clipping threshold (0 = off)")
      ->check(cli::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--patience", patience,
                 "Stop after this many epochs without validation improvement (0 = never)")
      ->check(cli::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--valid-fraction", valid_fraction, "Share of files held out for validation")
      ->check(cli::Range(0.0, 0.9))
      ->capture_default_str();
  app.add_option("--transpose", transpose, "Also train in every key within +-K semitones")
      ->check(cli::Range(0, 12))
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed for initialisation, split, shuffling and dropout")
      ->check(cli::Seed())
      ->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0 = all cores)")
      ->check(cli::Range(0, 256))
      ->capture_default_str();
  app.add_option("--time-budget", time_budget,
                 "Stop after this many seconds of training (0 = no limit)")
      ->check(cli::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--checkpoint-every", checkpoint_every, "Seconds between mid-epoch checkpoints")
      ->check(cli::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--encoding", encoding,
                 "Tokens mode: events (every note with its instrument, velocity and length, "
                 "bar by bar), durations (note/chord + length, one part) or pitch-only (classic)")
      ->check(CLI::IsMember({"events", "durations", "pitch-only"}))
      ->capture_default_str();
  app.add_option("--instruments", instruments,
                 "Events encoding: what an instrument word keeps: parts (program and part: two "
                 "tracks of one program stay two), programs (the exact General MIDI program) or "
                 "families (the 16 General MIDI families: a smaller vocabulary)")
      ->check(CLI::IsMember({"parts", "programs", "families"}))
      ->capture_default_str();
  app.add_flag("--tempo-words", tempo_words,
               "Events encoding: write tempo changes as words the model learns");
  app.add_flag("--no-time-signature-words", no_time_signature_words,
               "Events encoding: no time signature words (every bar 4/4 on the grid)");
  app.add_flag("--sustain", sustain,
               "Hold notes released under the sustain pedal (CC 64) until the pedal comes up");
  app.add_option("--steps-per-beat", steps_per_beat,
                 "Tokens mode: quantisation grid per quarter note (4 = 16th notes)")
      ->check(cli::Range(1, 48))
      ->capture_default_str();
  app.add_option(
         "--max-duration", max_duration,
         "Tokens mode: longest token duration in grid steps (longer notes continue with ties)")
      ->check(cli::Range(1, 1024))
      ->capture_default_str();
  app.add_option(
         "--min-count", min_count,
         "Tokens mode: fewest uses of a kept token (rarer ones become the nearest kept one)")
      ->check(cli::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--loss", loss, "Positions scored: all, or last (the classic Keras setup)")
      ->check(CLI::IsMember({"all", "last"}))
      ->capture_default_str();
  app.add_option("--primer-length", primer_len, "Tokens per default primer saved for the generator")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_flag("--keep-drums", keep_drums,
               "Keep MIDI channel 10 (drums) in the durations and pitch-only encodings (the "
               "events encoding always keeps them, as a drum kit of their own)");
  app.add_flag("--same-key", same_key,
               "Tokens mode: transpose every piece to C major / A minor before training");
  auto* resume_opt = app.add_flag(
      "--resume", resume,
      "Continue the interrupted run in --out, with the settings saved in its settings.ini");
  app.add_flag("--quiet", quiet, "Only print the per-epoch summary lines");
  std::string max_memory = "auto", cache = "auto";
  app.add_option("--cache", cache,
                 "Folder of the corpus cache, which keeps each file's encoding so the next run "
                 "reads only changed files (auto = $XDG_CACHE_HOME/lstmidi or ~/.cache/lstmidi; "
                 "none = read every file)")
      ->capture_default_str();
  app.add_option("--max-memory", max_memory,
                 "Refuse settings whose training would need more memory than this, e.g. 8G "
                 "(auto = 80% of the machine's memory, or of ulimit -v)")
      ->check(CLI::Validator(
          [](std::string& t) -> std::string {
            try {
              parse_byte_size(t);
              return {};
            } catch (const std::invalid_argument& e) {
              return e.what();
            }
          },
          "SIZE"))
      ->capture_default_str();
  auto* config_opt = app.set_config(
      "--config", "",
      "Read settings from a name=value file such as a run's settings.ini (flags given on the "
      "command line win)");
  // Settings that only one mode reads, with their defaults: the other mode refuses a changed
  // one rather than ignore it (settings.ini lists every setting, so a default is no error).
  struct ModeOnly {
    const char* flag;
    std::function<bool()> changed;
  };
  const std::vector<ModeOnly> tokens_only = {
      {"--embedding", [&, d = embedding] { return embedding != d; }},
      {"--encoding", [&, d = encoding] { return encoding != d; }},
      {"--steps-per-beat", [&, d = steps_per_beat] { return steps_per_beat != d; }},
      {"--max-duration", [&, d = max_duration] { return max_duration != d; }},
      {"--min-count", [&, d = min_count] { return min_count != d; }},
      {"--same-key", [&] { return same_key; }},
      {"--instruments", [&, d = instruments] { return instruments != d; }},
      {"--tempo-words", [&] { return tempo_words; }},
      {"--no-time-signature-words", [&] { return no_time_signature_words; }}};
  // Settings only the events encoding reads.
  const std::vector<ModeOnly> events_only = {
      {"--instruments", [&, d = instruments] { return instruments != d; }},
      {"--tempo-words", [&] { return tempo_words; }},
      {"--no-time-signature-words", [&] { return no_time_signature_words; }}};
  const std::vector<ModeOnly> pianoroll_only = {
      {"--frame-beats", [&, d = frame_beats] { return frame_beats != d; }},
      {"--valid-data", [&] { return !valid_data.empty(); }},
      {"--input-dropout", [&, d = input_dropout] { return input_dropout != d; }}};

  // settings.ini: every setting but --out and --resume (so --config repeats the run into another
  // folder), with the data folders as absolute paths (so it works from any folder).
  auto settings_text = [&] {
    for (CLI::Option* o : {data_opt, valid_data_opt})
      if (o->count() > 0 && !o->as<std::string>().empty()) {
        const std::string abs = fs::absolute(o->as<std::string>()).lexically_normal().string();
        o->clear();
        o->add_result(abs);
      }
    out_opt->configurable(false);
    resume_opt->configurable(false);
    std::string text =
        "# lstmidi-train settings; repeat the run with\n"
        "#   lstmidi-train --config settings.ini --out NEW_FOLDER\n" +
        app.config_to_str(true, false);
    out_opt->configurable(true);
    resume_opt->configurable(true);
    return text;
  };
  // The run folder is locked from the moment this run may write there until it ends.
  RunLock lock;
  auto claim_run_folder = [&] {
    if (!lead) return;  // process 0 holds the folder for the group
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw IoError(out + ": cannot create the output directory (" + ec.message() + ")");
    if (lock.held()) return;
    lock = RunLock::acquire(out);
    const auto stale = remove_stale_temp_files(out);
    if (!stale.empty())
      std::cout << "removed " << stale.size() << " temporary file(s) an interrupted run left in "
                << out << " (" << stale.front() << (stale.size() > 1 ? ", ..." : "") << ")\n";
    check_run_folder(out, resume);  // again: another run may have written here meanwhile
  };

  int interrupted_status = 0;  // 128 + the signal, when a signal stopped the run

  // One-file model: every saved model carries the run's vocabulary, primers and settings.
  auto embed_run_files = [&](std::map<std::string, std::string>& meta) {
    for (const char* name : {music::kVocabFile, music::kPrimersFile, kSettingsFile}) {
      const fs::path f = fs::path(out) / name;
      std::error_code ec;
      if (!fs::is_regular_file(f, ec)) continue;
      const std::vector<std::uint8_t> bytes = read_file_bytes(f.string(), std::size_t{64} << 20);
      music::embed_file(meta, name, std::string(bytes.begin(), bytes.end()));
    }
  };

  // What the split is: how many pieces validate, and why that many; a run with none says what
  // that costs.
  auto report_split = [&](std::size_t pieces, std::size_t held) {
    if (!valid_data.empty()) return;
    if (held == 0) {
      std::cerr << "warning: no validation pieces (" << pieces << " piece(s), --valid-fraction "
                << valid_fraction
                << "): the model saved is the last one, and no baseline comparison is made; give "
                   "more files, or --valid-fraction above 0\n";
      return;
    }
    std::cout << "split: " << held << " of " << pieces << " pieces held out for validation ("
              << 100.0 * static_cast<double>(held) / static_cast<double>(pieces)
              << "%; --valid-fraction " << valid_fraction << " of " << pieces
              << " pieces, rounded, at least one)\n";
  };

  // What the corpus cache did: a line on stdout, and on stderr why a cache was not usable.
  auto report_cache = [&](const music::CacheReport& r) {
    if (!r.note.empty()) std::cerr << "warning: corpus cache: " << r.note << '\n';
    if (!r.file.empty()) std::cout << "cache: " << music::describe(r) << '\n';
  };

  // Before the model exists: no more windows per batch than there are windows, and settings
  // whose training cannot fit in memory refused with the estimate.
  auto cap_batch = [&](auto& sampler) {
    if (static_cast<std::size_t>(batch) > sampler.train_windows()) {
      std::cout << "batch: " << sampler.train_windows() << " windows per batch (there are only "
                << sampler.train_windows() << " training windows; --batch " << batch
                << " would pad the rest)\n";
      sampler.set_batch_size(static_cast<Index>(sampler.train_windows()));
    }
    return static_cast<Index>(
        std::min<std::size_t>(static_cast<std::size_t>(batch), sampler.train_windows()));
  };
  auto check_memory = [&](const ModelConfig& mc, Index batch_used) {
    const std::uint64_t need = training_memory_bytes<float>(mc, seq_len, batch_used);
    const std::uint64_t given = parse_byte_size(max_memory);
    const std::uint64_t limit = given > 0 ? given : memory_limit_default();
    std::cout << "memory: about " << format_bytes(need) << " for training";
    if (limit > 0) std::cout << " (limit " << format_bytes(limit) << ", --max-memory)";
    std::cout << '\n';
    if (limit > 0 && need > limit)
      throw std::invalid_argument(
          "these settings need about " + format_bytes(need) + " of memory to train (" +
          std::to_string(seq_len) + " steps x " + std::to_string(batch_used) +
          " windows per batch, " + std::to_string(layers) + " x LSTM(" + std::to_string(hidden) +
          "), " + std::to_string(mc.vocab_size) + " outputs), more than the limit of " +
          format_bytes(limit) +
          (given > 0 ? " (--max-memory)" : " (80% of this machine's memory, or of ulimit -v)") +
          ": lower --batch, --seq-len or --hidden, or raise --max-memory");
  };

  // The training loop of both modes: Adam, clipping, early stopping, checkpoints, progress.
  auto run_training = [&](Model<float>& model, auto& sampler, Rng& rng, const auto& meta) {
    TrainOptions to;
    to.epochs = epochs;
    to.adam.lr = lr;
    to.adam.weight_decay = weight_decay;
    to.clip = clip;
    to.patience = patience;
    to.lr_decay = lr_decay;
    to.time_budget_seconds = time_budget;
    to.checkpoint_seconds = checkpoint_every;
    to.weight_average = weight_average;
    to.out_dir = out;
    StopOnSignal stop;  // Ctrl-C: save the checkpoint and say how to go on
    to.stop = stop.flag();
    Trainer<float, std::decay_t<decltype(sampler)>> trainer(model, sampler, to, rng, meta);
#ifdef LSTMIDI_WITH_MPI
    trainer.set_process_group(&group);
#endif
    if (resume) {
      trainer.resume();
      std::cout << "resuming at epoch " << sampler.position().epoch + 1 << ", batch "
                << sampler.position().batch << '\n';
    }
    const bool tty = ::isatty(2) != 0;
    ProgressPrinter printer(std::cerr, std::cout, tty, !quiet);
    TrainResult res;
    try {
      res = trainer.run(lead ? &printer : nullptr);
    } catch (const TrainingDiverged& e) {  // the library names no flags; the program does
      throw TrainingDiverged(std::string(e.what()) + " (--lr, --clip)");
    }
    if (res.reason == StopReason::time_budget)
      std::cout << "to train on: lstmidi-train --out " << out
                << " --resume --time-budget S, with S above the "
                << static_cast<long>(trainer.state().elapsed) << " s trained so far\n";
    if (res.reason == StopReason::interrupted) {
      const auto pos = sampler.position();
      std::cout.flush();
      std::cerr << (tty && !quiet ? "\n" : "") << "lstmidi-train: stopped by "
                << (stop.signal_number() == SIGTERM ? "SIGTERM" : "Ctrl-C (SIGINT)")
                << "; the run is saved in " << (fs::path(out) / "last.lstmidi").string() << " ("
                << (pos.batch == 0 ? "after epoch " + std::to_string(pos.epoch)
                                   : "epoch " + std::to_string(pos.epoch + 1) + ", batch " +
                                         std::to_string(pos.batch) + " of " +
                                         std::to_string(sampler.batches_per_epoch()))
                << "); continue it with: lstmidi-train --out " << out << " --resume\n";
      interrupted_status = 128 + stop.signal_number();
    }
    return res;
  };

  // Pianoroll mode: frames, FrameSampler, sigmoid outputs; the same Trainer.
  auto train_pianoroll = [&]() -> int {
    music::RollOptions ro;
    ro.frame_beats = frame_beats;
    music::ReadOptions rd;
    rd.keep_drums = keep_drums;
    rd.sustain = sustain;
    music::CacheReport cache_report;
    const music::RollCorpus corpus =
        music::load_roll_corpus(data, ro, rd, music::cache_setting(cache), &cache_report);
    report_cache(cache_report);
    for (const auto& w : corpus.warnings) std::cerr << "warning: " << w << '\n';
    std::vector<std::vector<music::Frame>> valid_pieces;
    if (!valid_data.empty()) {
      music::RollCorpus vc =
          music::load_roll_corpus(valid_data, ro, rd, music::cache_setting(cache), &cache_report);
      report_cache(cache_report);
      for (const auto& w : vc.warnings) std::cerr << "warning: " << w << '\n';
      valid_pieces = std::move(vc.pieces);
    }
    music::FrameWindowOptions wo;
    wo.steps = seq_len;
    wo.stride = stride;
    wo.batch_size = batch;
    wo.keys = ro.keys;
    wo.valid_fraction = valid_data.empty() ? valid_fraction : 0.0;
    wo.max_transpose = transpose;
    wo.seed = seed;
    music::FrameSampler sampler(corpus.pieces, wo, valid_pieces);
    const Index batch_used = cap_batch(sampler);
    const auto train_pieces = sampler.pieces(false), held_out = sampler.pieces(true);
    std::cout << "data: " << corpus.pieces.size() << " pieces, " << corpus.frames << " frames of "
              << frame_beats << " beat(s); " << sampler.train_windows() << " training / "
              << sampler.valid_windows() << " validation windows of " << seq_len << " ("
              << held_out.size() << " validation pieces"
              << (valid_data.empty() ? " held out" : " from " + valid_data) << "), "
              << sampler.batches_per_epoch() << " batches per epoch\n";
    report_split(corpus.pieces.size(), held_out.size());

    ModelConfig mc;
    mc.mode = ModelMode::pianoroll;
    mc.vocab_size = ro.keys;
    mc.embedding_size = 0;
    mc.hidden_sizes.assign(static_cast<size_t>(layers), hidden);
    mc.dropout = dropout;
    mc.input_dropout = input_dropout;
    mc.weight_drop = weight_drop;
    mc.loss_positions = loss == "last" ? LossPositions::last : LossPositions::all;
    check_memory(mc, batch_used);
    Model<float> model(mc);
    Rng rng(seed);
    model.init(rng);
    std::cout << "model: pianoroll, " << ro.keys << " keys, " << layers << " x LSTM(" << hidden
              << "), dropout " << dropout << ", input dropout " << input_dropout << ", weight drop "
              << weight_drop << ", " << model.num_params() << " parameters, " << Eigen::nbThreads()
              << " thread(s)\n";
    claim_run_folder();
    const std::vector<double> key_probs = music::unigram_key_probabilities(train_pieces, ro.keys);
    auto meta = music::pianoroll_metadata(ro, key_probs);
    meta["data_crc"] = std::to_string(sampler.checksum());
    if (!resume && lead) {
      std::string primers;
      Rng prng(seed, 77);
      std::vector<size_t> order(train_pieces.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      prng.shuffle(order.begin(), order.end());
      for (size_t k = 0; k < std::min<size_t>(64, order.size()); ++k) {
        const auto& piece = train_pieces[order[k]];
        const std::vector<music::Frame> opening(
            piece.begin(), piece.begin() + static_cast<long>(std::min<size_t>(
                                               static_cast<size_t>(primer_len), piece.size())));
        primers += music::frames_to_line(opening, ro) + '\n';
      }
      write_file_atomic((fs::path(out) / music::kPrimersFile).string(), primers);
      write_file_atomic((fs::path(out) / "settings.ini").string(), settings_text());
    }

    embed_run_files(meta);
    const TrainResult res = run_training(model, sampler, rng, meta);
    if (res.reason == StopReason::interrupted) return interrupted_status;
    if (!lead) return 0;

    // Report: whole validation pieces, state carried, every frame predicted.
    auto best = load_model<float>((fs::path(out) / music::kModelFile).string());
    std::ostringstream rep;
    rep.setf(std::ios::fixed);
    rep.precision(3);
    if (!held_out.empty()) {
      const LossTotals m = music::score_frames(*best, held_out);
      const LossTotals u = music::unigram_frame_nll(key_probs, held_out);
      rep << "validation, " << m.count << " frames of " << held_out.size()
          << " whole pieces (nats per frame):\n"
          << "  lstm     nll " << m.mean() << "  exact frames " << 100 * m.accuracy() << "%\n"
          << "  unigram  nll " << u.mean() << "  (each key from its training frequency)\n";
    }
    rep << "best epoch " << res.best_epoch << " of " << res.history.size()
        << "; model: " << (fs::path(out) / music::kModelFile).string() << '\n';
    write_file_atomic((fs::path(out) / "evaluation.txt").string(), rep.str());
    std::cout << rep.str();
    return 0;
  };

  // Before parsing: `--resume` reads the run's own settings.ini unless --config names another
  // file, and a settings file is checked line by line (unknown names are errors).
  app.preparse_callback([&](std::size_t) {
    std::string config = cli::flag_value(argc, argv, "--config").value_or("");
    const auto out_flag = cli::flag_value(argc, argv, "--out");
    if (config.empty() && out_flag && cli::has_flag(argc, argv, "--resume")) {
      const fs::path own = fs::path(*out_flag) / kSettingsFile;
      std::error_code ec;
      if (fs::is_regular_file(own, ec)) {
        config = own.string();
        config_opt->default_str(config);
      }
    }
    if (!config.empty()) check_settings_file(config, cli::setting_names(app));
  });

  const int status = cli::run(app, argc, argv, [&]() -> int {
    cli::set_threads(threads);
    std::error_code ec;
    if (!lead) {
      // process 0 checks and holds the run folder
    } else if (fs::is_directory(out, ec)) {
      check_run_folder(out, resume);  // before reading any data: fail fast
      claim_run_folder();
    } else if (resume) {
      check_run_folder(out, resume);
    }

    for (const ModeOnly& m : mode == "pianoroll" ? tokens_only : pianoroll_only)
      if (m.changed())
        throw std::invalid_argument(std::string(m.flag) + " is for --mode " +
                                    (mode == "pianoroll" ? "tokens" : "pianoroll") +
                                    " and has no effect in " + mode + " mode");
    if (mode == "pianoroll") return train_pianoroll();
    if (encoding != "events")
      for (const ModeOnly& m : events_only)
        if (m.changed())
          throw std::invalid_argument(
              std::string(m.flag) + " is for --encoding events and has no effect with --encoding " +
              encoding);

    // 1. Data: MIDI -> tokens -> vocabulary -> windows.
    music::EncoderOptions eo;
    eo.encoding = encoding == "pitch-only" ? music::Encoding::PitchOnly
                  : encoding == "events"   ? music::Encoding::Events
                                           : music::Encoding::Durations;
    eo.steps_per_beat = steps_per_beat;
    eo.max_duration = max_duration;
    eo.events.instruments = music::parse_instrument_mode(instruments);
    eo.events.tempo = tempo_words;
    eo.events.time_signatures = !no_time_signature_words;
    const music::Encoder encoder(eo);
    if (eo.encoding == music::Encoding::Events) encoder.events();  // checks the bar length
    music::ReadOptions ro;
    ro.keep_drums = keep_drums || eo.encoding == music::Encoding::Events;
    ro.sustain = sustain;
    music::CacheReport cache_report;
    const music::Corpus corpus =
        music::load_corpus(data, encoder, ro, same_key, music::cache_setting(cache), &cache_report);
    report_cache(cache_report);
    for (const auto& w : corpus.warnings) std::cerr << "warning: " << w << '\n';
    if (corpus.skipped) std::cerr << "skipped " << corpus.skipped << " unreadable file(s)\n";
    const auto vocab = music::Vocabulary::build(
        transpose > 0 ? music::with_transpositions(corpus.pieces, transpose) : corpus.pieces,
        music::VocabularyOptions{min_count, 0});
    music::WindowOptions wo;
    wo.steps = seq_len;
    wo.stride = stride;
    wo.batch_size = batch;
    wo.valid_fraction = valid_fraction;
    wo.max_transpose = transpose;
    wo.seed = seed;
    music::WindowSampler sampler(corpus.pieces, vocab, wo);
    const Index batch_used = cap_batch(sampler);
    std::cout << "data: " << corpus.pieces.size() << " pieces, " << corpus.notes << " notes -> "
              << vocab.size() << " tokens in the vocabulary; " << sampler.train_windows()
              << " training / " << sampler.valid_windows() << " validation windows of " << seq_len
              << ", " << sampler.batches_per_epoch() << " batches per epoch\n";
    {
      std::size_t held = 0;
      for (std::size_t i = 0; i < corpus.pieces.size(); ++i) held += sampler.is_validation_piece(i);
      report_split(corpus.pieces.size(), held);
    }

    // 2. Model and the files that describe it.
    ModelConfig mc;
    mc.vocab_size = vocab.size();
    mc.embedding_size = embedding;
    mc.hidden_sizes.assign(static_cast<size_t>(layers), hidden);
    mc.dropout = dropout;
    mc.input_dropout = input_dropout;
    mc.weight_drop = weight_drop;
    mc.loss_positions = loss == "last" ? LossPositions::last : LossPositions::all;
    check_memory(mc, batch_used);
    Model<float> model(mc);
    Rng rng(seed);
    model.init(rng);
    std::cout << "model: " << layers << " x LSTM(" << hidden << "), embedding " << embedding
              << ", dropout " << dropout << ", " << model.num_params() << " parameters, "
              << Eigen::nbThreads() << " thread(s)\n";
    claim_run_folder();
    auto meta = music::music_metadata(eo, vocab);
    const music::PitchClassHistogram pc = [&] {
      std::vector<music::Note> all;
      for (const auto& piece : corpus.pieces)
        for (const music::Note& n : encoder.decode(piece))
          if (!n.drum) all.push_back(n);
      return music::pitch_class_histogram(all);
    }();
    std::string pcs;
    for (double x : pc) pcs += (pcs.empty() ? "" : ",") + std::to_string(x);
    meta["pc_hist"] = pcs;
    meta["same_key"] = same_key ? "1" : "0";
    {  // so that lstmidi-eval can tell when it scores the training pieces
      std::vector<std::vector<TokenId>> train_pieces;
      for (std::size_t i = 0; i < corpus.pieces.size(); ++i)
        if (!sampler.is_validation_piece(i)) train_pieces.push_back(vocab.encode(corpus.pieces[i]));
      music::store_training_pieces(meta, train_pieces);
      // The baselines' statistics, so lstmidi-eval prints the same table on any folder.
      music::embed_file(meta, music::kBigramsFile,
                        music::ngram_counts_text(music::count_ngrams(train_pieces, vocab.size())));
    }
    // What the generator writes when its primer gives no tempo, metre or key.
    if (auto t = music::most_common(corpus.opening_tempos))
      meta["common_tempo"] = std::to_string(*t);
    if (auto ts = music::most_common(corpus.opening_time_signatures);
        ts && ts->first != music::kNoSignature)
      meta["common_time_signature"] = std::to_string(ts->first) + "/" + std::to_string(ts->second);
    if (auto k = music::most_common(corpus.opening_keys); k && k->first != music::kNoSignature)
      meta["common_key"] = std::to_string(k->first) + (k->second ? "m" : "");
    if (!resume && lead) {
      vocab.save(fs::path(out) / music::kVocabFile);
      std::string primers;
      Rng prng(seed, 77);
      std::vector<size_t> order(corpus.pieces.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      prng.shuffle(order.begin(), order.end());
      for (size_t k = 0; k < std::min<size_t>(64, order.size()); ++k) {
        if (sampler.is_validation_piece(order[k])) continue;
        const auto& piece = corpus.pieces[order[k]];
        std::string line;
        // Through the vocabulary, so a primer holds only events the model knows.
        const std::vector<TokenId> ids = vocab.encode(piece, /*add_bos_eos=*/false);
        for (size_t i = 0, n = 0; i < ids.size() && n < static_cast<size_t>(primer_len); ++i) {
          if (ids[i] < music::Vocabulary::kReserved) continue;  // <unk>: no event to write
          line += (n++ ? " " : "") + music::to_string(vocab.token(ids[i]));
        }
        primers += line + '\n';
      }
      write_file_atomic((fs::path(out) / music::kPrimersFile).string(), primers);
      write_file_atomic((fs::path(out) / "settings.ini").string(), settings_text());
    } else if (resume && !(music::Vocabulary::load(fs::path(out) / music::kVocabFile) == vocab)) {
      throw std::invalid_argument(out +
                                  ": the data or settings changed since the run began (the "
                                  "vocabulary differs); resume with the same --data and settings");
    }

    // 3. Train.
    embed_run_files(meta);
    const TrainResult res = run_training(model, sampler, rng, meta);
    if (res.reason == StopReason::interrupted) return interrupted_status;
    if (!lead) return 0;

    // 4. Report: the best model against n-gram baselines on the same validation pieces.
    auto best = load_model<float>((fs::path(out) / music::kModelFile).string());
    std::vector<std::vector<TokenId>> train_ids, valid_ids;
    for (size_t i = 0; i < corpus.pieces.size(); ++i)
      (sampler.is_validation_piece(i) ? valid_ids : train_ids)
          .push_back(vocab.encode(corpus.pieces[i]));
    std::ostringstream rep;
    rep.setf(std::ios::fixed);
    rep.precision(3);
    if (!valid_ids.empty()) {
      const auto m = music::score_sequences(*best, valid_ids);
      const auto base = music::ngram_baselines(train_ids, valid_ids, vocab.size());
      rep << "validation, " << m.tokens << " tokens of " << valid_ids.size() << " whole pieces:\n"
          << music::baseline_table(m, base)
          << "(whole pieces, the LSTM's state carried from the first event to the last; the "
             "epoch lines' valid loss is over windows of "
          << seq_len << " events, each starting from a blank state, so the two differ)\n";
      if (!(m.nll < base.bigram.nll))
        rep << "note: the LSTM does no better than the bigram baseline (the previous event "
               "alone): it has not learned more than which event follows which; train longer "
               "(--epochs), on more data, or with another --lr\n";
    }
    rep << "best epoch " << res.best_epoch << " of " << res.history.size()
        << "; model: " << (fs::path(out) / music::kModelFile).string() << '\n';
    write_file_atomic((fs::path(out) / "evaluation.txt").string(), rep.str());
    std::cout << rep.str();
    return 0;
  });
#ifdef LSTMIDI_WITH_MPI
  if (!lead) {  // a failed process names itself; what succeeded is process 0's to say
    std::cout.rdbuf(nullptr);
    std::cerr.rdbuf(stderr_buf);
    std::istringstream lines(held_output.str());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(app.get_name() + ": error: ", 0) == 0)
        std::cerr << app.get_name() << ": error: process " << group.rank() << " of " << group.size()
                  << ": " << line.substr(app.get_name().size() + 9) << '\n';
  }
  // One failed process ends the whole job, so that none waits forever in a sum. A stop by a
  // signal (128 + its number) is no failure: every process stopped at the same step.
  if (status != 0 && status < 128 && group.size() > 1) {
    std::cout.flush();
    std::cerr.flush();
    MpiSession::abort(status);
  }
#endif
  return status;
}
