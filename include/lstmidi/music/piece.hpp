// SPDX-License-Identifier: MIT
/// A piece to generate and the generated piece: PieceSettings (every setting of
/// lstmidi-generate, the primer among them), Piece (the song and what a program reports about
/// it), write_piece, and song_frame: the tempo map, metre and key a token model's piece is
/// written with. PieceMaker (generate_piece.hpp) turns settings into pieces.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lstmidi/core/config.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/model_dir.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/nn/lstm_step.hpp"

namespace lstmidi::music {

/// Where the music the model continues comes from.
struct PrimerSource {
  enum class Kind { saved, midi, notes };
  Kind kind = Kind::saved;
  /// midi: the file's bytes (at most the reader's limit) and its name for messages.
  std::vector<std::uint8_t> midi;
  std::string midi_name;
  /// notes: words of a token model ("bar pos:0 prog:0 vel:20 C4 len:4") or frames of a
  /// piano-roll model ("C4.E4.G4 rest").
  std::string notes;
  /// saved: this line of the saved openings (0-based) instead of the one the seed picks.
  std::optional<std::size_t> saved_index;
  /// Events (frames) taken from a file or a saved opening.
  int length = 32;
};

/// Every setting of a piece. An unset optional is a flag not given to lstmidi-generate.
struct PieceSettings {
  int length = 200;                           // events (frames) after the primer, 1..4000
  double temperature = 1.0;                   // 0..100
  std::optional<int> top_k;                   // token models; 0 = all
  std::optional<double> top_p;                // 0.001..1; piano-roll models: per key
  std::optional<double> length_temperature;   // events models: the len words', 0.01..100
  std::optional<double> tempo;                // quarter notes per minute, 10..400
  std::optional<std::string> time_signature;  // "N/D"
  std::optional<int> program;                 // chord, pitch-only and piano-roll models: 0..127
  std::optional<std::string> instruments;     // events models: "0,33,drums"
  bool reattack = false;                      // piano-roll models
  /// Token models: the model may end the piece: generation stops when it draws the end of a
  /// piece (<eos>), and `length` is the most events. Otherwise the end is never drawn.
  bool stop_at_end = false;
  /// With stop_at_end: the end is not drawn before this many events.
  int min_length = 0;
  /// Events models: every pitched part is a voice: one note at a time, never silent once it has
  /// begun (music::VoiceRule).
  bool voices = false;
  /// Events models: the piece ends at a bar line: after `length` events generation goes on to
  /// the next bar word (left out), at most kEndAtBarWithin more events.
  bool end_at_bar = false;
  PrimerSource primer;
  GenerationWeights weights = GenerationWeights::float32;
  /// Called after every generated event with (events so far, length); throw from it to stop.
  std::function<void(Index, Index)> progress;
};

/// The most events --end-at-bar adds after --length to reach a bar line (a bar of the chorales
/// takes 30-60).
inline constexpr int kEndAtBarWithin = 1000;

/// Refuses the settings a token model cannot use (std::invalid_argument naming the flag);
/// `events`: the model is of the events encoding.
inline void check_token_settings(const PieceSettings& s, bool events) {
  if (events && s.program)
    throw std::invalid_argument(
        "--program: this model writes the instruments it learned; choose among them with "
        "--instruments");
  if (s.reattack)
    throw std::invalid_argument(
        "--reattack is for piano-roll models (a token model writes each note's own length)");
  for (const auto& [set, flag] :
       {std::pair{bool(s.instruments), "--instruments"}, std::pair{s.voices, "--voices"},
        std::pair{s.end_at_bar, "--end-at-bar"},
        std::pair{bool(s.length_temperature), "--length-temperature"}})
    if (set && !events)
      throw std::invalid_argument(std::string(flag) +
                                  " is for models trained with --encoding events");
  if (s.length_temperature && s.temperature == 0)
    throw std::invalid_argument("--length-temperature needs a --temperature above 0");
  if (s.min_length > 0 && !s.stop_at_end)
    throw std::invalid_argument(
        "--min-length is for --stop-at-end (without it every piece has --length events)");
  if (s.min_length > s.length)
    throw std::invalid_argument("--min-length " + std::to_string(s.min_length) +
                                " is above --length " + std::to_string(s.length));
}

/// A generated piece and what a program reports about it.
struct Piece {
  Song song;                  // notes with instruments and velocities, tempos, signatures
  bool single_track = false;  // piano-roll: written by write_midi with `program`
  int program = 0;
  double primer_beats = 0;                     // where the primer ends
  std::size_t primer_size = 0, generated = 0;  // events (frames)
  bool ended = false;  // the model ended the piece before `length` (PieceSettings::stop_at_end)
  std::string primer_from;       // "a training piece's opening", a file name, "--primer-notes"
  std::size_t approximated = 0;  // primer events replaced by the nearest known ones
  int key_shift = 0;             // semitones a same-key model's output was moved back by
  std::size_t dropped = 0;       // notes of instruments left out (the primer's last one)
  std::optional<double> pitch_class_distance;  // to the training corpus, when saved
};

/// The first-to-last beat a piece's notes cover.
inline double piece_end_beats(const Piece& p) {
  double end = 0;
  for (const Note& n : p.song.notes) end = std::max(end, n.onset_beats + n.duration_beats);
  return end;
}

/// Writes the piece's MIDI file (atomically).
inline void write_piece(const std::filesystem::path& path, const Piece& p) {
  if (p.single_track)
    write_midi(path, p.song.notes, p.song.tempos.front().bpm, p.program);
  else
    write_song(path, p.song);
}

/// The frame a token model's piece is written in: the tempo map, the time signature and the
/// key signatures. Each is the setting when given (tempo, time_signature), else the primer
/// file's (its tempo changes up to `primer_end` beats, its first time signature, its keys),
/// else the training data's most common (model metadata common_tempo, common_time_signature,
/// common_key), else 100 bpm and 4/4 with no key. `primer` is null without a primer file.
inline Song song_frame(const PieceSettings& s, const Song* primer, double primer_end,
                       const std::map<std::string, std::string>& meta) {
  Song f;
  if (s.tempo) {
    f.tempos = {{0.0, *s.tempo}};
  } else if (primer && !primer->tempos.empty()) {
    for (const auto& t : primer->tempos)
      if (t.beat <= primer_end || f.tempos.empty()) f.tempos.push_back(t);
  } else if (meta.count("common_tempo")) {
    f.tempos = {{0.0, detail::parse_meta_double(meta, "common_tempo", 100)}};
  } else {
    f.tempos = {{0.0, 100.0}};
  }
  if (primer) f.key_signatures = primer->key_signatures;
  if (f.key_signatures.empty() && meta.count("common_key"))
    f.key_signatures = {parse_key_signature(meta.at("common_key"))};
  TimeSignature ts = parse_time_signature(s.time_signature.value_or("4/4"));
  if (!s.time_signature) {
    if (primer && !primer->time_signatures.empty())
      ts = primer->time_signatures.front();
    else if (meta.count("common_time_signature"))
      ts = parse_time_signature(meta.at("common_time_signature"));
  }
  f.time_signatures = {ts};
  return f;
}

}  // namespace lstmidi::music
