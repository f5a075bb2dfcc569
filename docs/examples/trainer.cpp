// Trainer<T, Source>: the whole training loop over any batch source; here a text sampler.
#include <cstdio>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/text/char_corpus.hpp>
#include <lstmidi/train/trainer.hpp>
#include <string>

int main() {
  using namespace lstmidi;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the cat sat on the mat. ";
  const text::CharVocabulary vocab = text::CharVocabulary::build(text);
  text::CharWindowOptions wo;
  wo.steps = 16;
  wo.batch_size = 8;
  text::CharWindowSampler data(text, vocab, wo);  // last 10% of the text is validation

  ModelConfig cfg;
  cfg.vocab_size = vocab.size();
  cfg.embedding_size = 8;
  cfg.hidden_sizes = {32};
  cfg.dropout = 0.0;
  Model<float> model(cfg);
  Rng rng(1);
  model.init(rng);

  TrainOptions opt;
  opt.epochs = 6;
  opt.adam.lr = 1e-2;
  opt.out_dir = "trainer_example";  // model.lstmidi, last.lstmidi, history.csv, loss.svg
  Trainer<float, text::CharWindowSampler> trainer(model, data, opt, rng);
  const TrainResult res = trainer.run();  // pass a TrainObserver* (e.g. ProgressPrinter) to watch
  for (const EpochStats& e : res.history)
    std::printf("epoch %d  train %.3f  valid %.3f\n", e.epoch, e.train_loss, e.valid_loss);
  std::printf("best epoch %d, saved as %s\n", res.best_epoch, trainer.best_path().c_str());
  return res.best_valid_loss < 1.0 ? 0 : 1;
}
