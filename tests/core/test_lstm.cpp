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
    return (R.array() * lstm.output().array()).sum() + (Rh.array() * lstm.final_h().array()).sum() +
           (Rc.array() * lstm.final_c().array()).sum();
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
  const GradCheckResult rh =
      gradient_check(h, Eigen::Map<const Vector<double>>(dh0.data(), dh0.size()), [&] {
        f.h0 = Eigen::Map<Matrix<double>>(h.data(), f.H, f.B);
        return f.loss();
      });
  CHECK(rh.max_rel_error < 1e-6);
  f.h0 = Eigen::Map<Matrix<double>>(h.data(), f.H, f.B);
  Vector<double> c = Eigen::Map<Vector<double>>(f.c0.data(), f.c0.size());
  const GradCheckResult rc =
      gradient_check(c, Eigen::Map<const Vector<double>>(dc0.data(), dc0.size()), [&] {
        f.c0 = Eigen::Map<Matrix<double>>(c.data(), f.H, f.B);
        return f.loss();
      });
  CHECK(rc.max_rel_error < 1e-6);
}

TEST_CASE("lstm: weight drop masks U in forward and backward, gradients match finite differences") {
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

TEST_CASE("lstm: a bad token id in backward is refused before the cache is used") {
  const Index V = 5, H = 4, Tn = 3, B = 2;
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, V, H);
  ParamBuffer<float> p(alloc.size());
  Rng rng(12);
  lstm.init(p, rng);
  auto ids = random_ids(Tn * B, V, rng);
  const Matrix<float> h0 = Matrix<float>::Zero(H, B);
  const Matrix<float> dY = random_matrix<float>(H, Tn * B, rng);
  lstm.forward_tokens(p, ids, B, h0, h0);
  p.zero_grad();
  lstm.backward_tokens(p, ids, dY);
  const Vector<float> expect = p.grads;

  lstm.forward_tokens(p, ids, B, h0, h0);
  p.zero_grad();
  auto bad = ids;
  bad[4] = static_cast<TokenId>(V);
  CHECK_THROWS_WITH_AS(lstm.backward_tokens(p, bad, dY), doctest::Contains("token id 5"),
                       std::invalid_argument);
  bad[4] = -1;
  CHECK_THROWS_AS(lstm.backward_tokens(p, bad, dY), std::invalid_argument);
  CHECK(p.grads.isZero(0));
  lstm.backward_tokens(p, ids, dY);  // the forward's cache is still there
  CHECK(p.grads == expect);
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

TEST_CASE("lstm: token input on 1 and 3 threads gives the same bits, forward and backward") {
  // The gather and the bias run inside the threads' slices; each element is computed the same
  // way whichever thread does it.
  const Index V = 40, H = 64, Tn = 6, B = 48;
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, V, H);
  ParamBuffer<float> p(alloc.size());
  Rng rng(8);
  lstm.init(p, rng);
  p.values.tail(4 * H) = Vector<float>::LinSpaced(4 * H, -0.5f, 0.5f);  // a non-zero bias
  const auto ids = random_ids(Tn * B, V, rng);
  const Matrix<float> h0 = random_matrix<float>(H, B, rng), c0 = random_matrix<float>(H, B, rng);
  const Matrix<float> dY = random_matrix<float>(H, Tn * B, rng);
  const int threads_before = Eigen::nbThreads();
  auto run = [&](int threads, Matrix<float>& out, Vector<float>& grads) {
    Eigen::setNbThreads(threads);
    lstm.forward_tokens(p, ids, B, h0, c0);
    out = lstm.output();
    p.zero_grad();
    lstm.backward_tokens(p, ids, dY);
    grads = p.grads;
  };
  Matrix<float> y1, y3;
  Vector<float> g1, g3;
  run(1, y1, g1);
  run(3, y3, g3);
  Eigen::setNbThreads(threads_before);
  CHECK(y1 == y3);
  CHECK(g1 == g3);
  CHECK(g1.head(V * 4 * H).cwiseAbs().maxCoeff() > 0);  // dW received the scatter
}

TEST_CASE("lstm: a long token window's gradients, the scatter inside the weight-gradient pass") {
  // T * B = 1152 columns: deep enough for the weight gradients' register kernel (AVX-512
  // builds), where the scatter into dW rides on its pass over dA. The gradients equal the
  // one-hot input's through the dense path to float rounding; where that kernel runs, they
  // are also the same bits on 1 and 3 threads (elsewhere Eigen's products are used, whose
  // bits may depend on the thread count).
  const Index V = 40, H = 64, Tn = 24, B = 48;
  ParamAllocator alloc;
  Lstm<float> lstm(alloc, V, H);
  ParamBuffer<float> p(alloc.size());
  Rng rng(9);
  lstm.init(p, rng);
  const auto ids = random_ids(Tn * B, V, rng);
  const Matrix<float> h0 = random_matrix<float>(H, B, rng), c0 = random_matrix<float>(H, B, rng);
  const Matrix<float> dY = random_matrix<float>(H, Tn * B, rng);
  const int threads_before = Eigen::nbThreads();
  auto token_grads = [&](int threads) {
    Eigen::setNbThreads(threads);
    lstm.forward_tokens(p, ids, B, h0, c0);
    p.zero_grad();
    lstm.backward_tokens(p, ids, dY);
    return Vector<float>(p.grads);
  };
  const Vector<float> g1 = token_grads(1), g3 = token_grads(3);
  Matrix<float> onehot = Matrix<float>::Zero(V, Tn * B);
  for (Index j = 0; j < Tn * B; ++j) onehot(ids[static_cast<size_t>(j)], j) = 1.0f;
  lstm.forward(p, onehot, B, h0, c0);
  p.zero_grad();
  lstm.backward(p, onehot, dY, nullptr);
  Eigen::setNbThreads(threads_before);
  CHECK(g1.head(V * 4 * H).cwiseAbs().maxCoeff() > 0);
  CHECK((p.grads - g1).norm() <= 1e-5f * p.grads.norm());
  if (PackedMatrix<float>::kernel_bits() == 512) CHECK(g1 == g3);
}

TEST_CASE("lstm: a second backward without a new forward is refused") {
  LstmFixture f;
  f.lstm.forward(f.p, f.X, f.B, f.h0, f.c0);
  f.lstm.backward(f.p, f.X, f.R, nullptr);
  CHECK_THROWS_WITH_AS(f.lstm.backward(f.p, f.X, f.R, nullptr),
                       doctest::Contains("no forward since the last backward"),
                       std::invalid_argument);
  f.lstm.forward(f.p, f.X, f.B, f.h0, f.c0);  // a new forward serves a new backward
  CHECK_NOTHROW(f.lstm.backward(f.p, f.X, f.R, nullptr));
}

TEST_CASE("lstm: float gradients (the register-kernel path) agree with the double ones") {
  // The finite-difference checks run in double, where products fall back to Eigen's GEMM; in a
  // build with AVX2 + FMA the float path runs the packed register kernel instead. Same weights,
  // inputs and output gradients in both precisions: every gradient must agree to float rounding.
  MESSAGE("register kernel active: " << PackedMatrix<float>::kernel_active());
  const Index D = 7, H = 40, Tn = 9, B = 5;  // H pads to whole 16-row panels
  ParamAllocator alloc;
  Lstm<double> ld(alloc, D, H);
  ParamAllocator alloc_f;
  Lstm<float> lf(alloc_f, D, H);
  ParamBuffer<double> pd(alloc.size());
  ParamBuffer<float> pf(alloc_f.size());
  Rng rng(61);
  ld.init(pd, rng);
  ld.b().in(pd.values) += random_matrix<double>(4 * H, 1, rng, 0.5);
  pf.values = pd.values.cast<float>();
  pd.values = pf.values.cast<double>();  // both hold exactly the same (float) numbers
  const Matrix<float> Xf = random_matrix<float>(D, Tn * B, rng);
  const Matrix<float> h0f = random_matrix<float>(H, B, rng, 0.5f),
                      c0f = random_matrix<float>(H, B, rng, 0.5f);
  const Matrix<float> dYf = random_matrix<float>(H, Tn * B, rng);
  ld.forward(pd, Xf.cast<double>(), B, h0f.cast<double>(), c0f.cast<double>());
  lf.forward(pf, Xf, B, h0f, c0f);
  CHECK((lf.output().cast<double>() - ld.output()).cwiseAbs().maxCoeff() < 1e-5);
  pd.zero_grad();
  pf.zero_grad();
  Matrix<double> dXd;
  Matrix<float> dXf;
  ld.backward(pd, Xf.cast<double>(), dYf.cast<double>(), &dXd);
  lf.backward(pf, Xf, dYf, &dXf);
  const double scale = pd.grads.cwiseAbs().maxCoeff();
  REQUIRE(scale > 0.1);  // the gradients are not trivially small
  CHECK((pf.grads.cast<double>() - pd.grads).cwiseAbs().maxCoeff() < 1e-5 * scale);
  CHECK((dXf.cast<double>() - dXd).cwiseAbs().maxCoeff() < 1e-5 * dXd.cwiseAbs().maxCoeff());
  CHECK((lf.dh0().cast<double>() - ld.dh0()).cwiseAbs().maxCoeff() < 1e-5 * scale);
  CHECK((lf.dc0().cast<double>() - ld.dc0()).cwiseAbs().maxCoeff() < 1e-5 * scale);
}
