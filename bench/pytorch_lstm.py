#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch's CPU nn.LSTM on exactly the shapes of bench/bench_lstm.cpp, for a side-by-side
comparison (Debian's python3-torch; run with /usr/bin/python3).

Training step = forward + backward + global-norm clipping + Adam, cross-entropy on every
position, one-hot input (as the classic model), dropout 0.3 between layers. FLOPs are counted
as in bench_lstm.cpp: 2*4H*(D+H) per token per layer forward, twice that backward, plus the
output layer (2*V*H forward, twice backward). Prints medians over the timed steps.

--embedding E feeds the token ids through nn.Embedding(V, E) into the first LSTM instead of
one-hot vectors (the usual way, and cheaper: an E-wide input product instead of a V-wide one);
the FLOP count then uses D = E for the first layer (the embedding itself is a gather).

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/pytorch_lstm.py --threads 1   # its fastest here
  /usr/bin/python3 bench/pytorch_lstm.py --threads 2
"""
import argparse
import statistics
import time

import torch

SHAPES = {  # name: (layers, hidden, T, B, V)
    "3x512/T100/B64/V358": (3, 512, 100, 64, 358),
    "2x256/T64/B32/V128": (2, 256, 64, 32, 128),
}


def flops_per_token(layers, hidden, vocab, embedding=0):
    f, d = 0.0, embedding or vocab
    for _ in range(layers):
        f += 3 * 2 * 4 * hidden * (d + hidden)
        d = hidden
    return f + 3 * 2 * vocab * hidden


def bench_train(layers, hidden, T, B, V, steps, warmup, embedding=0):
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(embedding or V, hidden, num_layers=layers, dropout=0.3)
    dense = torch.nn.Linear(hidden, V)
    params = list(lstm.parameters()) + list(dense.parameters())
    embed = torch.nn.Embedding(V, embedding) if embedding else None
    if embed is not None:
        params += list(embed.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ids = torch.randint(0, V, (T, B))
    x = None if embed is not None else torch.nn.functional.one_hot(ids, V).float()
    y = torch.randint(0, V, (T * B,))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(embed(ids) if embed is not None else x)
        loss = torch.nn.functional.cross_entropy(dense(out).reshape(T * B, V), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    tok = T * B / med
    return med, tok, tok * flops_per_token(layers, hidden, V, embedding) * 1e-9


def bench_generate(layers, hidden, V, steps):
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(V, hidden, num_layers=layers).eval()
    dense = torch.nn.Linear(hidden, V).eval()
    x = torch.zeros(1, 1, V)
    x[0, 0, 0] = 1
    state = None
    times = []
    with torch.no_grad():
        for i in range(steps + 20):
            t0 = time.perf_counter()
            out, state = lstm(x, state)
            nxt = int(dense(out[0, 0]).argmax())
            x.zero_()
            x[0, 0, nxt] = 1
            if i >= 20:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_generate_window(layers, hidden, V, T, events):
    """One new event the classic tutorial's way: the whole T-event window from a zero state."""
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(V, hidden, num_layers=layers).eval()
    dense = torch.nn.Linear(hidden, V).eval()
    ids = torch.randint(0, V, (T,))
    times = []
    with torch.no_grad():
        for i in range(events + 3):
            t0 = time.perf_counter()
            out, _ = lstm(torch.nn.functional.one_hot(ids, V).float().unsqueeze(1))
            nxt = int(dense(out[-1, 0]).argmax())
            ids = torch.cat([ids[1:], torch.tensor([nxt])])
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per shape")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", default="", help="run only shapes whose name contains this")
    ap.add_argument("--embedding", type=int, default=0,
                    help="token input through nn.Embedding(V, E) of this width (default: one-hot)")
    ap.add_argument("--no-generate", action="store_true", help="skip the generation measurements")
    ap.add_argument("--no-train", action="store_true", help="skip the training steps")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}")
    for name, (L, H, T, B, V) in SHAPES.items():
        if args.no_train or (args.only and args.only not in name):
            continue
        med, tok, gf = bench_train(L, H, T, B, V, args.steps, args.warmup, args.embedding)
        print(f"TrainStep/{name}: {med * 1e3:.1f} ms/step  {tok:.0f} tokens/s  {gf:.1f} GFLOP/s")
    if args.no_generate:
        return
    g = bench_generate(3, 512, 358, 300)
    print(f"GenerateStep/3x512: {g * 1e6:.0f} us/event")
    w = bench_generate_window(3, 512, 358, 100, 20)
    print(f"GenerateWindow/3x512/T100: {w * 1e3:.1f} ms/event ({w / g:.0f}x the carried step)")


if __name__ == "__main__":
    main()
