#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The LSTM of docs/math.md in plain numpy: forward, backpropagation through time and a
finite-difference check of it, with nothing else in the way. Read it next to docs/math.md; it makes
every number the worked examples print.

    lstm_numpy.py           print the worked-example tables
    lstm_numpy.py --write   rewrite the fixtures in tests/fixtures/ and the tables in docs/math.md
    lstm_numpy.py --check   recompute everything and compare with the committed files (and with
                            PyTorch where it is installed); exit 0 if all agree, 1 if not, and
                            77 (skipped) where numpy is not installed

Conventions as in docs/math.md: a batch is columns, gate blocks in the order i, f, g, o, steps
t = 0 .. T-1, initial state h_{-1}, c_{-1}. Everything is float64. The math is the first 60
lines; math_tables.py next to it formats the numbers as the tables of math.md.
"""
import math
import os
import sys

try:
    import numpy as np
except ImportError:
    print("lstm_numpy.py: numpy is not installed (apt-get install python3-numpy); skipped")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GATES = "ifgo"


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_forward(W, U, b, xs, h, c):
    """xs: list of T inputs (D, B); h, c: (H, B). Returns one dict of values per step."""
    H = U.shape[1]
    steps = []
    for x in xs:
        a = W @ x + U @ h + b                        # (4H, B) pre-activations
        i, f = sigmoid(a[0:H]), sigmoid(a[H:2 * H])  # input and forget gates
        g, o = np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:4 * H])
        c_new = f * c + i * g                        # the cell: scaled and added, nothing else
        tanh_c = np.tanh(c_new)
        h_new = o * tanh_c
        steps.append(dict(x=x, h_prev=h, c_prev=c, a=a, i=i, f=f, g=g, o=o, c=c_new,
                          tanh_c=tanh_c, h=h_new))
        h, c = h_new, c_new
    return steps


def lstm_backward(W, U, steps, dYs, dc_last):
    """dYs: dL/dh_t from above for every step; dc_last: dL/dc_{T-1} from outside the window.
    Visits the steps from last to first; adds the gradient values to each step's dict."""
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros((W.shape[0], 1))
    dh_next = np.zeros_like(steps[-1]["h"])  # nothing later in the window reads h_{T-1}
    dc_next = dc_last
    for s, dY in zip(reversed(steps), reversed(dYs)):
        i, f, g, o, tanh_c = s["i"], s["f"], s["g"], s["o"], s["tanh_c"]
        dh = dY + dh_next                                # both uses of h_t
        dc = dc_next + dh * o * (1 - tanh_c ** 2)        # both uses of c_t
        do, di, dg, df = dh * tanh_c, dc * g, dc * i, dc * s["c_prev"]
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2),
                             do * o * (1 - o)])          # (4H, B)
        dW += da @ s["x"].T
        dU += da @ s["h_prev"].T
        db += da.sum(axis=1, keepdims=True)
        dh_prev, dc_prev = U.T @ da, dc * f              # what step t sends to step t-1
        s.update(dY=dY, dh=dh, dc=dc, do=do, di=di, df=df, dg=dg, da=da, dx=W.T @ da,
                 dh_prev=dh_prev, dc_prev=dc_prev)
        dh_next, dc_next = dh_prev, dc_prev
    return dW, dU, db


def gradient_check(D=3, H=4, B=2, T=3, delta=1e-3):
    """Finite differences of L = sum_t sum(dY_t * h_t) against lstm_backward, for every entry of
    W, U, b at random sizes (not only the 1 x 1 examples); returns the worst relative error."""
    rng = np.random.default_rng(0)
    W, U, b = rng.uniform(-1, 1, (4 * H, D)), rng.uniform(-1, 1, (4 * H, H)), rng.uniform(-1, 1, (4 * H, 1))
    xs, dYs = list(rng.uniform(-1, 1, (T, D, B))), list(rng.uniform(-1, 1, (T, H, B)))
    h0, c0 = rng.uniform(-1, 1, (H, B)), rng.uniform(-1, 1, (H, B))

    def loss():
        return sum((dY * s["h"]).sum() for dY, s in zip(dYs, lstm_forward(W, U, b, xs, h0, c0)))
    grads = lstm_backward(W, U, lstm_forward(W, U, b, xs, h0, c0), dYs, np.zeros((H, B)))
    worst = 0.0
    for M, dM in zip((W, U, b), grads):
        for k in np.ndindex(M.shape):
            saved = M[k]
            at = []
            for step in (2 * delta, delta, -delta, -2 * delta):
                M[k] = saved + step
                at.append(loss())
            M[k] = saved
            numeric = (-at[0] + 8 * at[1] - 8 * at[2] + at[3]) / (12 * delta)  # five-point stencil
            worst = max(worst, abs(numeric - dM[k]) / max(abs(numeric), abs(dM[k]), 1e-6))
    return worst


# The examples: D = H = B = 1, so every matrix is one number per gate.
W0 = np.array([[0.5], [-0.4], [0.8], [0.3]])
U0 = np.array([[-0.2], [0.6], [0.1], [-0.7]])
B0 = np.array([[0.1], [1.0], [-0.2], [0.05]])
H_INIT, C_INIT = np.array([[0.4]]), np.array([[-0.6]])
XS_TWO = [np.array([[0.9]]), np.array([[-0.5]])]  # step 0 is the one-step example's input
DY_TWO = [np.array([[1.0]]), np.array([[1.0]])]   # L = h_0 + h_1


def one_step():
    steps = lstm_forward(W0, U0, B0, XS_TWO[:1], H_INIT, C_INIT)
    grads = lstm_backward(W0, U0, steps, [np.array([[1.0]])], np.zeros((1, 1)))
    return steps, grads


def two_steps():
    steps = lstm_forward(W0, U0, B0, XS_TWO, H_INIT, C_INIT)
    grads = lstm_backward(W0, U0, steps, DY_TWO, np.zeros((1, 1)))
    return steps, grads


def num(v):
    return float(np.asarray(v).reshape(-1)[0])


def one_step_values():
    (s,), (dW, dU, db) = one_step()
    rows = [(f"{m}_{gate}", M[k, 0]) for m, M in (("W", W0), ("U", U0), ("b", B0))
            for k, gate in enumerate(GATES)]
    rows += [("x", s["x"]), ("h_prev", H_INIT), ("c_prev", C_INIT), ("dh", 1.0), ("dc_next", 0.0)]
    rows += [(f"a_{gate}", s["a"][k]) for k, gate in enumerate(GATES)]
    rows += [(n, s[n]) for n in ("i", "f", "g", "o", "c", "tanh_c", "h", "do", "dc", "di", "df", "dg")]
    rows += [(f"da_{gate}", s["da"][k]) for k, gate in enumerate(GATES)]
    rows += [(f"d{m}_{gate}", M[k, 0]) for m, M in (("W", dW), ("U", dU), ("b", db))
             for k, gate in enumerate(GATES)]
    rows += [("dx", s["dx"]), ("dh_prev", s["dh_prev"]), ("dc_prev", s["dc_prev"])]
    return [(n, num(v)) for n, v in rows]


STEP_NAMES = ["x", "h_prev", "c_prev", "a_i", "a_f", "a_g", "a_o", "i", "f", "g", "o", "c",
              "tanh_c", "h", "dY", "dh", "dc", "do", "di", "df", "dg", "da_i", "da_f", "da_g",
              "da_o", "dx", "dh_prev", "dc_prev"]


def two_step_values():
    steps, (dW, dU, db) = two_steps()
    rows = [(f"{m}_{gate}", M[k, 0]) for m, M in (("W", W0), ("U", U0), ("b", B0))
            for k, gate in enumerate(GATES)]
    rows += [("h_init", H_INIT), ("c_init", C_INIT)]
    for t, s in enumerate(steps):
        for k, gate in enumerate(GATES):
            s["a_" + gate], s["da_" + gate] = s["a"][k], s["da"][k]
        rows += [(f"{n}[{t}]", s[n]) for n in STEP_NAMES]
    rows += [(f"d{m}_{gate}", M[k, 0]) for m, M in (("W", dW), ("U", dU), ("b", db))
             for k, gate in enumerate(GATES)]
    return [(n, num(v)) for n, v in rows]


HEADER = ("# Format: one \"name value\" pair per line, separated by one space; value is the shortest "
          "decimal that reads back as the exact double; lines starting with '#' are comments.\n"
          "# Made by docs/reference/lstm_numpy.py --write (plain numpy, float64); do not edit by hand.\n")


def fixture_text(title, rows):
    return HEADER + title + "".join(f"{n} {v!r}\n" for n, v in rows)


ONE_TITLE = ("# One LSTM step with D = H = B = 1 and gate order i, f, g, o (docs/math.md, section "
             "\"A worked example\").\n# Backward loss: L = dh * h + dc_next * c, so the upstream "
             "gradients are dL/dh = dh and dL/dc = dc_next.\n")
TWO_TITLE = ("# Two LSTM steps with D = H = B = 1 (docs/math.md, section \"Two steps\"): the one-step "
             "example's weights and initial state h_init, c_init,\n# inputs x[0], x[1], loss L = h_0 "
             "+ h_1 (dY[t] = 1). name[t] is the value at step t; dh, dc are the totals over both "
             "paths;\n# dh_prev[t], dc_prev[t] are what step t sends back to h_{t-1}, c_{t-1}; dW_* "
             "dU_* db_* are summed over both steps.\n")


FIXTURES = {"tests/fixtures/worked_example.txt": lambda: fixture_text(ONE_TITLE, one_step_values()),
            "tests/fixtures/two_step_example.txt": lambda: fixture_text(TWO_TITLE, two_step_values())}


def compare_with_torch():
    """The same two steps through torch.nn.LSTMCell's autograd; returns the largest difference."""
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: comparison with torch.nn.LSTMCell skipped")
        return 0.0
    cell = torch.nn.LSTMCell(1, 1).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(W0))
        cell.weight_hh.copy_(torch.from_numpy(U0))
        cell.bias_ih.copy_(torch.from_numpy(B0[:, 0]))
        cell.bias_hh.zero_()
    h0 = torch.tensor(H_INIT, requires_grad=True)
    c0 = torch.tensor(C_INIT, requires_grad=True)
    xs = [torch.tensor(x.T, requires_grad=True) for x in XS_TWO]
    h, c, loss = h0, c0, 0
    for x in xs:                      # torch keeps a batch as rows: (B, D)
        h, c = cell(x, (h, c))
        loss = loss + h.sum()
    loss.backward()
    v = dict(two_step_values())
    ours = [v[f"d{m}_{g}"] for m in "WUb" for g in GATES] + [
        v["dx[0]"], v["dx[1]"], v["dh_prev[0]"], v["dc_prev[0]"], v["h[1]"], v["c[1]"]]
    theirs = [float(p.grad[k].reshape(-1)[0]) for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih)
              for k in range(4)] + [float(xs[0].grad), float(xs[1].grad), float(h0.grad),
                                    float(c0.grad), float(h), float(c)]
    diff = max(abs(a - b) for a, b in zip(ours, theirs))
    print(f"two steps against torch.nn.LSTMCell (float64): largest difference {diff:.1e}")
    return diff


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode not in ("", "--write", "--check"):
        print(__doc__)
        return 2
    from math_tables import MARK, TABLES, same_doc, with_tables
    doc_path = os.path.join(ROOT, "docs", "math.md")
    if mode == "":
        for name, make in TABLES.items():
            print(f"{name}:\n{make()}\n")
        return 0
    ok = True
    files = {p: make() for p, make in FIXTURES.items()}
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    files["docs/math.md"] = with_tables(doc)
    if len(MARK.findall(doc)) != len(TABLES):
        print(f"docs/math.md: expected {len(TABLES)} marked tables, found {len(MARK.findall(doc))}")
        ok = False
    for rel, text in files.items():
        path = os.path.join(ROOT, rel)
        if mode == "--write":
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {rel}")
            continue
        with open(path, encoding="utf-8") as f:
            committed = f.read()
        same = same_values(committed, text) if rel.endswith(".txt") else same_doc(committed, text)
        print(f"{rel}: {'agrees' if same else 'DIFFERS from what lstm_numpy.py computes'}")
        ok = ok and same
    worst = gradient_check()
    print(f"gradient check of lstm_backward (D=3, H=4, B=2, T=3): worst relative error {worst:.1e}")
    ok = ok and worst < 1e-6
    if compare_with_torch() > 1e-14:  # a few units in the last place of values near 1
        ok = False
    return 0 if ok else 1


def same_values(a, b):
    """Same names in the same order, and values equal to a few units in the last place (numpy's
    exp and tanh may round the last bit differently on another machine)."""
    def pairs(text):
        return [l.split() for l in text.splitlines() if l and not l.startswith("#")]
    pa, pb = pairs(a), pairs(b)
    return len(pa) == len(pb) and all(
        x[0] == y[0] and math.isclose(float(x[1]), float(y[1]), rel_tol=1e-14, abs_tol=1e-17)
        for x, y in zip(pa, pb))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
