// SPDX-License-Identifier: MIT
/// music::train_run: a whole training run on MIDI files, as lstmidi-train does it, callable from
/// any program: read the folder, build the windows and the model, check the memory it needs,
/// train with the Trainer (checkpoints, early stopping, resume), leave the files the generator
/// reads (vocabulary, primers, settings, metadata in every model file), and score the best
/// model against the baselines.
///
///   music::TrainSettings s;  s.data = "chorales/"; s.out = "runs/bach"; s.epochs = 10;
///   music::RunOutcome r = music::train_run(s);   // r.report: the evaluation, as printed
///
/// Steps, in order, each printed to hooks.out: data (and the split), memory, model; then the
/// folder is claimed (hooks.claim_folder) and written; then training; then the report.
#pragma once

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "lstmidi/io/binary.hpp"
#include "lstmidi/model/checkpoint.hpp"
#include "lstmidi/model/model.hpp"
#include "lstmidi/music/corpus.hpp"
#include "lstmidi/music/frame_sampler.hpp"
#include "lstmidi/music/model_metadata.hpp"
#include "lstmidi/music/roll_corpus.hpp"
#include "lstmidi/music/roll_model.hpp"
#include "lstmidi/music/run_files.hpp"
#include "lstmidi/music/run_report.hpp"
#include "lstmidi/music/train_settings.hpp"
#include "lstmidi/music/windows.hpp"
#include "lstmidi/train/memory_estimate.hpp"
#include "lstmidi/train/process_group.hpp"
#include "lstmidi/train/settings_file.hpp"
#include "lstmidi/train/trainer.hpp"

namespace lstmidi::music {

/// How a run talks to whoever started it, and the steps that are theirs.
struct RunHooks {
  std::ostream* out = &std::cout;  // what the run does (data, model, report)
  std::ostream* err = &std::cerr;  // warnings
  /// How a setting is named to the reader: a program names its flag ("lr" -> "--lr").
  std::function<std::string(const std::string&)> name = [](const std::string& s) { return s; };
  /// Called once the model is built, before the first file is written to the run folder (a
  /// program takes the folder's lock here). May be empty.
  std::function<void()> claim_folder;
  /// The settings file a new run leaves (settings.ini); empty: none written.
  std::function<std::string()> settings_text;
  TrainObserver* observer = nullptr;  // progress; not owned
  /// Called when training begins (the data and the model ready): the flag that, raised, asks
  /// the run to save and stop (TrainOptions::stop), or nullptr. A program installs its signal
  /// handler here, so that Ctrl-C while the data loads still ends it at once.
  std::function<const std::atomic<bool>*()> stop;
  /// Called after the Trainer is built and, on --resume, has read its checkpoint.
  std::function<void(const SamplerPosition&)> resumed;
  /// Data-parallel training (train/process_group.hpp): this process's group, or nullptr to
  /// train alone. Every process of the group runs the same train_run; process 0 alone writes
  /// the run folder and the report, the others return after training.
  ProcessGroup* group = nullptr;
};

struct RunOutcome {
  TrainResult result;
  double elapsed = 0;        // seconds trained, over every resume
  SamplerPosition position;  // where training stopped
  std::size_t batches_per_epoch = 0;
  std::string report;  // evaluation.txt (empty when the run was interrupted)
};

namespace detail {

/// Whether this process writes the run's files: alone, or process 0 of a group.
inline bool leads(const RunHooks& h) {
  return !h.group || h.group->rank() == 0;
}

/// Prints what the corpus cache did: a line on out, and why a cache present was not used.
inline void report_cache(const CacheReport& c, const RunHooks& h) {
  if (!c.note.empty()) *h.err << "warning: corpus cache: " << c.note << '\n';
  if (!c.file.empty()) *h.out << "cache: " << describe(c) << '\n';
}

/// No more windows per batch than there are windows (the rest would be padding); returns the
/// windows per batch used.
template <typename Sampler>
Index cap_batch(Sampler& sampler, const TrainSettings& s, const RunHooks& h) {
  const std::size_t windows = sampler.train_windows();
  if (static_cast<std::size_t>(s.batch) > windows) {
    *h.out << "batch: " << windows << " windows per batch (there are only " << windows
           << " training windows; " << h.name("batch") << ' ' << s.batch
           << " would pad the rest)\n";
    sampler.set_batch_size(static_cast<Index>(windows));
  }
  return static_cast<Index>(std::min<std::size_t>(static_cast<std::size_t>(s.batch), windows));
}

/// Prints the memory training will take and refuses settings above the limit, before anything
/// large is allocated.
inline void check_memory(const ModelConfig& mc, Index batch_used, const TrainSettings& s,
                         const RunHooks& h) {
  const std::uint64_t need = training_memory_bytes<float>(mc, s.seq_len, batch_used);
  const bool given = parse_byte_size(s.max_memory) > 0;
  const std::uint64_t limit = memory_limit(s);
  *h.out << "memory: about " << format_bytes(need) << " for training";
  if (limit > 0) *h.out << " (limit " << format_bytes(limit) << ", " << h.name("max-memory") << ")";
  *h.out << '\n';
  if (limit > 0 && need > limit)
    throw std::invalid_argument(
        "these settings need about " + format_bytes(need) + " of memory to train (" +
        std::to_string(s.seq_len) + " steps x " + std::to_string(batch_used) +
        " windows per batch, " + std::to_string(s.layers) + " x LSTM(" + std::to_string(s.hidden) +
        "), " + std::to_string(mc.vocab_size) + " outputs), more than the limit of " +
        format_bytes(limit) + " (" +
        (given ? h.name("max-memory") : "80% of this machine's memory, or of ulimit -v") +
        "): lower " + h.name("batch") + ", " + h.name("seq-len") + " or " + h.name("hidden") +
        ", or raise " + h.name("max-memory"));
}

/// How many pieces validate, and why that many; a run with none says what that costs.
inline void report_split(std::size_t pieces, std::size_t held, const TrainSettings& s,
                         const RunHooks& h) {
  if (!s.valid_data.empty()) return;
  if (held == 0) {
    *h.err << "warning: no validation pieces (" << pieces << " piece(s), "
           << h.name("valid-fraction") << ' ' << s.valid_fraction
           << "): the model saved is the last one, and no baseline comparison is made; give "
              "more files, or "
           << h.name("valid-fraction") << " above 0\n";
    return;
  }
  *h.out << "split: " << held << " of " << pieces << " pieces held out for validation ("
         << 100.0 * static_cast<double>(held) / static_cast<double>(pieces) << "%; "
         << h.name("valid-fraction") << ' ' << s.valid_fraction << " of " << pieces
         << " pieces, rounded, at least one)\n";
}

/// One-file model: every saved model carries the run's vocabulary, primers and settings.
inline void embed_run_files(std::map<std::string, std::string>& meta, const std::string& out) {
  for (const char* name : {kVocabFile, kPrimersFile, kSettingsFile}) {
    const std::filesystem::path f = std::filesystem::path(out) / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) continue;
    const std::vector<std::uint8_t> bytes = read_file_bytes(f.string(), std::size_t{64} << 20);
    embed_file(meta, name, std::string(bytes.begin(), bytes.end()));
  }
}

/// Writes the files a new run leaves: its primers and its settings.
inline void write_new_run_files(const TrainSettings& s, const RunHooks& h,
                                const std::string& primers) {
  write_file_atomic((std::filesystem::path(s.out) / kPrimersFile).string(), primers);
  if (h.settings_text)
    write_file_atomic((std::filesystem::path(s.out) / kSettingsFile).string(), h.settings_text());
}

/// The training loop of both modes, and where it stopped.
template <typename Sampler>
RunOutcome train_loop(Model<float>& model, Sampler& sampler, Rng& rng,
                      std::map<std::string, std::string> meta, const TrainSettings& s,
                      const RunHooks& h) {
  embed_run_files(meta, s.out);
  TrainOptions to = train_options(s);
  if (h.stop) to.stop = h.stop();
  Trainer<float, Sampler> trainer(model, sampler, to, rng, meta);
  trainer.set_process_group(h.group);
  if (s.resume) trainer.resume();
  if (h.resumed && s.resume) h.resumed(sampler.position());
  RunOutcome r;
  r.result = trainer.run(h.observer);
  r.elapsed = trainer.state().elapsed;
  r.position = sampler.position();
  r.batches_per_epoch = sampler.batches_per_epoch();
  return r;
}

/// The report's last line, and where the report goes.
inline void finish_report(RunOutcome& r, std::string body, const TrainSettings& s,
                          const RunHooks& h) {
  const std::string model_file = (std::filesystem::path(s.out) / kModelFile).string();
  body += "best epoch " + std::to_string(r.result.best_epoch) + " of " +
          std::to_string(r.result.history.size()) + "; model: " + model_file + '\n';
  write_file_atomic((std::filesystem::path(s.out) / "evaluation.txt").string(), body);
  *h.out << body;
  r.report = std::move(body);
}

/// Claims the run folder (hooks.claim_folder) and makes sure it exists.
inline void claim(const TrainSettings& s, const RunHooks& h) {
  if (!leads(h)) return;  // process 0 holds the folder for the group
  if (h.claim_folder) h.claim_folder();
  std::error_code ec;
  std::filesystem::create_directories(s.out, ec);
  if (ec) throw IoError(s.out + ": cannot create the output directory (" + ec.message() + ")");
}

}  // namespace detail

/// Tokens mode: MIDI -> tokens -> vocabulary -> windows; an LSTM over the vocabulary.
inline RunOutcome train_token_run(const TrainSettings& s, const RunHooks& h = {}) {
  // 1. Data.
  const EncoderOptions eo = encoder_options(s);
  const Encoder encoder(eo);
  if (eo.encoding == Encoding::Events) encoder.events();  // checks the bar length
  ReadOptions ro;
  ro.keep_drums = s.keep_drums || eo.encoding == Encoding::Events;
  ro.sustain = s.sustain;
  CacheReport cache_report;
  const Corpus corpus =
      load_corpus(s.data, encoder, ro, s.same_key, cache_setting(s.cache), &cache_report);
  detail::report_cache(cache_report, h);
  for (const auto& w : corpus.warnings) *h.err << "warning: " << w << '\n';
  if (corpus.skipped) *h.err << "skipped " << corpus.skipped << " unreadable file(s)\n";
  const auto vocab = Vocabulary::build(
      s.transpose > 0 ? with_transpositions(corpus.pieces, s.transpose) : corpus.pieces,
      VocabularyOptions{s.min_count, 0});
  WindowSampler sampler(corpus.pieces, vocab, window_options(s));
  const Index batch_used = detail::cap_batch(sampler, s, h);
  *h.out << "data: " << corpus.pieces.size() << " pieces, " << corpus.notes << " notes -> "
         << vocab.size() << " tokens in the vocabulary; " << sampler.train_windows()
         << " training / " << sampler.valid_windows() << " validation windows of " << s.seq_len
         << ", " << sampler.batches_per_epoch() << " batches per epoch\n";
  std::vector<std::vector<TokenId>> train_ids, valid_ids;
  for (std::size_t i = 0; i < corpus.pieces.size(); ++i)
    (sampler.is_validation_piece(i) ? valid_ids : train_ids)
        .push_back(vocab.encode(corpus.pieces[i]));
  detail::report_split(corpus.pieces.size(), valid_ids.size(), s, h);

  // 2. The model and the files that describe it.
  const ModelConfig mc = model_config(s, vocab.size());
  detail::check_memory(mc, batch_used, s, h);
  Rng rng(s.seed);
  Model<float> model(mc);
  model.init(rng);
  *h.out << "model: " << s.layers << " x LSTM(" << s.hidden << "), embedding " << s.embedding
         << ", dropout " << s.dropout << ", " << model.num_params() << " parameters, "
         << Eigen::nbThreads() << " thread(s)\n";
  detail::claim(s, h);
  const auto meta = token_run_metadata(corpus, encoder, vocab, sampler, s.same_key);
  const std::filesystem::path out(s.out);
  if (!s.resume && detail::leads(h)) {
    vocab.save(out / kVocabFile);
    detail::write_new_run_files(s, h,
                                token_primers_text(corpus.pieces, vocab, sampler, s.seed,
                                                   static_cast<std::size_t>(s.primer_len)));
  } else if (s.resume && !(Vocabulary::load(out / kVocabFile) == vocab)) {
    throw std::invalid_argument(s.out +
                                ": the data or settings changed since the run began (the "
                                "vocabulary differs); resume with the same " +
                                h.name("data") + " and settings");
  }

  // 3. Train.
  RunOutcome r = detail::train_loop(model, sampler, rng, meta, s, h);
  if (r.result.reason == StopReason::interrupted || !detail::leads(h)) return r;

  // 4. The best model against n-gram baselines on the same validation pieces.
  auto best = load_model<float>((out / kModelFile).string());
  detail::finish_report(
      r, token_report(*best, train_ids, valid_ids, vocab.size(), s.seq_len, h.name), s, h);
  return r;
}

/// Piano-roll mode: 88-key frames, every key of the next frame predicted (sigmoid outputs).
inline RunOutcome train_roll_run(const TrainSettings& s, const RunHooks& h = {}) {
  RollOptions ro;
  ro.frame_beats = s.frame_beats;
  ReadOptions rd;
  rd.keep_drums = s.keep_drums;
  rd.sustain = s.sustain;
  CacheReport cache_report;
  const RollCorpus corpus = load_roll_corpus(s.data, ro, rd, cache_setting(s.cache), &cache_report);
  detail::report_cache(cache_report, h);
  for (const auto& w : corpus.warnings) *h.err << "warning: " << w << '\n';
  std::vector<std::vector<Frame>> valid_pieces;
  if (!s.valid_data.empty()) {
    RollCorpus vc = load_roll_corpus(s.valid_data, ro, rd, cache_setting(s.cache), &cache_report);
    detail::report_cache(cache_report, h);
    for (const auto& w : vc.warnings) *h.err << "warning: " << w << '\n';
    valid_pieces = std::move(vc.pieces);
  }
  FrameSampler sampler(corpus.pieces, frame_window_options(s, ro.keys), valid_pieces);
  const Index batch_used = detail::cap_batch(sampler, s, h);
  const auto train_pieces = sampler.pieces(false), held_out = sampler.pieces(true);
  *h.out << "data: " << corpus.pieces.size() << " pieces, " << corpus.frames << " frames of "
         << s.frame_beats << " beat(s); " << sampler.train_windows() << " training / "
         << sampler.valid_windows() << " validation windows of " << s.seq_len << " ("
         << held_out.size() << " validation pieces"
         << (s.valid_data.empty() ? " held out" : " from " + s.valid_data) << "), "
         << sampler.batches_per_epoch() << " batches per epoch\n";
  detail::report_split(corpus.pieces.size(), held_out.size(), s, h);

  const ModelConfig mc = model_config(s, ro.keys);
  detail::check_memory(mc, batch_used, s, h);
  Rng rng(s.seed);
  Model<float> model(mc);
  model.init(rng);
  *h.out << "model: pianoroll, " << ro.keys << " keys, " << s.layers << " x LSTM(" << s.hidden
         << "), " << s.output << " output"
         << (mc.output == FrameOutput::nade ? " (" + std::to_string(mc.nade_hidden) + " hidden)"
                                            : std::string())
         << ", dropout " << s.dropout << ", input dropout " << s.input_dropout << ", weight drop "
         << s.weight_drop << ", " << model.num_params() << " parameters, " << Eigen::nbThreads()
         << " thread(s)\n";
  detail::claim(s, h);
  const std::vector<double> key_probs = unigram_key_probabilities(train_pieces, ro.keys);
  auto meta = pianoroll_metadata(ro, key_probs);
  meta["data_crc"] = std::to_string(sampler.checksum());
  if (!s.resume && detail::leads(h))
    detail::write_new_run_files(
        s, h, frame_primers_text(train_pieces, ro, s.seed, static_cast<std::size_t>(s.primer_len)));

  RunOutcome r = detail::train_loop(model, sampler, rng, meta, s, h);
  if (r.result.reason == StopReason::interrupted || !detail::leads(h)) return r;

  auto best = load_model<float>((std::filesystem::path(s.out) / kModelFile).string());
  detail::finish_report(r, roll_report(*best, held_out, key_probs), s, h);
  return r;
}

/// A run of either mode (TrainSettings::mode). Throws std::invalid_argument when a setting is
/// given that the mode or encoding does not read (unread_setting), naming it with hooks.name.
inline RunOutcome train_run(const TrainSettings& s, const RunHooks& h = {}) {
  require(!s.out.empty(), "train_run: the run needs an output folder (TrainSettings::out)");
  if (const auto u = unread_setting(s)) {
    const bool mode = u->read_by.rfind("mode ", 0) == 0;
    throw std::invalid_argument(
        h.name(u->setting) + " is for " + h.name(mode ? "mode" : "encoding") + " " +
        u->read_by.substr(u->read_by.find(' ') + 1) +
        (mode ? " and has no effect in " + s.mode + " mode"
              : " and has no effect with " + h.name("encoding") + " " + s.encoding));
  }
  return s.pianoroll() ? train_roll_run(s, h) : train_token_run(s, h);
}

}  // namespace lstmidi::music
