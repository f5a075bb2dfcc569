#!/usr/bin/env bash
# Prints the fastest safe architecture flags for this CPU, for -DLSTMIDI_ARCH=...:
# "-mavx2 -mfma" where the CPU has both (Eigen's GEMM is fastest with them, faster than with
# AVX-512 on the AMD EPYC machines this was measured on), nothing otherwise (portable SSE2).
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  echo "-mavx2 -mfma"
fi
