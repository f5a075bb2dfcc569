// SPDX-License-Identifier: MIT
// Shared setup for the benchmarks: thread count from LSTMIDI_THREADS (default: all cores).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <lstmidi/lstmidi.hpp>

namespace lstmidi::bench {

inline int threads_from_env() {
  const char* s = std::getenv("LSTMIDI_THREADS");
  return s ? std::max(1, std::atoi(s)) : 0;
}

inline void set_threads(int n) {
  if (n > 0) Eigen::setNbThreads(n);
}

}  // namespace lstmidi::bench
