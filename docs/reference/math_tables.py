# SPDX-License-Identifier: MIT
"""The tables and numbers of docs/math.md that lstm_numpy.py computes, formatted as the page
prints them (6 significant digits). Between the marker lines

    <!-- lstm_numpy.py: NAME -->
    ...
    <!-- end -->

math.md holds the output of TABLES[NAME]; `lstm_numpy.py --write` fills them in and
`lstm_numpy.py --check` compares them."""
import math
import re

from lstm_numpy import (B0, C_INIT, GATES, H_INIT, U0, W0, XS_TWO, lstm_forward, num,
                        one_step_values, two_step_values)


def g6(v):
    """6 significant digits, as the tables print them."""
    s = f"{v:#.6g}"
    if "e" in s:
        s = f"{v:.{max(0, 5 - int(math.floor(math.log10(abs(v)))))}f}"
    return s.replace("-", "−")


def one_step_inputs():
    v = dict(one_step_values())

    def short(x):  # the inputs are short decimals: print them as they are written
        return repr(x).replace("-", "−")
    out = ["| gate | `W` | `U` | `b` |", "|---|---|---|---|"]
    out += [f"| {g} | {short(v['W_' + g])} | {short(v['U_' + g])} | {short(v['b_' + g])} |"
            for g in GATES]
    out += ["", f"`x = {short(v['x'])}`, `h_prev = {short(v['h_prev'])}`, "
            f"`c_prev = {short(v['c_prev'])}`, upstream `dh = {v['dh']:g}`, "
            f"`dc_next = {v['dc_next']:g}`."]
    return "\n".join(out)


def one_step_table():
    v = dict(one_step_values())
    rows = [("a_i", "0.5·0.9 + (−0.2)·0.4 + 0.1"), ("a_f", "(−0.4)·0.9 + 0.6·0.4 + 1.0"),
            ("a_g", "0.8·0.9 + 0.1·0.4 + (−0.2)"), ("a_o", "0.3·0.9 + (−0.7)·0.4 + 0.05"),
            ("i", "σ(a_i)"), ("f", "σ(a_f)"), ("g", "tanh(a_g)"), ("o", "σ(a_o)"),
            ("c", "f·c_prev + i·g"), ("tanh_c", "tanh(c)"), ("h", "o·tanh(c)"),
            ("do", "dh·tanh(c)"), ("dc", "dc_next + dh·o·(1 − tanh²c)"), ("di", "dc·g"),
            ("df", "dc·c_prev"), ("dg", "dc·i"), ("da_i", "di·i·(1 − i)"),
            ("da_f", "df·f·(1 − f)"), ("da_g", "dg·(1 − g²)"), ("da_o", "do·o·(1 − o)")]
    out = ["| quantity | formula | value |", "|---|---|---|"]
    out += [f"| `{n.replace('tanh_c', 'tanh c')}` | {f} | {g6(v[n])} |" for n, f in rows]
    for m, f in (("dW", "da·x"), ("dU", "da·h_prev"), ("db", "da")):
        names = ", ".join(f"`{m}_{gate}`" for gate in GATES)
        out.append(f"| {names} | {f} | " + ", ".join(g6(v[f"{m}_{gate}"]) for gate in GATES) + " |")
    out += [f"| `dx` | Σ_gates W·da | {g6(v['dx'])} |",
            f"| `dh_prev` | Σ_gates U·da | {g6(v['dh_prev'])} |",
            f"| `dc_prev` | dc·f | {g6(v['dc_prev'])} |"]
    return "\n".join(out)


def two_step_table():
    v = dict(two_step_values())
    formulas = dict(x="given", h_prev="h of step t − 1", c_prev="c of step t − 1",
                    a_i="W_i·x + U_i·h_prev + b_i", a_f="same with the f row",
                    a_g="same with the g row", a_o="same with the o row", i="σ(a_i)", f="σ(a_f)", g="tanh(a_g)",
                    o="σ(a_o)", c="f·c_prev + i·g", h="o·tanh(c)", dY="given (L = h_0 + h_1)",
                    dh="dY + dh_next", dc="dc_next + dh·o·(1 − tanh²c)",
                    da_i="dc·g·i·(1 − i)", da_f="dc·c_prev·f·(1 − f)", da_g="dc·i·(1 − g²)",
                    da_o="dh·tanh(c)·o·(1 − o)", dx="Σ_gates W·da", dh_prev="Σ_gates U·da",
                    dc_prev="dc·f")
    out = ["| quantity | formula | t = 0 | t = 1 |", "|---|---|---|---|"]
    for n in ["x", "h_prev", "c_prev", "a_i", "a_f", "a_g", "a_o", "i", "f", "g", "o", "c", "h",
              "dY", "dh", "dc", "da_i", "da_f", "da_g", "da_o", "dx", "dh_prev", "dc_prev"]:
        out.append(f"| `{n}` | {formulas[n]} | {g6(v[n + '[0]'])} | {g6(v[n + '[1]'])} |")
    out += ["", "| summed over both steps | i | f | g | o |", "|---|---|---|---|---|"]
    for m in ("dW", "dU", "db"):
        out.append(f"| `{m}` | " + " | ".join(g6(v[f"{m}_{gate}"]) for gate in GATES) + " |")
    return "\n".join(out)


def one_step_cancel():
    v = dict(one_step_values())
    terms = [U0[k, 0] * v[f"da_{gate}"] for k, gate in enumerate(GATES)]
    return ("Things to notice: `dc_prev` is `dc` scaled by the forget gate "
            f"({g6(v['dc'])} → {g6(v['dc_prev'])}). `dh_prev` is small for another reason: it is "
            "the sum of four terms `U·da`, one per gate, "
            + ", ".join(g6(x) for x in terms) +
            f", which nearly cancel (their absolute values add up to "
            f"{sum(abs(x) for x in terms) / abs(v['dh_prev']):.1f} times the result). One step "
            "says nothing yet about how gradients travel through time: that needs a second step.")


def two_step_paths():
    v = dict(two_step_values())
    return ("Follow the two paths back from step 1 to step 0 in the table:\n\n"
            f"* **through `h`:** step 1 sends `dh_prev = Σ_gates U·da = {g6(v['dh_prev[1]'])}`, "
            f"so step 0 sees\n  `dh = dY_0 + dh_next = {g6(v['dY[0]'])} + {g6(v['dh_prev[1]'])} = "
            f"{g6(v['dh[0]'])}`;\n"
            f"* **through `c`:** step 1 sends `dc_prev = dc·f = {g6(v['dc[1]'])} · {g6(v['f[1]'])} = "
            f"{g6(v['dc_prev[1]'])}`, and step 0\n  adds its own path through `h_0`: "
            f"`dc = dc_next + dh·o·(1 − tanh²c) = {g6(v['dc_prev[1]'])} + "
            f"{g6(v['dh[0]'] * v['o[0]'] * (1 - math.tanh(v['c[0]']) ** 2))} = {g6(v['dc[0]'])}`.\n\n"
            "Here the cell path carries more than the hidden path "
            f"({g6(v['dc_prev[1]'])} against {g6(v['dh_prev[1]'])}), and the structure says why "
            "it tends to: `dc_prev` is `dc` multiplied by one number, `f`, while `dh_prev` is a "
            "sum of four terms `U·da` ("
            + ", ".join(g6(U0[k, 0] * v[f"da_{gate}[1]"]) for k, gate in enumerate(GATES)) +
            " here), each passed through a gate derivative, at most 1/4 for a sigmoid. With `f` "
            "near 1 the cell path keeps the gradient's size over many steps: the constant error "
            "carousel of the BPTT section. One example does not prove it; the sizes depend on "
            "the weights.\n\n"
            "The weight gradients are sums over the steps, e.g. `dW_g = da_g[0]·x_0 + "
            f"da_g[1]·x_1 = {g6(v['da_g[0]'])} · {g6(v['x[0]'])} + {g6(v['da_g[1]'])} · "
            f"({g6(v['x[1]'])}) = {g6(v['dW_g'])}`.")


def step_size_table():
    """|finite difference - analytic| of dh/dW_g in the one-step example, for several steps."""
    def h_of(wg):
        W = W0.copy()
        W[2, 0] = wg
        return num(lstm_forward(W, U0, B0, XS_TWO[:1], H_INIT, C_INIT)[0]["h"])
    exact, w = dict(one_step_values())["dW_g"], W0[2, 0]
    out = ["| δ | central difference | five-point stencil |", "|---|---|---|"]
    for e in range(2, 7):
        d = 10.0 ** -e
        central = (h_of(w + d) - h_of(w - d)) / (2 * d)
        five = (-h_of(w + 2 * d) + 8 * h_of(w + d) - 8 * h_of(w - d) + h_of(w - 2 * d)) / (12 * d)
        sup = str(-e).replace("-", "⁻").translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        out.append(f"| 10{sup} | {sci(abs(central - exact))} | {sci(abs(five - exact))} |")
    return "\n".join(out)


def sci(v):
    m, e = f"{v:.1e}".split("e")
    return m + "·10" + str(int(e)).replace("-", "⁻").translate(
        str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))



TABLES = {"one-step-inputs": one_step_inputs, "one-step": one_step_table, "one-step-cancel": one_step_cancel,
          "two-step": two_step_table, "two-step-paths": two_step_paths,
          "step-size": step_size_table}
MARK = re.compile(r"(<!-- lstm_numpy\.py: (\S+) -->\n)(.*?)(\n<!-- end -->)", re.S)


def with_tables(doc):
    return MARK.sub(lambda m: m.group(1) + TABLES[m.group(2)]() + m.group(4), doc)


def same_doc(a, b):
    """Equal text, except that the round-off entries of the step-size table (below 1e-10) may
    differ by a factor of up to 3: they are noise, and its size depends on how the machine's
    exp and tanh round."""
    if a == b:
        return True
    ma, mb = re.split(MARK, a), re.split(MARK, b)
    if len(ma) != len(mb):
        return False
    for k, (x, y) in enumerate(zip(ma, mb)):
        if x == y:
            continue
        if k % 5 != 3 or ma[k - 1] != "step-size":  # re.split: text, open, name, table, close
            return False
        cells_x, cells_y = re.findall(r"([0-9.]+)·10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", x), re.findall(
            r"([0-9.]+)·10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", y)
        if len(cells_x) != len(cells_y):
            return False
        for cx, cy in zip(cells_x, cells_y):
            vx, vy = float(cx[0]) * 10.0 ** sup_int(cx[1]), float(cy[0]) * 10.0 ** sup_int(cy[1])
            if cx != cy and not (max(vx, vy) < 1e-10 and max(vx, vy) <= 3 * min(vx, vy)):
                return False
    return True


def sup_int(s):
    return int(s.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
