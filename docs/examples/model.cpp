// Model<T>: build, initialise, and fit a counting sequence with forward_backward + Adam.
#include <cstdio>
#include <lstmidi/lstmidi.hpp>

int main() {
  using namespace lstmidi;
  ModelConfig cfg;
  cfg.vocab_size = 5;       // V
  cfg.embedding_size = 8;   // E
  cfg.hidden_sizes = {32};  // one LSTM layer, H = 32
  cfg.dropout = 0.0;
  Model<float> model(cfg);
  Rng rng(42);
  model.init(rng);

  TokenBatch batch(8, 2);  // T = 8 steps, B = 2 windows: 0 1 2 3 4 0 1 ... and 2 3 4 0 ...
  for (Index t = 0; t < batch.T; ++t)
    for (Index b = 0; b < batch.B; ++b) {
      batch.input(t, b) = static_cast<TokenId>((t + 2 * b) % 5);
      batch.target(t, b) = static_cast<TokenId>((t + 2 * b + 1) % 5);
    }
  AdamConfig ac;
  ac.lr = 1e-2;
  Adam<float> adam(model.num_params(), ac);
  for (int step = 0; step <= 60; ++step) {
    Model<float>::State state = model.zero_state(batch.B);
    model.params().zero_grad();
    const LossTotals loss = model.forward_backward(batch, state, rng);
    adam.step(model.params().values, model.params().grads);
    if (step % 20 == 0)
      std::printf("step %2d  loss %.3f  accuracy %3.0f%%\n", step, loss.mean(),
                  100 * loss.accuracy());
  }
  std::printf("%ld parameters\n", static_cast<long>(model.num_params()));
}
