// SPDX-License-Identifier: MIT
// Training-step and generation benchmarks for the model shapes of the music job.
//
//   BM_TrainStep/<L>x<H>/T<T>/B<B>/V<V>: forward + backward + clip + Adam on one batch,
//     every-position loss. Counters: tokens/s (items_per_second) and GFLOP/s, counting
//     2*4H*(D+H) FLOPs per token per layer forward, twice that backward, plus 2*V*H forward and
//     twice that backward for the output layer (D = V for the one-hot first layer).
//   BM_TrainPhase/<part>/...: the parts of BM_TrainStep/3x512 one at a time, for A/B runs of a
//     change to one part (shorter, so less exposed to the host's noise, than the whole step):
//     LayerForward / LayerBackward: one 512 -> 512 LSTM layer over the window as layers 2 and
//     3 run (the input projection and the time loop; the sweep, the weight gradients and dX;
//     each backward after an untimed forward); TokenLayerForward / TokenLayerBackward: layer 1
//     on its one-hot input (gather, time loop; sweep, dU and the scatter into dW); Head: the
//     output layer and the softmax loss, forward and backward; Dropout: one layer's mask drawn
//     and applied, forward and backward; Optimizer: zero_grad, clipping and Adam over the
//     model's 5.4M parameters. One step is about Token* + 2 x Layer* + Head + 3 x Dropout +
//     Optimizer (the step's own copies and bookkeeping aside). GFLOP/s for the products' FLOPs.
//   BM_GenerateStep/<L>x<H>: one new event with carried state (batch 1), the weights packed for
//     generation as generate() does; /unpacked: the same reading the weights in place.
//   BM_GenerateWindow/<L>x<H>/T100: one new event by re-running the whole 100-event window
//     from a zero state, as the classic Keras tutorial does, in two ways: /steps runs it as 100
//     carried steps (the fastest way with this library: the same per-event cost as
//     GenerateStep, so the ratio between the two is close to 100 by construction); /forward
//     runs it as the tutorial's model.predict does, one forward pass over the window
//     (Model::evaluate on a batch of one window).
//   BM_RollTrainStep/<output>/2x256/T64/B4: a piano-roll training step (88 keys, the JSB
//     config's shape) with the independent or the nade output (N_h = 150): forward + backward
//     + clip + Adam. items_per_second = frames per second.
//   BM_RollGenerateFrame/<output>/2x256: one generated frame at batch 1, weights packed: the
//     LSTM step and the 88 keys drawn (each on its own, or key by key through the NADE).
// Threads: LSTMIDI_THREADS=n (Eigen's OpenMP threads; default all cores).
#include <cmath>
#include <utility>

#include "bench_common.hpp"

using namespace lstmidi;

namespace {

struct Shape {
  Index layers, hidden, T, B, V, E;  // E = 0: one-hot input
};

double flops_per_token(const Shape& s) {
  double f = 0;
  double D = static_cast<double>(s.E > 0 ? s.E : s.V);
  for (Index l = 0; l < s.layers; ++l) {
    const double H = static_cast<double>(s.hidden);
    f += 3 * 2 * 4 * H * (D + H);
    D = H;
  }
  return f + 3 * 2 * static_cast<double>(s.V) * static_cast<double>(s.hidden);
}

ModelConfig config_of(const Shape& s) {
  ModelConfig cfg;
  cfg.vocab_size = s.V;
  cfg.embedding_size = s.E;
  cfg.hidden_sizes.assign(static_cast<size_t>(s.layers), s.hidden);
  cfg.dropout = 0.3;
  return cfg;
}

TokenBatch random_batch(const Shape& s, Rng& rng) {
  TokenBatch b(s.T, s.B);
  for (auto& x : b.inputs) x = static_cast<TokenId>(rng.below(static_cast<std::uint32_t>(s.V)));
  for (auto& x : b.targets) x = static_cast<TokenId>(rng.below(static_cast<std::uint32_t>(s.V)));
  return b;
}

// The step every training benchmark times: gradients of one batch, clipping, an Adam step.
template <typename Batch>
void time_train_steps(benchmark::State& st, Model<float>& model, const Batch& batch, Rng& rng) {
  Adam<float> adam(model.num_params());
  auto state = model.zero_state(batch.B);
  for (auto _ : st) {
    model.params().zero_grad();
    const LossTotals tot = model.forward_backward(batch, state, rng);
    benchmark::DoNotOptimize(tot.nll_sum);
    clip_global_norm(model.params().grads, 5.0);
    adam.step(model.params().values, model.params().grads);
  }
}

void train_step(benchmark::State& st, Shape s) {
  bench::set_threads(bench::threads_from_env());
  Model<float> model(config_of(s));
  Rng rng(1);
  model.init(rng);
  const TokenBatch batch = random_batch(s, rng);
  time_train_steps(st, model, batch, rng);
  const double tokens = static_cast<double>(s.T * s.B);
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * s.T * s.B);
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_token(s) * tokens * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
  st.counters["activation_MB"] = static_cast<double>(model.activation_floats()) * 4 / 1e6;
}

enum class StepWeights { unpacked, packed, packed16 };

void generate_step(benchmark::State& st, Shape s, StepWeights weights) {
  bench::set_threads(bench::threads_from_env());
  Model<float> model(config_of(s));
  Rng rng(1);
  model.init(rng);
  if (weights == StepWeights::packed16 && !LstmStepper<float>::half_supported()) {
    st.SkipWithError("16-bit generation weights need a build with AVX2, FMA and F16C");
    return;
  }
  if (weights != StepWeights::unpacked)  // as generate() does
    model.pack_for_generation(weights == StepWeights::packed16 ? GenerationWeights::float16
                                                               : GenerationWeights::float32);
  auto state = model.zero_state(1);
  std::vector<TokenId> id{0};
  for (auto _ : st) {
    const Matrix<float>& logits = model.step(id, state);
    id[0] = argmax(logits.col(0));
    benchmark::DoNotOptimize(id[0]);
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}

void generate_window(benchmark::State& st, Shape s, bool as_forward) {
  bench::set_threads(bench::threads_from_env());
  Model<float> model(config_of(s));
  Rng rng(1);
  model.init(rng);
  TokenBatch window(s.T, 1);
  for (auto& x : window.inputs)
    x = static_cast<TokenId>(rng.below(static_cast<std::uint32_t>(s.V)));
  window.targets = window.inputs;
  if (!as_forward) model.pack_for_generation();
  for (auto _ : st) {
    // The classic method: run the whole window from a zero state, keep the last prediction.
    auto state = model.zero_state(1);
    if (as_forward) {
      benchmark::DoNotOptimize(model.evaluate(window, state).nll_sum);
    } else {
      for (Index t = 0; t < s.T; ++t) {
        const Matrix<float>& logits = model.step({window.inputs[static_cast<size_t>(t)]}, state);
        if (t == s.T - 1) benchmark::DoNotOptimize(argmax(logits.col(0)));
      }
    }
    std::rotate(window.inputs.begin(), window.inputs.begin() + 1, window.inputs.end());
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}

ModelConfig roll_config_of(const Shape& s, FrameOutput output) {
  ModelConfig cfg = config_of(s);
  cfg.mode = ModelMode::pianoroll;
  cfg.embedding_size = 0;
  cfg.weight_drop = 0.3;
  cfg.output = output;
  cfg.nade_hidden = output == FrameOutput::nade ? 150 : 0;
  return cfg;
}

FrameBatch random_frames(const Shape& s, Rng& rng) {
  FrameBatch b(s.T, s.B, s.V);
  for (Index j = 0; j < s.T * s.B; ++j) {
    for (int n = 0; n < 4; ++n) {  // chords of about four keys, as in JSB
      b.inputs(rng.below(static_cast<std::uint32_t>(s.V)), j) = 1;
      b.targets(rng.below(static_cast<std::uint32_t>(s.V)), j) = 1;
    }
    b.mask[static_cast<size_t>(j)] = 1;
  }
  return b;
}

void roll_train_step(benchmark::State& st, Shape s, FrameOutput output) {
  bench::set_threads(bench::threads_from_env());
  Model<float> model(roll_config_of(s, output));
  Rng rng(1);
  model.init(rng);
  const FrameBatch batch = random_frames(s, rng);
  time_train_steps(st, model, batch, rng);
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * s.T * s.B);
  st.counters["threads"] = Eigen::nbThreads();
}

enum class Phase {
  layer_forward,
  layer_backward,
  token_layer_forward,
  token_layer_backward,
  head,
  dropout,
  optimizer
};

// One part of the classic step (see the header comment), on the shapes of Shape s.
void train_phase(benchmark::State& st, Shape s, Phase phase) {
  bench::set_threads(bench::threads_from_env());
  Rng rng(1);
  const Index H = s.hidden, N = s.T * s.B;
  const bool tokens = phase == Phase::token_layer_forward || phase == Phase::token_layer_backward;
  const Matrix<float> X = Matrix<float>::Random(H, N), dY = Matrix<float>::Random(H, N) * 1e-3f;
  const TokenBatch batch = random_batch(s, rng);
  const Matrix<float> h0 = Matrix<float>::Zero(H, s.B), c0 = h0;
  double flops = 0;  // per iteration
  if (phase == Phase::head || phase == Phase::dropout) {
    ParamAllocator alloc;
    Dense<float> dense(alloc, H, s.V);
    ParamBuffer<float> p(alloc.size());
    dense.init(p, rng);
    Dropout<float> drop(0.3);
    Matrix<float> Z, dX;
    for (auto _ : st) {
      if (phase == Phase::head) {
        dense.forward(p, X, Z);
        benchmark::DoNotOptimize(softmax_cross_entropy<float>(Z, batch.targets, &Z).nll_sum);
        dense.backward(p, X, Z, &dX);
      } else {
        drop.forward(X, Z, rng, true);
        drop.backward(Z, dX);
      }
      benchmark::DoNotOptimize(dX.data());
    }
    if (phase == Phase::head) flops = 3.0 * 2 * double(s.V) * double(H) * double(N);
  } else if (phase == Phase::optimizer) {
    ParamBuffer<float> p(Model<float>(config_of(s)).num_params());
    Adam<float> adam(p.size());
    for (auto _ : st) {
      p.zero_grad();
      clip_global_norm(p.grads, 5.0);
      adam.step(p.values, p.grads);
      benchmark::DoNotOptimize(p.values.data());
    }
  } else {
    const Index D = tokens ? s.V : H;
    ParamAllocator alloc;
    Lstm<float> layer(alloc, D, H);
    ParamBuffer<float> p(alloc.size());
    layer.init(p, rng);
    Matrix<float> dX;
    const bool backward = phase == Phase::layer_backward || phase == Phase::token_layer_backward;
    auto forward = [&] {
      if (tokens)
        layer.forward_tokens(p, batch.inputs, s.B, h0, c0);
      else
        layer.forward(p, X, s.B, h0, c0);
    };
    for (auto _ : st) {
      if (backward) {
        st.PauseTiming();
        forward();
        st.ResumeTiming();
        if (tokens)
          layer.backward_tokens(p, batch.inputs, dY);
        else
          layer.backward(p, X, dY, &dX);
      } else {
        forward();
      }
      benchmark::DoNotOptimize(p.grads.data());
    }
    // Products per token: U h (forward), U^T da and dU (backward); with a dense input also
    // W x (forward), W^T da and dW (backward).
    const double per_product = 2.0 * 4 * double(H) * double(H) * double(N);
    flops = (backward ? 2 : 1) * (tokens ? 1 : 2) * per_product;
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * N);
  if (flops > 0)
    st.counters["GFLOP/s"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = Eigen::nbThreads();
}

void roll_generate_frame(benchmark::State& st, Shape s, FrameOutput output) {
  bench::set_threads(bench::threads_from_env());
  Model<float> model(roll_config_of(s, output));
  Rng rng(1);
  model.init(rng);
  model.pack_for_generation();
  auto state = model.zero_state(1);
  Matrix<float> x = Matrix<float>::Zero(s.V, 1);
  const Nade<float>* nade = model.head().nade();
  const ParamBuffer<float>& params = std::as_const(model).params();
  auto draw = [&](double z) { return rng.uniform() < 1 / (1 + std::exp(-z)); };
  for (auto _ : st) {
    const Matrix<float>& z = model.step_frame(x, state);
    if (nade) {
      nade->sample(params, state.h.back(), z, draw, x);
    } else {
      for (Index k = 0; k < s.V; ++k) x(k, 0) = draw(static_cast<double>(z(k, 0))) ? 1.0f : 0.0f;
    }
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}

const Shape kRoll{2, 256, 64, 4, 88, 0};
const Shape kClassic{3, 512, 100, 64, 358, 0};
const Shape kSmall{2, 256, 64, 32, 128, 0};

}  // namespace

BENCHMARK_CAPTURE(train_step, 3x512 / T100 / B64 / V358, kClassic)
    ->Name("BM_TrainStep/3x512/T100/B64/V358")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5);
BENCHMARK_CAPTURE(train_step, 2x256 / T64 / B32 / V128, kSmall)
    ->Name("BM_TrainStep/2x256/T64/B32/V128")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2);
#define LSTMIDI_TRAIN_PHASE(name, phase)                    \
  BENCHMARK_CAPTURE(train_phase, name, kClassic, phase)     \
      ->Name("BM_TrainPhase/" #name "/3x512/T100/B64/V358") \
      ->Unit(benchmark::kMillisecond)                       \
      ->UseRealTime()                                       \
      ->MinTime(2)
LSTMIDI_TRAIN_PHASE(LayerForward, Phase::layer_forward);
LSTMIDI_TRAIN_PHASE(LayerBackward, Phase::layer_backward);
LSTMIDI_TRAIN_PHASE(TokenLayerForward, Phase::token_layer_forward);
LSTMIDI_TRAIN_PHASE(TokenLayerBackward, Phase::token_layer_backward);
LSTMIDI_TRAIN_PHASE(Head, Phase::head);
LSTMIDI_TRAIN_PHASE(Dropout, Phase::dropout);
LSTMIDI_TRAIN_PHASE(Optimizer, Phase::optimizer);
#undef LSTMIDI_TRAIN_PHASE

BENCHMARK_CAPTURE(generate_step, 3x512, kClassic, StepWeights::packed)
    ->Name("BM_GenerateStep/3x512")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(generate_step, 3x512 / unpacked, kClassic, StepWeights::unpacked)
    ->Name("BM_GenerateStep/3x512/unpacked")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(generate_step, 3x512 / float16, kClassic, StepWeights::packed16)
    ->Name("BM_GenerateStep/3x512/float16")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(generate_step, 2x256, kSmall, StepWeights::packed)
    ->Name("BM_GenerateStep/2x256")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(generate_window, 3x512 / T100 / steps, kClassic, false)
    ->Name("BM_GenerateWindow/3x512/T100/steps")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(generate_window, 3x512 / T100 / forward, kClassic, true)
    ->Name("BM_GenerateWindow/3x512/T100/forward")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_CAPTURE(roll_train_step, independent, kRoll, FrameOutput::independent)
    ->Name("BM_RollTrainStep/independent/2x256/T64/B4")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2);
BENCHMARK_CAPTURE(roll_train_step, nade, kRoll, FrameOutput::nade)
    ->Name("BM_RollTrainStep/nade/2x256/T64/B4")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2);
BENCHMARK_CAPTURE(roll_generate_frame, independent, kRoll, FrameOutput::independent)
    ->Name("BM_RollGenerateFrame/independent/2x256")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(roll_generate_frame, nade, kRoll, FrameOutput::nade)
    ->Name("BM_RollGenerateFrame/nade/2x256")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
