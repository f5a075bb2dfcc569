// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_ids;
using lstmidi::test::random_matrix;

TEST_CASE("embedding: gather equals the one-hot product, gradient checks") {
  const Index V = 7, E = 4, N = 9;
  ParamAllocator alloc;
  Embedding<double> emb(alloc, V, E);
  ParamBuffer<double> p(alloc.size());
  Rng rng(2);
  emb.init(p, rng);
  auto ids = random_ids(N, V, rng);
  ids[0] = ids[1];  // a repeated id accumulates gradient
  Matrix<double> X;
  emb.forward(p, ids, X);
  Matrix<double> onehot = Matrix<double>::Zero(V, N);
  for (Index j = 0; j < N; ++j) onehot(ids[static_cast<size_t>(j)], j) = 1;
  const Matrix<double> E_tab = emb.table().in(p.values);
  CHECK((X - E_tab * onehot).cwiseAbs().maxCoeff() == 0.0);

  const Matrix<double> R = random_matrix<double>(E, N, rng);
  p.zero_grad();
  emb.backward(p, ids, R);
  const auto r = gradient_check(p.values, p.grads, [&] {
    Matrix<double> Y;
    emb.forward(p, ids, Y);
    return (R.array() * Y.array()).sum();
  });
  CHECK(r.max_rel_error < 1e-7);
  CHECK_THROWS_AS(emb.forward(p, {0, 7}, X), std::invalid_argument);
  CHECK_THROWS_AS(emb.forward(p, {-1}, X), std::invalid_argument);
}

TEST_CASE("dense: gradient check on weights and inputs") {
  const Index H = 5, V = 4, N = 6;
  ParamAllocator alloc;
  Dense<double> dense(alloc, H, V);
  ParamBuffer<double> p(alloc.size());
  Rng rng(4);
  dense.init(p, rng);
  dense.b().in(p.values) = random_matrix<double>(V, 1, rng);
  Matrix<double> X = random_matrix<double>(H, N, rng);
  const Matrix<double> R = random_matrix<double>(V, N, rng);
  auto loss = [&] {
    Matrix<double> Z;
    dense.forward(p, X, Z);
    return (R.array() * Z.array()).sum();
  };
  p.zero_grad();
  Matrix<double> dX;
  dense.backward(p, X, R, &dX);
  CHECK(gradient_check(p.values, p.grads, loss).max_rel_error < 1e-7);
  Vector<double> x = Eigen::Map<Vector<double>>(X.data(), X.size());
  const Vector<double> dx = Eigen::Map<Vector<double>>(dX.data(), dX.size());
  CHECK(gradient_check(x, dx, [&] {
          X = Eigen::Map<Matrix<double>>(x.data(), H, N);
          return loss();
        }).max_rel_error < 1e-7);
  Matrix<double> Z;
  CHECK_THROWS_AS(dense.forward(p, Matrix<double>::Zero(H + 1, 2), Z), std::invalid_argument);
}

TEST_CASE("dropout: inverted scaling, inference identity, seeded masks, gradient") {
  Dropout<double> d(0.25);
  Rng rng(8);
  const Matrix<double> X = Matrix<double>::Ones(40, 50);
  Matrix<double> Y;
  d.forward(X, Y, rng, true);
  Index zeros = 0;
  for (Index k = 0; k < Y.size(); ++k) {
    const double y = Y.data()[k];
    CHECK((y == 0.0 || std::abs(y - 1.0 / 0.75) < 1e-15));
    zeros += y == 0.0;
  }
  CHECK(static_cast<double>(zeros) / Y.size() == doctest::Approx(0.25).epsilon(0.15));
  CHECK(Y.mean() == doctest::Approx(1.0).epsilon(0.05));  // expectation preserved

  Matrix<double> Y2;
  Rng same(8);
  Dropout<double> d2(0.25);
  d2.forward(X, Y2, same, true);
  CHECK(Y2 == Y);

  Matrix<double> Yi;
  d.forward(X, Yi, rng, false);
  CHECK(Yi == X);

  // d(sum R*Y)/dX = R * mask
  d.forward(X, Y, rng, true);
  const Matrix<double> R = random_matrix<double>(40, 50, rng);
  Matrix<double> dX;
  d.backward(R, dX);
  const Matrix<double> expected = (R.array() * d.mask().array()).matrix();  // rounded products
  CHECK(dX == expected);
  CHECK_THROWS_AS(Dropout<float>(1.0), std::invalid_argument);

  // The mask is drawn in blocks, but element k is still the k-th uniform draw of the stream:
  // m[k] = (uniform_f32() < 1 - p) ? 1/(1-p) : 0, across block boundaries (3 x 1000 elements).
  Dropout<float> df(0.3);
  Rng block_rng(21), one_rng(21);
  Matrix<float> Yf;
  df.forward(Matrix<float>::Ones(3, 1000), Yf, block_rng, true);
  bool mask_matches = true;
  for (Index k = 0; k < Yf.size(); ++k)
    mask_matches &= Yf.data()[k] == (one_rng.uniform_f32() < static_cast<float>(1.0 - 0.3)
                                         ? static_cast<float>(1.0 / (1.0 - 0.3))
                                         : 0.0f);
  CHECK(mask_matches);
  CHECK(block_rng.next_u32() == one_rng.next_u32());
}

TEST_CASE("dropout: threads draw parts of one stream, mask, output and state as on one thread") {
  // 512 x 600: large enough to be split across threads (at least 64 K elements per part).
  const Index rows = 512, cols = 600;
  Rng data_rng(4);
  const Matrix<float> X = random_matrix<float>(rows, cols, data_rng);
  const Matrix<float> R = random_matrix<float>(rows, cols, data_rng);
  const int threads_before = Eigen::nbThreads();
  Matrix<float> mask1, y1, dx1;
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Eigen::setNbThreads(threads);
    Dropout<float> d(0.4);
    Rng rng(31), serial(31);
    Matrix<float> Y, dX;
    d.forward(X, Y, rng, true);
    d.backward(R, dX);
    if (threads == 1) {
      // One thread: the k-th element of the mask is the k-th draw of the stream.
      bool serial_mask = true;
      for (Index k = 0; k < d.mask().size(); ++k)
        serial_mask &= d.mask().data()[k] == (serial.uniform_f32() < 0.6f ? 1.0f / 0.6f : 0.0f);
      CHECK(serial_mask);
      CHECK(rng.state().state == serial.state().state);
      mask1 = d.mask();
      y1 = Y;
      dx1 = dX;
    }
    CHECK(d.mask() == mask1);
    CHECK(Y == y1);
    CHECK(dX == dx1);
    Rng after(31);
    after.advance(static_cast<std::uint64_t>(rows * cols));
    CHECK(rng.state().state == after.state().state);
  }
  Eigen::setNbThreads(threads_before);
}

TEST_CASE("softmax cross-entropy: threads split the columns, the same bits and totals") {
  const Index V = 358, N = 640;
  Rng rng(12);
  const Matrix<float> Z = random_matrix<float>(V, N, rng, 4.0f);
  std::vector<TokenId> y = random_ids(N, V, rng);
  y[3] = -1;  // an ignored column
  const int threads_before = Eigen::nbThreads();
  Matrix<float> dz1;
  LossTotals t1;
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Eigen::setNbThreads(threads);
    Matrix<float> dZ;
    const LossTotals tot = softmax_cross_entropy<float>(Z, y, &dZ);
    if (threads == 1) {
      dz1 = dZ;
      t1 = tot;
    }
    CHECK(dZ == dz1);
    CHECK(tot.nll_sum == t1.nll_sum);  // summed in column order whatever the split
    CHECK(tot.correct == t1.correct);
    CHECK(tot.count == N - 1);
    CHECK(dZ.col(3).isZero(0));
  }
  Eigen::setNbThreads(threads_before);
}

TEST_CASE("softmax cross-entropy: value, gradient, ignored targets") {
  const Index V = 5, N = 4;
  Rng rng(6);
  Matrix<double> Z = random_matrix<double>(V, N, rng, 3.0);
  const std::vector<TokenId> y = {1, -1, 4, 0};
  Matrix<double> dZ;
  const LossTotals tot = softmax_cross_entropy<double>(Z, y, &dZ);
  CHECK(tot.count == 3);
  double expect = 0;
  for (Index j : {0, 2, 3}) {
    const double lse = std::log(Z.col(j).array().exp().sum());
    expect += lse - Z(y[static_cast<size_t>(j)], j);
  }
  CHECK(tot.mean() == doctest::Approx(expect / 3).epsilon(1e-12));
  CHECK(dZ.col(1).cwiseAbs().maxCoeff() == 0.0);
  Vector<double> z = Eigen::Map<Vector<double>>(Z.data(), Z.size());
  const Vector<double> dz = Eigen::Map<Vector<double>>(dZ.data(), dZ.size());
  CHECK(gradient_check(z, dz, [&] {
          const Matrix<double> Zm = Eigen::Map<Matrix<double>>(z.data(), V, N);
          return softmax_cross_entropy<double>(Zm, y, nullptr).mean();
        }).max_rel_error < 1e-7);
}

TEST_CASE_TEMPLATE("softmax cross-entropy stays finite for logits of magnitude 1e4", T, float,
                   double) {
  Matrix<T> Z(3, 2);
  Z << T(1e4), T(-1e4), T(-1e4), T(1e4), T(5e3), T(1e4);
  Matrix<T> dZ;
  const LossTotals tot = softmax_cross_entropy<T>(Z, {1, 1}, &dZ);
  CHECK(std::isfinite(tot.mean()));
  // Column 0 puts target 1 at 2e4 below the top logit; column 1 ties tokens 1 and 2 (log 2).
  CHECK(tot.mean() == doctest::Approx((2e4 + std::log(2.0)) / 2).epsilon(1e-4));
  CHECK(dZ.allFinite());
  CHECK(tot.correct == 1);  // a tie goes to the smaller id, here the target
  CHECK_THROWS_AS(softmax_cross_entropy<T>(Z, {0}, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(softmax_cross_entropy<T>(Z, {0, 3}, nullptr), std::invalid_argument);
}
