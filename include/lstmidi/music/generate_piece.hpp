// SPDX-License-Identifier: MIT
/// One generated piece from a loaded model folder: the whole way from settings to the notes of a
/// MIDI file, shared by lstmidi-generate and lstmidi-studio, so the same settings and seed give
/// the same file byte for byte in both.
///
///   PieceMaker(mm, model path, settings)   checks every setting against the model, reads and
///                                          parses the primer (a MIDI file's bytes, typed words
///                                          or frames, or a saved opening)
///   make(seed)                             primer ids -> generate() or generate_frames() ->
///                                          tokens -> Song (tempo, metre, key), as a Piece
///   write_piece(path, piece)               the file: write_song (tokens models, one track per
///                                          instrument) or write_midi (piano-roll models)
///
/// Token models: the primer is <bos> then its words; real music (a file, a saved opening) may
/// hold events the vocabulary lacks, which become the nearest known ones, while typed words
/// must be known. Padding, <unk>, <bos>, <eos> and the words of instruments left out of
/// `instruments` are never drawn. The written tempo, metre and key are the primer's, else the
/// training data's most common, else the defaults; `tempo` and `time_signature` win when set.
/// A same-key model's output moves back to the primer's key.
///
/// Piano-roll models generate `length` frames after the primer (see roll_model.hpp); keys on in
/// consecutive frames become held notes unless `reattack`.
///
/// Errors: a setting that does not fit the model throws std::invalid_argument naming the
/// lstmidi-generate flag; a primer file that cannot be read throws FormatError / IoError.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/core/quote.hpp"
#include "lstmidi/core/rng.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/file_io.hpp"
#include "lstmidi/music/instrument_filter.hpp"
#include "lstmidi/music/key.hpp"
#include "lstmidi/music/metrics.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/model_dir.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/pianoroll.hpp"
#include "lstmidi/music/piece.hpp"
#include "lstmidi/music/saved_primers.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/music/voice_rule.hpp"
#include "lstmidi/sample/generator.hpp"

namespace lstmidi::music {

template <typename T>
class PieceMaker {
 public:
  /// Checks `s` against the model and reads the primer; `model_path` is the folder or the
  /// one-file model `mm` was loaded from (its saved openings).
  PieceMaker(MusicModel<T>& mm, std::filesystem::path model_path, PieceSettings s)
      : mm_(mm), path_(std::move(model_path)), s_(std::move(s)), encoder_(mm.encoder) {
    if (mm_.mode == ModelMode::pianoroll)
      prepare_frames();
    else
      prepare_tokens();
  }

  const PieceSettings& settings() const { return s_; }

  /// Replaces the progress callback (PieceSettings::progress) for the next pieces.
  void set_progress(std::function<void(Index, Index)> progress) {
    s_.progress = progress;
    go_.progress = std::move(progress);
  }

  Piece make(std::uint64_t seed) {
    return mm_.mode == ModelMode::pianoroll ? make_frames(seed) : make_tokens(seed);
  }

 private:
  MusicModel<T>& mm_;
  std::filesystem::path path_;
  PieceSettings s_;
  Encoder encoder_;
  bool events_ = false;
  std::string primer_from_;
  std::vector<Token> primer_;  // token models; saved openings: set per seed
  std::vector<Frame> frames_;  // piano-roll models
  Song primer_song_;
  bool have_primer_song_ = false;
  int key_shift_ = 0;
  GenerateOptions go_;
  InstrumentFilter allowed_;
  Song frame_;  // tempo map, metre and key of every output (song_frame)

  bool saved() const { return s_.primer.kind == PrimerSource::Kind::saved; }

  // A value typed by the user that does not parse is a usage error naming the flag.
  template <typename F>
  static auto from_flag(const char* flag, F&& parse) {
    try {
      return parse();
    } catch (const FormatError& e) {
      throw std::invalid_argument(std::string(flag) + ": " + e.what());
    }
  }

  // The saved opening for `seed` (or the chosen line), parsed by `parse`; a bad line is an
  // error naming the file and line.
  template <typename F>
  auto saved_primer(std::uint64_t seed, F&& parse) {
    const auto words = static_cast<std::size_t>(s_.primer.length);
    const SavedPrimer p = s_.primer.saved_index
                              ? saved_primer_at(path_, *s_.primer.saved_index, words, &mm_.meta)
                              : pick_saved_primer_line(path_, seed, words, &mm_.meta);
    try {
      return parse(p.text);
    } catch (const std::exception& e) {
      throw FormatError(p.where + ": " + e.what());
    }
  }

  // Refuses a model without saved openings, or a chosen line it does not have, before any output.
  void check_saved_primers() const {
    if (s_.primer.saved_index)
      saved_primer_at(path_, *s_.primer.saved_index, 1, &mm_.meta);
    else
      read_saved_primer_lines(path_, &mm_.meta);
  }

  Song read_primer_song(const ReadOptions& ro) const {
    return read_midi_bytes(s_.primer.midi, s_.primer.midi_name, ro);
  }

  void prepare_frames() {
    if (s_.stop_at_end)
      throw std::invalid_argument(
          "--stop-at-end is for token models (a piano-roll model has no end of a piece)");
    if (s_.instruments || s_.voices || s_.end_at_bar || s_.length_temperature)
      check_token_settings(s_, false);  // names the flag: it is for events models
    if (s_.time_signature)
      throw std::invalid_argument("--time-signature is for token models of the events encoding");
    // A piano-roll model draws each key as a coin: there is no ranking of events to cut
    // (top-p applies to each key's two outcomes, music::draw_key).
    if (s_.top_k)
      throw std::invalid_argument(
          "--top-k is for token models (a piano-roll model draws each key as a coin; use "
          "--temperature or --top-p)");
    const RollOptions& ro = mm_.roll;
    switch (s_.primer.kind) {
      case PrimerSource::Kind::midi:
        frames_ = song_to_frames(read_primer_song({}), ro);
        if (frames_.size() > static_cast<size_t>(s_.primer.length))
          frames_.resize(static_cast<size_t>(s_.primer.length));
        if (frames_.empty())
          throw std::invalid_argument(s_.primer.midi_name + ": no frames to use as a primer");
        primer_from_ = s_.primer.midi_name;
        break;
      case PrimerSource::Kind::notes:
        frames_ =
            from_flag("--primer-notes", [&] { return parse_frame_line(s_.primer.notes, ro); });
        if (frames_.empty()) throw std::invalid_argument("--primer-notes: no frames given");
        primer_from_ = "--primer-notes";
        break;
      case PrimerSource::Kind::saved:
        check_saved_primers();
        primer_from_ = "a training piece's opening";
        break;
    }
  }

  Piece make_frames(std::uint64_t seed) {
    const RollOptions& ro = mm_.roll;
    std::vector<Frame> primer = frames_;
    if (saved())
      primer =
          saved_primer(seed, [&](const std::string& text) { return parse_frame_line(text, ro); });
    Rng rng(seed);
    std::vector<Frame> all(primer);
    for (Frame& f : generate_frames(*mm_.model, primer, s_.length, s_.temperature, rng, s_.weights,
                                    s_.progress, s_.top_p.value_or(1.0)))
      all.push_back(std::move(f));
    Piece p;
    p.single_track = true;
    p.program = s_.program.value_or(0);
    p.song.notes = frames_to_notes(all, ro, s_.reattack);
    p.song.tempos = {{0.0, s_.tempo.value_or(100.0)}};
    p.primer_beats = static_cast<double>(primer.size()) * ro.frame_beats;
    p.primer_size = primer.size();
    p.generated = all.size() - primer.size();
    p.primer_from = primer_from_;
    return p;
  }

  void prepare_tokens() {
    events_ = mm_.encoder.encoding == Encoding::Events;
    check_token_settings(s_, events_);
    const bool same_key = mm_.meta.count("same_key") && mm_.meta.at("same_key") == "1";

    // The primer, as tokens; from a file also its tempo, metre and key.
    switch (s_.primer.kind) {
      case PrimerSource::Kind::midi: {
        ReadOptions ro;
        ro.keep_drums = events_;
        primer_song_ = read_primer_song(ro);
        have_primer_song_ = true;
        if (same_key) key_shift_ = normalise_key(primer_song_.notes);
        primer_ = encoder_.encode(primer_song_);
        if (primer_.size() > static_cast<size_t>(s_.primer.length))
          primer_.resize(static_cast<size_t>(s_.primer.length));
        if (primer_.empty())
          throw std::invalid_argument(s_.primer.midi_name + ": no notes to use as a primer");
        primer_from_ = s_.primer.midi_name;
        break;
      }
      case PrimerSource::Kind::notes:
        primer_ = from_flag("--primer-notes", [&] { return encoder_.parse(s_.primer.notes); });
        if (primer_.empty()) throw std::invalid_argument("--primer-notes: no events given");
        primer_from_ = "--primer-notes";
        primer_ids(primer_, nullptr);  // refuses unknown typed words before any output
        break;
      case PrimerSource::Kind::saved:
        check_saved_primers();
        primer_from_ = "a training piece's opening";
        break;
    }

    go_.length = s_.length;
    go_.sampling = SamplingConfig{s_.temperature, s_.top_k.value_or(0), s_.top_p.value_or(1.0)};
    go_.forbidden = {Vocabulary::kPad, Vocabulary::kUnk, Vocabulary::kBos};
    if (s_.stop_at_end) {
      go_.stop_token = Vocabulary::kEos;
      go_.min_length = s_.min_length;
    } else {
      go_.forbidden.push_back(Vocabulary::kEos);
    }
    if (s_.end_at_bar) {
      const auto bar = mm_.vocab.find(Token::event(Token::Kind::Bar));
      if (!bar) throw std::invalid_argument("--end-at-bar: the model knows no bar word");
      go_.finish_at = *bar;
      go_.finish_within = kEndAtBarWithin;
    }
    if (s_.length_temperature) {  // len words drawn at their own temperature
      go_.logit_scale.assign(static_cast<std::size_t>(mm_.vocab.size()), 1.0);
      for (TokenId id = Vocabulary::kReserved; id < static_cast<TokenId>(mm_.vocab.size()); ++id)
        if (mm_.vocab.token(id).kind == Token::Kind::Length)
          go_.logit_scale[static_cast<std::size_t>(id)] = s_.temperature / *s_.length_temperature;
    }
    if (s_.voices) {
      const EncoderOptions& eo = mm_.encoder;
      auto rule =
          std::make_shared<VoiceRule>(mm_.vocab, eo.steps_per_beat, eo.events.max_bar_beats);
      go_.rule = {[rule] { rule->restart(); }, [rule](TokenId id) { rule->accept(id); },
                  [rule](std::vector<TokenId>& out) { rule->ban(out); }};
    }
    go_.weights = s_.weights;
    go_.progress = s_.progress;
    if (s_.instruments) {
      allowed_ = parse_instrument_list(*s_.instruments);
      const auto masked = instrument_mask(mm_.vocab, allowed_);
      go_.forbidden.insert(go_.forbidden.end(), masked.forbidden.begin(), masked.forbidden.end());
      if (masked.allowed_words == 0)
        throw std::invalid_argument(
            "--instruments " + *s_.instruments +
            ": the model knows none of these (it knows: " + known_instruments(mm_.vocab) + ")");
    }

    frame_ =
        song_frame(s_, have_primer_song_ ? &primer_song_ : nullptr, primer_end(primer_), mm_.meta);
  }

  // <bos> and the primer's ids. Real music may hold events the vocabulary lacks: they become
  // the nearest known ones (counted in `approximated`); typed words must be known.
  std::vector<TokenId> primer_ids(const std::vector<Token>& words,
                                  std::size_t* approximated) const {
    std::vector<TokenId> ids{Vocabulary::kBos};
    for (const Token& t : words) {
      if (auto id = mm_.vocab.find(t)) {
        ids.push_back(*id);
        continue;
      }
      if (s_.primer.kind != PrimerSource::Kind::notes) {
        ids.push_back(mm_.vocab.id(t));
        if (approximated) ++*approximated;
        continue;
      }
      const TokenId near = mm_.vocab.id(t);
      throw std::invalid_argument(
          "primer event " + quote_input(to_string(t)) + " is not in the model's vocabulary" +
          (mm_.vocab.is_reserved(near)
               ? std::string()
               : " (nearest known: " + quote_input(to_string(mm_.vocab.token(near))) + ")"));
    }
    return ids;
  }

  // Where the primer ends, in beats.
  double primer_end(const std::vector<Token>& words) const {
    if (events_) return encoder_.events().position_after(words);
    double steps = 0;
    for (const auto& t : words)
      steps +=
          mm_.encoder.encoding == Encoding::PitchOnly ? mm_.encoder.pitch_only_step : t.duration;
    return steps / mm_.encoder.steps_per_beat;
  }

  Piece make_tokens(std::uint64_t seed) {
    Piece p;
    // A saved opening is picked by the piece's own seed.
    std::vector<Token> primer =
        saved() ? saved_primer(seed, [](const std::string& text) { return parse_tokens(text); })
                : primer_;
    const std::vector<TokenId> ids = primer_ids(primer, &p.approximated);
    const double split = primer_end(primer);
    Rng rng(seed);
    const std::vector<TokenId> gen = generate(*mm_.model, ids, go_, rng);
    std::vector<Token> all(primer);
    for (TokenId id : gen) all.push_back(mm_.vocab.token(id));
    Song song = encoder_.decode_song(all);
    if (s_.instruments) p.dropped = allowed_.drop_from(song.notes, split);
    transpose_pitches(song.notes, -key_shift_);
    if (!(events_ && !song.time_signatures.empty() && !s_.time_signature))
      song.time_signatures = frame_.time_signatures;
    if (!(events_ && !song.tempos.empty() && !s_.tempo)) song.tempos = frame_.tempos;
    song.key_signatures = frame_.key_signatures;
    if (!events_)
      for (Note& n : song.notes) n.program = s_.program.value_or(0);
    if (mm_.pitch_classes)  // compared in the model's key
      p.pitch_class_distance =
          generated_pitch_class_distance(song.notes, split, key_shift_, *mm_.pitch_classes);
    p.song = std::move(song);
    p.primer_beats = split;
    p.primer_size = primer.size();
    p.generated = gen.size();
    p.ended = s_.stop_at_end && gen.size() < static_cast<std::size_t>(s_.length);
    p.primer_from = primer_from_;
    p.key_shift = key_shift_;
    return p;
  }
};

}  // namespace lstmidi::music
