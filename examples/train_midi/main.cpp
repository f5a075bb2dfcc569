// SPDX-License-Identifier: MIT
// lstmidi-train: learn a next-event model from a folder of MIDI files.
//
//   lstmidi-train --data data/jsb_chorales_16th --out runs/bach [--epochs 30 --hidden 256 ...]
//   lstmidi-train --mode pianoroll --frame-beats 1 --data jsb_chorales/train
//                 --valid-data jsb_chorales/valid --out runs/jsb
//
// The flags are the fields of music::TrainSettings; music::train_run does the run (read,
// encode, train, report: music/train_run.hpp). This program adds what belongs to a command
// line: the settings file, the run folder's lock, Ctrl-C, the progress bar, and how to go on
// after a stop.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <lstmidi/music/train_run.hpp>
#include <lstmidi/train/interrupt.hpp>
#include <lstmidi/train/progress.hpp>
#include <lstmidi/train/run_folder.hpp>
#include <lstmidi/train/settings_file.hpp>
#include <optional>
#include <string>

#include "cli_main.hpp"
#ifdef LSTMIDI_WITH_MPI
#include <cstdio>
#include <cstdlib>
#include <lstmidi/train/data_parallel.hpp>
#include <sstream>
#include <vector>
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
  // Process 0 watches the others on this machine: one that dies (a signal, out of memory) is
  // named here, before mpirun ends the job, instead of leaving process 0 waiting in a sum.
  std::optional<PeerWatch> watch;
  {
    std::vector<Peer> peers = group.local_peers();
    if (lead)
      watch.emplace(std::move(peers), [n = group.size()](const Peer& p) {
        std::fflush(stdout);
        std::fprintf(stderr,
                     "lstmidi-train: error: process %d of %d (pid %ld) ended before the run did "
                     "(killed, or out of memory?); ending the job, the run folder keeps its last "
                     "checkpoint\n",
                     p.rank, n, p.pid);
        std::fflush(stderr);
        std::_Exit(1);
      });
  }
  const std::string resume_command =
      "mpirun -np " + std::to_string(group.size()) + " lstmidi-train-mpi";
  std::ostringstream held_output;
  std::streambuf* const stderr_buf = std::cerr.rdbuf();
  if (!lead) {
    std::cout.rdbuf(held_output.rdbuf());
    std::cerr.rdbuf(held_output.rdbuf());
  }
#else
  const bool lead = true;
  const std::string resume_command = "lstmidi-train";
#endif
  CLI::App app{"Train an LSTM on a folder of MIDI files", "lstmidi-train"};
  cli::add_version(app);
  music::TrainSettings s;
  int threads = 0;
  bool quiet = false;
  auto* data_opt = app.add_option("--data", s.data,
                                  "Folder of .mid/.midi files (searched recursively), or one file")
                       ->required();
  auto* out_opt = app.add_option("--out", s.out, "Model directory to write")->required();
  app.add_option("--mode", s.mode,
                 "What a step is: tokens (note/chord events) or pianoroll (88-key frames, every "
                 "key predicted)")
      ->check(CLI::IsMember({"tokens", "pianoroll"}))
      ->capture_default_str();
  app.add_option("--frame-beats", s.frame_beats,
                 "Pianoroll mode: frame length in beats (JSB benchmark 1, Nottingham 0.5)")
      ->check(cli::Range(1.0 / 64, 64.0))
      ->capture_default_str();
  app.add_option("--output", s.output,
                 "Pianoroll mode: how a frame's keys are predicted: independent (each on its own "
                 "given the past) or nade (low to high, each also given the keys below it; exact "
                 "likelihood, chords that hang together; docs/tutorial.md)")
      ->check(CLI::IsMember({"independent", "nade"}))
      ->capture_default_str();
  app.add_option("--nade-hidden", s.nade_hidden, "Pianoroll mode, --output nade: its hidden units")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  auto* valid_data_opt = app.add_option(
      "--valid-data", s.valid_data,
      "Pianoroll mode: folder of validation files (instead of --valid-fraction of --data)");
  app.add_option("--layers", s.layers, "Number of LSTM layers")
      ->check(cli::Range(1, 16))
      ->capture_default_str();
  app.add_option("--hidden", s.hidden, "Hidden units per LSTM layer")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--embedding", s.embedding,
                 "Tokens mode: token embedding size (0 = one-hot input)")
      ->check(cli::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--dropout", s.dropout, "Dropout after each LSTM layer")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option("--input-dropout", s.input_dropout,
                 "Pianoroll mode: share of the input frame's keys hidden during training")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option(
         "--weight-drop", s.weight_drop,
         "Share of each LSTM layer's recurrent weights dropped per training window (DropConnect)")
      ->check(cli::Range(0.0, 0.95))
      ->capture_default_str();
  app.add_option("--seq-len", s.seq_len, "Tokens per training window (BPTT length)")
      ->check(cli::Range(2, 4096))
      ->capture_default_str();
  app.add_option("--stride", s.stride, "Tokens between window starts")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_flag("--carry-state", s.carry_state,
               "Tokens mode: each batch column reads pieces in order, window after window, and "
               "starts each window from the state the one before it ended with (needs --stride "
               "equal to --seq-len; one process)");
  app.add_option("--batch", s.batch, "Windows per mini-batch")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--lr", s.lr, "Adam learning rate")
      ->check(cli::Range(1e-7, 1.0))
      ->capture_default_str();
  app.add_option("--lr-decay", s.lr_decay,
                 "Multiply the learning rate by this after each epoch without validation "
                 "improvement (1 = never)")
      ->check(cli::Range(1e-3, 1.0))
      ->capture_default_str();
  app.add_option("--weight-decay", s.weight_decay, "Decoupled weight decay (AdamW); 0 = off")
      ->check(cli::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--weight-average", s.weight_average,
                 "Validate and save a moving average of the weights with this decay (0.999 spans "
                 "about 1000 steps); 0 = the weights themselves")
      ->check(cli::Range(0.0, 0.999999))
      ->capture_default_str();
  app.add_option("--epochs", s.epochs, "Passes over the training windows")
      ->check(cli::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--clip", s.clip, "Global gradient-norm clipping threshold (0 = off)")
      ->check(cli::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--patience", s.patience,
                 "Stop after this many epochs without validation improvement (0 = never)")
      ->check(cli::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--valid-fraction", s.valid_fraction, "Share of files held out for validation")
      ->check(cli::Range(0.0, 0.9))
      ->capture_default_str();
  app.add_option("--transpose", s.transpose, "Also train in every key within +-K semitones")
      ->check(cli::Range(0, 12))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed for initialisation, split, shuffling and dropout")
      ->check(cli::Seed())
      ->capture_default_str();
  app.add_option("--threads", threads,
                 "Worker threads (0 = all cores). On a machine other work keeps busy, fewer "
                 "can be faster: each time step waits for its slowest thread")
      ->check(cli::Range(0, 256))
      ->capture_default_str();
  app.add_option("--time-budget", s.time_budget,
                 "Stop after this many seconds of training (0 = no limit)")
      ->check(cli::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--checkpoint-every", s.checkpoint_every, "Seconds between mid-epoch checkpoints")
      ->check(cli::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--encoding", s.encoding,
                 "Tokens mode: events (every note with its instrument, velocity and length, "
                 "bar by bar), durations (note/chord + length, one part) or pitch-only (classic)")
      ->check(CLI::IsMember({"events", "durations", "pitch-only"}))
      ->capture_default_str();
  app.add_option("--instruments", s.instruments,
                 "Events encoding: what an instrument word keeps: parts (program and part: two "
                 "tracks of one program stay two), programs (the exact General MIDI program) or "
                 "families (the 16 General MIDI families: a smaller vocabulary)")
      ->check(CLI::IsMember({"parts", "programs", "families"}))
      ->capture_default_str();
  app.add_flag("--tempo-words", s.tempo_words,
               "Events encoding: write tempo changes as words the model learns");
  app.add_flag("--no-time-signature-words", s.no_time_signature_words,
               "Events encoding: no time signature words (every bar 4/4 on the grid)");
  app.add_flag("--sustain", s.sustain,
               "Hold notes released under the sustain pedal (CC 64) until the pedal comes up");
  app.add_option("--steps-per-beat", s.steps_per_beat,
                 "Tokens mode: quantisation grid per quarter note (4 = 16th notes)")
      ->check(cli::Range(1, 48))
      ->capture_default_str();
  app.add_option(
         "--max-duration", s.max_duration,
         "Tokens mode: longest token duration in grid steps (longer notes continue with ties)")
      ->check(cli::Range(1, 1024))
      ->capture_default_str();
  app.add_option(
         "--min-count", s.min_count,
         "Tokens mode: fewest uses of a kept token (rarer ones become the nearest kept one)")
      ->check(cli::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--loss", s.loss, "Positions scored: all, or last (the classic Keras setup)")
      ->check(CLI::IsMember({"all", "last"}))
      ->capture_default_str();
  app.add_option("--primer-length", s.primer_len,
                 "Tokens per default primer saved for the generator")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  app.add_flag("--keep-drums", s.keep_drums,
               "Keep MIDI channel 10 (drums) in the durations and pitch-only encodings (the "
               "events encoding always keeps them, as a drum kit of their own)");
  app.add_flag("--same-key", s.same_key,
               "Tokens mode: transpose every piece to C major / A minor before training");
  auto* resume_opt = app.add_flag(
      "--resume", s.resume,
      "Continue the interrupted run in --out, with the settings saved in its settings.ini");
  app.add_flag("--quiet", quiet, "Only print the per-epoch summary lines");
  s.cache = "auto";  // the program keeps a cache unless told not to
  app.add_option("--cache", s.cache,
                 "Folder of the corpus cache, which keeps each file's encoding so the next run "
                 "reads only changed files (auto = $XDG_CACHE_HOME/lstmidi or ~/.cache/lstmidi; "
                 "none = read every file)")
      ->capture_default_str();
  app.add_option("--max-memory", s.max_memory,
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
    std::error_code ec;
    fs::create_directories(s.out, ec);
    if (ec) throw IoError(s.out + ": cannot create the output directory (" + ec.message() + ")");
    if (lock.held()) return;
    lock = RunLock::acquire(s.out);
    const auto stale = remove_stale_temp_files(s.out);
    if (!stale.empty())
      std::cout << "removed " << stale.size() << " temporary file(s) an interrupted run left in "
                << s.out << " (" << stale.front() << (stale.size() > 1 ? ", ..." : "") << ")\n";
    check_run_folder(s.out, s.resume);  // again: another run may have written here meanwhile
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
    const std::string& out = s.out;
    std::error_code ec;
    if (!lead) {
      // process 0 checks and holds the run folder for the group
    } else if (fs::is_directory(out, ec)) {
      check_run_folder(out, s.resume);  // before reading any data: fail fast
      claim_run_folder();
    } else if (s.resume) {
      check_run_folder(out, s.resume);
    }

    const bool tty = ::isatty(2) != 0;
    ProgressPrinter printer(std::cerr, std::cout, tty, !quiet);
    std::optional<StopOnSignal>
        stop;  // Ctrl-C while training: save the checkpoint, say how to go on
    music::RunHooks hooks;
    hooks.name = [](const std::string& setting) { return "--" + setting; };
    hooks.claim_folder = claim_run_folder;
    hooks.settings_text = settings_text;
    hooks.observer = &printer;
    hooks.stop = [&] { return stop.emplace().flag(); };
    hooks.resumed = [](const SamplerPosition& p) {
      std::cout << "resuming at epoch " << p.epoch + 1 << ", batch " << p.batch << '\n';
    };
#ifdef LSTMIDI_WITH_MPI
    hooks.group = &group;
    if (!lead) hooks.observer = nullptr;
#endif
    music::RunOutcome run;
    try {
      run = music::train_run(s, hooks);
    } catch (const TrainingDiverged& e) {  // the library names no flags; the program does
      throw TrainingDiverged(std::string(e.what()) + " (--lr, --clip)");
    }
    if (run.result.reason == StopReason::time_budget)
      std::cout << "to train on: " << resume_command << " --out " << out
                << " --resume --time-budget S, with S above the " << static_cast<long>(run.elapsed)
                << " s trained so far\n";
    if (run.result.reason != StopReason::interrupted) return 0;
    const SamplerPosition& pos = run.position;
    std::cout.flush();
    std::cerr << (tty && !quiet ? "\n" : "") << "lstmidi-train: stopped by "
              << (stop->signal_number() == SIGTERM ? "SIGTERM" : "Ctrl-C (SIGINT)")
              << "; the run is saved in " << (fs::path(out) / "last.lstmidi").string() << " ("
              << (pos.batch == 0 ? "after epoch " + std::to_string(pos.epoch)
                                 : "epoch " + std::to_string(pos.epoch + 1) + ", batch " +
                                       std::to_string(pos.batch) + " of " +
                                       std::to_string(run.batches_per_epoch))
              << "); continue it with: " << resume_command << " --out " << out << " --resume\n";
    return 128 + stop->signal_number();
  });
#ifdef LSTMIDI_WITH_MPI
  // Every process that did not fail waits for the others, so that none ends while the watch
  // still runs (a failed one ends the job below, and that is no false alarm).
  if (group.size() > 1 && (status == 0 || status >= 128)) {
    try {
      group.barrier();
    } catch (const IoError&) {
    }
  }
  if (watch) watch->stop();
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
