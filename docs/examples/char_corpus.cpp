// text::CharVocabulary and text::CharWindowSampler: the character-level Trainer source.
#include <cstdio>
#include <lstmidi/text/char_corpus.hpp>

int main() {
  using namespace lstmidi;
  const std::string text = "To be, or not to be, that is the question.\n";
  const text::CharVocabulary vocab = text::CharVocabulary::build(text);
  std::printf("%ld distinct characters; 'b' has id %d\n", static_cast<long>(vocab.size()),
              vocab.id('b'));
  std::printf("decode(encode(\"not\")) = %s\n", vocab.decode(vocab.encode("not")).c_str());
  text::CharWindowOptions wo;
  wo.steps = 8;
  wo.batch_size = 2;
  wo.valid_fraction = 0.25;  // the last quarter of the text, by position
  text::CharWindowSampler sampler(text, vocab, wo);
  std::printf("%zu training windows, %zu validation windows; validation is \"%s\"\n",
              sampler.train_windows(), sampler.valid_windows(),
              text.substr(sampler.valid_begin(), text.size() - sampler.valid_begin() - 1).c_str());
  TokenBatch batch;
  sampler.next_batch(batch);
  std::string in, out;
  for (Index t = 0; t < batch.T; ++t) {
    in += vocab.byte(batch.input(t, 0));
    out += vocab.byte(batch.target(t, 0));
  }
  std::printf("a window: \"%s\" -> \"%s\"\n", in.c_str(), out.c_str());
  std::printf("%s", text::CharVocabulary::from_text(vocab.to_text()) == vocab
                        ? "vocabulary text round trip ok\n"
                        : "mismatch\n");
}
