// SPDX-License-Identifier: MIT
// lstmidi-generate: write new music with a trained model.
//
//   lstmidi-generate --model runs/bach --out bach.mid [--length 200 --temperature 0.9 --seed 7]
//
// The primer (the music the model continues) is the opening of a MIDI file (--primer), a token
// list (--primer-notes "bar pos:0 C4 len:4 ..."), or by default one of the training openings
// saved with the model. Writes the MIDI file and a piano-roll picture next to it (.svg).
//
// Events models write a type-1 file: one track per instrument, the velocities the model chose,
// and the primer's tempo, time and key signatures (else the training data's most common, else
// the flags; --tempo and --time-signature win when given). --instruments masks the words of
// the other instruments; --num-outputs N writes N pieces with seeds seed .. seed+N-1.
//
// Pianoroll models generate --length frames; each key of a frame is drawn with
// p = sigmoid(z / temperature) (temperature 0: on when p > 1/2; --top-p P: the likelier outcome
// alone when its probability is at least P): every key on its own (independent output) or low
// to high, each given the keys below it (nade output). The primer is frames
// (--primer-notes "C4.E4.G4 rest G3.B3.D4"), the opening frames of a MIDI file, or a saved
// training opening. Keys on in consecutive frames become held notes unless --reattack.
//
// By default the LSTM weights are read as 16-bit floats where the build supports it
// (--weights auto): half the bytes per event; --weights float32 samples the model exactly.
#include <cctype>
#include <filesystem>
#include <iostream>
#include <lstmidi/core/quote.hpp>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/generate_piece.hpp>
#include <lstmidi/music/music.hpp>
#include <lstmidi/music/output_guard.hpp>
#include <lstmidi/sample/generator.hpp>
#include <sstream>

#include "cli_main.hpp"

namespace fs = std::filesystem;
using namespace lstmidi;

int main(int argc, char** argv) {
  CLI::App app{"Generate a MIDI file with a trained lstmidi model", "lstmidi-generate"};
  cli::add_version(app);
  std::string model_dir, out, primer_file, primer_notes, picture;
  int length = 200, top_k = 0, program = 0, primer_len = 32, threads = 1, num_outputs = 1;
  std::string instruments_flag, time_signature = "4/4";
  double temperature = 1.0, top_p = 1.0, tempo = 100;
  std::uint64_t seed = 1;
  app.add_option("--model", model_dir,
                 "Model written by lstmidi-train: its folder, or its model.lstmidi alone (which "
                 "carries the vocabulary and saved primers)")
      ->required();
  app.add_option("--out", out, "MIDI file to write")->required();
  app.add_option("--length", length,
                 "Events (tokens), or frames for a pianoroll model, to generate after the primer")
      ->check(cli::Range(1, 4000))
      ->capture_default_str();
  app.add_option("--temperature", temperature,
                 "Randomness: <1 safer, 1 the model's own distribution, >1 wilder; 0 = always the "
                 "most likely")
      ->check(cli::Range(0.0, 100.0))
      ->capture_default_str();
  auto* top_k_opt =
      app.add_option("--top-k", top_k, "Sample only among the K most likely events (0 = all)")
          ->check(cli::Range(0, 1000000))
          ->capture_default_str();
  auto* top_p_opt =
      app.add_option("--top-p", top_p,
                     "Sample only among the most likely events whose probabilities sum to P (a "
                     "piano-roll model: per key, of its two outcomes)")
          ->check(cli::Range(0.001, 1.0))
          ->capture_default_str();
  app.add_option("--seed", seed, "Random seed (same seed, same file)")
      ->check(cli::Seed())
      ->capture_default_str();
  auto* tempo_opt =
      app.add_option("--tempo", tempo,
                     "Tempo of the written file, quarter notes per minute (default: the "
                     "primer's, else the training data's most common, else 100)")
          ->check(cli::Range(10.0, 400.0));
  auto* ts_opt = app.add_option("--time-signature", time_signature,
                                "Time signature N/D of the written file (default: the model's "
                                "own time signature words, else the primer's, else the training "
                                "data's most common, else 4/4)");
  auto* program_opt =
      app.add_option("--program", program,
                     "Models of the durations and pitch-only encodings: General MIDI instrument "
                     "0-127 (0 = piano, 19 = church organ, 48 = strings)")
          ->check(cli::Range(0, 127))
          ->capture_default_str();
  auto* instruments_opt = app.add_option(
      "--instruments", instruments_flag,
      "Events models: the only instruments that may play what is generated, e.g. 73,33,drums "
      "(General MIDI programs; P/K for part K of program P)");
  app.add_option("--num-outputs", num_outputs,
                 "Pieces to write, with seeds seed .. seed+N-1 (named OUT-<seed>.mid when N > 1)")
      ->check(cli::Range(1, 1000))
      ->capture_default_str();
  auto* pf = app.add_option("--primer", primer_file, "Start from the opening of this MIDI file")
                 ->check(CLI::ExistingFile);
  auto* notes_opt =
      app.add_option(
             "--primer-notes", primer_notes,
             "Start from these events: words of an events model, e.g. \"bar ts:3/4 pos:0 "
             "prog:0 vel:20 C4 len:4 E4 len:4\", or tokens of an older model, e.g. \"C4 E4 G4 "
             "C4.E4.G4:8 rest:4\"")
          ->excludes(pf);
  int saved_primer = -1;
  auto* saved_opt =
      app.add_option("--saved-primer", saved_primer,
                     "Start from this saved training opening (0 = the first line of the model's "
                     "primers.txt) instead of the one the seed picks")
          ->check(cli::Range(0, 1000000))
          ->excludes(pf)
          ->excludes(notes_opt);
  app.add_option("--primer-length", primer_len, "Events taken from the primer file")
      ->check(cli::Range(1, 4096))
      ->capture_default_str();
  auto* picture_opt = app.add_option(
      "--picture", picture,
      "Piano-roll picture to write (default: the --out path with .svg; \"\" for none)");
  bool no_picture = false;
  app.add_flag("--no-picture", no_picture, "Write no piano-roll picture")->excludes(picture_opt);
  app.add_option("--threads", threads, "Worker threads")
      ->check(cli::Range(1, 256))
      ->capture_default_str();
  std::string weights_flag = "auto";
  app.add_option("--weights", weights_flag,
                 "Precision of the LSTM weights: float16 reads half the bytes per event "
                 "(faster for large models; next-event probabilities move by about 1e-4), "
                 "float32 samples the trained model exactly, auto = float16 where this build can "
                 "(AVX2, FMA, F16C), else float32")
      ->check(CLI::IsMember({"auto", "float32", "float16"}))
      ->capture_default_str();
  bool reattack = false;
  auto* reattack_opt = app.add_flag(
      "--reattack", reattack,
      "Pianoroll models: strike every frame's notes again instead of holding repeated keys");
  bool stop_at_end = false;
  app.add_flag("--stop-at-end", stop_at_end,
               "Token models: let the model end the piece (generation stops when it draws the end "
               "of a piece; --length is then the most events)");
  bool voices = false;
  app.add_flag("--voices", voices,
               "Events models: play every part as one voice, as the voices of a chorale are sung: "
               "one note at a time, and never silent once it has begun (the words that would "
               "break this are not drawn)");
  double length_temperature = 1.0;
  auto* length_temperature_opt =
      app.add_option("--length-temperature", length_temperature,
                     "Events models: the temperature of the note lengths (len words) alone "
                     "(default: --temperature)")
          ->check(CLI::Range(0.01, 100.0));
  bool end_at_bar = false;
  app.add_flag("--end-at-bar", end_at_bar,
               "Events models: end the piece at a bar line: after --length events, go on to the "
               "end of the bar (at most 1000 more events)");
  int min_length = 0;
  app.add_option("--min-length", min_length,
                 "With --stop-at-end: the model may not end the piece before this many events")
      ->check(cli::Range(0, 4000))
      ->capture_default_str();

  return cli::run(app, argc, argv, [&]() -> int {
    cli::set_threads(threads);
    const bool half_ok = LstmStepper<float>::half_supported();
    if (weights_flag == "float16" && !half_ok)
      throw std::invalid_argument(
          "--weights float16: this build cannot step with 16-bit weights, which needs AVX2, FMA "
          "and F16C (configure with -DLSTMIDI_ARCH=\"$(scripts/arch-flags.sh)\" on such a CPU, "
          "or use --weights float32)");
    const GenerationWeights weights =
        weights_flag == "float16" || (weights_flag == "auto" && half_ok)
            ? GenerationWeights::float16
            : GenerationWeights::float32;
    const char* weights_note =
        weights == GenerationWeights::float16 ? ", 16-bit weights" : ", float weights";
    if (temperature == 0)
      std::cerr << "warning: --temperature 0 always takes the most likely next event, and a "
                   "model then often plays one figure over and over; a temperature of 0.7 to 1, "
                   "or --top-k / --top-p, keeps it varied\n";
    // --picture "" or --no-picture: no picture at all.
    const bool write_picture = !no_picture && !(picture_opt->count() > 0 && picture.empty());
    {
      std::string ext = fs::path(out).extension().string();
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext != ".mid" && ext != ".midi")
        std::cerr << "warning: --out " << out
                  << " does not end in .mid or .midi; music players may not recognise it\n";
    }
    music::MusicModel<float> mm = music::load_music_model<float>(model_dir);
    const bool roll = mm.mode == ModelMode::pianoroll;
    if (roll && num_outputs > 1) throw std::invalid_argument("--num-outputs is for token models");
    if (!roll && num_outputs > 1 && !picture.empty())
      throw std::invalid_argument(
          "--picture names one file; with --num-outputs each picture is written beside its MIDI "
          "file");

    // The flags given, as the settings of a piece (an unset one is a flag not given).
    music::PieceSettings s;
    s.length = length;
    s.temperature = temperature;
    if (top_k_opt->count() > 0) s.top_k = top_k;
    if (top_p_opt->count() > 0) s.top_p = top_p;
    if (tempo_opt->count() > 0) s.tempo = tempo;
    if (ts_opt->count() > 0) s.time_signature = time_signature;
    if (program_opt->count() > 0) s.program = program;
    if (instruments_opt->count() > 0) s.instruments = instruments_flag;
    s.reattack = reattack_opt->count() > 0 && reattack;
    s.stop_at_end = stop_at_end;
    s.min_length = min_length;
    s.voices = voices;
    s.end_at_bar = end_at_bar;
    if (length_temperature_opt->count() > 0) s.length_temperature = length_temperature;
    s.weights = weights;
    s.primer.length = primer_len;
    if (!primer_file.empty()) {
      s.primer.kind = music::PrimerSource::Kind::midi;
      s.primer.midi =
          music::read_file_capped(primer_file, music::ReadOptions{}.limits.max_file_bytes);
      s.primer.midi_name = primer_file;
    } else if (!primer_notes.empty()) {
      s.primer.kind = music::PrimerSource::Kind::notes;
      s.primer.notes = primer_notes;
    } else if (saved_opt->count() > 0) {
      s.primer.saved_index = static_cast<std::size_t>(saved_primer);
    }
    music::PieceMaker<float> maker(mm, model_dir, std::move(s));

    // Every file this run writes, checked before any is written.
    auto output_name = [&](int k) {
      const std::uint64_t seed_k = seed + static_cast<std::uint64_t>(k);
      return num_outputs == 1 ? out
                              : (fs::path(out).parent_path() /
                                 (fs::path(out).stem().string() + "-" + std::to_string(seed_k) +
                                  fs::path(out).extension().string()))
                                    .string();
    };
    auto picture_name = [&](const std::string& out_k) {
      return picture.empty() ? fs::path(out_k).replace_extension(".svg").string() : picture;
    };
    for (int k = 0; k < num_outputs; ++k) {
      music::check_output_file(output_name(k), music::OutputKind::midi, model_dir, "--out");
      if (write_picture)
        music::check_output_file(picture_name(output_name(k)), music::OutputKind::svg, model_dir,
                                 "--picture");
    }

    for (int k = 0; k < num_outputs; ++k) {
      const std::uint64_t seed_k = seed + static_cast<std::uint64_t>(k);
      const std::string out_k = output_name(k);
      const music::Piece piece = maker.make(seed_k);
      if (piece.approximated)
        std::cerr
            << "note: " << piece.approximated
            << " primer event(s) not in the vocabulary were replaced by the nearest known ones\n";
      music::write_piece(out_k, piece);
      const std::string picture_k = picture_name(out_k);
      if (write_picture)
        write_file_atomic(picture_k, music::piano_roll_svg(piece.song.notes, piece.primer_beats,
                                                           fs::path(out_k).filename().string() +
                                                               " (grey: primer, blue: generated)"));
      const double bpm = piece.song.tempos.front().bpm;
      if (roll) {
        const double beats =
            static_cast<double>(piece.primer_size + piece.generated) * mm.roll.frame_beats;
        std::cout << "wrote " << out_k << " (" << piece.generated
                  << " generated frames after a primer of " << piece.primer_size << " from "
                  << piece.primer_from << ", " << piece.song.notes.size() << " notes, "
                  << static_cast<int>(beats * 60 / bpm) << " s" << weights_note << ")\n";
        if (write_picture) std::cout << "wrote " << picture_k << '\n';
        continue;
      }
      const music::TimeSignature& ts_out = piece.song.time_signatures.front();
      std::cout << "wrote " << out_k << " (" << piece.generated
                << (piece.ended ? " generated events, ended by the model, after a primer of "
                                : " generated events after a primer of ")
                << piece.primer_size << " from " << piece.primer_from << ", "
                << piece.song.notes.size() << " notes, "
                << static_cast<int>(music::piece_end_beats(piece) * 60 / bpm) << " s, "
                << static_cast<int>(std::lround(bpm)) << " bpm, " << ts_out.numerator << "/"
                << ts_out.denominator
                << (piece.song.key_signatures.empty()
                        ? std::string()
                        : ", key " + music::key_signature_name(piece.song.key_signatures.front()))
                << (instruments_opt->count() > 0 ? ", instruments " + instruments_flag
                                                 : std::string())
                << weights_note << ")\n";
      if (piece.key_shift != 0)
        std::cout
            << "  the model plays in C major / A minor: its output moved back to the primer's key ("
            << (piece.key_shift > 0 ? "-" : "+") << std::abs(piece.key_shift) << " semitones)\n";
      if (piece.dropped)
        std::cout << "  " << piece.dropped
                  << " note(s) left out: the primer's last instrument is not in --instruments\n";
      if (write_picture) std::cout << "wrote " << picture_k << '\n';
      if (piece.pitch_class_distance)
        std::cout << "pitch-class distance to the training corpus (total variation, 0 = same): "
                  << *piece.pitch_class_distance << '\n';
    }
    return 0;
  });
}
