// SPDX-License-Identifier: MIT
// PackedMatrix: products with a matrix packed once agree with a double-precision reference for
// every edge of the blocking (partial panels, partial register tiles, partial depth blocks),
// for column blocks of larger matrices, for assignment and accumulation, and for M^T.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <lstmidi/core/packed_gemm.hpp>
#include <vector>

#include "test_helpers.hpp"

using namespace lstmidi;
using lstmidi::test::random_matrix;

namespace {

// Checks P X (+ C0) against the product in double, element by element, with the classic
// bound for a dot product of length k in precision eps: |error| <= c k eps sum_l |m_il x_lj|.
template <typename T>
void check_product(const Matrix<T>& M, bool transpose, Index n, bool accumulate, Rng& rng) {
  const Matrix<T> Mop = transpose ? Matrix<T>(M.transpose()) : M;
  const Index m = Mop.rows(), k = Mop.cols();
  PackedMatrix<T> P;
  if (transpose)
    P.pack_transpose(M);
  else
    P.pack(M);
  REQUIRE(P.rows() == m);
  REQUIRE(P.cols() == k);

  // X and C are column blocks inside larger matrices: outer strides differ from the row counts.
  Matrix<T> Xbig = random_matrix<T>(k + 3, n + 4, rng);
  Matrix<T> Cbig = random_matrix<T>(m + 5, n + 2, rng);
  const Matrix<T> Cbefore = Cbig;
  auto X = Xbig.block(2, 3, k, n);
  P.multiply(X, Cbig.block(1, 1, m, n), accumulate);

  const Eigen::MatrixXd Md = Mop.template cast<double>(), Xd = X.template cast<double>();
  Eigen::MatrixXd expect = Md * Xd;
  if (accumulate) expect += Cbefore.block(1, 1, m, n).template cast<double>();
  const Eigen::MatrixXd scale = Md.cwiseAbs() * Xd.cwiseAbs();
  const double eps = std::numeric_limits<T>::epsilon();
  double worst = 0;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      const double err = std::abs(static_cast<double>(Cbig(1 + i, 1 + j)) - expect(i, j));
      const double bound = 4.0 * static_cast<double>(k + 1) * eps * (scale(i, j) + 1.0);
      worst = std::max(worst, err / bound);
    }
  CHECK(worst <= 1.0);
  // Nothing outside the target block was touched.
  Matrix<T> outside = Cbig;
  outside.block(1, 1, m, n) = Cbefore.block(1, 1, m, n);
  CHECK(outside == Cbefore);
}

template <typename T>
void check_shapes() {
  Rng rng(7);
  const Index row_counts[] = {1, 4, 15, 16, 17, 36, 64, 100};
  const Index depths[] = {1, 5, 127, 128, 129, 255, 256, 257, 600};
  const Index widths[] = {1, 5, 6, 7, 13};
  for (Index m : row_counts)
    for (Index k : depths)
      for (Index n : widths)
        for (bool accumulate : {false, true}) {
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(accumulate);
          check_product<T>(random_matrix<T>(m, k, rng), false, n, accumulate, rng);
          check_product<T>(random_matrix<T>(k, m, rng), true, n, accumulate, rng);
        }
}

}  // namespace

TEST_CASE("PackedMatrix<float>: every blocking edge matches the double reference") {
  MESSAGE("register kernel active: " << PackedMatrix<float>::kernel_active());
  check_shapes<float>();
}

TEST_CASE("PackedMatrix<double>: matches the reference") {
  check_shapes<double>();
}

TEST_CASE("PackedMatrix: the LSTM's shapes, repacked after the matrix changes") {
  Rng rng(3);
  Matrix<float> U = random_matrix<float>(2048, 512, rng);
  PackedMatrix<float> P;
  P.pack(U);
  // Panels are aligned as Eigen's matrices: no kernel load straddles two cache lines.
  CHECK(reinterpret_cast<std::uintptr_t>(P.panels().data()) % EIGEN_DEFAULT_ALIGN_BYTES == 0);
  const Matrix<float> X = random_matrix<float>(512, 32, rng);
  Matrix<float> C(2048, 32);
  P.multiply(X, C, false);
  CHECK((C.cast<double>() - U.cast<double>() * X.cast<double>()).cwiseAbs().maxCoeff() < 1e-3);
  U *= 2.0f;  // the packed copy is a snapshot until packed again
  P.multiply(X, C, false);
  CHECK((C.cast<double>() - 0.5 * U.cast<double>() * X.cast<double>()).cwiseAbs().maxCoeff() <
        1e-3);
  P.pack_transpose(U);
  Matrix<float> D(512, 32);
  const Matrix<float> Y = random_matrix<float>(2048, 32, rng);
  P.multiply(Y, D, false);
  CHECK((D.cast<double>() - U.transpose().cast<double>() * Y.cast<double>()).cwiseAbs().maxCoeff() <
        2e-3);
}

TEST_CASE("PackedMatrix: panels multiplied where the kernel is not built give the same product") {
  // A program whose translation units were built with different -m flags can pack with the
  // register kernel's layout and multiply in code without the kernel: the portable loop.
  if (!PackedMatrix<float>::kernel_active()) {
    MESSAGE("no register kernel in this build: nothing is packed into panels");
    return;
  }
  Rng rng(11);
  for (Index m : {Index{5}, Index{16}, Index{40}})
    for (bool accumulate : {false, true}) {
      const Matrix<float> M = random_matrix<float>(m, 37, rng);
      PackedMatrix<float> P;
      P.pack(M);
      REQUIRE(P.panels().size() == static_cast<size_t>((m + 15) / 16 * 16 * 37));
      const Matrix<float> X = random_matrix<float>(37, 7, rng);
      const Matrix<float> C0 = random_matrix<float>(m, 7, rng);
      Matrix<float> C = C0, D = C0;
      P.multiply(X, C, accumulate);
      detail::packed_panels_portable(P.panels().data(), m, Index{37}, X.data(), X.outerStride(),
                                     X.cols(), D.data(), D.outerStride(), accumulate);
      Eigen::MatrixXd expect = M.cast<double>() * X.cast<double>();
      if (accumulate) expect += C0.cast<double>();
      CHECK((D.cast<double>() - expect).cwiseAbs().maxCoeff() < 1e-4);
      CHECK((C - D).cwiseAbs().maxCoeff() < 1e-4f);
    }
}

TEST_CASE("PackedMatrix: the 512-bit kernel agrees with the 256-bit one") {
  // Within a depth block both kernels sum each element in the same order
  // (core/packed_kernel_512.hpp); the 512-bit one blocks the depth by kPackKc512 = 128 instead
  // of 512. So for K <= 128 the products are bit-identical, and beyond they agree to float
  // rounding. In a build without AVX-512 both calls run the 256-bit kernel.
  MESSAGE("register kernel: " << PackedMatrix<float>::kernel_bits() << " bits");
  Rng rng(5);
  // Panel counts 1 to 7 and 128 (every size of the last 512-bit group of four), partial last
  // panels, every tile width, depths across both kKc.
  for (Index m : {Index{1}, Index{16}, Index{17}, Index{32}, Index{40}, Index{64}, Index{80},
                  Index{100}, Index{2048}})
    for (Index k : {Index{1}, Index{7}, Index{127}, Index{128}, Index{129}, Index{255}, Index{256},
                    Index{257}, Index{512}, Index{513}, Index{1100}})
      for (Index n : {Index{1}, Index{2}, Index{3}, Index{6}, Index{13}, Index{32}})
        for (bool accumulate : {false, true}) {
          if (m * k * n > 2048 * 512 * 32 / 4) continue;  // keeps the test short
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(accumulate);
          const Matrix<float> M = random_matrix<float>(m, k, rng);
          PackedMatrix<float> P;
          P.pack(M);
          const Matrix<float> X = random_matrix<float>(k, n, rng);
          const Matrix<float> C0 = random_matrix<float>(m, n, rng);
          Matrix<float> wide = C0, narrow = C0;
          P.multiply(X, wide, accumulate);
          P.multiply(X, narrow, accumulate, /*max_bits=*/256);
          if (k <= detail::kPackKc512) CHECK(wide == narrow);
          // Both against the product in double, with the bound of check_product() above.
          Eigen::MatrixXd expect = M.cast<double>() * X.cast<double>();
          if (accumulate) expect += C0.cast<double>();
          Eigen::MatrixXd scale = M.cast<double>().cwiseAbs() * X.cast<double>().cwiseAbs();
          if (accumulate) scale += C0.cast<double>().cwiseAbs();
          const double eps = std::numeric_limits<float>::epsilon();
          const Eigen::MatrixXd bound =
              (4.0 * static_cast<double>(k + 1) * eps * (scale.array() + 1.0)).matrix();
          const Eigen::ArrayXXd werr = (wide.cast<double>() - expect).cwiseAbs().array();
          const Eigen::ArrayXXd nerr = (narrow.cast<double>() - expect).cwiseAbs().array();
          CHECK((werr <= bound.array()).all());
          CHECK((nerr <= bound.array()).all());
          // And with each other: two float sums of the same k terms.
          const Eigen::ArrayXXd diff = (wide - narrow).cast<double>().cwiseAbs().array();
          CHECK((diff <= 2.0 * bound.array()).all());
        }
}

TEST_CASE("PackedMatrix: shape mismatches are rejected with a message") {
  Rng rng(1);
  PackedMatrix<double> P;
  P.pack(random_matrix<double>(8, 5, rng));
  Matrix<double> X(4, 3), C(8, 3);
  CHECK_THROWS_WITH_AS(P.multiply(X, C, false), doctest::Contains("(8x5) times (4x3)"),
                       std::invalid_argument);
  Matrix<double> X2(5, 3), C2(8, 2);
  CHECK_THROWS_AS(P.multiply(X2, C2, true), std::invalid_argument);
}

TEST_CASE("Half: the portable widening agrees with the hardware's for every 16-bit pattern") {
  // Known values first: the portable conversion must stand on its own where F16C is absent.
  CHECK(detail::half_to_float({0x3c00}) == 1.0f);
  CHECK(detail::half_to_float({0xc000}) == -2.0f);
  CHECK(detail::half_to_float({0x7bff}) == 65504.0f);               // largest finite
  CHECK(detail::half_to_float({0x0001}) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(detail::half_to_float({0x03ff}) == 1023 * std::ldexp(1.0f, -24));
  CHECK(detail::half_to_float({0x0400}) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(std::isinf(detail::half_to_float({0xfc00})));
  CHECK(std::signbit(detail::half_to_float({0x8000})));
  CHECK(std::isnan(detail::half_to_float({0x7e00})));
#ifdef LSTMIDI_PACKED_F16
  int mismatches = 0;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float hw = _cvtsh_ss(h), sw = detail::half_to_float({h});
    const bool same = std::isnan(hw) ? std::isnan(sw) : std::memcmp(&hw, &sw, sizeof hw) == 0;
    if (!same) ++mismatches;
  }
  CHECK(mismatches == 0);
  // Rounding to 16 bits: nearest, ties to even, and back.
  std::vector<float> src{1.0f,
                         1.0f + std::ldexp(1.0f, -11),
                         1.0f + 3 * std::ldexp(1.0f, -11),
                         -0.1f,
                         70000.0f,
                         1e-8f,
                         0.333333f,
                         2.5f,
                         -65504.0f};
  std::vector<detail::Half> dst(src.size());
  detail::floats_to_halves(src.data(), dst.data(), static_cast<Index>(src.size()));
  CHECK(detail::half_to_float(dst[0]) == 1.0f);
  CHECK(detail::half_to_float(dst[1]) == 1.0f);  // a tie, to the even neighbour
  CHECK(detail::half_to_float(dst[2]) == 1.0f + 4 * std::ldexp(1.0f, -11));
  CHECK(std::abs(detail::half_to_float(dst[3]) + 0.1f) < 0.1f * std::ldexp(1.0f, -11));
  CHECK(std::isinf(detail::half_to_float(dst[4])));  // beyond 65504
  CHECK(detail::half_to_float(dst[8]) == -65504.0f);
#else
  MESSAGE("no F16C in this build: only the portable conversion is checked");
#endif
}

TEST_CASE("PackedMatrix::multiply_wide: block by block, the same bits as one multiply per block") {
  Rng rng(17);
  const Matrix<float> M = random_matrix<float>(70, 150, rng);
  PackedMatrix<float> P;
  P.pack(M);
  for (const Index n : {1, 63, 64, 65, 200}) {
    CAPTURE(n);
    const Matrix<float> X = random_matrix<float>(150, n, rng);
    const Matrix<float> C0 = random_matrix<float>(70, n, rng);
    for (const bool accumulate : {false, true}) {
      CAPTURE(accumulate);
      // The definition: one multiply() per 64-column block.
      Matrix<float> expect = C0;
      for (Index c0 = 0; c0 < n; c0 += 64) {
        const Index w = std::min<Index>(64, n - c0);
        P.multiply(X.middleCols(c0, w), expect.middleCols(c0, w), accumulate);
      }
      for (const int threads : {1, 2, 5}) {
        CAPTURE(threads);
        Matrix<float> C = C0;
        P.multiply_wide(X, C, accumulate, threads);
        CHECK(C == expect);
      }
    }
  }
  Matrix<float> X(149, 10), C(70, 10);
  CHECK_THROWS_AS(P.multiply_wide(X, C, false, 2), std::invalid_argument);
}
