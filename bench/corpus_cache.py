#!/usr/bin/env python3
"""Corpus cache speed-up: a folder of many MIDI files loaded with every file read (`none`)
against the same folder loaded from its cache, interleaved pair by pair, so that load from
other tenants hits both sides alike. Prints each pair's times and ratio, the medians and the
ratio of the medians, with the load average before and after.

  bench/corpus_cache.py --load build/tests/programs/lstmidi_corpus_load \\
      --data data/jsb_chorales_16th [--files 10000] [--rounds 5] [--threads 2]

The folder: the .mid files under --data copied round-robin under --files names into 10
subfolders (made once under --work and kept). The cache is written once before the rounds."""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"load ([0-9.]+) s", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}")
    return float(m.group(1)), p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--load", default="build/tests/programs/lstmidi_corpus_load")
    ap.add_argument("--data", default="data/jsb_chorales_16th")
    ap.add_argument("--work", default="/tmp/lstmidi-cache-bench")
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", default="2")
    a = ap.parse_args()
    folder = os.path.join(a.work, f"{a.files}")
    cache = os.path.join(a.work, "cache")
    if not os.path.isdir(folder):
        src = sorted(glob.glob(os.path.join(a.data, "**", "*.mid"), recursive=True))
        if not src:
            sys.exit(f"no .mid files under {a.data}")
        for i in range(a.files):
            d = os.path.join(folder, f"d{i % 10}")
            os.makedirs(d, exist_ok=True)
            shutil.copy(src[i % len(src)], os.path.join(d, f"f{i:05d}.mid"))
    shutil.rmtree(cache, ignore_errors=True)
    first, out = timed([a.load, folder, cache, a.threads])
    print(f"folder {folder}: {out.splitlines()[1]}")
    print(f"first load, writing the cache: {first:.3f} s")
    print(f"load average before: {load()}")
    print("pair  every file read  from the cache  ratio  load")
    none, cached, ratios = [], [], []
    for r in range(a.rounds):
        t_none, _ = timed([a.load, folder, "none", a.threads])
        t_cache, out = timed([a.load, folder, cache, a.threads])
        if "reused %d read 0" % a.files not in out:
            sys.exit(f"the cache was not used:\n{out}")
        none.append(t_none)
        cached.append(t_cache)
        ratios.append(t_none / t_cache)
        print(f"{r + 1:4d}  {t_none:10.3f} s  {t_cache:10.3f} s  {ratios[-1]:6.1f}x  {load()}",
              flush=True)
    m0, m1 = statistics.median(none), statistics.median(cached)
    print(f"median: every file read {m0:.3f} s, from the cache {m1:.3f} s: {m0 / m1:.1f}x "
          f"(pairs {min(ratios):.1f}-{max(ratios):.1f}x)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
