// SPDX-License-Identifier: MIT
// The answers of docs/exercises-answers.md, checked against the library: every number the
// answers print (6 significant digits, as written there), the peephole equations of exercise 3
// (written out here and gradient-checked), and the failing blocks of every planted bug of
// exercise 4 (examples/planted_bug/planted_bug.hpp).
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "planted_bug/planted_bug.hpp"
#include "test_helpers.hpp"

using namespace lstmidi;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& answers() {
  static const std::string text =
      read_text(std::string(LSTMIDI_SOURCE_DIR) + "/docs/exercises-answers.md");
  return text;
}

// 6 significant digits with trailing zeros kept and a typographic minus, as the docs print.
std::string g6(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%#.6g", v);
  std::string s(buf);
  if (s[0] == '-') s = "\u2212" + s.substr(1);
  return s;
}

// The answers must state `name = value` with the value the library computes.
void states(const std::string& name, double value) {
  const std::string quoted = "`" + name + " = " + g6(value) + "`";
  INFO("docs/exercises-answers.md should contain " << quoted);
  CHECK(answers().find(quoted) != std::string::npos);
}

// The D = H = 1 layer of the worked examples, with the fixture's weights.
struct Example {
  std::map<std::string, double> v = lstmidi::test::read_scalar_fixture("two_step_example.txt");
  ParamAllocator alloc;
  Lstm<double> lstm{alloc, 1, 1};
  ParamBuffer<double> p{alloc.size()};
  Example() {
    const char* gates[4] = {"i", "f", "g", "o"};
    for (int k = 0; k < 4; ++k) {
      lstm.W().in(p.values)(k, 0) = v.at(std::string("W_") + gates[k]);
      lstm.U().in(p.values)(k, 0) = v.at(std::string("U_") + gates[k]);
      lstm.b().in(p.values)(k, 0) = v.at(std::string("b_") + gates[k]);
    }
  }
  // Forward and backward over x[0 .. T-1] with the given dY; returns the gate cache of forward.
  Matrix<double> run(Index T, const Matrix<double>& dY) {
    Matrix<double> X(1, T), h0(1, 1), c0(1, 1);
    for (Index t = 0; t < T; ++t) X(0, t) = v.at("x[" + std::to_string(t) + "]");
    h0 << v.at("h_init");
    c0 << v.at("c_init");
    lstm.forward(p, X, 1, h0, c0);
    const Matrix<double> gates = lstm.gates();
    p.zero_grad();
    lstm.backward(p, X, dY, nullptr);
    return gates;
  }
};

}  // namespace

TEST_CASE("exercise 1: the forget gate's gradient, and db_f = da_f only for one sequence") {
  Example ex;
  Matrix<double> dY(1, 1);
  dY << 1.0;
  const Matrix<double> gate = ex.run(1, dY);
  const double f = gate(1, 0), o = gate(3, 0);
  const double c_prev = ex.lstm.cell_states()(0, 0), c = ex.lstm.cell_states()(0, 1);
  const double dc = 1.0 * o * (1 - std::tanh(c) * std::tanh(c));  // dc_next = 0
  const double da_f = dc * c_prev * f * (1 - f);                  // the answer's formula
  CHECK(da_f == doctest::Approx(ex.lstm.gates()(1, 0)).epsilon(1e-14));
  CHECK(da_f == doctest::Approx(ex.lstm.b().in(ex.p.grads)(1, 0)).epsilon(1e-14));
  states("da_f", da_f);
  states("dc", dc);
  states("f", f);
  CHECK(answers().find("`c_prev = \u22120.6`") != std::string::npos);

  // With two sequences db_f is the sum of their da_f, equal to neither.
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, 1, 1);
  ParamBuffer<double> p(alloc.size());
  p.values = ex.p.values;
  Matrix<double> X(1, 2), h0(1, 2), c0(1, 2), dY2(1, 2);
  X << 0.9, -0.3;
  h0 << 0.4, 0.1;
  c0 << -0.6, 0.5;
  dY2 << 1.0, 1.0;
  lstm.forward(p, X, 2, h0, c0);
  p.zero_grad();
  lstm.backward(p, X, dY2, nullptr);
  const double d0 = lstm.gates()(1, 0), d1 = lstm.gates()(1, 1);
  CHECK(lstm.b().in(p.grads)(1, 0) == doctest::Approx(d0 + d1).epsilon(1e-14));
  CHECK(std::abs(d0 - d1) > 1e-3);
}

TEST_CASE("exercise 2: with L = h_1 only, step 1 is unchanged and step 0 learns through time") {
  Example both, last;
  Matrix<double> dY_both(1, 2), dY_last(1, 2);
  dY_both << 1.0, 1.0;
  dY_last << 0.0, 1.0;
  const Matrix<double> gates_both = both.run(2, dY_both), gates_last = last.run(2, dY_last);
  // 1. The forward pass and step 1's backward values do not change; step 0's do.
  CHECK(gates_both == gates_last);
  CHECK(both.lstm.gates().col(1).isApprox(last.lstm.gates().col(1), 1e-15));
  CHECK((both.lstm.gates().col(0) - last.lstm.gates().col(0)).norm() > 1e-3);
  // 2. Step 0 receives only what step 1 sends back (from step 1 run alone, dY_1 = 1).
  ParamAllocator alloc;
  Lstm<double> step1(alloc, 1, 1);
  ParamBuffer<double> p(alloc.size());
  p.values = last.p.values;
  Matrix<double> x1(1, 1), dY1(1, 1);
  x1 << last.v.at("x[1]");
  dY1 << 1.0;
  step1.forward(p, x1, 1, last.lstm.output().col(0), last.lstm.cell_states().col(1));
  p.zero_grad();
  step1.backward(p, x1, dY1, nullptr);
  const double dh0 = step1.dh0()(0, 0);
  const double o0 = gates_last(3, 0), c0 = last.lstm.cell_states()(0, 1);
  const double dc0 = step1.dc0()(0, 0) + dh0 * o0 * (1 - std::tanh(c0) * std::tanh(c0));
  // dc at step 0 is the one the library used: da_g = dc i (1 - g^2).
  const double i0 = gates_last(0, 0), g0 = gates_last(2, 0);
  CHECK(dc0 * i0 * (1 - g0 * g0) == doctest::Approx(last.lstm.gates()(2, 0)).epsilon(1e-14));
  states("dh[0]", dh0);
  states("dc[0]", dc0);
  states("dL/dh_{\u22121}", last.lstm.dh0()(0, 0));
  states("dL/dc_{\u22121}", last.lstm.dc0()(0, 0));
}

// Exercise 3: the LSTM with peepholes, forward and backward exactly as the answer writes them.
namespace {

struct Peephole {
  Index D = 3, H = 4, B = 2, T = 3;
  // theta = [W (4H, D); U (4H, H); b (4H); p_i, p_f, p_o (H each); h0 (H, B); c0 (H, B)]
  Vector<double> theta;
  Matrix<double> X, dY;
  Index at_p() const { return 4 * H * (D + H + 1); }
  Index at_h0() const { return at_p() + 3 * H; }
  Index at_c0() const { return at_h0() + H * B; }
  Index size() const { return at_c0() + H * B; }
  Eigen::Map<const Matrix<double>> M(Index at, Index r, Index c) const {
    return {theta.data() + at, r, c};
  }

  // Returns L = sum_t sum(dY_t * h_t); with grad, also dL/dtheta.
  double run(Vector<double>* grad) const {
    const auto W = M(0, 4 * H, D), U = M(4 * H * D, 4 * H, H), b = M(4 * H * (D + H), 4 * H, 1);
    const auto pi = M(at_p(), H, 1), pf = M(at_p() + H, H, 1), po = M(at_p() + 2 * H, H, 1);
    std::vector<Matrix<double>> a(T), c(T + 1), h(T + 1);
    c[0] = M(at_c0(), H, B);
    h[0] = M(at_h0(), H, B);
    double L = 0;
    auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    for (Index t = 0; t < T; ++t) {
      Matrix<double> z = W * X.middleCols(t * B, B) + U * h[t];
      z.colwise() += b.col(0);
      Matrix<double>& g = a[t];
      g = z;
      for (Index j = 0; j < B; ++j) {
        g.col(j).segment(0, H) =
            (z.col(j).segment(0, H) + pi.col(0).cwiseProduct(c[t].col(j))).unaryExpr(sig);
        g.col(j).segment(H, H) =
            (z.col(j).segment(H, H) + pf.col(0).cwiseProduct(c[t].col(j))).unaryExpr(sig);
      }
      g.middleRows(2 * H, H) = z.middleRows(2 * H, H).array().tanh().matrix();
      c[t + 1] = (g.middleRows(H, H).array() * c[t].array() +
                  g.topRows(H).array() * g.middleRows(2 * H, H).array())
                     .matrix();
      for (Index j = 0; j < B; ++j)
        g.col(j).segment(3 * H, H) =
            (z.col(j).segment(3 * H, H) + po.col(0).cwiseProduct(c[t + 1].col(j))).unaryExpr(sig);
      h[t + 1] = (g.bottomRows(H).array() * c[t + 1].array().tanh()).matrix();
      L += (dY.middleCols(t * B, B).array() * h[t + 1].array()).sum();
    }
    if (!grad) return L;
    grad->setZero(size());
    Eigen::Map<Matrix<double>> dW(grad->data(), 4 * H, D), dU(grad->data() + 4 * H * D, 4 * H, H),
        db(grad->data() + 4 * H * (D + H), 4 * H, 1), dp(grad->data() + at_p(), H, 3);
    Matrix<double> dh_next = Matrix<double>::Zero(H, B), dc_next = Matrix<double>::Zero(H, B);
    for (Index t = T - 1; t >= 0; --t) {
      const auto i = a[t].topRows(H).array(), f = a[t].middleRows(H, H).array();
      const auto g = a[t].middleRows(2 * H, H).array(), o = a[t].bottomRows(H).array();
      const auto tc = c[t + 1].array().tanh();
      const Matrix<double> dh = dY.middleCols(t * B, B) + dh_next;
      Matrix<double> da(4 * H, B);
      da.bottomRows(H) = (dh.array() * tc * o * (1 - o)).matrix();
      Matrix<double> dc = (dc_next.array() + dh.array() * o * (1 - tc.square())).matrix();
      dc += (da.bottomRows(H).array().colwise() * po.col(0).array()).matrix();  // c_t -> o_t
      da.topRows(H) = (dc.array() * g * i * (1 - i)).matrix();
      da.middleRows(H, H) = (dc.array() * c[t].array() * f * (1 - f)).matrix();
      da.middleRows(2 * H, H) = (dc.array() * i * (1 - g.square())).matrix();
      dW += da * X.middleCols(t * B, B).transpose();
      dU += da * h[t].transpose();
      db += da.rowwise().sum();
      dp.col(0) += (da.topRows(H).array() * c[t].array()).matrix().rowwise().sum();
      dp.col(1) += (da.middleRows(H, H).array() * c[t].array()).matrix().rowwise().sum();
      dp.col(2) += (da.bottomRows(H).array() * c[t + 1].array()).matrix().rowwise().sum();
      dh_next = U.transpose() * da;
      dc_next = (dc.array() * f + da.topRows(H).array().colwise() * pi.col(0).array() +
                 da.middleRows(H, H).array().colwise() * pf.col(0).array())
                    .matrix();
    }
    Eigen::Map<Matrix<double>>(grad->data() + at_h0(), H, B) = dh_next;
    Eigen::Map<Matrix<double>>(grad->data() + at_c0(), H, B) = dc_next;
    return L;
  }
};

}  // namespace

TEST_CASE("exercise 3: peephole gradients pass the gradient check and reduce to Lstm at p = 0") {
  Peephole net;
  Rng rng(11);
  net.theta = test::random_matrix<double>(net.size(), 1, rng, 0.8);
  net.X = test::random_matrix<double>(net.D, net.T * net.B, rng);
  net.dY = test::random_matrix<double>(net.H, net.T * net.B, rng);
  Vector<double> grad;
  net.run(&grad);
  const GradCheckResult r = gradient_check(net.theta, grad, [&] { return net.run(nullptr); });
  INFO("worst index " << r.worst_index << " analytic " << r.analytic_at_worst << " numeric "
                      << r.numeric_at_worst);
  CHECK(r.checked == net.size());
  CHECK(r.max_rel_error < 1e-6);
  // The peepholes matter: their gradients are not zero.
  CHECK(grad.segment(net.at_p(), 3 * net.H).cwiseAbs().minCoeff() > 1e-6);

  // p = 0: the plain LSTM, so the gradients must be Lstm<double>'s.
  net.theta.segment(net.at_p(), 3 * net.H).setZero();
  net.run(&grad);
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, net.D, net.H);
  ParamBuffer<double> p(alloc.size());
  const Index n = 4 * net.H * (net.D + net.H + 1);
  REQUIRE(p.values.size() == n);
  p.values = net.theta.head(n);
  lstm.forward(p, net.X, net.B, net.M(net.at_h0(), net.H, net.B), net.M(net.at_c0(), net.H, net.B));
  p.zero_grad();
  lstm.backward(p, net.X, net.dY, nullptr);
  CHECK((p.grads - grad.head(n)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((lstm.dh0() - Eigen::Map<Matrix<double>>(grad.data() + net.at_h0(), net.H, net.B))
            .cwiseAbs()
            .maxCoeff() < 1e-12);
  CHECK((lstm.dc0() - Eigen::Map<Matrix<double>>(grad.data() + net.at_c0(), net.H, net.B))
            .cwiseAbs()
            .maxCoeff() < 1e-12);
}

TEST_CASE("exercise 4: the planted bugs fail exactly the blocks the answers name") {
  // The copy without a bug is the library's backward pass.
  const planted::Problem prob = planted::make_problem(3);
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, prob.D, prob.H);
  ParamBuffer<double> p(alloc.size());
  p.values = prob.theta.head(p.values.size());
  lstm.forward(p, prob.X, prob.B, prob.h0(), prob.c0());
  p.zero_grad();
  lstm.backward(p, prob.X, prob.dY, nullptr);
  const Vector<double> copy = planted::backward(prob, 0);
  CHECK((p.grads - copy.head(p.grads.size())).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((lstm.dh0() - Eigen::Map<const Matrix<double>>(copy.data() + prob.at_h0(), prob.H, prob.B))
            .cwiseAbs()
            .maxCoeff() < 1e-12);

  // "bug N, one step, wrong blocks: `...`" for every planted bug, as the checker finds them.
  // (A plain scan: std::regex draws a false -Wmaybe-uninitialized from GCC 12's libstdc++ in
  // the sanitizer build.)
  std::map<int, std::string> named;
  const std::string& text = answers();
  const std::string mid = ", one step, wrong blocks: `";
  for (std::size_t at = text.find("bug "); at != std::string::npos;
       at = text.find("bug ", at + 1)) {
    std::size_t digits = at + 4, end = digits;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == digits || text.compare(end, mid.size(), mid) != 0) continue;
    const std::size_t open = end + mid.size(), close = text.find('`', open);
    if (close == std::string::npos) continue;
    named[std::stoi(text.substr(digits, end - digits))] = text.substr(open, close - open);
  }
  REQUIRE(named.size() == static_cast<size_t>(planted::kBugs));
  auto joined = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : " ") + n;
    return s;
  };
  CHECK(planted::failing(planted::check(planted::make_problem(1), 0)).empty());
  CHECK(planted::failing(planted::check(planted::make_problem(3), 0)).empty());
  for (int bug = 1; bug <= planted::kBugs; ++bug) {
    CAPTURE(bug);
    CHECK(joined(planted::failing(planted::check(planted::make_problem(1), bug))) == named[bug]);
    // "Over three steps every block of every bug is wrong."
    CHECK(planted::failing(planted::check(planted::make_problem(3), bug)).size() == 14);
  }
}

TEST_CASE("exercise 5: the first program's gradient check, counted") {
  // lstmidi-first's default sentence, its hidden size 32, and every fifth parameter checked.
  const std::string sentence = "an lstm remembers what a plain rnn forgets.";
  const std::string program =
      read_text(std::string(LSTMIDI_SOURCE_DIR) + "/examples/first_lstm/main.cpp");
  REQUIRE(program.find('"' + sentence + '"') != std::string::npos);
  REQUIRE(program.find("H = 32") != std::string::npos);
  REQUIRE(program.find("j += 5") != std::string::npos);
  const Index V = static_cast<Index>(std::set<char>(sentence.begin(), sentence.end()).size());
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, V, 32);
  Dense<double> dense(alloc, 32, V);
  const Index P = alloc.size(), checked = (P + 4) / 5;
  // Four loss evaluations per checked parameter.
  Vector<double> theta = Vector<double>::Zero(10);
  int evaluations = 0;
  gradient_check(theta, Vector<double>::Zero(10), [&] {
    ++evaluations;
    return 0.0;
  });
  CHECK(evaluations == 4 * 10);
  const std::string text = answers();
  CHECK(text.find(std::to_string(P) + " parameters") != std::string::npos);
  CHECK(text.find("every fifth, " + std::to_string(checked) + " of them: " +
                  std::to_string(4 * checked) + " loss evaluations") != std::string::npos);
}
