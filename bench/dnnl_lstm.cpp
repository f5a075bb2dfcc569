// SPDX-License-Identifier: MIT
// The oneDNN anchor: forward + backward training passes of an LSTM stack with oneDNN's LSTM
// primitive (Debian's libdnnl-dev), on the shapes of lstmidi's BM_TrainStep, for
// scripts/bench.sh. Only the LSTM layers are timed: no embedding, output layer, loss or
// optimiser (lstmidi's figure includes all of those), and the weights stay in the layouts the
// primitives choose (no reorder per step), so this is oneDNN's LSTM at its fastest.
//
//   dnnl_lstm [--layers 3] [--hidden 512] [--input 64] [--steps 100] [--batch 64]
//             [--iterations 5] [--warmup 1]
// Threads: OMP_NUM_THREADS (oneDNN's OpenMP runtime). Prints one line:
//   DnnlLstm/3x512/T100/B64/I64: <ms> ms/step, <tokens/s> tokens/s, <GFLOP/s> GFLOP/s
// FLOPs as lstmidi counts them: 2·4H·(D+H) per token and layer forward, twice that backward;
// D = --input for the first layer (the token embedding's width), H for the others.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// One LSTM layer: its forward-training and backward primitives and their buffers.
struct Layer {
  lstm_forward::primitive_desc fwd_pd;
  lstm_backward::primitive_desc bwd_pd;
  lstm_forward fwd;
  lstm_backward bwd;
  memory src, w_layer, w_iter, bias, dst, workspace;
  memory bwd_w_layer, bwd_w_iter;  // the weights in the backward primitive's layouts
  memory diff_src, diff_w_layer, diff_w_iter, diff_bias, diff_dst;
};

void fill(const memory& m, float value) {
  auto* p = static_cast<float*>(m.get_data_handle());
  std::fill(p, p + m.get_desc().get_size() / sizeof(float), value);
}

// A layer of input width D and H units over T steps of B sequences; `src` is its input
// (T, B, D) and `diff_dst` the gradient arriving from above (T, B, H).
Layer make_layer(engine& eng, stream& s, memory::dim T, memory::dim B, memory::dim D, memory::dim H,
                 const memory& src, const memory& diff_dst) {
  Layer l;
  const memory::desc src_md({T, B, D}, dt::f32, tag::tnc), dst_md({T, B, H}, dt::f32, tag::tnc);
  const memory::desc wl_any({1, 1, D, 4, H}, dt::f32, tag::any);
  const memory::desc wi_any({1, 1, H, 4, H}, dt::f32, tag::any);
  const memory::desc bias_md({1, 1, 4, H}, dt::f32, tag::ldgo), none;
  lstm_forward::desc fd(prop_kind::forward_training, rnn_direction::unidirectional_left2right,
                        src_md, none, none, wl_any, wi_any, bias_md, dst_md, none, none);
  l.fwd_pd = lstm_forward::primitive_desc(fd, eng);
  lstm_backward::desc bd(prop_kind::backward, rnn_direction::unidirectional_left2right, src_md,
                         none, none, wl_any, wi_any, bias_md, dst_md, none, none, src_md, none,
                         none, wl_any, wi_any, bias_md, dst_md, none, none);
  l.bwd_pd = lstm_backward::primitive_desc(bd, eng, l.fwd_pd);
  l.fwd = lstm_forward(l.fwd_pd);
  l.bwd = lstm_backward(l.bwd_pd);
  l.src = src;
  l.diff_dst = diff_dst;
  l.w_layer = memory(l.fwd_pd.weights_layer_desc(), eng);
  l.w_iter = memory(l.fwd_pd.weights_iter_desc(), eng);
  l.bias = memory(bias_md, eng);
  l.dst = memory(l.fwd_pd.dst_layer_desc(), eng);
  l.workspace = memory(l.fwd_pd.workspace_desc(), eng);
  l.diff_src = memory(l.bwd_pd.diff_src_layer_desc(), eng);
  l.diff_w_layer = memory(l.bwd_pd.diff_weights_layer_desc(), eng);
  l.diff_w_iter = memory(l.bwd_pd.diff_weights_iter_desc(), eng);
  l.diff_bias = memory(l.bwd_pd.diff_bias_desc(), eng);
  // Small weights, so that activations stay in the sigmoid's and tanh's live range. Filled
  // in a plain layout and reordered into each primitive's own, once.
  memory plain_wl({{1, 1, D, 4, H}, dt::f32, tag::ldigo}, eng);
  memory plain_wi({{1, 1, H, 4, H}, dt::f32, tag::ldigo}, eng);
  fill(plain_wl, 0.01f);
  fill(plain_wi, 0.01f);
  fill(l.bias, 0.0f);
  reorder(plain_wl, l.w_layer).execute(s, plain_wl, l.w_layer);
  reorder(plain_wi, l.w_iter).execute(s, plain_wi, l.w_iter);
  l.bwd_w_layer = memory(l.bwd_pd.weights_layer_desc(), eng);
  l.bwd_w_iter = memory(l.bwd_pd.weights_iter_desc(), eng);
  reorder(plain_wl, l.bwd_w_layer).execute(s, plain_wl, l.bwd_w_layer);
  reorder(plain_wi, l.bwd_w_iter).execute(s, plain_wi, l.bwd_w_iter);
  s.wait();
  return l;
}

long arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long L = arg(argc, argv, "--layers", 3), H = arg(argc, argv, "--hidden", 512);
  const long D0 = arg(argc, argv, "--input", 64), T = arg(argc, argv, "--steps", 100);
  const long B = arg(argc, argv, "--batch", 64), iterations = arg(argc, argv, "--iterations", 5);
  const long warmup = arg(argc, argv, "--warmup", 1);
  if (L < 1 || H < 1 || D0 < 1 || T < 1 || B < 1 || iterations < 1 || warmup < 0) {
    std::fprintf(stderr, "dnnl_lstm: every size must be at least 1\n");
    return 2;
  }
  engine eng(engine::kind::cpu, 0);
  stream s(eng);

  // Buffers between layers: x_0 (input), x_l = dst of layer l; the gradient arriving at the
  // top (ones: any value costs the same) and at each lower layer (diff_src of the one above).
  std::vector<Layer> layers;
  memory x({{T, B, D0}, dt::f32, tag::tnc}, eng);
  fill(x, 0.1f);
  memory top_grad({{T, B, H}, dt::f32, tag::tnc}, eng);
  fill(top_grad, 1.0f);
  for (long l = 0; l < L; ++l) {
    const memory& src = l == 0 ? x : layers.back().dst;
    layers.push_back(make_layer(eng, s, T, B, l == 0 ? D0 : H, H, src, memory()));
  }
  for (long l = 0; l < L; ++l) layers[l].diff_dst = l + 1 < L ? layers[l + 1].diff_src : top_grad;

  auto step = [&] {
    for (auto& l : layers)
      l.fwd.execute(s, {{DNNL_ARG_SRC_LAYER, l.src},
                        {DNNL_ARG_WEIGHTS_LAYER, l.w_layer},
                        {DNNL_ARG_WEIGHTS_ITER, l.w_iter},
                        {DNNL_ARG_BIAS, l.bias},
                        {DNNL_ARG_DST_LAYER, l.dst},
                        {DNNL_ARG_WORKSPACE, l.workspace}});
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
      Layer& l = *it;
      l.bwd.execute(s, {{DNNL_ARG_SRC_LAYER, l.src},
                        {DNNL_ARG_WEIGHTS_LAYER, l.bwd_w_layer},
                        {DNNL_ARG_WEIGHTS_ITER, l.bwd_w_iter},
                        {DNNL_ARG_BIAS, l.bias},
                        {DNNL_ARG_DST_LAYER, l.dst},
                        {DNNL_ARG_WORKSPACE, l.workspace},
                        {DNNL_ARG_DIFF_DST_LAYER, l.diff_dst},
                        {DNNL_ARG_DIFF_SRC_LAYER, l.diff_src},
                        {DNNL_ARG_DIFF_WEIGHTS_LAYER, l.diff_w_layer},
                        {DNNL_ARG_DIFF_WEIGHTS_ITER, l.diff_w_iter},
                        {DNNL_ARG_DIFF_BIAS, l.diff_bias}});
    }
    s.wait();
  };
  for (long i = 0; i < warmup; ++i) step();
  std::vector<double> ms;
  for (long i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  double flop = 0;
  for (long l = 0; l < L; ++l) flop += 3.0 * 2.0 * 4 * H * ((l == 0 ? D0 : H) + H) * T * B;
  std::printf("DnnlLstm/%ldx%ld/T%ld/B%ld/I%ld: %.1f ms/step, %.0f tokens/s, %.1f GFLOP/s\n", L, H,
              T, B, D0, median, T * B / (median * 1e-3), flop / (median * 1e-3) * 1e-9);
  return 0;
}
