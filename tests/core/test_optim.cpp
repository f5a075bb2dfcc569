// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "test_helpers.hpp"

using namespace lstmidi;

TEST_CASE("adam: three steps against values worked out by hand") {
  // One parameter, theta0 = 1, gradients 0.5, -1, 2; lr 0.1, betas 0.9/0.999, eps 1e-8.
  //   t=1: m = 0.05,      v = 0.00025;    mhat = 0.5,  vhat = 0.25;  theta = 1 - 0.1*0.5/0.5 = 0.9
  //   t=2: m = -0.055,    v = 0.00124975; mhat = -0.055/0.19 = -0.289473684...
  //        vhat = 0.00124975/0.001999 = 0.625187593...; theta = 0.9 + 0.1*0.289473684/0.790688...
  Adam<double> adam(1, AdamConfig{0.1, 0.9, 0.999, 1e-8, 0.0});
  Vector<double> theta(1), g(1);
  theta << 1.0;
  g << 0.5;
  adam.step(theta, g);
  const double t1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
  CHECK(theta[0] == doctest::Approx(t1).epsilon(1e-14));
  CHECK(theta[0] == doctest::Approx(0.9).epsilon(1e-8));
  g << -1.0;
  adam.step(theta, g);
  const double m2 = 0.9 * 0.05 + 0.1 * -1.0, v2 = 0.999 * 0.00025 + 0.001 * 1.0;
  const double t2 = t1 - 0.1 * (m2 / 0.19) / (std::sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
  CHECK(m2 == doctest::Approx(-0.055));
  CHECK(theta[0] == doctest::Approx(t2).epsilon(1e-12));
  CHECK(theta[0] == doctest::Approx(0.936610).epsilon(1e-5));
  g << 2.0;
  adam.step(theta, g);
  const double m3 = 0.9 * m2 + 0.2, v3 = 0.999 * v2 + 0.004;
  const double t3 =
      t2 - 0.1 * (m3 / (1 - 0.729)) / (std::sqrt(v3 / (1 - std::pow(0.999, 3))) + 1e-8);
  CHECK(theta[0] == doctest::Approx(t3).epsilon(1e-12));
  CHECK(adam.steps() == 3);
  CHECK(adam.m()[0] == doctest::Approx(m3));
}

TEST_CASE("adam: decoupled weight decay shrinks weights with zero gradient") {
  Adam<double> adam(2, AdamConfig{0.01, 0.9, 0.999, 1e-8, 0.1});
  Vector<double> theta(2), g = Vector<double>::Zero(2);
  theta << 2.0, -4.0;
  adam.step(theta, g);
  CHECK(theta[0] == doctest::Approx(2.0 - 0.01 * 0.1 * 2.0));
  CHECK(theta[1] == doctest::Approx(-4.0 + 0.01 * 0.1 * 4.0));
  CHECK_THROWS_AS(Adam<double>(2, AdamConfig{-1.0}), std::invalid_argument);
  Vector<double> wrong(3);
  CHECK_THROWS_AS(adam.step(wrong, g), std::invalid_argument);
}

TEST_CASE("clipping: global norm scales every gradient by the same factor") {
  Vector<float> g(4);
  g << 3, 4, 0, 0;  // norm 5
  const double n = clip_global_norm(g, 1.0);
  CHECK(n == doctest::Approx(5.0));
  CHECK(global_norm(g) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(g[0] / g[1] == doctest::Approx(0.75));
  Vector<float> small(2);
  small << 0.1f, 0.1f;
  clip_global_norm(small, 1.0);
  CHECK(small[0] == 0.1f);
  Vector<float> bad(2);
  bad << 1.0f, std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(clip_global_norm(bad, 1.0)));
  Vector<double> v(3);
  v << -10, 0.5, 10;
  clip_by_value(v, 1.0);
  CHECK(v[0] == -1.0);
  CHECK(v[1] == 0.5);
  CHECK(v[2] == 1.0);
}

TEST_CASE("weight average: the bias-corrected moving average of the weights, step by step") {
  // Three steps of theta = 1, 3, -2 with beta 0.5, summed the long way:
  //   a_t = beta a_{t-1} + (1 - beta) theta_t, a_0 = 0;  abar_t = a_t / (1 - beta^t).
  const double beta = 0.5;
  const double thetas[3] = {1.0, 3.0, -2.0};
  WeightAverage<double> avg(beta);
  CHECK(avg.steps() == 0);
  double a = 0;
  for (int t = 1; t <= 3; ++t) {
    Vector<double> w(2);
    w << thetas[t - 1], 10 * thetas[t - 1];
    avg.update(w);
    a = beta * a + (1 - beta) * thetas[t - 1];
    const double abar = a / (1 - std::pow(beta, t));
    CHECK(avg.value()[0] == doctest::Approx(abar).epsilon(1e-14));
    CHECK(avg.value()[1] == doctest::Approx(10 * abar).epsilon(1e-14));
  }
  // (1/4 * 1 + 1/2 * 3 ... ): a_3 = 0.125*1 + 0.25*3 + 0.5*(-2) = -0.125; abar = -0.125/0.875.
  CHECK(avg.value()[0] == doctest::Approx(-1.0 / 7.0).epsilon(1e-14));
  CHECK(avg.steps() == 3);

  // Decay 0 is no averaging; the first average is the first weights whatever the decay.
  WeightAverage<float> none(0.0), slow(0.9999);
  Vector<float> w1(1), w2(1);
  w1 << 2.f;
  w2 << 5.f;
  none.update(w1);
  slow.update(w1);
  CHECK(slow.value()[0] == 2.f);
  none.update(w2);
  slow.update(w2);
  CHECK(none.value()[0] == 5.f);
  CHECK(slow.value()[0] == doctest::Approx(2.0 + 3.0 * 0.0001 / (1 - 0.9999 * 0.9999)));

  // Restored state continues exactly.
  WeightAverage<double> b(beta);
  Vector<double> saved = avg.value();
  b.set_state(saved, avg.steps());
  Vector<double> w(2);
  w << 4.0, 40.0;
  avg.update(w);
  b.update(w);
  CHECK(b.value() == avg.value());

  CHECK_THROWS_AS(WeightAverage<float>(1.0), std::invalid_argument);
  CHECK_THROWS_AS(WeightAverage<float>(-0.1), std::invalid_argument);
  CHECK_THROWS_WITH(avg.update(Vector<double>::Zero(3)), doctest::Contains("3 weights"));
  CHECK_THROWS_AS(b.set_state(saved, 0), std::invalid_argument);
  saved[0] = std::nan("");
  CHECK_THROWS_AS(b.set_state(saved, 2), std::invalid_argument);
}

TEST_CASE("adam: chunked and threaded, the same bits for any thread count") {
  // The update written over whole vectors, as Adam defines it; Adam::step runs it chunk by
  // chunk on Eigen::nbThreads() threads.
  const int threads_before = Eigen::nbThreads();
  Rng rng(5);
  for (const Index n : {1, 15, 4096, 4097, 50001}) {
    CAPTURE(n);
    const AdamConfig cfg{1e-3, 0.9, 0.999, 1e-8, 0.01};
    Vector<float> p0 = test::random_matrix<float>(n, 1, rng).col(0);
    Vector<float> pr = p0, mr = Vector<float>::Zero(n), vr = Vector<float>::Zero(n);
    std::vector<Vector<float>> grads;
    for (int s = 0; s < 3; ++s) grads.push_back(test::random_matrix<float>(n, 1, rng).col(0));
    for (int s = 0; s < 3; ++s) {
      const double c1 = 1.0 - std::pow(cfg.beta1, s + 1), c2 = 1.0 - std::pow(cfg.beta2, s + 1);
      const float b1 = 0.9f, b2 = 0.999f, lr = 1e-3f, eps = 1e-8f, wd = 0.01f;
      const float inv_c1 = float(1.0 / c1), inv_c2 = float(1.0 / c2);
      const Vector<float>& g = grads[size_t(s)];
      mr.array() = b1 * mr.array() + (1.0f - b1) * g.array();
      vr.array() = b2 * vr.array() + (1.0f - b2) * g.array().square();
      pr.array() -=
          lr * ((mr.array() * inv_c1) / ((vr.array() * inv_c2).sqrt() + eps) + wd * pr.array());
    }
    Vector<float> p1;
    for (const int threads : {1, 2, 3}) {
      CAPTURE(threads);
      Eigen::setNbThreads(threads);
      Adam<float> adam(n, cfg);
      Vector<float> p = p0;
      for (int s = 0; s < 3; ++s) adam.step(p, grads[size_t(s)]);
      // Any thread count: the same bits.
      if (threads == 1) p1 = p;
      CHECK(p == p1);
      // The whole-vector update, to the last bit or two (the compiler may fuse a multiply
      // and an add differently in this file than in the header).
      CHECK(((p - pr).array().abs() <= 4e-7f * (1.0f + pr.array().abs())).all());
      CHECK(((adam.m() - mr).array().abs() <= 1e-6f * (1e-3f + mr.array().abs())).all());
      CHECK(((adam.v() - vr).array().abs() <= 1e-6f * (1e-6f + vr.array().abs())).all());
    }
  }
  Eigen::setNbThreads(threads_before);
}
