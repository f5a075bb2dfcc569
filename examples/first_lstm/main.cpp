// SPDX-License-Identifier: MIT
// lstmidi-first: the first program to run. One LSTM layer learns one sentence, a character at
// a time, as min-char-rnn does with a plain RNN:
//
//   characters -> one-hot x_t -> Lstm (h_t, c_t) -> Dense (logits z_t) -> softmax cross-entropy
//
// Every training step is one forward pass over the whole sentence, backpropagation through
// time (docs/math.md#bptt) and one Adam update. Before training, the gradient of the first
// batch is compared with finite differences (docs/math.md#gradient-checks); a wrong gradient
// stops the program. At the end the network writes the sentence back from its first character.
//
//   lstmidi-first ["any sentence of a few words"]
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <map>
#include <string>
#include <vector>

using namespace lstmidi;
using Real = double;  // double precision, so the gradient check can resolve a relative 1e-6

int main(int argc, char** argv) {
  const std::string text = argc > 1 ? argv[1] : "an lstm remembers what a plain rnn forgets.";
  if (text.size() < 2) {
    std::cerr << "lstmidi-first: error: the sentence needs at least two characters\n";
    return 2;
  }
  // The vocabulary: every distinct character, in byte order, gets an id 0 .. V-1.
  std::map<char, TokenId> id_of;
  for (char ch : text) id_of[ch] = 0;
  std::string chars;
  for (auto& [ch, id] : id_of) {
    id = static_cast<TokenId>(chars.size());
    chars += ch;
  }
  // Inputs are characters 0 .. T-1, targets the characters one step later: 1 .. T.
  const Index V = static_cast<Index>(chars.size()), H = 32;
  std::vector<TokenId> inputs, targets;
  for (size_t t = 0; t + 1 < text.size(); ++t) {
    inputs.push_back(id_of[text[t]]);
    targets.push_back(id_of[text[t + 1]]);
  }

  // All parameters live in one flat buffer: the layers take their slots in order.
  ParamAllocator alloc;
  Lstm<Real> lstm(alloc, V, H);  // W: (4H, V), U: (4H, H), b: (4H, 1); gates i, f, g, o
  Dense<Real> dense(alloc, H, V);
  ParamBuffer<Real> p(alloc.size());
  Rng rng(1);
  lstm.init(p, rng);
  dense.init(p, rng);
  const Matrix<Real> zero = Matrix<Real>::Zero(H, 1);  // h_{-1} = c_{-1} = 0, batch B = 1
  Matrix<Real> Z, dZ, dH;

  // The mean loss over the T predictions; with_gradient also runs backward into p.grads.
  auto loss = [&](bool with_gradient) {
    lstm.forward_tokens(p, inputs, 1, zero, zero);  // h_0 .. h_{T-1}: (H, T)
    dense.forward(p, lstm.output(), Z);             // logits: (V, T)
    const LossTotals tot = softmax_cross_entropy<Real>(Z, targets, with_gradient ? &dZ : nullptr);
    if (with_gradient) {
      p.zero_grad();
      dense.backward(p, lstm.output(), dZ, &dH);  // dH = dY_t of every step
      lstm.backward_tokens(p, inputs, dH);        // BPTT: adds dW, dU, db
    }
    return tot.nll_sum / static_cast<double>(tot.count);
  };

  // Gradient check on the first batch: every 5th parameter against five-point finite
  // differences of the loss (debug/grad_check.hpp).
  loss(true);
  const Vector<Real> analytic = p.grads;
  std::vector<Index> which;
  for (Index j = 0; j < p.size(); j += 5) which.push_back(j);
  const GradCheckResult check = gradient_check(
      p.values, analytic, [&] { return loss(false); }, which);
  // A bug gives relative errors of 1e-3 to 1; round-off alone stays below 1e-5 here (the
  // smallest gradients, under the checker's floor 1e-6, are compared to about 1e-11 absolute).
  const bool gradient_ok = check.max_rel_error < 1e-5;
  std::cout << "gradient check: " << check.checked << " of " << p.size()
            << " parameters, worst relative error " << check.max_rel_error << " (analytic "
            << check.analytic_at_worst << ", numeric " << check.numeric_at_worst << ")"
            << (gradient_ok ? " (ok)" : " (WRONG: the backward pass has a bug)") << "\n";
  if (!gradient_ok) return 1;

  // Training: full-sentence BPTT, gradient clipping at norm 5, Adam.
  Adam<Real> adam(p.size(), AdamConfig{/*lr=*/0.01});
  const int iterations = 300;
  for (int it = 0; it <= iterations; ++it) {
    const double L = loss(true);
    if (it % 50 == 0) std::cout << "iteration " << it << "  loss " << L << "\n";
    if (it == iterations) break;
    clip_global_norm(p.grads, 5.0);
    adam.step(p.values, p.grads);
  }

  // What it learned: run the cell one step at a time from the first character, feeding back
  // its most probable next character (greedy), carrying h and c from step to step. Steps are
  // the generation engine's job (nn/lstm_step.hpp); it reads the same parameters.
  LstmStepper<Real> stepper(lstm);
  Matrix<Real> h = zero, c = zero, z;
  TokenId id = inputs[0];
  std::string written(1, text[0]);
  for (size_t t = 0; t < inputs.size(); ++t) {
    stepper.step_tokens(p, {id}, h, c);
    dense.forward(p, h, z);
    id = argmax(z.col(0));
    written += chars[static_cast<size_t>(id)];
  }
  std::cout << "sentence: " << text << "\nit writes: " << written << "\n"
            << (written == text ? "learned the sentence" : "not learned yet") << "\n";
  return 0;
}
