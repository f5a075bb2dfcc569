#!/bin/sh
# Builds the whole test suite and the programs with ASan + UBSan (+ LSan, part of ASan on Linux)
# in build-asan/ and runs ctest there. Any sanitizer report fails the test that triggered it.
#   scripts/test-sanitizers.sh [extra ctest arguments, e.g. -L programs or -E slow]
# Optimised at -O1 (fast to compile, still quick enough to run). The package-consumer tests
# (label "consumer") build their own unsanitised copies, so they are left out here.
# BUILD_DIR overrides build-asan; JOBS (default 2) sets the build and ctest parallelism.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-asan}"
jobs="${JOBS:-2}"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DLSTMIDI_SANITIZE=ON \
  -DLSTMIDI_BUILD_TESTS=ON -DLSTMIDI_BUILD_EXAMPLES=ON -DLSTMIDI_OPENMP=OFF \
  "-DLSTMIDI_ARCH=$("$root/scripts/arch-flags.sh")" >/dev/null
# doctest_discover_tests runs each test binary at build time: the sanitizer options below must
# already hold then.
LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS
cmake --build "$build" -j"$jobs"
cd "$build"
ctest --output-on-failure -j"$jobs" -LE consumer "$@"
