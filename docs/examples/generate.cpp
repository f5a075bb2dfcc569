// generate(): continue a primer with a model, one Model::step per token.
#include <cstdio>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/sample/generator.hpp>

int main() {
  using namespace lstmidi;
  ModelConfig cfg;
  cfg.vocab_size = 4;
  cfg.embedding_size = 8;
  cfg.hidden_sizes = {16};
  cfg.dropout = 0.0;
  Model<float> model(cfg);
  Rng rng(7);
  model.init(rng);
  // Teach it the cycle 0 1 2 3 0 1 2 3 ...
  TokenBatch batch(12, 1);
  for (Index t = 0; t < batch.T; ++t) {
    batch.input(t, 0) = static_cast<TokenId>(t % 4);
    batch.target(t, 0) = static_cast<TokenId>((t + 1) % 4);
  }
  Adam<float> adam(model.num_params(), AdamConfig{1e-2});
  for (int step = 0; step < 150; ++step) {
    auto state = model.zero_state(1);
    model.params().zero_grad();
    model.forward_backward(batch, state, rng);
    adam.step(model.params().values, model.params().grads);
  }
  GenerateOptions go;
  go.length = 10;
  go.sampling.temperature = 0.0;  // greedy; 1.0 samples the model's distribution
  const std::vector<TokenId> out = generate(model, {0, 1}, go, rng);
  std::printf("primer 0 1 ->");
  for (TokenId id : out) std::printf(" %d", id);
  std::printf("\n");
}
