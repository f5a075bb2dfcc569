// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "lstmidi/music/vocabulary.hpp"
#include "midi_bytes.hpp"

using namespace lstmidi;
using namespace lstmidi::music;

namespace {
Vocabulary small() {
  return Vocabulary::build({parse_tokens("C4:4 C4:4 E4:4 C4.E4.G4:4 rest:4 G4:2"),
                            parse_tokens("C4:4 E4:4 rest:4 D4.F4.A4:8")},
                           {2, 0});
}
}  // namespace

TEST_CASE("vocabulary: build keeps frequent tokens in a stable order") {
  const Vocabulary v = small();
  REQUIRE(v.size() == 7);
  CHECK(v.str(0) == "<pad>");
  CHECK(v.str(1) == "<unk>");
  CHECK(v.str(2) == "<bos>");
  CHECK(v.str(3) == "<eos>");
  CHECK(v.str(4) == "C4:4");  // 3 times
  CHECK(v.str(5) == "E4:4");  // 2 times; ties in byte order
  CHECK(v.str(6) == "rest:4");
  CHECK(v.count(4) == 3);
  CHECK(v.token(4) == Token::notes({60}, 4));
  CHECK_THROWS_AS(v.token(Vocabulary::kBos), std::invalid_argument);
  CHECK_THROWS_AS(v.str(7), std::invalid_argument);
  VocabularyOptions capped;
  capped.max_size = 5;
  CHECK(Vocabulary::build({parse_tokens("C4:4 E4:4 E4:4")}, capped).str(4) == "E4:4");
}

TEST_CASE("vocabulary: rare tokens map to the nearest kept token, or <unk>") {
  const Vocabulary v = small();
  CHECK(v.id(Token::notes({60}, 4)) == 4);
  CHECK(v.id(Token::notes({61}, 4)) == 4);  // C#4 -> C4 (1 semitone), not E4 (3)
  CHECK(v.id(Token::notes({63}, 4)) == 5);  // D#4 -> E4
  CHECK(v.id(Token::notes({60, 64, 67}, 4)) ==
        5);  // pruned chord -> E4 (24+7) rather than C4 (24+11)
  CHECK(v.id(Token::rest(3)) == 6);
  CHECK(v.id(Token::tie(3)) == Vocabulary::kUnk);  // no tie kept
  CHECK(v.id(Token::notes({61}, 4), UnknownPolicy::Unk) == Vocabulary::kUnk);
  const auto ids = v.encode(parse_tokens("C4:4 C#4:4 rest:4"));
  CHECK(ids == std::vector<TokenId>{2, 4, 4, 6, 3});
  CHECK(v.decode(ids) == parse_tokens("C4:4 C4:4 rest:4"));
  CHECK(Vocabulary::distance(Token::notes({60}, 4), Token::notes({60, 64}, 2)) == 4 + 12 + 0 + 4);
}

TEST_CASE("vocabulary: save and load round trip, atomically") {
  const auto dir = testmidi::temp_dir("vocab");
  const Vocabulary v = small();
  v.save(dir / "vocab.txt");
  CHECK(Vocabulary::load(dir / "vocab.txt") == v);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);  // no temporary file left behind
  CHECK(v.to_text().rfind("lstmidi-vocabulary 1\nsize 7\n0 <pad> 0\n", 0) == 0);
  CHECK_THROWS_AS(Vocabulary::load(dir / "missing.txt"), IoError);
}

TEST_CASE("vocabulary: corrupted files are rejected with FormatError") {
  const std::string good = small().to_text();
  CHECK(Vocabulary::from_text(good) == small());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::string cases[] = {
      "",
      "hello\n",
      replace("lstmidi-vocabulary 1", "lstmidi-vocabulary 2"),
      replace("size 7", "size 8"),
      replace("size 7", "size x"),
      replace("size 7", "size 2"),
      replace("4 C4:4 3", "4 E4:4 3"),  // duplicate
      replace("4 C4:4 3", "4 C4:4"),    // missing count
      replace("4 C4:4 3", "4 C4:4 -3"),
      replace("4 C4:4 3", "4 Q4:4 3"),   // not a token
      replace("4 C4:4 3", "4 Db4:4 3"),  // not canonical
      replace("4 C4:4 3", "5 C4:4 3"),   // id out of order
      replace("4 C4:4 3", "4 C4:4  3"),
      replace("1 <unk> 0", "1 <bos> 0"),
      good + "7 G4:2 1\n",
      good + "\n",
      good.substr(0, good.size() - 10),
  };
  for (const std::string& text : cases) {
    CAPTURE(text);
    CHECK_THROWS_AS(Vocabulary::from_text(text, "v.txt"), FormatError);
  }
}
