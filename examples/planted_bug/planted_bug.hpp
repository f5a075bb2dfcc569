// SPDX-License-Identifier: MIT
// A small copy of the LSTM's forward and backward pass (docs/math.md#lstm-forward, #bptt),
// written step by step for reading, into which one of several bugs can be planted. The gradient
// check of debug/grad_check.hpp then reports which parameters have a wrong gradient: the
// exercise of docs/exercises.md is to find the bug from that report alone.
//
// Everything the loss depends on is one flat vector theta = [W; U; b; h0; c0] (column-major
// blocks), so one check covers the weights and the initial state. The loss is a fixed linear
// read-out of every hidden state, L = sum_t sum(dY_t * h_t), so dL/dh_t = dY_t from above.
#pragma once

#include <lstmidi/debug/grad_check.hpp>
#include <lstmidi/lstmidi.hpp>
#include <string>
#include <vector>

namespace planted {

using lstmidi::Index;
using Mat = lstmidi::Matrix<double>;
using Vec = lstmidi::Vector<double>;

constexpr int kBugs = 6;  // bug 0 is the correct backward pass, bugs 1 .. kBugs are planted

struct Problem {
  Index D = 3, H = 4, B = 2, T = 1;
  Vec theta;  // [W (4H, D); U (4H, H); b (4H); h0 (H, B); c0 (H, B)]
  Mat X, dY;  // (D, T*B), (H, T*B): the inputs and the gradient arriving from above

  Index size_W() const { return 4 * H * D; }
  Index size_U() const { return 4 * H * H; }
  Index at_W() const { return 0; }
  Index at_U() const { return size_W(); }
  Index at_b() const { return size_W() + size_U(); }
  Index at_h0() const { return at_b() + 4 * H; }
  Index at_c0() const { return at_h0() + H * B; }
  Index size() const { return at_c0() + H * B; }
  Eigen::Map<const Mat> W() const { return {theta.data() + at_W(), 4 * H, D}; }
  Eigen::Map<const Mat> U() const { return {theta.data() + at_U(), 4 * H, H}; }
  Eigen::Map<const Mat> b() const { return {theta.data() + at_b(), 4 * H, 1}; }
  Eigen::Map<const Mat> h0() const { return {theta.data() + at_h0(), H, B}; }
  Eigen::Map<const Mat> c0() const { return {theta.data() + at_c0(), H, B}; }
};

/// A random problem of T steps (a fixed seed: the same numbers every run).
inline Problem make_problem(Index T, std::uint64_t seed = 7) {
  Problem p;
  p.T = T;
  lstmidi::Rng rng(seed);
  auto fill = [&](auto&& m) {
    for (Index k = 0; k < m.size(); ++k) m.data()[k] = rng.uniform(-0.8, 0.8);
  };
  p.theta.resize(p.size());
  fill(p.theta);
  p.X.resize(p.D, T * p.B);
  p.dY.resize(p.H, T * p.B);
  fill(p.X);
  fill(p.dY);
  return p;
}

/// The gates [i; f; g; o] (4H, B), c_t and h_t of every step; index 0 holds c_{-1}, h_{-1}.
struct Forward {
  std::vector<Mat> gates, c, h;
};

inline double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

inline Forward forward(const Problem& p) {
  const Index H = p.H, B = p.B;
  Forward f;
  f.c.push_back(p.c0());
  f.h.push_back(p.h0());
  for (Index t = 0; t < p.T; ++t) {
    Mat a = p.W() * p.X.middleCols(t * B, B) + p.U() * f.h.back();
    a.colwise() += p.b().col(0);
    a.topRows(2 * H) = a.topRows(2 * H).unaryExpr(&sigmoid);                  // i, f
    a.middleRows(2 * H, H) = a.middleRows(2 * H, H).array().tanh().matrix();  // g
    a.bottomRows(H) = a.bottomRows(H).unaryExpr(&sigmoid);                    // o
    const auto i = a.topRows(H).array(), fg = a.middleRows(H, H).array();
    const auto g = a.middleRows(2 * H, H).array(), o = a.bottomRows(H).array();
    Mat c = (fg * f.c.back().array() + i * g).matrix();
    Mat h = (o * c.array().tanh()).matrix();
    f.gates.push_back(a);
    f.c.push_back(c);
    f.h.push_back(h);
  }
  return f;
}

inline double loss(const Problem& p) {
  const Forward f = forward(p);
  double L = 0;
  for (Index t = 0; t < p.T; ++t)
    L += (p.dY.middleCols(t * p.B, p.B).array() * f.h[t + 1].array()).sum();
  return L;
}

/// The gradient of loss(p) with respect to theta, by BPTT, with bug number `bug` planted
/// (0: none). Each bug is one wrong line in the backward pass of one gate or state.
inline Vec backward(const Problem& p, int bug) {
  const Index H = p.H, B = p.B;
  const Forward f = forward(p);
  Vec grad = Vec::Zero(p.size());
  Eigen::Map<Mat> dW(grad.data() + p.at_W(), 4 * H, p.D), dU(grad.data() + p.at_U(), 4 * H, H);
  Eigen::Map<Mat> db(grad.data() + p.at_b(), 4 * H, 1);
  Mat dh_next = Mat::Zero(H, B), dc_next = Mat::Zero(H, B);
  for (Index t = p.T - 1; t >= 0; --t) {
    const Mat& a = f.gates[t];
    const auto i = a.topRows(H).array(), fg = a.middleRows(H, H).array();
    const auto g = a.middleRows(2 * H, H).array(), o = a.bottomRows(H).array();
    const auto c = f.c[t + 1].array(), c_prev = f.c[t].array();
    const auto tanh_c = c.tanh();

    const Mat dh = p.dY.middleCols(t * B, B) + dh_next;
    Mat dc = (dc_next.array() + dh.array() * o * (1 - tanh_c.square())).matrix();
    if (bug == 5) dc = dc_next;
    Mat da(4 * H, B);
    da.topRows(H) = (dc.array() * g * i * (1 - i)).matrix();  // da_i
    if (bug == 4) da.topRows(H) = (dc.array() * i * (1 - i)).matrix();
    da.middleRows(H, H) = (dc.array() * c_prev * fg * (1 - fg)).matrix();  // da_f
    if (bug == 1) da.middleRows(H, H) = (dc.array() * c * fg * (1 - fg)).matrix();
    da.middleRows(2 * H, H) = (dc.array() * i * (1 - g.square())).matrix();  // da_g
    if (bug == 3) da.middleRows(2 * H, H) = (dc.array() * i * g * (1 - g)).matrix();
    da.bottomRows(H) = (dh.array() * tanh_c * o * (1 - o)).matrix();  // da_o
    if (bug == 2) da.bottomRows(H) = (dh.array() * o * (1 - o)).matrix();

    dW += da * p.X.middleCols(t * B, B).transpose();
    dU += da * f.h[t].transpose();
    db += da.rowwise().sum();
    dh_next = p.U().transpose() * da;
    dc_next = (dc.array() * fg).matrix();
    if (bug == 6) dc_next = dc;
  }
  Eigen::Map<Mat>(grad.data() + p.at_h0(), H, B) = dh_next;
  Eigen::Map<Mat>(grad.data() + p.at_c0(), H, B) = dc_next;
  return grad;
}

/// One row of the report: a block of theta and the worst relative error of its entries.
struct BlockError {
  std::string name;
  double max_rel_error;
};

/// The gradient check of backward(p, bug) against finite differences of loss(p), block by
/// block: W_i .. W_o, U_i .. U_o, b_i .. b_o (the gate rows of W, U, b), h0, c0.
inline std::vector<BlockError> check(Problem p, int bug) {
  const Vec analytic = backward(p, bug);
  const Index H = p.H;
  std::vector<BlockError> out;
  auto block = [&](std::string name, std::vector<Index> which) {
    const auto r = lstmidi::gradient_check(
        p.theta, analytic, [&] { return loss(p); }, which);
    out.push_back({std::move(name), r.max_rel_error});
  };
  const char* gates = "ifgo";
  struct Matrix_ {
    const char* name;
    Index at, cols;
  };
  for (const Matrix_ m :
       {Matrix_{"W", p.at_W(), p.D}, Matrix_{"U", p.at_U(), H}, Matrix_{"b", p.at_b(), 1}})
    for (int k = 0; k < 4; ++k) {
      std::vector<Index> which;  // rows [kH, (k+1)H) of a column-major (4H, cols) block
      for (Index col = 0; col < m.cols; ++col)
        for (Index r = k * H; r < (k + 1) * H; ++r) which.push_back(m.at + col * 4 * H + r);
      block(std::string(m.name) + "_" + gates[k], which);
    }
  for (const auto& [name, at] :
       {std::pair<const char*, Index>{"h0", p.at_h0()}, {"c0", p.at_c0()}}) {
    std::vector<Index> which;
    for (Index j = 0; j < H * p.B; ++j) which.push_back(at + j);
    block(name, which);
  }
  return out;
}

/// The names of the blocks whose worst relative error exceeds the tests' threshold 1e-6.
inline std::vector<std::string> failing(const std::vector<BlockError>& report) {
  std::vector<std::string> names;
  for (const auto& r : report)
    if (!(r.max_rel_error < 1e-6)) names.push_back(r.name);
  return names;
}

}  // namespace planted
