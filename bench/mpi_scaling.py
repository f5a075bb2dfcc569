#!/usr/bin/env python3
"""Data-parallel throughput: lstmidi-train with one thread against `mpirun -np 2
lstmidi-train-mpi` with one thread per process, interleaved round by round so that load from
other tenants hits both sides alike. Prints each round's tokens/s (history.csv, the last
epoch: the first epoch's first steps also warm the allocator), the medians, the ratio of the
medians and the ratio inside each round, with the load average before and after.

  bench/mpi_scaling.py --bin build/bin --data data/jsb_chorales_16th/train [--rounds 5]

The model is the classic one (3 x 512, one-hot input, T = 100, global batch 64, dropout 0.3)
on the first 6 files of --data (4 batches per epoch with --stride 16), 2 epochs; --hidden,
--layers, --batch and --files change it."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(cmd, out):
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}")
    with open(os.path.join(out, "history.csv")) as f:
        rows = [l.strip().split(",") for l in f if l.strip()]
    row = dict(zip(rows[0], rows[-1]))
    return float(row["tokens_per_second"]), float(row["seconds"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--data", default="data/jsb_chorales_16th/train")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--layers", default="3")
    ap.add_argument("--hidden", default="512")
    ap.add_argument("--epochs", default="2")
    ap.add_argument("--batch", default="64", help="global batch (each of 2 processes: half)")
    a = ap.parse_args()
    mpirun = shutil.which("mpirun")
    if not mpirun:
        sys.exit("mpirun not found (Debian: openmpi-bin)")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ["OMP_NUM_THREADS"] = "1"
    work = tempfile.mkdtemp(prefix="lstmidi-mpi-scaling-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    for f in sorted(x for x in os.listdir(a.data) if x.endswith(".mid"))[:a.files]:
        shutil.copy(os.path.join(a.data, f), data)
    common = ["--data", data, "--layers", a.layers, "--hidden", a.hidden, "--embedding", "0",
              "--seq-len", "100", "--stride", "16", "--batch", a.batch, "--dropout", "0.3",
              "--epochs", a.epochs, "--valid-fraction", "0", "--threads", "1", "--quiet",
              "--cache", "none"]
    one_cmd = [os.path.join(a.bin, "lstmidi-train"), *common, "--out", os.path.join(work, "one")]
    two_cmd = [mpirun, "-np", "2", os.path.join(a.bin, "lstmidi-train-mpi"), *common,
               "--out", os.path.join(work, "two")]
    print(f"load average before: {load()}")
    print("round  1 process tok/s (epoch s)  2 processes tok/s (epoch s)  ratio  load")
    ones, twos, ratios = [], [], []
    for r in range(a.rounds):
        # Alternate which side goes first, so neither always follows the other.
        order = [("one", one_cmd), ("two", two_cmd)]
        if r % 2:
            order.reverse()
        got = {}
        for name, cmd in order:
            got[name] = run(cmd, os.path.join(work, name))
        ones.append(got["one"][0])
        twos.append(got["two"][0])
        ratios.append(got["two"][0] / got["one"][0])
        print(f"{r + 1:5d}  {got['one'][0]:10.0f} ({got['one'][1]:6.2f})"
              f"        {got['two'][0]:10.0f} ({got['two'][1]:6.2f})        {ratios[-1]:5.2f}  {load()}",
              flush=True)
    m1, m2 = statistics.median(ones), statistics.median(twos)
    print(f"median: 1 process {m1:.0f} tokens/s, 2 processes {m2:.0f} tokens/s: "
          f"{m2 / m1:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"load average after: {load()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
