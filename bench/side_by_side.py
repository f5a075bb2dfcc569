#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lstmidi's, PyTorch's and oneDNN's training steps, interleaved round by round, for ratios that
hold on a shared, noisy machine.

A load that comes and goes (another tenant on the host) can slow one side of a comparison and
not the other when the two run minutes apart. Here each round runs lstmidi, then PyTorch with
glibc's default allocator, then PyTorch with the allocator settings lstmidi's programs use, on
the same shapes and threads, then (where bench/dnnl_lstm is built) oneDNN's LSTM primitive on the
classic shape; a ratio is taken inside each round, and the report gives the median over rounds
of each time and of each ratio.

PyTorch feeds the tokens through nn.Embedding(V, --embedding) (default 64; 0: one-hot). Its
OpenBLAS picks its kernel from the CPU, unless --openblas-coretype names one (OpenBLAS 0.3.21
does not know every new CPU and falls back to an old kernel there); the kernel that ran is
printed. oneDNN times forward + backward of the LSTM layers only (bench/dnnl_lstm.cpp), with a
64-wide first-layer input; lstmidi's step includes the output layer, the loss and Adam.

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


def lstmidi_ms(binary, threads, shapes=None):
    env = dict(os.environ, LSTMIDI_THREADS=str(threads))
    pattern = "TrainStep/(" + "|".join(shapes or SHAPES) + ")"
    out = run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=json"], env)
    times = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].split("/min_time")[0].replace("BM_TrainStep/", "")
        times[name.replace("/real_time", "")] = b["real_time"]  # ms (the benchmarks' unit)
    return times


def pytorch_env(threads, extra_env, coretype):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), **extra_env)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def openblas_kernel(coretype):
    """The kernel PyTorch's OpenBLAS runs with in pytorch_env (its corename)."""
    probe = ("import ctypes, ctypes.util, torch\n"
             "for name in ('libopenblas.so.0', 'libblas.so.3'):\n"
             "    try:\n"
             "        lib = ctypes.CDLL(name)\n"
             "        lib.openblas_get_corename.restype = ctypes.c_char_p\n"
             "        print(lib.openblas_get_corename().decode()); break\n"
             "    except (OSError, AttributeError):\n"
             "        pass\n"
             "else:\n"
             "    print('unknown (not OpenBLAS?)')\n")
    return run(["/usr/bin/python3", "-c", probe], pytorch_env(1, {}, coretype)).strip()


def pytorch_ms(threads, steps, extra_env, embedding, coretype, only=""):
    env = pytorch_env(threads, extra_env, coretype)
    out = run(["/usr/bin/python3", os.path.join(HERE, "pytorch_lstm.py"), "--threads", "1",
               "--steps", str(steps), "--warmup", "1", "--no-generate",
               "--embedding", str(embedding), "--only", only], env)
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"TrainStep/(\S+): ([0-9.]+) ms/step", out)}


def dnnl_ms(binary, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = run([binary, "--iterations", "3", "--warmup", "1"], env)
    m = re.search(r"DnnlLstm/(\S+): ([0-9.]+) ms/step", out)
    if not m:
        sys.exit(f"side_by_side: no result from {binary}:\n{out}")
    return float(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--steps", type=int, default=3, help="timed PyTorch steps per shape and round")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build-bench", "bench", "bench_lstm"))
    ap.add_argument("--dnnl", default=None,
                    help="bench/dnnl_lstm binary (default: next to --bench; skipped if absent)")
    ap.add_argument("--embedding", type=int, default=64,
                    help="PyTorch's token embedding width (0: one-hot input)")
    ap.add_argument("--openblas-coretype", default="",
                    help="OPENBLAS_CORETYPE for PyTorch (default: OpenBLAS's own choice)")
    ap.add_argument("--classic-only", action="store_true", help="only the 3x512 shape")
    args = ap.parse_args()
    shapes = SHAPES[:1] if args.classic_only else SHAPES
    only = SHAPES[0] if args.classic_only else ""
    dnnl = args.dnnl or os.path.join(os.path.dirname(args.bench), "dnnl_lstm")
    if not os.access(dnnl, os.X_OK):
        print(f"side_by_side: {dnnl} not built (libdnnl-dev missing?): no oneDNN column")
        dnnl = None
    if args.rounds < 1 or args.threads < 1 or args.steps < 1:
        ap.error("--rounds, --threads and --steps must be at least 1")
    if not os.access(args.bench, os.X_OK):
        ap.error(f"{args.bench} not found: build it with scripts/bench.sh or cmake -DLSTMIDI_BUILD_BENCHMARKS=ON")

    print(f"PyTorch's OpenBLAS kernel: {openblas_kernel(args.openblas_coretype)}", flush=True)
    sides = ["lstmidi", "pytorch", "pytorch+malloc"]
    rows = {s: {side: [] for side in sides} for s in shapes}
    dnnl_rows = []
    for r in range(1, args.rounds + 1):
        got = {"lstmidi": lstmidi_ms(args.bench, args.threads, shapes),
               "pytorch": pytorch_ms(args.threads, args.steps, {}, args.embedding,
                                     args.openblas_coretype, only),
               "pytorch+malloc": pytorch_ms(args.threads, args.steps, TUNED_MALLOC,
                                            args.embedding, args.openblas_coretype, only)}
        for s in shapes:
            for side in sides:
                if s not in got[side]:
                    sys.exit(f"side_by_side: no {s} result from {side}")
                rows[s][side].append(got[side][s])
            t = [got[side][s] for side in sides]
            print(f"round {r} {s}: lstmidi {t[0]:.1f} ms, PyTorch {t[1]:.1f} ms ({t[1] / t[0]:.2f}x), "
                  f"PyTorch+malloc {t[2]:.1f} ms ({t[2] / t[0]:.2f}x)", flush=True)
        if dnnl:
            d = dnnl_ms(dnnl, args.threads)
            dnnl_rows.append(d)
            lm = got["lstmidi"][SHAPES[0]]
            print(f"round {r} {SHAPES[0]}: oneDNN LSTM layers {d:.1f} ms ({d / lm:.2f}x)", flush=True)

    print(f"\nmedians over {args.rounds} rounds, {args.threads} threads (ratio = other side's "
          "time / lstmidi's time, taken inside each round; above 1: lstmidi faster):")
    for s in shapes:
        v = rows[s]
        T, B = (100, 64) if s == SHAPES[0] else (64, 32)
        med = {side: statistics.median(v[side]) for side in sides}
        ratio = {side: statistics.median(p / l for p, l in zip(v[side], v["lstmidi"]))
                 for side in sides[1:]}
        best = [min(a, b) for a, b in zip(v["pytorch"], v["pytorch+malloc"])]
        best_ratio = statistics.median(p / l for p, l in zip(best, v["lstmidi"]))
        print(f"TrainStep/{s}: lstmidi {med['lstmidi']:.1f} ms ({T * B / med['lstmidi'] * 1e3:.0f} "
              f"tokens/s) | PyTorch {med['pytorch']:.1f} ms, lstmidi {ratio['pytorch']:.2f}x | "
              f"PyTorch+malloc {med['pytorch+malloc']:.1f} ms, lstmidi "
              f"{ratio['pytorch+malloc']:.2f}x | PyTorch at its best (faster of the two per "
              f"round): lstmidi {best_ratio:.2f}x")
    if dnnl_rows:
        d = statistics.median(dnnl_rows)
        ratio = statistics.median(x / l for x, l in zip(dnnl_rows, rows[SHAPES[0]]["lstmidi"]))
        print(f"oneDNN LSTM primitive, 3x512/T100/B64, forward+backward of the LSTM layers: "
              f"{d:.1f} ms ({6400 / d * 1e3:.0f} tokens/s), lstmidi's whole step {ratio:.2f}x")

if __name__ == "__main__":
    main()
