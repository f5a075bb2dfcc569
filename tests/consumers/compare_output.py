#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a docs/examples program and compares what it prints with its checked-in expected output
(docs/examples/NAME.output), as a reader would see it in the docs.

Words must match exactly; numbers may differ by float rounding between CPUs and builds (Eigen
picks its GEMM blocking from the cache sizes, so sums run in another order): by one unit of the
last printed digit, or relatively by 1e-3, whichever is larger.
Usage: compare_output.py EXPECTED_FILE PROGRAM [ARGS...]
       compare_output.py --write EXPECTED_FILE PROGRAM [ARGS...]   (record it anew)
"""
import re
import subprocess
import sys

NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$")


def last_digit(text):
    """The value of one unit in the last printed digit of a number ("0.005" -> 0.001)."""
    mantissa = re.split(r"[eE]", text.rstrip("%"))[0]
    exponent = int(re.split(r"[eE]", text)[1]) if re.search(r"[eE]", text) else 0
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (exponent - decimals)


def close(a, b):
    x, y = float(a.rstrip("%")), float(b.rstrip("%"))
    return abs(x - y) <= max(last_digit(b) * 1.000001, 1e-3 * max(abs(x), abs(y)))


def tokens(line):
    return re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?|[^\s\d.+-]+|[.+-]", line)


def main(argv):
    write = argv[:1] == ["--write"]
    if write:
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-2])
        return 2
    expected_path, cmd = argv[0], argv[1:]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        print(f"{cmd[0]} exited with {run.returncode}\n{run.stdout}{run.stderr}")
        return 1
    got = run.stdout.splitlines()
    if write:
        with open(expected_path, "w") as f:
            f.write(run.stdout)
        print(f"wrote {expected_path} ({len(got)} lines)")
        return 0
    try:
        with open(expected_path) as f:
            want = f.read().splitlines()
    except OSError as e:
        print(f"no expected output: {e}")
        return 1
    problems = []
    if len(got) != len(want):
        problems.append(f"{len(got)} lines printed, {len(want)} expected")
    for i, (g, w) in enumerate(zip(got, want), 1):
        tg, tw = tokens(g), tokens(w)
        same = len(tg) == len(tw) and all(
            a == b or (NUMBER.match(a) and NUMBER.match(b) and close(a, b)) for a, b in zip(tg, tw))
        if not same:
            problems.append(f"line {i}:\n  printed:  {g}\n  expected: {w}")
    if problems:
        print(f"{cmd[0]}: output differs from {expected_path}")
        print("\n".join(problems[:20]))
        return 1
    print(f"{len(got)} lines as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
