// SPDX-License-Identifier: MIT
// Writes a few tiny, valid model files into DIR: the seed corpus of fuzz_checkpoint.
//   make_checkpoint_seeds DIR
#include <iostream>
#include <memory>
#include <string>

#include "lstmidi/model/checkpoint.hpp"

int main(int argc, char** argv) {
  using namespace lstmidi;
  if (argc != 2) {
    std::cerr << "usage: make_checkpoint_seeds DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  auto make = [](Index V, Index E, std::vector<Index> H, double dropout, LossPositions lp) {
    ModelConfig c;
    c.vocab_size = V;
    c.embedding_size = E;
    c.hidden_sizes = std::move(H);
    c.dropout = dropout;
    c.loss_positions = lp;
    auto m = std::make_unique<Model<float>>(c);
    Rng rng(7);
    m->init(rng);
    return m;
  };
  // Weights only, one layer, one-hot input.
  save_model(dir + "/tiny_weights_only.lstmidi", *make(5, 0, {2}, 0.0, LossPositions::all));
  // Embedding, two layers, optimizer + RNG + metadata, as lstmidi-train's last.lstmidi.
  {
    auto mp = make(6, 2, {3, 2}, 0.25, LossPositions::last);
    Model<float>& m = *mp;
    AdamConfig ac;
    Adam<float> adam(m.num_params(), ac);
    Vector<float> g = Vector<float>::Constant(m.num_params(), 0.01f);
    adam.step(m.params().values, g);
    Rng rng(3, 9);
    save_checkpoint(dir + "/tiny_with_adam.lstmidi",
                    make_checkpoint(m, &adam, &rng,
                                    {{"epoch", "1"},
                                     {"batch", "0"},
                                     {"encoding", "durations"},
                                     {"vocab_crc", "12345"},
                                     {"history", "epoch,train_loss\n1,2.5\n"}}));
  }
  // Double precision weights.
  {
    ModelConfig c;
    c.vocab_size = 4;
    c.embedding_size = 1;
    c.hidden_sizes = {1};
    Model<double> m(c);
    Rng rng(1);
    m.init(rng);
    save_model(dir + "/tiny_double.lstmidi", m);
  }
  std::cout << "wrote 3 model files to " << dir << '\n';
  return 0;
}
