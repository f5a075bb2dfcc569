#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lstmidi's and PyTorch's training steps, interleaved round by round, for ratios that hold on a
shared, noisy machine.

A load that comes and goes (another tenant on the host) can slow one side of a comparison and
not the other when the two run minutes apart. Here each round runs lstmidi, then PyTorch with
glibc's default allocator, then PyTorch with the allocator settings lstmidi's programs use, on
the same shapes and threads; a ratio is taken inside each round, and the report gives the
median over rounds of each time and of each ratio.

  /usr/bin/python3 bench/side_by_side.py --rounds 5 --threads 2

Needs build-bench/bench/bench_lstm (scripts/bench.sh builds it) and Debian's python3-torch.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPES = ["3x512/T100/B64/V358", "2x256/T64/B32/V128"]
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "1073741824"}


def run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"side_by_side: {' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out.stdout


def lstmidi_ms(binary, threads):
    env = dict(os.environ, LSTMIDI_THREADS=str(threads))
    out = run([binary, "--benchmark_filter=TrainStep", "--benchmark_format=json"], env)
    times = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].split("/min_time")[0].replace("BM_TrainStep/", "")
        times[name.replace("/real_time", "")] = b["real_time"]  # ms (the benchmarks' unit)
    return times


def pytorch_ms(threads, steps, extra_env):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), **extra_env)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    out = run(["/usr/bin/python3", os.path.join(HERE, "pytorch_lstm.py"), "--threads", "1",
               "--steps", str(steps), "--warmup", "1", "--no-generate"], env)
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"TrainStep/(\S+): ([0-9.]+) ms/step", out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--steps", type=int, default=3, help="timed PyTorch steps per shape and round")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build-bench", "bench", "bench_lstm"))
    args = ap.parse_args()
    if args.rounds < 1 or args.threads < 1 or args.steps < 1:
        ap.error("--rounds, --threads and --steps must be at least 1")
    if not os.access(args.bench, os.X_OK):
        ap.error(f"{args.bench} not found: build it with scripts/bench.sh or cmake -DLSTMIDI_BUILD_BENCHMARKS=ON")

    sides = ["lstmidi", "pytorch", "pytorch+malloc"]
    rows = {s: {side: [] for side in sides} for s in SHAPES}
    for r in range(1, args.rounds + 1):
        got = {"lstmidi": lstmidi_ms(args.bench, args.threads),
               "pytorch": pytorch_ms(args.threads, args.steps, {}),
               "pytorch+malloc": pytorch_ms(args.threads, args.steps, TUNED_MALLOC)}
        for s in SHAPES:
            for side in sides:
                if s not in got[side]:
                    sys.exit(f"side_by_side: no {s} result from {side}")
                rows[s][side].append(got[side][s])
            t = [got[side][s] for side in sides]
            print(f"round {r} {s}: lstmidi {t[0]:.1f} ms, PyTorch {t[1]:.1f} ms ({t[1] / t[0]:.2f}x), "
                  f"PyTorch+malloc {t[2]:.1f} ms ({t[2] / t[0]:.2f}x)", flush=True)

    print(f"\nmedians over {args.rounds} rounds, {args.threads} threads "
          "(ratio = PyTorch time / lstmidi time, taken inside each round):")
    for s in SHAPES:
        v = rows[s]
        med = {side: statistics.median(v[side]) for side in sides}
        ratio = {side: statistics.median(p / l for p, l in zip(v[side], v["lstmidi"]))
                 for side in sides[1:]}
        print(f"TrainStep/{s}: lstmidi {med['lstmidi']:.1f} ms | PyTorch {med['pytorch']:.1f} ms, "
              f"lstmidi {ratio['pytorch']:.2f}x | PyTorch+malloc {med['pytorch+malloc']:.1f} ms, "
              f"lstmidi {ratio['pytorch+malloc']:.2f}x "
              f"(ratio range {min(p / l for p, l in zip(v['pytorch+malloc'], v['lstmidi'])):.2f}-"
              f"{max(p / l for p, l in zip(v['pytorch+malloc'], v['lstmidi'])):.2f})")


if __name__ == "__main__":
    main()
