// save_checkpoint / load_checkpoint / save_model / load_model: weights, optimizer and metadata.
#include <cstdio>
#include <lstmidi/lstmidi.hpp>

int main() {
  using namespace lstmidi;
  ModelConfig cfg;
  cfg.vocab_size = 10;
  cfg.hidden_sizes = {16, 16};
  Model<float> model(cfg);
  Rng rng(3);
  model.init(rng);
  Adam<float> adam(model.num_params());

  // Everything needed to resume: weights, Adam moments, the Rng and free-form metadata.
  save_checkpoint("example.lstmidi", make_checkpoint(model, &adam, &rng, {{"epoch", "1"}}));
  const Checkpoint<float> ck = load_checkpoint<float>("example.lstmidi");
  std::printf("config equal: %d, optimizer: %d, epoch: %s\n", ck.config == cfg, ck.has_optimizer,
              ck.meta.at("epoch").c_str());

  // Weights only, and back into a ready-to-use model.
  save_model("weights.lstmidi", model);
  std::unique_ptr<Model<float>> copy = load_model<float>("weights.lstmidi");
  std::printf("weights equal: %d (%ld parameters)\n",
              copy->params().values == model.params().values,
              static_cast<long>(copy->num_params()));

  try {
    load_checkpoint<float>("missing.lstmidi");
  } catch (const IoError& e) {
    std::printf("IoError as expected\n");
  }
}
