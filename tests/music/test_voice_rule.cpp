// SPDX-License-Identifier: MIT
// music/voice_rule.hpp: the words a part kept as a voice may not take next, and pieces
// generated with it (PieceSettings::voices, lstmidi-generate --voices).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lstmidi/music/generate_piece.hpp"
#include "lstmidi/music/voice_rule.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {

const char* const kWords =
    "bar ts:4/4 pos:0 pos:2 pos:4 pos:8 prog:0 prog:0/1 vel:20 C4 E4 C3 len:2 len:4 len:8";

EncoderOptions events_options() {
  EncoderOptions o;
  o.encoding = Encoding::Events;
  return o;
}

struct Fixture {
  Encoder enc{events_options()};
  Vocabulary vocab;
  VoiceRule rule;
  Fixture() : vocab(Vocabulary::build({enc.parse(kWords)})), rule(vocab, 4, 16) {}

  void feed(const std::string& words) {
    for (const Token& t : enc.parse(words)) rule.accept(*vocab.find(t));
  }
  // The banned words, as text, sorted.
  std::set<std::string> banned() const {
    std::vector<TokenId> ids;
    rule.ban(ids);
    std::set<std::string> out;
    for (TokenId id : ids) out.insert(vocab.str(id));
    return out;
  }
};

using Words = std::set<std::string>;

}  // namespace

TEST_CASE("voice_rule: one note at a time per part, no silence, no step back") {
  Fixture f;
  CHECK(f.banned().empty());  // nothing has played yet
  f.feed("bar ts:4/4 pos:0 prog:0 vel:20 C4 len:4 prog:0/1 C3 len:2");
  // At step 0 part 0 sounds to 4 and part 1 to 2: no note of part 1 (the current instrument),
  // no word naming either part, no time word past 2.
  CHECK(f.banned() == Words{"C4", "E4", "C3", "prog:0", "prog:0/1", "pos:4", "pos:8", "bar"});
  f.feed("pos:2");  // part 1's note has ended: it may play
  CHECK(f.banned() == Words{"prog:0", "pos:0", "pos:4", "pos:8", "bar"});
  f.feed("C3 len:2");
  CHECK(f.banned() == Words{"C4", "E4", "C3", "prog:0", "prog:0/1", "pos:0", "pos:8", "bar"});
  f.feed("pos:4 prog:0 C4 len:8 prog:0/1 C3 len:8");  // both to 12
  CHECK(f.banned() == Words{"C4", "E4", "C3", "prog:0", "prog:0/1", "pos:0", "pos:2", "bar"});
  f.feed("len:4");  // part 1 to 16; part 0 still ends at 12, before the next bar
  CHECK(f.banned().count("bar") == 1);
  f.feed("pos:8");  // a step where nothing ends: only time words up to 12 (none here) or len
  CHECK(f.banned().count("pos:8") == 0);
  CHECK(f.banned().count("pos:4") == 1);

  // A note with no len word lasts one beat, as decode() reads it.
  f.rule.restart();
  f.feed("bar pos:0 prog:0 C4");
  CHECK(f.banned().count("pos:4") == 0);
  CHECK(f.banned().count("pos:8") == 1);
  f.rule.restart();  // a new piece: nothing sounds
  CHECK(f.banned().empty());
}

TEST_CASE("voice_rule: generated parts follow each other note to note, without it they need not") {
  // A random-weight model over the words: left to itself it overlaps and leaves gaps.
  MusicModel<float> mm;
  mm.encoder.encoding = Encoding::Events;
  const Encoder enc(mm.encoder);
  mm.vocab = Vocabulary::build({enc.parse(kWords)});
  ModelConfig mc;
  mc.vocab_size = mm.vocab.size();
  mc.embedding_size = 8;
  mc.hidden_sizes = {16};
  mm.model = std::make_unique<Model<float>>(mc);
  Rng rng(11);
  mm.model->init(rng);

  // Per part, (gaps, overlaps) between consecutive notes.
  auto breaks = [](const Piece& p) {
    std::map<int, std::vector<const Note*>> parts;
    for (const Note& n : p.song.notes) parts[n.part].push_back(&n);
    int gaps = 0, overlaps = 0;
    for (auto& [part, ns] : parts)
      for (std::size_t i = 1; i < ns.size(); ++i) {
        const double end = ns[i - 1]->onset_beats + ns[i - 1]->duration_beats;
        gaps += ns[i]->onset_beats > end + 1e-9;
        overlaps += ns[i]->onset_beats < end - 1e-9;
      }
    return std::make_pair(gaps, overlaps);
  };
  PieceSettings s;
  s.length = 300;
  s.primer.kind = PrimerSource::Kind::notes;
  s.primer.notes = "bar ts:4/4 pos:0 prog:0 vel:20 C4 len:4 prog:0/1 C3 len:4";
  PieceMaker<float> free_maker(mm, "/nonexistent", s);
  s.voices = true;
  PieceMaker<float> voice_maker(mm, "/nonexistent", s);
  int free_breaks = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto [fg, fo] = breaks(free_maker.make(seed));
    free_breaks += fg + fo;
    const Piece p = voice_maker.make(seed);
    CHECK(p.generated == 300);
    std::set<int> parts;
    for (const Note& n : p.song.notes) parts.insert(n.part);
    CHECK(parts == std::set<int>{0, 1});
    // Past the primer's two notes (a random model draws many len words: its notes are long).
    CHECK(p.song.notes.size() > 2);
    const auto [gaps, overlaps] = breaks(p);
    CHECK(gaps == 0);
    CHECK(overlaps == 0);
  }
  CHECK(free_breaks > 0);

  // Only for the events encoding.
  MusicModel<float> durations;
  durations.encoder.encoding = Encoding::Durations;
  durations.vocab = Vocabulary::build({Encoder(durations.encoder).parse("C4:4 E4:2")});
  mc.vocab_size = durations.vocab.size();
  durations.model = std::make_unique<Model<float>>(mc);
  PieceSettings d;
  d.primer.kind = PrimerSource::Kind::notes;
  d.primer.notes = "C4:4";
  d.voices = true;
  CHECK_THROWS_WITH_AS(PieceMaker<float>(durations, "/nonexistent", d),
                       doctest::Contains("--voices"), std::invalid_argument);
}
