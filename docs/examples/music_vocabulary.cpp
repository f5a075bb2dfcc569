// music::Vocabulary: token <-> id, frequent tokens first, after four reserved ids.
#include <cstdio>
#include <lstmidi/music/music.hpp>

int main() {
  using namespace lstmidi;
  using namespace lstmidi::music;
  const std::vector<std::vector<Token>> pieces = {parse_tokens("C4:4 E4:4 G4:4 C4:4"),
                                                  parse_tokens("C4:4 G4:4 C4.E4.G4:8")};
  const Vocabulary vocab = Vocabulary::build(pieces);  // VocabularyOptions{min_count, max_size}
  for (TokenId id = 0; id < vocab.size(); ++id) std::printf("%d %s\n", id, vocab.str(id).c_str());
  const std::vector<TokenId> ids = vocab.encode(parse_tokens("G4:4 C4:4 D4:4"));  // <bos> ... <eos>
  for (TokenId id : ids) std::printf("%d ", id);
  std::printf("(D4:4 is unseen: mapped to the nearest kept note, %s)\n", vocab.str(ids[3]).c_str());
  const Vocabulary again = Vocabulary::from_text(vocab.to_text());  // what save()/load() use
  std::printf("text round trip equal: %d\n", again == vocab);
}
