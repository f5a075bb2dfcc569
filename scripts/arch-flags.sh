#!/usr/bin/env bash
# Prints the fastest safe architecture flags for this CPU, for -DLSTMIDI_ARCH=...:
# "-mavx2 -mfma" where the CPU has both (Eigen's GEMM is fastest with them, faster than with
# AVX-512 on the AMD EPYC machines this was measured on), plus "-mf16c" where it also converts
# 16-bit floats (opt-in 16-bit generation weights); nothing otherwise (portable SSE2).
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  if grep -qw f16c /proc/cpuinfo 2>/dev/null; then
    echo "-mavx2 -mfma -mf16c"
  else
    echo "-mavx2 -mfma"
  fi
fi
