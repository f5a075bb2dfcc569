#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan + LSan) in build-fuzz/ and runs each
# for SECONDS (default 60) on a copy of its seed corpus, one after the other.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets (default: all): midi_loader checkpoint vocabulary tokens.
# Seeds: tests/fuzz/corpus/<target>/ (corpus/midi for midi_loader); the growing corpus: build-fuzz/corpus/<target>/; crashes,
# leaks and timeouts: build-fuzz/crashes/<target>/. The exit status is non-zero if any target
# found something. BUILD_DIR overrides build-fuzz; JOBS (default 2) the build parallelism;
# TIMEOUT (default 1) the seconds after which one input counts as a hang (raise it only when
# several fuzzers share a core, and re-run any reported input alone to see if it is slow).
set -eu
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets="${*:-midi_loader checkpoint vocabulary tokens}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DLSTMIDI_BUILD_FUZZERS=ON -DLSTMIDI_BUILD_EXAMPLES=OFF \
  -DLSTMIDI_OPENMP=OFF >/dev/null
for t in $targets; do
  cmake --build "$build" -j"${JOBS:-2}" --target "fuzz_$t"
done
status=0
failed=""
logs="$build/logs"
mkdir -p "$logs"
for t in $targets; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  seeds="$root/tests/fuzz/corpus/$t"
  [ "$t" = midi_loader ] && seeds="$root/tests/fuzz/corpus/midi"
  cp -n "$seeds"/* "$corpus/" 2>/dev/null || true
  echo "== fuzz_$t for ${seconds}s"
  # G_DEBUG=fatal-criticals checks that the installed glib handler keeps libsmf messages
  # non-fatal; -timeout turns any input slower than that into a reported hang.
  if ! G_DEBUG=fatal-criticals ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout="${TIMEOUT:-1}" -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" \
      >"$logs/$t.log" 2>&1; then
    echo "fuzz_$t: FOUND A PROBLEM, see $crashes/" >&2
    status=1
    failed="$failed $t"
  fi
  tail -n 8 "$logs/$t.log"
done
# A failure's report is printed again at the end, where a CI log's tail shows it: the
# sanitizer or libFuzzer message and the input that caused it, as hex (inputs are small).
for t in $failed; do
  echo "== fuzz_$t FAILED; its report (full log: $logs/$t.log):" >&2
  grep -v -E '^(#|"|[[:space:]]*NEW_FUNC)' "$logs/$t.log" | tail -n 60 >&2
  for f in "$build/crashes/$t"/*; do
    [ -f "$f" ] || continue
    echo "-- $f ($(wc -c <"$f") bytes), first 512 as hex:" >&2
    od -A d -t x1 -N 512 "$f" >&2
  done
done
[ -z "$failed" ] && echo "fuzz: no target found a problem in ${seconds}s each"
exit $status
