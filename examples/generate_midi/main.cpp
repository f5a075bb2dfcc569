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
  app.add_option("--top-p", top_p,
                 "Sample only among the most likely events whose probabilities sum to P (for a "
                 "piano-roll model: each key's two outcomes)")
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
  app.add_option("--primer-notes", primer_notes,
                 "Start from these events: words of an events model, e.g. \"bar ts:3/4 pos:0 "
                 "prog:0 vel:20 C4 len:4 E4 len:4\", or tokens of an older model, e.g. \"C4 E4 G4 "
                 "C4.E4.G4:8 rest:4\"")
      ->excludes(pf);
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
    // A value typed on the command line that does not parse is a usage error (exit 2), as a
    // bad flag is; the message says which flag.
    auto from_flag = [](const char* flag, auto&& parse) {
      try {
        return parse();
      } catch (const FormatError& e) {
        throw std::invalid_argument(std::string(flag) + ": " + e.what());
      }
    };
    auto parse_saved_tokens = [](const std::string& text) { return music::parse_tokens(text); };
    // A saved opening (primers.txt), cut to --primer-length words and parsed by `parse`; a bad
    // line is an error that names the file and line.
    auto saved_primer_of = [&](std::uint64_t s, auto&& parse) {
      const music::SavedPrimer p = music::pick_saved_primer_line(
          model_dir, s, static_cast<std::size_t>(primer_len), &mm.meta);
      try {
        return parse(p.text);
      } catch (const std::exception& e) {
        throw FormatError(p.where + ": " + e.what());
      }
    };
    if (mm.mode == ModelMode::pianoroll) {
      for (const CLI::Option* o : {instruments_opt, ts_opt})
        if (o->count() > 0)
          throw std::invalid_argument(o->get_name() +
                                      " is for token models of the events encoding");
      // A piano-roll model draws each key as a coin: there is no ranking of events to cut
      // (--top-p applies to each key's two outcomes).
      if (top_k_opt->count() > 0)
        throw std::invalid_argument(
            "--top-k is for token models (a piano-roll model draws each key as a coin; use "
            "--temperature or --top-p)");
      if (num_outputs > 1) throw std::invalid_argument("--num-outputs is for token models");
      const music::RollOptions& ro = mm.roll;
      std::vector<music::Frame> primer;
      std::string primer_from;
      if (!primer_file.empty()) {
        primer = music::song_to_frames(music::read_midi(primer_file), ro);
        if (primer.size() > static_cast<size_t>(primer_len))
          primer.resize(static_cast<size_t>(primer_len));
        if (primer.empty())
          throw std::invalid_argument(primer_file + ": no frames to use as a primer");
        primer_from = primer_file;
      } else if (!primer_notes.empty()) {
        primer =
            from_flag("--primer-notes", [&] { return music::parse_frame_line(primer_notes, ro); });
        if (primer.empty()) throw std::invalid_argument("--primer-notes: no frames given");
        primer_from = "--primer-notes";
      } else {
        primer = saved_primer_of(
            seed, [&](const std::string& text) { return music::parse_frame_line(text, ro); });
        primer_from = "a training piece's opening";
      }
      if (picture.empty()) picture = fs::path(out).replace_extension(".svg").string();
      music::check_output_file(out, music::OutputKind::midi, model_dir, "--out");
      if (write_picture)
        music::check_output_file(picture, music::OutputKind::svg, model_dir, "--picture");
      Rng rng(seed);
      std::vector<music::Frame> all(primer);
      for (music::Frame& f :
           music::generate_frames(*mm.model, primer, length, temperature, rng, weights, top_p))
        all.push_back(std::move(f));
      const std::vector<music::Note> notes = music::frames_to_notes(all, ro, reattack);
      music::write_midi(out, notes, tempo, program);
      const double split = static_cast<double>(primer.size()) * ro.frame_beats;
      if (write_picture)
        write_file_atomic(picture, music::piano_roll_svg(notes, split,
                                                         fs::path(out).filename().string() +
                                                             " (grey: primer, blue: generated)"));
      std::cout << "wrote " << out << " (" << length << " generated frames after a primer of "
                << primer.size() << " from " << primer_from << ", " << notes.size() << " notes, "
                << static_cast<int>(static_cast<double>(all.size()) * ro.frame_beats * 60 / tempo)
                << " s" << weights_note << ")\n";
      if (write_picture) std::cout << "wrote " << picture << '\n';
      return 0;
    }
    const music::Encoder encoder(mm.encoder);
    using music::Vocabulary;
    const bool events = mm.encoder.encoding == music::Encoding::Events;
    if (events && program_opt->count() > 0)
      throw std::invalid_argument(
          "--program: this model writes the instruments it learned; choose among them with "
          "--instruments");
    if (reattack_opt->count() > 0)
      throw std::invalid_argument(
          "--reattack is for piano-roll models (a token model writes each note's own length)");
    if (!events && instruments_opt->count() > 0)
      throw std::invalid_argument("--instruments is for models trained with --encoding events");
    if (num_outputs > 1 && !picture.empty())
      throw std::invalid_argument(
          "--picture names one file; with --num-outputs each picture is written beside its MIDI "
          "file");
    const bool same_key = mm.meta.count("same_key") && mm.meta.at("same_key") == "1";

    // The primer, as tokens; from a file also its tempo, metre and key.
    std::vector<music::Token> primer;
    std::string primer_from;
    music::Song primer_song;
    bool have_primer_song = false;
    int key_shift = 0;  // semitones the primer was moved by (same-key models)
    if (!primer_file.empty()) {
      music::ReadOptions ro;
      ro.keep_drums = events;
      primer_song = music::read_midi(primer_file, ro);
      have_primer_song = true;
      if (same_key) key_shift = music::normalise_key(primer_song.notes);
      primer = encoder.encode(primer_song);
      if (primer.size() > static_cast<size_t>(primer_len))
        primer.resize(static_cast<size_t>(primer_len));
      if (primer.empty())
        throw std::invalid_argument(primer_file + ": no notes to use as a primer");
      primer_from = primer_file;
    } else if (!primer_notes.empty()) {
      primer = from_flag("--primer-notes", [&] { return encoder.parse(primer_notes); });
      if (primer.empty()) throw std::invalid_argument("--primer-notes: no events given");
      primer_from = "--primer-notes";
    } else {
      primer = saved_primer_of(seed, parse_saved_tokens);
      primer_from = "a training piece's opening";
    }
    // <bos> and the primer's ids. Real music (a file, a saved opening) may hold events the
    // vocabulary lacks: they become the nearest known ones; typed words must be known.
    auto primer_ids = [&](const std::vector<music::Token>& words) {
      std::vector<TokenId> ids{Vocabulary::kBos};
      std::size_t approximated = 0;
      for (const music::Token& t : words) {
        if (auto id = mm.vocab.find(t)) {
          ids.push_back(*id);
          continue;
        }
        if (primer_notes.empty()) {
          ids.push_back(mm.vocab.id(t));
          ++approximated;
          continue;
        }
        const TokenId near = mm.vocab.id(t);
        throw std::invalid_argument(
            "primer event " + quote_input(music::to_string(t)) +
            " is not in the model's vocabulary" +
            (mm.vocab.is_reserved(near)
                 ? std::string()
                 : " (nearest known: " + quote_input(music::to_string(mm.vocab.token(near))) +
                       ")"));
      }
      if (approximated)
        std::cerr
            << "note: " << approximated
            << " primer event(s) not in the vocabulary were replaced by the nearest known ones\n";
      return ids;
    };
    const bool saved_primer = primer_file.empty() && primer_notes.empty();
    if (!saved_primer) primer_ids(primer);  // refuses unknown typed words before any output

    GenerateOptions go;
    go.length = length;
    go.sampling = SamplingConfig{temperature, top_k, top_p};
    go.forbidden = {Vocabulary::kPad, Vocabulary::kUnk, Vocabulary::kBos, Vocabulary::kEos};
    go.weights = weights;
    std::string instruments_note;
    music::InstrumentFilter allowed;
    if (instruments_opt->count() > 0) {
      allowed = music::parse_instrument_list(instruments_flag);
      const auto masked = music::instrument_mask(mm.vocab, allowed);
      go.forbidden.insert(go.forbidden.end(), masked.forbidden.begin(), masked.forbidden.end());
      if (masked.allowed_words == 0)
        throw std::invalid_argument("--instruments " + instruments_flag +
                                    ": the model knows none of these (it knows: " +
                                    music::known_instruments(mm.vocab) + ")");
      instruments_note = ", instruments " + instruments_flag;
    }

    // Where the primer ends, in beats (the picture's grey part).
    auto primer_end = [&](const std::vector<music::Token>& words) {
      if (events) return encoder.events().position_after(words);
      double steps = 0;
      for (const auto& t : words)
        steps += mm.encoder.encoding == music::Encoding::PitchOnly ? mm.encoder.pitch_only_step
                                                                   : t.duration;
      return steps / mm.encoder.steps_per_beat;
    };
    const double file_split = primer_end(primer);
    // The written file's tempo, metre and key: the primer's, else the training data's most
    // common, else the flags (which win when given).
    music::Song frame;  // tempo, time and key signatures for every output
    if (tempo_opt->count() > 0) {
      frame.tempos = {{0.0, tempo}};
    } else if (have_primer_song && !primer_song.tempos.empty()) {
      for (const auto& t : primer_song.tempos)
        if (t.beat <= file_split || frame.tempos.empty()) frame.tempos.push_back(t);
    } else if (mm.meta.count("common_tempo")) {
      frame.tempos = {{0.0, music::detail::parse_meta_double(mm.meta, "common_tempo", 100)}};
    } else {
      frame.tempos = {{0.0, tempo}};
    }
    if (have_primer_song) frame.key_signatures = primer_song.key_signatures;
    if (frame.key_signatures.empty() && mm.meta.count("common_key"))
      frame.key_signatures = {music::parse_key_signature(mm.meta.at("common_key"))};
    music::TimeSignature ts_flag = music::parse_time_signature(time_signature);
    if (ts_opt->count() == 0) {
      if (have_primer_song && !primer_song.time_signatures.empty())
        ts_flag = primer_song.time_signatures.front();
      else if (mm.meta.count("common_time_signature"))
        ts_flag = music::parse_time_signature(mm.meta.at("common_time_signature"));
    }

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
      // A saved opening is picked by the output's own seed: the same file as a run with it.
      if (saved_primer) primer = saved_primer_of(seed_k, parse_saved_tokens);
      const std::vector<TokenId> ids = primer_ids(primer);
      const double split = primer_end(primer);
      Rng rng(seed_k);
      const std::vector<TokenId> gen = generate(*mm.model, ids, go, rng);
      std::vector<music::Token> all(primer);
      for (TokenId id : gen) all.push_back(mm.vocab.token(id));
      music::Song song = encoder.decode_song(all);
      std::size_t dropped = 0;
      if (instruments_opt->count() > 0) {  // notes the primer's instrument left sounding
        std::vector<music::Note> kept;
        for (const music::Note& n : song.notes)
          if (n.onset_beats < split || allowed.allows(n.drum, n.program, n.part))
            kept.push_back(n);
          else
            ++dropped;
        song.notes = std::move(kept);
      }
      music::transpose_pitches(song.notes, -key_shift);
      if (!(events && !song.time_signatures.empty() && ts_opt->count() == 0))
        song.time_signatures = {ts_flag};
      if (!(events && !song.tempos.empty() && tempo_opt->count() == 0)) song.tempos = frame.tempos;
      song.key_signatures = frame.key_signatures;
      if (!events)
        for (music::Note& n : song.notes) n.program = program;
      music::write_song(out_k, song);
      const std::string picture_k = picture_name(out_k);
      if (write_picture)
        write_file_atomic(picture_k, music::piano_roll_svg(song.notes, split,
                                                           fs::path(out_k).filename().string() +
                                                               " (grey: primer, blue: generated)"));
      double end_beats = 0;
      for (const auto& n : song.notes)
        end_beats = std::max(end_beats, n.onset_beats + n.duration_beats);
      const music::TimeSignature& ts_out = song.time_signatures.front();
      std::cout << "wrote " << out_k << " (" << gen.size() << " generated events after a primer of "
                << primer.size() << " from " << primer_from << ", " << song.notes.size()
                << " notes, " << static_cast<int>(end_beats * 60 / song.tempos.front().bpm)
                << " s, " << static_cast<int>(std::lround(song.tempos.front().bpm)) << " bpm, "
                << ts_out.numerator << "/" << ts_out.denominator
                << (song.key_signatures.empty()
                        ? std::string()
                        : ", key " + music::key_signature_name(song.key_signatures.front()))
                << instruments_note << weights_note << ")\n";
      if (key_shift != 0)
        std::cout
            << "  the model plays in C major / A minor: its output moved back to the primer's key ("
            << (key_shift > 0 ? "-" : "+") << std::abs(key_shift) << " semitones)\n";
      if (dropped)
        std::cout << "  " << dropped
                  << " note(s) left out: the primer's last instrument is not in --instruments\n";
      if (write_picture) std::cout << "wrote " << picture_k << '\n';
      if (mm.pitch_classes) {
        const music::PitchClassHistogram& corpus = *mm.pitch_classes;
        std::vector<music::Note> generated_only;
        for (const auto& n : song.notes)
          if (!n.drum && n.onset_beats >= split) generated_only.push_back(n);
        if (key_shift != 0)
          for (auto& n : generated_only) n.pitch += key_shift;  // compare in the model's key
        std::cout << "pitch-class distance to the training corpus (total variation, 0 = same): "
                  << music::total_variation(music::pitch_class_histogram(generated_only), corpus)
                  << '\n';
      }
    }
    return 0;
  });
}
