// SPDX-License-Identifier: MIT
// The worked example of docs/math.md#worked-example: one LSTM step (D = H = B = 1) forward and
// backward with small numbers a student can follow by hand. The fixture holds the numbers the
// document prints; Lstm<double> must reproduce every one of them.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "test_helpers.hpp"

using namespace lstmidi;

TEST_CASE("worked example: one LSTM step matches the numbers in docs/math.md") {
  std::ifstream in(std::string(LSTMIDI_TEST_DATA_DIR) + "/worked_example.txt");
  REQUIRE(in.good());
  std::map<std::string, double> v;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    double x = 0;
    ls >> name >> x;
    REQUIRE_MESSAGE(!ls.fail(), "bad line: " << line);
    v[name] = x;
  }
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
    CHECK(lstm.W().in(p.grads)(k, 0) == doctest::Approx(v.at(std::string("dW_") + gates[k])).epsilon(1e-12));
    CHECK(lstm.U().in(p.grads)(k, 0) == doctest::Approx(v.at(std::string("dU_") + gates[k])).epsilon(1e-12));
    CHECK(lstm.b().in(p.grads)(k, 0) == doctest::Approx(v.at(std::string("db_") + gates[k])).epsilon(1e-12));
  }
  CHECK(dX(0, 0) == doctest::Approx(v.at("dx")).epsilon(1e-12));
  CHECK(lstm.dh0()(0, 0) == doctest::Approx(v.at("dh_prev")).epsilon(1e-12));
  CHECK(lstm.dc0()(0, 0) == doctest::Approx(v.at("dc_prev")).epsilon(1e-12));
}
