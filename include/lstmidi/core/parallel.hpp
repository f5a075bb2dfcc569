// SPDX-License-Identifier: MIT
/// parallel_for(n, threads, body): body(i) for i = 0 .. n-1, split into contiguous runs of i
/// over `threads` OpenMP threads (a static schedule). On one thread, in order, when threads <= 1,
/// inside a parallel region (the caller's threads are already busy), or in a build without
/// OpenMP. Callers keep each i's work independent of which thread runs it, so that results do
/// not depend on the thread count; body must not throw (check shapes before).
///
/// parallel_ranges(n, grain, body): body(i0, i1) on contiguous ranges that cover [0, n), one
/// per thread of Eigen::nbThreads(), each at least `grain` long (a single range when n < 2
/// grain). For element-wise passes over a window's columns, where each column's result does
/// not depend on the range it falls in.
#pragma once

#include <algorithm>

#include "lstmidi/core/config.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lstmidi {

template <typename Body>
void parallel_for(Index n, [[maybe_unused]] int threads, Body&& body) {
#ifdef _OPENMP
  if (threads > 1 && n > 1 && !omp_in_parallel()) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index i = 0; i < n; ++i) body(i);
    return;
  }
#endif
  for (Index i = 0; i < n; ++i) body(i);
}

template <typename Body>
void parallel_ranges(Index n, Index grain, Body&& body) {
  const Index parts =
      std::max<Index>(1, std::min<Index>(Eigen::nbThreads(), n / std::max<Index>(grain, 1)));
  parallel_for(parts, static_cast<int>(parts),
               [&](Index s) { body(s * n / parts, (s + 1) * n / parts); });
}

}  // namespace lstmidi
