#!/usr/bin/env bash
# Prints the fastest safe architecture flags for this CPU, for -DLSTMIDI_ARCH=...
#
# Nothing (portable SSE2) without AVX2 + FMA. Otherwise "-mavx2 -mfma" (+ "-mf16c" where the CPU
# converts 16-bit floats: 16-bit generation weights), and the AVX-512 flags on top only where
# 512-bit vectors are measured to pay: scripts/arch-probe.cpp times the same register GEMM
# kernel with 256- and 512-bit vectors (about a second), and AVX-512 is chosen when it is at
# least 1.25x faster. The CPU flags alone do not tell: some CPUs with AVX-512 run it at the
# 256-bit rate (Zen 4 splits each 512-bit FMA in two) or lower their clock for it, and there
# Eigen's GEMM is faster with AVX2 (docs/performance.md).
#
# LSTMIDI_VECTOR_WIDTH=256 or 512 skips the timing and forces a width (512 needs AVX-512F/VL/
# BW/DQ); the probe's rates go to stderr, the flags to stdout.
set -euo pipefail
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
has avx2 && has fma || exit 0
flags="-mavx2 -mfma"
has f16c && flags+=" -mf16c"
wide="-mavx512f -mavx512vl -mavx512bw -mavx512dq"
if has avx512f && has avx512vl && has avx512bw && has avx512dq; then
  width=${LSTMIDI_VECTOR_WIDTH:-}
  if [ -z "$width" ]; then
    width=256
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    if "${CXX:-c++}" -O2 -std=c++17 "$(dirname "$0")/arch-probe.cpp" -o "$dir/probe" 2>/dev/null &&
      rates=$("$dir/probe"); then
      read -r r256 r512 <<<"$rates"
      awk -v a="$r256" -v b="$r512" 'BEGIN { exit !(b >= 1.25 * a) }' && width=512
      echo "arch-flags: register GEMM kernel, one core: 256-bit $r256 GFLOP/s, 512-bit $r512 GFLOP/s -> $width-bit" >&2
    else
      echo "arch-flags: the vector-width probe did not run; 256-bit" >&2
    fi
  fi
  [ "$width" = 512 ] && flags+=" $wide"
fi
echo "$flags"
