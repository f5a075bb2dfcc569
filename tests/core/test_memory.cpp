// SPDX-License-Identifier: MIT
// keep_freed_memory(): large blocks are served from the heap and stay there after free.
#include <doctest/doctest.h>

#include <cstdlib>
#include <lstmidi/core/memory.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define LSTMIDI_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSTMIDI_TEST_ASAN 1
#endif
#endif

#if defined(__GLIBC__) && !defined(LSTMIDI_TEST_ASAN)
TEST_CASE("keep_freed_memory: a 40 MB block comes from the heap and is kept after free") {
  REQUIRE(lstmidi::keep_freed_memory());
  const struct mallinfo2 before = mallinfo2();
  constexpr std::size_t kBytes = std::size_t{40} << 20;
  auto* p = static_cast<volatile char*>(std::malloc(kBytes));
  REQUIRE(static_cast<bool>(p));
  p[0] = 1;
  p[kBytes - 1] = 1;
  const struct mallinfo2 during = mallinfo2();
  CHECK(during.hblkhd == before.hblkhd);  // glibc's default would mmap a block this large
  std::free(const_cast<char*>(p));
  const struct mallinfo2 after = mallinfo2();
  CHECK(after.fordblks >= kBytes);     // the freed block stays in the process...
  CHECK(after.arena == during.arena);  // ...and the heap was not trimmed
}
#else
TEST_CASE("keep_freed_memory: does nothing without glibc's allocator") {
  CHECK_FALSE(lstmidi::keep_freed_memory());
}
#endif
