// One training step of a tiny model on a parsed token line, then the line written as MIDI.
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/music.hpp>

int main() {
  using namespace lstmidi;
  const auto tokens = music::parse_tokens("C4:4 E4:4 G4:4 C4.E4.G4:8 rest:4 G4:4 C5:8");
  const auto vocab = music::Vocabulary::build({tokens});
  const std::vector<TokenId> ids = vocab.encode(tokens);
  ModelConfig cfg;
  cfg.vocab_size = vocab.size();
  cfg.hidden_sizes = {16};
  Model<float> model(cfg);
  Rng rng(1);
  model.init(rng);
  TokenBatch batch(static_cast<Index>(ids.size()) - 1, 1);
  for (Index t = 0; t < batch.T; ++t) {
    batch.input(t, 0) = ids[static_cast<size_t>(t)];
    batch.target(t, 0) = ids[static_cast<size_t>(t) + 1];
  }
  auto state = model.zero_state(1);
  model.params().zero_grad();
  const LossTotals loss = model.forward_backward(batch, state, rng);
  Adam<float>(model.num_params()).step(model.params().values, model.params().grads);
  music::write_midi("consumer.mid", music::Encoder().decode(tokens));
  std::cout << "loss " << loss.mean() << " over " << loss.count << " tokens, lstmidi "
            << LSTMIDI_VERSION_STRING << '\n';
}
