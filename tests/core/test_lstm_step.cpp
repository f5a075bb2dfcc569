// SPDX-License-Identifier: MIT
// The generation engine (nn/lstm_step.hpp): steps with carried state against the window forward
// of nn/lstm.hpp, the packed and 16-bit weight snapshots, and threads.
#include <doctest/doctest.h>

#include "lstmidi/nn/lstm_step.hpp"
#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

namespace {
// One initialised layer with its generation engine: the set-up every test here starts from.
template <typename T>
struct Layer {
  ParamAllocator alloc;
  Lstm<T> lstm;
  LstmStepper<T> stepper;
  ParamBuffer<T> p;
  Rng rng;
  Layer(Index D, Index H, std::uint64_t seed)
      : lstm(alloc, D, H), stepper(lstm), p(alloc.size()), rng(seed) {
    lstm.init(p, rng);
  }
};
}  // namespace

TEST_CASE_TEMPLATE("lstm step: stepping with carried state equals the window forward", T, float,
                   double) {
  const Index D = 5, H = 7, Tn = 6, B = 3;
  Layer<T> layer(D, H, 9);
  auto& [alloc, lstm, stepper, p, rng] = layer;
  const Matrix<T> X = random_matrix<T>(D, Tn * B, rng);
  Matrix<T> h = random_matrix<T>(H, B, rng, 0.3), c = random_matrix<T>(H, B, rng, 0.3);
  lstm.forward(p, X, B, h, c);
  for (Index t = 0; t < Tn; ++t) {
    stepper.step(p, X.middleCols(t * B, B), h, c);
    CHECK((h - lstm.output().middleCols(t * B, B)).cwiseAbs().maxCoeff() < T(1e-5));
  }
  CHECK((c - lstm.final_c()).cwiseAbs().maxCoeff() < T(1e-5));
}

TEST_CASE("lstm step: generation steps split over threads equal the window forward") {
  const Index D = 9, H = 160, Tn = 5;
  for (Index B : {Index{1}, Index{3}}) {
    Layer<double> layer(D, H, 31);
    auto& [alloc, lstm, stepper, p, rng] = layer;
    const Matrix<double> X = random_matrix<double>(D, Tn * B, rng);
    lstm.forward(p, X, B, Matrix<double>::Zero(H, B), Matrix<double>::Zero(H, B));
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(2);
    Matrix<double> h = Matrix<double>::Zero(H, B), c = h;
    for (Index t = 0; t < Tn; ++t) stepper.step(p, X.middleCols(t * B, B), h, c);
    Eigen::setNbThreads(saved);
    CHECK((h - lstm.final_h()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((c - lstm.final_c()).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("lstm step: steps from the packed weight snapshot equal the plain steps") {
  MESSAGE("register kernel active: " << PackedMatrix<float>::kernel_active());
  // H = 20 pads each gate to 32 rows; H = 160 splits over two threads; B = 7 needs two
  // column tiles of the kernel.
  for (Index H : {Index{20}, Index{160}})
    for (Index B : {Index{1}, Index{7}})
      for (int threads : {1, 2}) {
        CAPTURE(H);
        CAPTURE(B);
        CAPTURE(threads);
        const Index D = 11, Tn = 4;
        Layer<float> layer(D, H, 41);
        auto& [alloc, lstm, stepper, p, rng] = layer;
        lstm.b().in(p.values) += random_matrix<float>(4 * H, 1, rng, 0.5f);
        const Matrix<float> X = random_matrix<float>(D, Tn * B, rng);
        const std::vector<TokenId> ids = random_ids(Tn * B, D, rng);
        const int saved = Eigen::nbThreads();
        Eigen::setNbThreads(threads);
        Matrix<float> h = random_matrix<float>(H, B, rng, 0.5f),
                      c = random_matrix<float>(H, B, rng, 0.5f);
        Matrix<float> hp = h, cp = c, ht = h, ct = c, htp = h, ctp = c;
        for (Index t = 0; t < Tn; ++t) {
          std::vector<TokenId> step_ids(ids.begin() + t * B, ids.begin() + (t + 1) * B);
          stepper.step(p, X.middleCols(t * B, B), h, c);
          stepper.step_tokens(p, step_ids, ht, ct);
          stepper.pack(p);
          CHECK(stepper.packed() == PackedMatrix<float>::kernel_active());
          stepper.step(p, X.middleCols(t * B, B), hp, cp);
          stepper.step_tokens(p, step_ids, htp, ctp);
          stepper.unpack();
          CHECK_FALSE(stepper.packed());
        }
        Eigen::setNbThreads(saved);
        CHECK((hp - h).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((cp - c).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((htp - ht).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((ctp - ct).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK(h.cwiseAbs().maxCoeff() > 0.01f);  // the states moved: the comparison means something
      }
}

TEST_CASE("lstm step: the packed snapshot keeps the weights it was packed with") {
  const Index D = 6, H = 16;
  Layer<float> layer(D, H, 43);
  auto& [alloc, lstm, stepper, p, rng] = layer;
  const Matrix<float> x = random_matrix<float>(D, 1, rng);
  Matrix<float> h0 = random_matrix<float>(H, 1, rng, 0.5f),
                c0 = random_matrix<float>(H, 1, rng, 0.5f);
  Matrix<float> h_old = h0, c_old = c0;
  stepper.step(p, x, h_old, c_old);  // with the weights as packed
  stepper.pack(p);
  p.values *= 2.0f;  // changed after packing: a snapshot does not see it
  Matrix<float> h = h0, c = c0;
  stepper.step(p, x, h, c);
  if (PackedMatrix<float>::kernel_active()) CHECK((h - h_old).cwiseAbs().maxCoeff() < 1e-6f);
  stepper.unpack();  // back to the live weights
  h = h0, c = c0;
  stepper.step(p, x, h, c);
  CHECK((h - h_old).cwiseAbs().maxCoeff() > 1e-3f);
}

TEST_CASE("lstm step: packed generation steps do not depend on the thread count") {
  // Threads split the units, and each unit's products run over the whole depth in one kernel
  // call, so the sums are the same with any number of threads.
  const Index D = 9, H = 160, Tn = 5;
  Layer<float> layer(D, H, 47);
  auto& [alloc, lstm, stepper, p, rng] = layer;
  const Matrix<float> X = random_matrix<float>(D, Tn, rng);
  stepper.pack(p);
  auto run = [&](int threads) {
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(threads);
    Matrix<float> h = Matrix<float>::Zero(H, 1), c = h;
    // (the layer's members by name: C++17 lambdas cannot capture structured bindings)
    for (Index t = 0; t < Tn; ++t) layer.stepper.step(layer.p, X.col(t), h, c);
    Eigen::setNbThreads(saved);
    return h;
  };
  const Matrix<float> h1 = run(1), h2 = run(2);
  if (PackedMatrix<float>::kernel_active()) {
    CHECK(h1 == h2);
  } else {
    CHECK((h1 - h2).cwiseAbs().maxCoeff() < 1e-6f);
  }
  CHECK(h1.cwiseAbs().maxCoeff() > 0.01f);
}

namespace {
// A float LSTM with non-trivial biases for the 16-bit snapshot tests; `grid` rounds every
// weight to a multiple of 2^-10 in (-1, 1), which a 16-bit float holds exactly.
struct HalfFixture {
  Index D, H;
  ParamAllocator alloc;
  Lstm<float> lstm;
  LstmStepper<float> stepper;
  ParamBuffer<float> p;
  HalfFixture(Index d, Index h, bool grid)
      : D(d), H(h), lstm(alloc, d, h), stepper(lstm), p(alloc.size()) {
    Rng rng(53);
    lstm.init(p, rng);
    lstm.b().in(p.values) += random_matrix<float>(4 * H, 1, rng, 0.5f);
    if (grid)
      p.values =
          (p.values.array() * 1024.0f).round().cwiseMax(-1023.0f).cwiseMin(1023.0f) / 1024.0f;
  }
  // Tn steps of token input (every other step) and dense input, from a fixed start state.
  std::pair<Matrix<float>, Matrix<float>> run(Index B, Index Tn, int threads) {
    Rng rng(59);
    const Matrix<float> X = random_matrix<float>(D, Tn * B, rng);
    const std::vector<TokenId> ids = random_ids(Tn * B, D, rng);
    Matrix<float> h = random_matrix<float>(H, B, rng, 0.5f),
                  c = random_matrix<float>(H, B, rng, 0.5f);
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(threads);
    for (Index t = 0; t < Tn; ++t) {
      if (t % 2)
        stepper.step_tokens(p, std::vector<TokenId>(ids.begin() + t * B, ids.begin() + (t + 1) * B),
                            h, c);
      else
        stepper.step(p, X.middleCols(t * B, B), h, c);
    }
    Eigen::setNbThreads(saved);
    return {h, c};
  }
};
}  // namespace

TEST_CASE("lstm step: 16-bit generation weights are the float weights rounded, nothing else") {
  if (!LstmStepper<float>::half_supported()) {
    HalfFixture f(5, 16, false);
    CHECK_THROWS_WITH_AS(f.stepper.pack(f.p, GenerationWeights::float16), doctest::Contains("F16C"),
                         std::invalid_argument);
    CHECK_FALSE(f.stepper.packed());
    return;
  }
  // Weights a 16-bit float holds exactly: the 16-bit snapshot must give the float snapshot's
  // steps bit for bit (same kernel, same order of sums), so any layout slip shows.
  for (Index H : {Index{20}, Index{160}})
    for (Index B : {Index{1}, Index{7}})
      for (int threads : {1, 2}) {
        CAPTURE(H);
        CAPTURE(B);
        CAPTURE(threads);
        HalfFixture f(11, H, /*grid=*/true);
        f.stepper.pack(f.p);
        const auto [h32, c32] = f.run(B, 4, threads);
        f.stepper.pack(f.p, GenerationWeights::float16);
        CHECK(f.stepper.format() == GenerationWeights::float16);
        const auto [h16, c16] = f.run(B, 4, threads);
        CHECK(h16 == h32);
        CHECK(c16 == c32);
        CHECK(h32.cwiseAbs().maxCoeff() > 0.01f);
        f.stepper.unpack();
        CHECK(f.stepper.format() == GenerationWeights::float32);
        const auto [h, c] = f.run(B, 4, threads);  // the plain steps, for scale
        CHECK((h - h32).cwiseAbs().maxCoeff() < 1e-5f);
      }
}

TEST_CASE("lstm step: 16-bit generation weights stay within their rounding of the float steps") {
  if (!LstmStepper<float>::half_supported()) return;  // the rejection is checked above
  HalfFixture f(13, 160, /*grid=*/false);
  f.stepper.pack(f.p);
  const auto [h32, c32] = f.run(1, 6, 1);
  f.stepper.pack(f.p, GenerationWeights::float16);
  const auto [h16, c16] = f.run(1, 6, 1);
  const auto [h16b, c16b] = f.run(1, 6, 2);
  // Each weight moves by at most 2^-11 of itself; over 6 steps the states move by less than
  // 1e-4 here (3e-5 in h, 7e-5 in c when written). They do move: the snapshot is rounded.
  const float dh = (h16 - h32).cwiseAbs().maxCoeff(), dc = (c16 - c32).cwiseAbs().maxCoeff();
  MESSAGE("16-bit vs float state after 6 steps: |dh| " << dh << ", |dc| " << dc);
  CHECK(dh > 0.0f);
  CHECK(dh < 1e-3f);
  CHECK(dc < 1e-3f);
  CHECK(h16 == h16b);  // and the thread count still does not matter
  CHECK(c16 == c16b);
}
