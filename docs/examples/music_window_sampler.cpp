// music::WindowSampler: training windows and shuffled batches, split by piece, resumable.
#include <cstdio>
#include <lstmidi/music/music.hpp>

int main() {
  using namespace lstmidi;
  using namespace lstmidi::music;
  std::vector<std::vector<Token>> pieces;
  for (int k = 0; k < 10; ++k)
    pieces.push_back(parse_tokens("C4:4 D4:4 E4:4 F4:4 G4:4 A4:4 B4:4 C5:8"));
  const Vocabulary vocab = Vocabulary::build(pieces);
  WindowOptions wo;
  wo.steps = 4;       // T
  wo.stride = 2;      // S
  wo.batch_size = 3;  // B
  wo.valid_fraction = 0.2;
  wo.seed = 5;
  WindowSampler sampler(pieces, vocab, wo);
  std::printf("%zu training windows, %zu validation windows, %zu batches per epoch\n",
              sampler.train_windows(), sampler.valid_windows(), sampler.batches_per_epoch());
  TokenBatch batch;
  sampler.next_batch(batch);  // (T x B) inputs and next-token targets, time-major
  std::printf("first window: inputs");
  for (Index t = 0; t < batch.T; ++t) std::printf(" %s", vocab.str(batch.input(t, 0)).c_str());
  std::printf(" -> targets");
  for (Index t = 0; t < batch.T; ++t) std::printf(" %s", vocab.str(batch.target(t, 0)).c_str());
  std::printf("\n");
  // Resuming: the same position gives the same batch.
  const SamplerPosition pos = sampler.position();
  TokenBatch a, b;
  sampler.next_batch(a);
  sampler.seek(pos);
  sampler.next_batch(b);
  std::printf("position {epoch %llu, batch %llu}; same batch after seek: %d\n",
              static_cast<unsigned long long>(pos.epoch),
              static_cast<unsigned long long>(pos.batch),
              a.inputs == b.inputs && a.targets == b.targets);
}
