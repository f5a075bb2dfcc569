// SPDX-License-Identifier: MIT
// lstmidi-eval: score a trained model on a folder of MIDI files, or compare the music statistics
// of two folders.
//
//   lstmidi-eval --model runs/jsb --data jsb_chorales/valid
//   lstmidi-eval --generated out/generated --reference jsb_chorales/train [--steps-per-beat 4]
//   lstmidi-eval --round-trip my_midi_folder --out round_tripped [--instruments parts]
//
// Scoring mode (--model, --data). Every file is scored as a whole piece from its start, the
// LSTM state carried from step to step. Pianoroll models: the NLL of every frame given the frames
// before it (the first predicted from the all-zero frame), pooled over all frames of all files,
// in nats per frame: the number the polyphonic-music benchmarks publish (Boulanger-Lewandowski
// et al. 2012). Tokens models: the NLL per token of every next-token prediction
// (music::score_sequences). The last line printed is always "nll_per_step <nats>".
//
// Comparison mode (--generated, --reference; no model). The statistics of music/statistics.hpp
// for every piece of both folders, then per feature the mean on each side and the overlapping
// area of the two distributions (docs/statistics.md). The last line printed is always
// "mean_overlap <0..1>".
//
// Round-trip mode (--round-trip, --out; no model). Every file is read, encoded with the events
// encoding, decoded and written under --out (same relative path), then read back and compared
// note by note with the original on the grid: onset, length, pitch, instrument, velocity bin
// (music/round_trip.hpp). The written files can be checked with any MIDI tool. The last line
// printed is always "round_trip_exact <share 0..1>".
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/music.hpp>
#include <lstmidi/music/pianoroll.hpp>
#include <lstmidi/music/round_trip_folder.hpp>
#include <lstmidi/music/statistics.hpp>

#include "cli_main.hpp"

using namespace lstmidi;

namespace {

/// The notes of every usable piece under `dir`; warns (stderr) about each file left out.
std::vector<std::vector<music::Note>> load_pieces(const std::string& dir) {
  music::ReadOptions ro;
  ro.keep_drums = true;  // the statistics leave drums out of the pitch features themselves
  const music::Dataset ds = music::load_folder(dir, ro);
  for (const auto& w : ds.warnings) std::cerr << "warning: " << w << '\n';
  std::vector<std::vector<music::Note>> pieces;
  for (const music::Song& s : ds.songs) {
    if (music::has_usable_notes(s.notes))
      pieces.push_back(s.notes);
    else
      std::cerr << "warning: " << s.source << ": no notes; left out\n";
  }
  if (pieces.empty())
    throw std::runtime_error(dir + ": no usable MIDI files (" + std::to_string(ds.songs.size()) +
                             " without notes, " + std::to_string(ds.skipped) + " unreadable)");
  return pieces;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Score a trained lstmidi model on a folder of MIDI files (--model, --data), or compare the "
      "music statistics of two folders (--generated, --reference)",
      "lstmidi-eval"};
  cli::add_version(app);
  std::string model_dir, data, generated, reference, round_trip, out_dir, instruments = "parts";
  int threads = 1, chunk = 256, steps_per_beat = 4;
  CLI::Option* model_opt = app.add_option("--model", model_dir,
                                          "Scoring: model written by lstmidi-train, its folder or "
                                          "its model.lstmidi alone (with --data)");
  CLI::Option* data_opt = app.add_option(
      "--data", data, "Scoring: folder of .mid/.midi files (searched recursively), or one file");
  CLI::Option* threads_opt =
      app.add_option("--threads", threads, "Scoring: worker threads (0 = all cores)")
          ->check(cli::Range(0, 256))
          ->capture_default_str();
  CLI::Option* chunk_opt =
      app.add_option("--chunk", chunk,
                     "Scoring: steps per forward call (the state is carried across chunks)")
          ->check(cli::Range(1, 100000))
          ->capture_default_str();
  CLI::Option* generated_opt = app.add_option(
      "--generated", generated,
      "Comparison: folder (or file) of generated MIDI files, compared with --reference");
  CLI::Option* reference_opt =
      app.add_option("--reference", reference, "Comparison: folder (or file) of real MIDI files");
  CLI::Option* spb_opt = app.add_option("--steps-per-beat", steps_per_beat,
                                        "Comparison and round trip: grid the notes are snapped to")
                             ->check(cli::Range(1, 240))
                             ->capture_default_str();
  CLI::Option* round_trip_opt = app.add_option(
      "--round-trip", round_trip,
      "Round trip: folder (or file) of MIDI files to encode, decode and write to --out");
  CLI::Option* out_opt =
      app.add_option("--out", out_dir, "Round trip: folder for the round-tripped files");
  CLI::Option* instruments_opt =
      app.add_option("--instruments", instruments,
                     "Round trip: what the instrument words keep (parts, programs, families)")
          ->check(CLI::IsMember({"parts", "programs", "families"}))
          ->capture_default_str();

  // The two modes: the flags of one are refused, not ignored, in the other.
  auto check_usage = [&]() {
    const bool comparing = generated_opt->count() > 0 || reference_opt->count() > 0;
    const bool tripping = round_trip_opt->count() > 0 || out_opt->count() > 0;
    auto refuse = [](const CLI::Option* o, const char* why) {
      if (o->count() > 0) throw std::invalid_argument(o->get_name() + " " + why + " (see --help)");
    };
    if (tripping) {
      for (const CLI::Option* o :
           {model_opt, data_opt, threads_opt, chunk_opt, generated_opt, reference_opt})
        refuse(o, "has no effect with --round-trip");
      if (round_trip_opt->count() == 0 || out_opt->count() == 0)
        throw std::invalid_argument("--round-trip and --out go together (see --help)");
      return;
    }
    refuse(instruments_opt, "is for --round-trip");
    if (comparing) {
      for (const CLI::Option* o : {model_opt, data_opt, threads_opt, chunk_opt})
        refuse(o, "is for scoring a model and has no effect with --generated/--reference");
      if (generated_opt->count() == 0 || reference_opt->count() == 0)
        throw std::invalid_argument(
            "--generated and --reference go together: give both folders to compare (see --help)");
      return;
    }
    refuse(spb_opt, "is for comparing --generated with --reference and has no effect when scoring");
    if (model_opt->count() == 0 && data_opt->count() == 0)
      throw std::invalid_argument(
          "give --model and --data to score a model, or --generated and --reference to compare "
          "two folders of MIDI files (see --help)");
    if (model_opt->count() == 0)
      throw std::invalid_argument("--model is required to score --data (see --help)");
    if (data_opt->count() == 0)
      throw std::invalid_argument("--data is required to score --model (see --help)");
  };

  auto compare = [&]() -> int {
    const auto gen = load_pieces(generated);
    const auto ref = load_pieces(reference);
    const music::SetComparison c = music::compare_sets(gen, ref, steps_per_beat);
    std::cout << "generated: " << c.generated_pieces << " pieces from " << generated
              << "\nreference: " << c.reference_pieces << " pieces from " << reference
              << "\ngrid: " << steps_per_beat << " steps per beat\n";
    std::cout.setf(std::ios::fixed);
    std::cout.precision(4);
    std::cout << std::left << std::setw(22) << "feature" << std::right << std::setw(12)
              << "generated" << std::setw(12) << "reference" << std::setw(9) << "overlap" << '\n';
    for (const auto& f : c.features)
      std::cout << std::left << std::setw(22) << f.name << std::right << std::setw(12)
                << f.generated_mean << std::setw(12) << f.reference_mean << std::setw(9)
                << f.overlap << '\n';
    std::cout.precision(6);
    std::cout << "mean_overlap " << c.mean_overlap << '\n';
    return 0;
  };

  auto trip = [&]() -> int {
    music::EncoderOptions eo;
    eo.encoding = music::Encoding::Events;
    eo.steps_per_beat = steps_per_beat;
    eo.events.instruments = music::parse_instrument_mode(instruments);
    eo.events.tempo = true;
    const music::FolderRoundTrip t = music::round_trip_folder(
        round_trip, out_dir, eo,
        [](const std::filesystem::path& f, const music::RoundTripStats& st) {
          if (st.exact != st.notes)
            std::cout << f.string() << ": " << st.exact << " of " << st.notes << " notes exact\n";
        },
        [](const std::string& why) { std::cerr << "warning: " << why << " (skipped)\n"; });
    std::cout << "round trip (events encoding, " << steps_per_beat
              << " steps per beat, instruments " << instruments << "): " << t.written
              << " files written to " << out_dir << ", " << t.skipped << " unreadable\n"
              << "notes exact on the grid (onset, length, pitch, instrument, velocity bin): "
              << t.notes.exact << " of " << t.notes.notes << "\n"
              << "time signatures kept at their beat: " << t.signatures_kept << " of "
              << t.signatures << " (a change inside a bar moves to the next bar line)\n"
              << "key signatures kept: " << t.keys_kept << " of " << t.keys << '\n';
    std::cout.setf(std::ios::fixed);
    std::cout.precision(6);
    std::cout << "round_trip_exact " << t.notes.share() << '\n';
    return 0;
  };

  auto score = [&]() -> int {
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
      music::ReadOptions ro;
      ro.keep_drums = mm.encoder.encoding == music::Encoding::Events;
      const music::Corpus corpus = music::load_corpus(data, encoder, ro, same_key);
      for (const auto& w : corpus.warnings) std::cerr << "warning: " << w << '\n';
      std::vector<std::vector<TokenId>> ids;
      for (const auto& piece : corpus.pieces) ids.push_back(mm.vocab.encode(piece));
      const std::set<std::uint32_t> trained_on = music::training_pieces(mm.meta);
      std::size_t seen = 0;
      for (const auto& piece_ids : ids)
        seen += trained_on.count(music::piece_fingerprint(piece_ids));
      if (seen > 0)
        std::cerr << "warning: " << seen << " of " << ids.size()
                  << " files are pieces this model was trained on: their score flatters it (the "
                     "training run's evaluation.txt scores its held-out pieces)\n";
      const music::SequenceScore s = music::score_sequences(*mm.model, ids, chunk);
      std::cout << "tokens model; " << corpus.pieces.size() << " files, " << s.tokens
                << " tokens; perplexity " << s.perplexity() << ", accuracy " << 100 * s.accuracy
                << "%\n";
      // The table of the run's evaluation.txt, on these files (models that carry the
      // baselines' training counts).
      if (const auto counts = music::embedded_file(mm.meta, music::kBigramsFile)) {
        const auto base =
            music::score_ngrams(music::ngram_counts_from_text(*counts, model_dir), ids);
        std::cout << "whole pieces, against the baselines fitted on the training pieces:\n"
                  << music::baseline_table(s, base);
      }
      nll = s.nll;
    }
    std::cout.precision(6);
    std::cout << "nll_per_step " << nll << '\n';
    return 0;
  };

  return cli::run(app, argc, argv, [&]() -> int {
    check_usage();
    if (round_trip_opt->count() > 0) return trip();
    return generated_opt->count() > 0 ? compare() : score();
  });
}
