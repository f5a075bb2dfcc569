// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

namespace {
struct LstmFixture {
  Index D = 3, H = 4, T = 5, B = 2;
  ParamAllocator alloc;
  Lstm<double> lstm{alloc, D, H};
  ParamBuffer<double> p{alloc.size()};
  Rng rng{11};
  Matrix<double> X, h0, c0, R, Rh, Rc;
  bool weight_drop = false;  // draw (or reuse, when frozen) a weight-drop mask before forward

  LstmFixture() {
    lstm.init(p, rng);
    // Non-trivial biases, so every gate is exercised away from its initial point.
    MatrixMap<double> b = lstm.b().in(p.values);
    b += random_matrix<double>(4 * H, 1, rng, 0.5);
    X = random_matrix<double>(D, T * B, rng);
    h0 = random_matrix<double>(H, B, rng, 0.5);  // carried state
    c0 = random_matrix<double>(H, B, rng, 0.5);
    R = random_matrix<double>(H, T * B, rng);  // loss = <R, Y> + <Rh, h_T> + <Rc, c_T>
    Rh = random_matrix<double>(H, B, rng);
    Rc = random_matrix<double>(H, B, rng);
  }
  double loss() {
    if (weight_drop) lstm.drop_recurrent_weights(p, rng, true);
    lstm.forward(p, X, B, h0, c0);
    return (R.array() * lstm.output().array()).sum() +
           (Rh.array() * lstm.final_h().array()).sum() + (Rc.array() * lstm.final_c().array()).sum();
  }
};
}  // namespace

TEST_CASE("lstm: weight gradients match finite differences (carried state, final-state loss)") {
  LstmFixture f;
  f.loss();
  // backward takes dL/dh_t for every step: <Rh, h_T> folds into the last step's dY. A loss on
  // c_T has no entry point (training never puts one there), so that term is switched off.
  f.Rc.setZero();
  f.loss();
  Matrix<double> dY = f.R;
  dY.rightCols(f.B) += f.Rh;
  f.p.zero_grad();
  Matrix<double> dX;
  f.lstm.backward(f.p, f.X, dY, &dX);
  const GradCheckResult r = gradient_check(f.p.values, f.p.grads, [&] { return f.loss(); });
  INFO("worst index " << r.worst_index << " analytic " << r.analytic_at_worst << " numeric "
                      << r.numeric_at_worst);
  CHECK(r.max_rel_error < 1e-6);

  // dX against finite differences on the inputs.
  Vector<double> x = Eigen::Map<Vector<double>>(f.X.data(), f.X.size());
  const Vector<double> dx = Eigen::Map<Vector<double>>(dX.data(), dX.size());
  const GradCheckResult rx = gradient_check(x, dx, [&] {
    f.X = Eigen::Map<Matrix<double>>(x.data(), f.D, f.T * f.B);
    return f.loss();
  });
  CHECK(rx.max_rel_error < 1e-6);

  // dh0 and dc0 (the gradient that truncated BPTT drops at the window start).
  f.X = Eigen::Map<Matrix<double>>(x.data(), f.D, f.T * f.B);
  f.loss();
  f.lstm.backward(f.p, f.X, dY, nullptr);
  const Matrix<double> dh0 = f.lstm.dh0(), dc0 = f.lstm.dc0();
  Vector<double> h = Eigen::Map<Vector<double>>(f.h0.data(), f.h0.size());
  const GradCheckResult rh = gradient_check(h, Eigen::Map<const Vector<double>>(dh0.data(), dh0.size()), [&] {
    f.h0 = Eigen::Map<Matrix<double>>(h.data(), f.H, f.B);
    return f.loss();
  });
  CHECK(rh.max_rel_error < 1e-6);
  f.h0 = Eigen::Map<Matrix<double>>(h.data(), f.H, f.B);
  Vector<double> c = Eigen::Map<Vector<double>>(f.c0.data(), f.c0.size());
  const GradCheckResult rc = gradient_check(c, Eigen::Map<const Vector<double>>(dc0.data(), dc0.size()), [&] {
    f.c0 = Eigen::Map<Matrix<double>>(c.data(), f.H, f.B);
    return f.loss();
  });
  CHECK(rc.max_rel_error < 1e-6);
}

TEST_CASE("lstm: weight drop masks U in forward and backward; gradients match finite differences") {
  LstmFixture f, plain;
  f.Rc.setZero();
  f.lstm.weight_drop().set_rate(0.4);
  f.weight_drop = true;
  f.loss();  // draws the mask
  f.lstm.weight_drop().freeze_mask(true);
  const Matrix<double> M = f.lstm.weight_drop().mask();
  REQUIRE(M.rows() == 4 * f.H);
  REQUIRE(M.cols() == f.H);
  Index zeros = 0;
  for (Index k = 0; k < M.size(); ++k) {
    CHECK((M.data()[k] == 0.0 || M.data()[k] == doctest::Approx(1.0 / 0.6)));
    zeros += M.data()[k] == 0.0 ? 1 : 0;
  }
  CHECK(zeros > 0);
  CHECK(zeros < M.size());
  // The masked window differs from the plain one.
  f.loss();
  plain.loss();
  CHECK((f.lstm.output() - plain.lstm.output()).cwiseAbs().maxCoeff() > 1e-6);

  Matrix<double> dY = f.R;
  dY.rightCols(f.B) += f.Rh;
  f.p.zero_grad();
  f.lstm.backward(f.p, f.X, dY, nullptr);
  const Matrix<double> dU = f.lstm.U().in(f.p.grads);
  for (Index k = 0; k < M.size(); ++k)
    if (M.data()[k] == 0.0) CHECK(dU.data()[k] == 0.0);  // dropped weights learn nothing
  const GradCheckResult r = gradient_check(f.p.values, f.p.grads, [&] { return f.loss(); });
  INFO("worst index " << r.worst_index << " analytic " << r.analytic_at_worst << " numeric "
                      << r.numeric_at_worst);
  CHECK(r.max_rel_error < 1e-6);

  // A mask covers one forward: the next one without a draw (inference) uses U itself.
  f.weight_drop = false;
  f.loss();
  CHECK(f.lstm.output() == plain.lstm.output());
  f.lstm.drop_recurrent_weights(f.p, f.rng, /*training=*/false);
  f.loss();
  CHECK(f.lstm.output() == plain.lstm.output());
}

TEST_CASE("lstm: token input equals one-hot input, forward and backward") {
  const Index V = 6, H = 3, T = 4, B = 2;
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, V, H);
  ParamBuffer<double> p(alloc.size());
  Rng rng(3);
  lstm.init(p, rng);
  const auto ids = random_ids(T * B, V, rng);
  Matrix<double> onehot = Matrix<double>::Zero(V, T * B);
  for (Index j = 0; j < T * B; ++j) onehot(ids[static_cast<size_t>(j)], j) = 1.0;
  const Matrix<double> h0 = Matrix<double>::Zero(H, B), c0 = h0;
  const Matrix<double> dY = random_matrix<double>(H, T * B, rng);

  lstm.forward(p, onehot, B, h0, c0);
  const Matrix<double> y_dense = lstm.output();
  p.zero_grad();
  lstm.backward(p, onehot, dY, nullptr);
  const Vector<double> g_dense = p.grads;

  lstm.forward_tokens(p, ids, B, h0, c0);
  CHECK((lstm.output() - y_dense).cwiseAbs().maxCoeff() < 1e-14);
  p.zero_grad();
  lstm.backward_tokens(p, ids, dY);
  CHECK((p.grads - g_dense).cwiseAbs().maxCoeff() < 1e-13);
}

TEST_CASE_TEMPLATE("lstm: stepping with carried state equals the window forward", T, float, double) {
  const Index D = 5, H = 7, Tn = 6, B = 3;
  ParamAllocator alloc;
  Lstm<T> lstm(alloc, D, H);
  ParamBuffer<T> p(alloc.size());
  Rng rng(9);
  lstm.init(p, rng);
  const Matrix<T> X = random_matrix<T>(D, Tn * B, rng);
  Matrix<T> h = random_matrix<T>(H, B, rng, 0.3), c = random_matrix<T>(H, B, rng, 0.3);
  lstm.forward(p, X, B, h, c);
  for (Index t = 0; t < Tn; ++t) {
    lstm.step(p, X.middleCols(t * B, B), h, c);
    CHECK((h - lstm.output().middleCols(t * B, B)).cwiseAbs().maxCoeff() < T(1e-5));
  }
  CHECK((c - lstm.final_c()).cwiseAbs().maxCoeff() < T(1e-5));
}

TEST_CASE("lstm: initialisation follows the Keras scheme") {
  const Index D = 10, H = 8;
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, D, H);
  ParamBuffer<double> p(alloc.size());
  Rng rng(1);
  lstm.init(p, rng);
  const Matrix<double> U = lstm.U().in(p.values);
  // Orthogonal: U^T U = I (columns orthonormal, U is 4H x H).
  CHECK((U.transpose() * U - Matrix<double>::Identity(H, H)).cwiseAbs().maxCoeff() < 1e-12);
  const Matrix<double> b = lstm.b().in(p.values);
  CHECK(b.middleRows(H, H).minCoeff() == 1.0);
  CHECK(b.topRows(H).cwiseAbs().maxCoeff() == 0.0);
  CHECK(b.bottomRows(2 * H).cwiseAbs().maxCoeff() == 0.0);
  const Matrix<double> W = lstm.W().in(p.values);
  const double limit = std::sqrt(6.0 / (4 * H + D));
  CHECK(W.cwiseAbs().maxCoeff() <= limit);
  CHECK(W.cwiseAbs().maxCoeff() > 0.8 * limit);
}

TEST_CASE("lstm: shape mismatches throw with a clear message") {
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, 3, 4);
  ParamBuffer<float> p(alloc.size());
  const Matrix<float> X = Matrix<float>::Zero(2, 6), h0 = Matrix<float>::Zero(4, 2);
  CHECK_THROWS_WITH_AS(lstm.forward(p, X, 2, h0, h0), doctest::Contains("expected shape (3"),
                       std::invalid_argument);
  const Matrix<float> X3 = Matrix<float>::Zero(3, 7);
  CHECK_THROWS_AS(lstm.forward(p, X3, 2, h0, h0), std::invalid_argument);
  const Matrix<float> X4 = Matrix<float>::Zero(3, 6), bad = Matrix<float>::Zero(4, 3);
  CHECK_THROWS_AS(lstm.forward(p, X4, 2, bad, h0), std::invalid_argument);
  CHECK_THROWS_AS(Lstm<float>(alloc, 0, 4), std::invalid_argument);
}

TEST_CASE("lstm: threads split the batch without changing results beyond rounding") {
  const Index D = 6, H = 5, Tn = 7, B = 32;
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, D, H);
  ParamBuffer<double> p(alloc.size());
  Rng rng(21);
  lstm.init(p, rng);
  const Matrix<double> X = random_matrix<double>(D, Tn * B, rng);
  const Matrix<double> h0 = random_matrix<double>(H, B, rng), c0 = random_matrix<double>(H, B, rng);
  const Matrix<double> dY = random_matrix<double>(H, Tn * B, rng);
  auto run = [&](int threads, Matrix<double>& out, Vector<double>& grads) {
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(threads);
    lstm.forward(p, X, B, h0, c0);
    out = lstm.output();
    p.zero_grad();
    lstm.backward(p, X, dY, nullptr);
    grads = p.grads;
    Eigen::setNbThreads(saved);
  };
  Matrix<double> y1, y4;
  Vector<double> g1, g4;
  run(1, y1, g1);
  run(4, y4, g4);
  CHECK((y1 - y4).cwiseAbs().maxCoeff() < 1e-13);
  CHECK((g1 - g4).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("lstm: generation steps split over threads equal the window forward") {
  const Index D = 9, H = 160, Tn = 5;
  for (Index B : {Index{1}, Index{3}}) {
    ParamAllocator alloc;
    Lstm<double> lstm(alloc, D, H);
    ParamBuffer<double> p(alloc.size());
    Rng rng(31);
    lstm.init(p, rng);
    const Matrix<double> X = random_matrix<double>(D, Tn * B, rng);
    lstm.forward(p, X, B, Matrix<double>::Zero(H, B), Matrix<double>::Zero(H, B));
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(2);
    Matrix<double> h = Matrix<double>::Zero(H, B), c = h;
    for (Index t = 0; t < Tn; ++t) lstm.step(p, X.middleCols(t * B, B), h, c);
    Eigen::setNbThreads(saved);
    CHECK((h - lstm.final_h()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((c - lstm.final_c()).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("lstm: steps from the packed weight snapshot equal the plain steps") {
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
        ParamAllocator alloc;
        Lstm<float> lstm(alloc, D, H);
        ParamBuffer<float> p(alloc.size());
        Rng rng(41);
        lstm.init(p, rng);
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
          lstm.step(p, X.middleCols(t * B, B), h, c);
          lstm.step_tokens(p, step_ids, ht, ct);
          lstm.pack_step_weights(p);
          CHECK(lstm.step_weights_packed() == PackedMatrix<float>::kernel_active());
          lstm.step(p, X.middleCols(t * B, B), hp, cp);
          lstm.step_tokens(p, step_ids, htp, ctp);
          lstm.unpack_step_weights();
          CHECK_FALSE(lstm.step_weights_packed());
        }
        Eigen::setNbThreads(saved);
        CHECK((hp - h).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((cp - c).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((htp - ht).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK((ctp - ct).cwiseAbs().maxCoeff() < 1e-5f);
        CHECK(h.cwiseAbs().maxCoeff() > 0.01f);  // the states moved: the comparison means something
      }
}

TEST_CASE("lstm: the packed snapshot keeps the weights it was packed with") {
  const Index D = 6, H = 16;
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, D, H);
  ParamBuffer<float> p(alloc.size());
  Rng rng(43);
  lstm.init(p, rng);
  const Matrix<float> x = random_matrix<float>(D, 1, rng);
  Matrix<float> h0 = random_matrix<float>(H, 1, rng, 0.5f),
                c0 = random_matrix<float>(H, 1, rng, 0.5f);
  Matrix<float> h_old = h0, c_old = c0;
  lstm.step(p, x, h_old, c_old);  // with the weights as packed
  lstm.pack_step_weights(p);
  p.values *= 2.0f;  // changed after packing: a snapshot does not see it
  Matrix<float> h = h0, c = c0;
  lstm.step(p, x, h, c);
  if (PackedMatrix<float>::kernel_active()) CHECK((h - h_old).cwiseAbs().maxCoeff() < 1e-6f);
  lstm.unpack_step_weights();  // back to the live weights
  h = h0, c = c0;
  lstm.step(p, x, h, c);
  CHECK((h - h_old).cwiseAbs().maxCoeff() > 1e-3f);
}

TEST_CASE("lstm: packed generation steps do not depend on the thread count") {
  // Threads split the units, and each unit's products run over the whole depth in one kernel
  // call, so the sums are the same with any number of threads.
  const Index D = 9, H = 160, Tn = 5;
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, D, H);
  ParamBuffer<float> p(alloc.size());
  Rng rng(47);
  lstm.init(p, rng);
  const Matrix<float> X = random_matrix<float>(D, Tn, rng);
  lstm.pack_step_weights(p);
  auto run = [&](int threads) {
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(threads);
    Matrix<float> h = Matrix<float>::Zero(H, 1), c = h;
    for (Index t = 0; t < Tn; ++t) lstm.step(p, X.col(t), h, c);
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
  ParamBuffer<float> p;
  HalfFixture(Index d, Index h, bool grid) : D(d), H(h), lstm(alloc, d, h), p(alloc.size()) {
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
        lstm.step_tokens(p, std::vector<TokenId>(ids.begin() + t * B, ids.begin() + (t + 1) * B), h,
                         c);
      else
        lstm.step(p, X.middleCols(t * B, B), h, c);
    }
    Eigen::setNbThreads(saved);
    return {h, c};
  }
};
}  // namespace

TEST_CASE("lstm: 16-bit generation weights are the float weights rounded, nothing else") {
  if (!Lstm<float>::half_steps_supported()) {
    HalfFixture f(5, 16, false);
    CHECK_THROWS_WITH_AS(f.lstm.pack_step_weights(f.p, GenerationWeights::float16),
                         doctest::Contains("F16C"), std::invalid_argument);
    CHECK_FALSE(f.lstm.step_weights_packed());
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
        f.lstm.pack_step_weights(f.p);
        const auto [h32, c32] = f.run(B, 4, threads);
        f.lstm.pack_step_weights(f.p, GenerationWeights::float16);
        CHECK(f.lstm.step_weights_format() == GenerationWeights::float16);
        const auto [h16, c16] = f.run(B, 4, threads);
        CHECK(h16 == h32);
        CHECK(c16 == c32);
        CHECK(h32.cwiseAbs().maxCoeff() > 0.01f);
        f.lstm.unpack_step_weights();
        CHECK(f.lstm.step_weights_format() == GenerationWeights::float32);
        const auto [h, c] = f.run(B, 4, threads);  // the plain steps, for scale
        CHECK((h - h32).cwiseAbs().maxCoeff() < 1e-5f);
      }
}

TEST_CASE("lstm: 16-bit generation weights stay within their rounding of the float steps") {
  if (!Lstm<float>::half_steps_supported()) return;  // the rejection is checked above
  HalfFixture f(13, 160, /*grid=*/false);
  f.lstm.pack_step_weights(f.p);
  const auto [h32, c32] = f.run(1, 6, 1);
  f.lstm.pack_step_weights(f.p, GenerationWeights::float16);
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
