// One training step of a tiny model on a counting sequence; prints the loss.
#include <iostream>
#include <lstmidi/lstmidi.hpp>

int main() {
  using namespace lstmidi;
  ModelConfig cfg;
  cfg.vocab_size = 8;
  cfg.hidden_sizes = {16};
  Model<float> model(cfg);
  Rng rng(1);
  model.init(rng);
  TokenBatch batch(6, 2);  // T = 6 steps, B = 2 windows
  for (Index t = 0; t < batch.T; ++t)
    for (Index b = 0; b < batch.B; ++b) {
      batch.input(t, b) = static_cast<TokenId>((t + b) % 8);
      batch.target(t, b) = static_cast<TokenId>((t + b + 1) % 8);
    }
  auto state = model.zero_state(batch.B);
  model.params().zero_grad();
  const LossTotals loss = model.forward_backward(batch, state, rng);
  Adam<float>(model.num_params()).step(model.params().values, model.params().grads);
  std::cout << "loss " << loss.mean() << " (ln 8 = 2.079 at random)\n";
}
