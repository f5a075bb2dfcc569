// SPDX-License-Identifier: MIT
// The worked examples of docs/math.md#worked-example: one LSTM step and two LSTM steps
// (D = H = B = 1) forward and backward, with small numbers a student can follow by hand. The
// fixtures (written by docs/reference/lstm_numpy.py) hold the numbers the document prints;
// Lstm<double> must reproduce every one of them, the intermediate ones included.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_helpers.hpp"

using namespace lstmidi;

namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

}  // namespace

TEST_CASE("worked example: one LSTM step matches the numbers in docs/math.md") {
  const std::map<std::string, double> v = lstmidi::test::read_scalar_fixture("worked_example.txt");
  const char* gates[4] = {"i", "f", "g", "o"};
  ParamAllocator alloc;
  Lstm<double> lstm(alloc, 1, 1);
  ParamBuffer<double> p(alloc.size());
  for (int k = 0; k < 4; ++k) {
    lstm.W().in(p.values)(k, 0) = v.at(std::string("W_") + gates[k]);
    lstm.U().in(p.values)(k, 0) = v.at(std::string("U_") + gates[k]);
    lstm.b().in(p.values)(k, 0) = v.at(std::string("b_") + gates[k]);
  }
  Matrix<double> x(1, 1), h0(1, 1), c0(1, 1), dY(1, 1);
  x << v.at("x");
  h0 << v.at("h_prev");
  c0 << v.at("c_prev");
  REQUIRE(v.at("dc_next") == 0.0);  // the layer's backward starts with dc = 0 after the window
  dY << v.at("dh");
  lstm.forward(p, x, 1, h0, c0);
  CHECK(lstm.output()(0, 0) == doctest::Approx(v.at("h")).epsilon(1e-12));
  CHECK(lstm.final_c()(0, 0) == doctest::Approx(v.at("c")).epsilon(1e-12));
  p.zero_grad();
  Matrix<double> dX;
  lstm.backward(p, x, dY, &dX);
  for (int k = 0; k < 4; ++k) {
    CAPTURE(gates[k]);
    CHECK(lstm.W().in(p.grads)(k, 0) ==
          doctest::Approx(v.at(std::string("dW_") + gates[k])).epsilon(1e-12));
    CHECK(lstm.U().in(p.grads)(k, 0) ==
          doctest::Approx(v.at(std::string("dU_") + gates[k])).epsilon(1e-12));
    CHECK(lstm.b().in(p.grads)(k, 0) ==
          doctest::Approx(v.at(std::string("db_") + gates[k])).epsilon(1e-12));
  }
  CHECK(dX(0, 0) == doctest::Approx(v.at("dx")).epsilon(1e-12));
  CHECK(lstm.dh0()(0, 0) == doctest::Approx(v.at("dh_prev")).epsilon(1e-12));
  CHECK(lstm.dc0()(0, 0) == doctest::Approx(v.at("dc_prev")).epsilon(1e-12));
}

// Two steps, L = h_0 + h_1. Every value of the fixture is compared with what Lstm<double>
// computes: states and gates from forward, the gate gradients da from the cache backward leaves,
// what step 1 sends back to step 0 from a second run of step 1 alone (its dh0(), dc0() are
// exactly dL/dh_0 and dL/dc_0 through step 1), and the totals dh, dc and the factors do, di,
// df, dg through the equations that connect them to the library's da. A fixture name no check
// reads fails the test, so the fixture cannot grow unchecked values.
TEST_CASE("worked example: two LSTM steps, every intermediate value matches the library") {
  const std::map<std::string, double> v =
      lstmidi::test::read_scalar_fixture("two_step_example.txt");
  std::set<std::string> checked;
  auto at = [&](const std::string& name) {
    checked.insert(name);
    REQUIRE_MESSAGE(v.count(name) == 1, "missing in the fixture: " << name);
    return v.at(name);
  };
  auto same = [&](const std::string& name, double library) {
    CAPTURE(name);
    CHECK(at(name) == doctest::Approx(library).epsilon(1e-12));
  };
  const char* gates[4] = {"i", "f", "g", "o"};
  auto step = [](const char* name, int t) {
    return std::string(name) + "[" + std::to_string(t) + "]";
  };

  ParamAllocator alloc;
  Lstm<double> lstm(alloc, 1, 1);
  ParamBuffer<double> p(alloc.size());
  for (int k = 0; k < 4; ++k) {
    lstm.W().in(p.values)(k, 0) = at(std::string("W_") + gates[k]);
    lstm.U().in(p.values)(k, 0) = at(std::string("U_") + gates[k]);
    lstm.b().in(p.values)(k, 0) = at(std::string("b_") + gates[k]);
  }
  Matrix<double> X(1, 2), h0(1, 1), c0(1, 1), dY(1, 2);
  X << at("x[0]"), at("x[1]");
  h0 << at("h_init");
  c0 << at("c_init");
  dY << at("dY[0]"), at("dY[1]");

  // Forward over both steps: gates, cell and hidden states.
  lstm.forward(p, X, 1, h0, c0);
  const Matrix<double> gate = lstm.gates(), cs = lstm.cell_states(), hs = lstm.output();
  for (int t = 0; t < 2; ++t) {
    CAPTURE(t);
    same(step("h_prev", t), t == 0 ? h0(0, 0) : hs(0, t - 1));
    same(step("c_prev", t), cs(0, t));
    for (int k = 0; k < 4; ++k) {
      // The library keeps the activated gates only; the pre-activation must activate to them.
      const double a = at(step((std::string("a_") + gates[k]).c_str(), t));
      CHECK((k == 2 ? std::tanh(a) : sigmoid(a)) == doctest::Approx(gate(k, t)).epsilon(1e-12));
      same(step(gates[k], t), gate(k, t));
    }
    same(step("c", t), cs(0, t + 1));
    same(step("tanh_c", t), std::tanh(cs(0, t + 1)));
    same(step("h", t), hs(0, t));
  }

  // Backward over both steps: the cache now holds da; weight gradients are summed over steps.
  p.zero_grad();
  Matrix<double> dX;
  lstm.backward(p, X, dY, &dX);
  const Matrix<double> da = lstm.gates();
  for (int k = 0; k < 4; ++k) {
    same(std::string("dW_") + gates[k], lstm.W().in(p.grads)(k, 0));
    same(std::string("dU_") + gates[k], lstm.U().in(p.grads)(k, 0));
    same(std::string("db_") + gates[k], lstm.b().in(p.grads)(k, 0));
  }
  same("dh_prev[0]", lstm.dh0()(0, 0));
  same("dc_prev[0]", lstm.dc0()(0, 0));

  // Step 1 alone, from the state step 0 left: what it sends back is what step 0 receives.
  ParamAllocator alloc1;
  Lstm<double> last(alloc1, 1, 1);  // the same parameter layout as lstm, so p's values fit
  ParamBuffer<double> p1(alloc1.size());
  REQUIRE(p1.values.size() == p.values.size());
  p1.values = p.values;
  last.forward(p1, X.col(1), 1, hs.col(0), cs.col(1));
  p1.zero_grad();
  Matrix<double> dX1;
  last.backward(p1, X.col(1), dY.col(1), &dX1);
  same("dh_prev[1]", last.dh0()(0, 0));
  same("dc_prev[1]", last.dc0()(0, 0));
  CHECK(dX1(0, 0) == doctest::Approx(dX(0, 1)).epsilon(1e-12));

  const double dh_next[2] = {last.dh0()(0, 0), 0.0}, dc_next[2] = {last.dc0()(0, 0), 0.0};
  for (int t = 0; t < 2; ++t) {
    CAPTURE(t);
    const double i = gate(0, t), f = gate(1, t), g = gate(2, t), o = gate(3, t);
    const double tc = std::tanh(cs(0, t + 1));
    for (int k = 0; k < 4; ++k) same(step((std::string("da_") + gates[k]).c_str(), t), da(k, t));
    same(step("dx", t), dX(0, t));
    // Totals over both paths: dh = dY + dh_next, dc = dc_next + dh o (1 - tanh^2 c).
    const double dh = dY(0, t) + dh_next[t];
    same(step("dh", t), dh);
    same(step("dc", t), dc_next[t] + dh * o * (1 - tc * tc));
    // The gradients of the gate outputs, through the activations, are the library's da.
    CHECK(at(step("do", t)) * o * (1 - o) == doctest::Approx(da(3, t)).epsilon(1e-12));
    CHECK(at(step("di", t)) * i * (1 - i) == doctest::Approx(da(0, t)).epsilon(1e-12));
    CHECK(at(step("df", t)) * f * (1 - f) == doctest::Approx(da(1, t)).epsilon(1e-12));
    CHECK(at(step("dg", t)) * (1 - g * g) == doctest::Approx(da(2, t)).epsilon(1e-12));
    // And dc is the one the library used: da_g = dc i (1 - g^2).
    CHECK(at(step("dc", t)) * i * (1 - g * g) == doctest::Approx(da(2, t)).epsilon(1e-12));
  }

  for (const auto& [name, value] : v) {
    CAPTURE(name);
    CHECK(checked.count(name) == 1);
  }
}
