#!/bin/sh
# Builds the libFuzzer target with clang (ASan + UBSan) in build-fuzz/ and runs it for SECONDS
# (default 60) on a copy of the seed corpus. New crashes land in build-fuzz/crashes/.
# Usage: scripts/fuzz.sh [SECONDS]
set -eu
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DLSTMIDI_BUILD_FUZZERS=ON -DLSTMIDI_BUILD_EXAMPLES=OFF \
  -DLSTMIDI_OPENMP=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_midi_loader
mkdir -p "$build/corpus" "$build/crashes"
cp -n "$root"/tests/fuzz/corpus/midi/* "$build/corpus/" 2>/dev/null || true
cd "$build"
# G_DEBUG=fatal-criticals checks that the installed glib handler keeps libsmf messages non-fatal.
G_DEBUG=fatal-criticals ASAN_OPTIONS=detect_leaks=1 \
  ./tests/fuzz/fuzz_midi_loader -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix="$build/crashes/" "$build/corpus"
