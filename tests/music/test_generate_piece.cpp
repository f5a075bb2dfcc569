// SPDX-License-Identifier: MIT
// music/generate_piece.hpp: one piece from settings, on small models with random weights.
// (That lstmidi-generate and lstmidi-studio write the same bytes through it is checked from
// outside: tests/studio, case parity.)
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstmidi/music/generate_piece.hpp"
#include "lstmidi/music/midi_reader.hpp"

using namespace lstmidi;
using namespace lstmidi::music;
namespace fs = std::filesystem;

namespace {

const char* const kBars =
    "bar ts:4/4 pos:0 prog:0 vel:20 C4 len:4 E4 len:4 G4 len:8 pos:4 prog:0/1 C3 len:4 "
    "pos:8 prog:0 D4 len:2 bar pos:0 prog:0/1 G3 len:8";

// An events model over the words of kBars, with random weights.
MusicModel<float> events_model() {
  MusicModel<float> mm;
  mm.encoder.encoding = Encoding::Events;
  const Encoder enc(mm.encoder);
  mm.vocab = Vocabulary::build({enc.parse(kBars)});
  ModelConfig mc;
  mc.vocab_size = mm.vocab.size();
  mc.embedding_size = 8;
  mc.hidden_sizes = {16};
  mm.model = std::make_unique<Model<float>>(mc);
  Rng rng(3);
  mm.model->init(rng);
  return mm;
}

PieceSettings typed(const std::string& notes, int length) {
  PieceSettings s;
  s.length = length;
  s.primer.kind = PrimerSource::Kind::notes;
  s.primer.notes = notes;
  return s;
}

const fs::path kNoFolder = "/nonexistent/lstmidi-model";

}  // namespace

TEST_CASE("generate_piece: the same seed gives the same piece, another seed another") {
  MusicModel<float> mm = events_model();
  PieceMaker<float> maker(mm, kNoFolder, typed("bar pos:0 prog:0 vel:20 C4 len:4", 60));
  const Piece a = maker.make(5), b = maker.make(5), c = maker.make(6);
  CHECK(a.song.notes == b.song.notes);
  CHECK(a.song.notes != c.song.notes);
  CHECK(a.primer_size == 6);  // bar pos:0 prog:0 vel:20 C4 len:4
  CHECK(a.generated == 60);   // no stop word: the whole length
  CHECK(a.primer_from == "--primer-notes");
  CHECK(a.approximated == 0);
  CHECK(a.primer_beats == doctest::Approx(0.0));  // the primer's note starts the bar
  REQUIRE(!a.song.notes.empty());
  CHECK(a.song.notes.front().pitch == 60);
  CHECK(a.song.notes.front().onset_beats == doctest::Approx(0.0));
  REQUIRE(a.song.tempos.size() == 1);
  CHECK(a.song.tempos.front().bpm == doctest::Approx(100.0));  // no primer file, no metadata
  CHECK(!a.single_track);
}

TEST_CASE("generate_piece: settings that do not fit the model are refused before any piece") {
  MusicModel<float> mm = events_model();
  auto refused = [&](PieceSettings s, const std::string& word) {
    try {
      PieceMaker<float> maker(mm, kNoFolder, std::move(s));
      FAIL("accepted, expected an error mentioning " << word);
    } catch (const std::invalid_argument& e) {
      CHECK_MESSAGE(std::string(e.what()).find(word) != std::string::npos, e.what());
    }
  };
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 10);
  s.program = 3;
  refused(s, "--program");
  s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 10);
  s.reattack = true;
  refused(s, "--reattack");
  s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 10);
  s.instruments = "33";
  refused(s, "knows none");
  refused(typed("bar pos:0 prog:0 vel:20 C9 len:4", 10), "not in the model's vocabulary");
  refused(typed("not-a-word", 10), "--primer-notes");
  refused(typed("   ", 10), "no events given");
  PieceSettings saved;
  refused(saved, "saved primers");  // the folder has no primers.txt
  PieceSettings midi;
  midi.primer.kind = PrimerSource::Kind::midi;
  midi.primer.midi = {'M', 'T', 'h', 'd'};
  midi.primer.midi_name = "upload";
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, midi), FormatError);
}

TEST_CASE("generate_piece: progress after every event, and a throw from it stops the piece") {
  MusicModel<float> mm = events_model();
  std::vector<Index> seen;
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 25);
  s.progress = [&](Index done, Index total) {
    CHECK(total == 25);
    seen.push_back(done);
  };
  PieceMaker<float> maker(mm, kNoFolder, std::move(s));
  maker.make(1);
  REQUIRE(seen.size() == 25);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<Index>(i + 1));
  struct Stop {};
  maker.set_progress([](Index done, Index) {
    if (done == 10) throw Stop{};
  });
  CHECK_THROWS_AS(maker.make(1), Stop);
}

TEST_CASE("generate_piece: write_piece writes the piece make returned") {
  MusicModel<float> mm = events_model();
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 80);
  s.tempo = 72;
  PieceMaker<float> maker(mm, kNoFolder, std::move(s));
  const Piece p = maker.make(9);
  const fs::path file =
      fs::temp_directory_path() / ("lstmidi_piece_" + std::to_string(::getpid()) + ".mid");
  write_piece(file, p);
  const Song back = read_midi(file);
  fs::remove(file);
  CHECK(back.notes.size() == p.song.notes.size());
  auto pitches = [](const std::vector<Note>& notes) {
    std::vector<int> v;
    for (const Note& n : notes) v.push_back(n.pitch);
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(pitches(back.notes) == pitches(p.song.notes));
  REQUIRE(!back.tempos.empty());
  CHECK(back.tempos.front().bpm == doctest::Approx(72.0).epsilon(1e-3));
  CHECK(piece_end_beats(p) > 0);
}

TEST_CASE("generate_piece: a piano-roll model takes frames and refuses token settings") {
  MusicModel<float> mm;
  mm.mode = ModelMode::pianoroll;
  ModelConfig mc;
  mc.mode = ModelMode::pianoroll;
  mc.vocab_size = 88;
  mc.embedding_size = 0;
  mc.hidden_sizes = {8};
  mm.model = std::make_unique<Model<float>>(mc);
  Rng rng(5);
  mm.model->init(rng);
  PieceSettings s = typed("C4.E4.G4 rest", 12);
  s.program = 19;
  PieceMaker<float> maker(mm, kNoFolder, s);
  const Piece p = maker.make(2);
  CHECK(p.single_track);
  CHECK(p.program == 19);
  CHECK(p.primer_size == 2);
  CHECK(p.generated == 12);
  CHECK(p.primer_beats == doctest::Approx(2 * mm.roll.frame_beats));
  PieceSettings k = s;
  k.top_k = 5;
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, k), std::invalid_argument);
  PieceSettings ts = s;
  ts.time_signature = "3/4";
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, ts), std::invalid_argument);
}

TEST_CASE("generate_piece: a nade piano-roll model draws its frames key by key, top-p per key") {
  MusicModel<float> mm;
  mm.mode = ModelMode::pianoroll;
  ModelConfig mc;
  mc.mode = ModelMode::pianoroll;
  mc.vocab_size = 88;
  mc.embedding_size = 0;
  mc.hidden_sizes = {8};
  mc.output = FrameOutput::nade;
  mc.nade_hidden = 6;
  mm.model = std::make_unique<Model<float>>(mc);
  Rng rng(6);
  mm.model->init(rng);
  PieceSettings s = typed("C4.E4.G4 rest", 12);
  s.top_p = 0.9;
  PieceMaker<float> maker(mm, kNoFolder, s);
  const Piece a = maker.make(3), b = maker.make(3);
  CHECK(a.generated == 12);
  CHECK(a.song.notes.size() == b.song.notes.size());  // same seed, same piece
  PieceSettings k = s;
  k.top_k = 5;  // still no ranking of events to cut
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, k), std::invalid_argument);
}

TEST_CASE("generate_piece: with stop_at_end the model may end the piece, without, never") {
  MusicModel<float> mm = events_model();
  // A model that wants to end at once: the end-of-piece logit far above every other.
  mm.model->head().dense().b().in(mm.model->params().values)(Vocabulary::kEos, 0) = 100.0f;
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 40);
  const Piece whole = PieceMaker<float>(mm, kNoFolder, s).make(1);
  CHECK(whole.generated == 40);  // the end word is never drawn unless asked for
  CHECK(!whole.ended);
  s.stop_at_end = true;
  const Piece ended = PieceMaker<float>(mm, kNoFolder, s).make(1);
  CHECK(ended.generated == 0);  // the first draw is the end (not part of the piece)
  CHECK(ended.ended);
  CHECK(ended.song.notes.size() == 1);  // the primer's note alone
  // An ordinary model with stop_at_end still stops at the length.
  MusicModel<float> plain = events_model();
  const Piece capped = PieceMaker<float>(plain, kNoFolder, s).make(1);
  CHECK(capped.generated <= 40);
  CHECK(capped.ended == (capped.generated < 40));
  // min_length: the model that wants to end at once ends right after the minimum.
  s.min_length = 7;
  const Piece held = PieceMaker<float>(mm, kNoFolder, s).make(1);
  CHECK(held.generated == 7);
  CHECK(held.ended);
  s.min_length = 41;  // above the length
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, s), std::invalid_argument);
  s.min_length = 7;
  s.stop_at_end = false;  // nothing to hold back
  CHECK_THROWS_AS(PieceMaker<float>(mm, kNoFolder, s), std::invalid_argument);
}

TEST_CASE("generate_piece: end_at_bar goes on from the length to the next bar line") {
  MusicModel<float> mm = events_model();
  const Encoder enc(mm.encoder);
  const TokenId bar = *mm.vocab.find(Token::event(Token::Kind::Bar));
  std::vector<TokenId> primer = {Vocabulary::kBos};
  for (const Token& t : enc.parse("bar pos:0 prog:0 vel:20 C4 len:4"))
    primer.push_back(*mm.vocab.find(t));
  GenerateOptions longer;
  longer.length = 500;
  longer.forbidden = {Vocabulary::kPad, Vocabulary::kUnk, Vocabulary::kBos, Vocabulary::kEos};
  GenerateOptions to_bar = longer;
  to_bar.length = 30;
  to_bar.finish_at = bar;
  to_bar.finish_within = 470;
  int reached = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rng r1(seed), r2(seed);
    const std::vector<TokenId> all = generate(*mm.model, primer, longer, r1);
    const std::vector<TokenId> cut = generate(*mm.model, primer, to_bar, r2);
    // The same draws, up to the first bar word from the 31st on (left out).
    std::size_t k = 30;
    while (k < all.size() && all[k] != bar) ++k;
    CHECK(cut == std::vector<TokenId>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k)));
    reached += k < all.size();
  }
  CHECK(reached > 0);
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 30);
  s.end_at_bar = true;
  const Piece p = PieceMaker<float>(mm, kNoFolder, s).make(1);
  CHECK(p.generated >= 30);
  CHECK(p.generated <= 30 + kEndAtBarWithin);
}

TEST_CASE("generate_piece: length_temperature draws the len words at their own temperature") {
  MusicModel<float> mm = events_model();
  PieceSettings s = typed("bar pos:0 prog:0 vel:20 C4 len:4", 200);
  const Piece plain = PieceMaker<float>(mm, kNoFolder, s).make(3);
  s.length_temperature = 1.0;  // the same as --temperature: the same draws
  CHECK(PieceMaker<float>(mm, kNoFolder, s).make(3).song.notes == plain.song.notes);
  s.length_temperature = 0.01;  // nearly greedy lengths: other notes
  CHECK(PieceMaker<float>(mm, kNoFolder, s).make(3).song.notes != plain.song.notes);
  s.temperature = 0;  // greedy: no temperature to set apart
  CHECK_THROWS_WITH_AS(PieceMaker<float>(mm, kNoFolder, s), doctest::Contains("--temperature"),
                       std::invalid_argument);
}
