// SPDX-License-Identifier: MIT
// Shared setup for the benchmarks: thread count from LSTMIDI_THREADS (default: all cores).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <lstmidi/core/memory.hpp>
#include <lstmidi/lstmidi.hpp>

namespace lstmidi::bench {

inline int threads_from_env() {
  const char* s = std::getenv("LSTMIDI_THREADS");
  return s ? std::max(1, std::atoi(s)) : 0;
}

/// Also applies the allocator setting the programs use (core/memory.hpp), unless
/// LSTMIDI_KEEP_FREED_MEMORY=0 asks for glibc's defaults (to measure the difference).
inline void set_threads(int n) {
  static const bool once = [] {
    const char* s = std::getenv("LSTMIDI_KEEP_FREED_MEMORY");
    if (!s || std::atoi(s) != 0) keep_freed_memory();
    return true;
  }();
  (void)once;
  if (n > 0) Eigen::setNbThreads(n);
}

}  // namespace lstmidi::bench
