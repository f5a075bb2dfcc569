// SPDX-License-Identifier: MIT
/// keep_freed_memory(): stop the C allocator from handing freed memory back to the kernel
/// between training steps.
///
/// Why: every large matrix product allocates packing buffers of a few MB and frees them again
/// (Eigen's GEMM keeps only buffers under 128 KB on the stack). glibc's malloc returns freed
/// memory at the top of its heaps to the kernel (brk / MADV_DONTNEED) and serves large blocks
/// with fresh mmap()s, so the next step's buffers start as untouched pages: one page fault,
/// plus the kernel zeroing the page, per 4 KB, at every step (the measured cost is in
/// docs/performance.md, "The allocator matters").
///
/// What it does (glibc only; elsewhere it does nothing and returns false): serve blocks up to
/// 1 GiB from the heap (M_MMAP_THRESHOLD) and never trim the heap below 1 GiB of free memory
/// (M_TRIM_THRESHOLD). The process then keeps its peak footprint instead of shrinking between
/// steps. It is process-wide, so the library never calls it on its own: a program calls it
/// once at start-up, before its threads allocate (lstmidi's programs and benchmarks do). The
/// umbrella header lstmidi.hpp does not include this header: a program opts in.
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lstmidi {

/// Returns true when the allocator settings were applied.
inline bool keep_freed_memory() {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  constexpr int kOneGiB = 1 << 30;
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

}  // namespace lstmidi
