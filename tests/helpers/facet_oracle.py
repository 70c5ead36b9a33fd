"""An independent facet oracle and networks with degenerate neurons, for tests and benchmarks."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np
import torch
from scipy.optimize import linprog
from torch import nn

__all__ = ["SCALES", "degenerate_network", "oracle_facets", "polygon_facets"]

SCALES = (1.0, 2.5, -1.0, -0.37, 1e3, 1e-3)


def oracle_facets(a: np.ndarray, b: np.ndarray, tol: float = 1e-9, dup_tol: float = 1e-9) -> int:
    """Number of facets of ``{a x <= b}``: rows normalised, zero rows and duplicates merged by a plain
    loop (first copy kept), then row ``i`` is a facet iff it can be made tight with slack ``> tol``
    on every other merged row (one LP per row)."""
    norms = np.linalg.norm(a, axis=1)
    merged: list[np.ndarray] = []
    for i in range(len(a)):
        if norms[i] <= 1e-12:
            assert b[i] >= 0, "a zero row with b < 0 makes the polytope empty"
            continue
        v = np.append(a[i], b[i]) / norms[i]
        if any(np.linalg.norm(v - w) <= dup_tol * max(1.0, np.linalg.norm(v), np.linalg.norm(w)) for w in merged):
            continue
        merged.append(v)
    rows = np.array(merged)
    aa, bb = rows[:, :-1], rows[:, -1]
    m, d = aa.shape
    count = 0
    for i in range(m):
        others = np.delete(np.arange(m), i)
        res = linprog(
            np.r_[np.zeros(d), -1.0],
            A_ub=np.hstack([aa[others], np.ones((m - 1, 1))]), b_ub=bb[others],
            A_eq=np.r_[aa[i], 0.0][None], b_eq=bb[i : i + 1],
            bounds=[(None, None)] * d + [(None, 1.0)], method="highs",
        )  # fmt: skip
        count += int(res.status == 0 and -res.fun > tol)
    return count


def degenerate_network(
    d: int, widths: list[int], copies: list[tuple[int, int, int]], dead: int, zero_bias: bool, seed: int
) -> nn.Sequential:
    """A float64 ReLU MLP whose layer ``l`` has neuron ``j`` replaced by ``SCALES[k]`` times neuron
    ``i`` for every ``(l, i, k)`` in ``copies`` (scaled and sign-flipped duplicates), ``dead`` neurons
    with zero weights in the first layer, and optionally every bias zero."""
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    prev = d
    linears = []
    for w in widths:
        lin = nn.Linear(prev, w).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(w, prev, generator=g, dtype=torch.float64) / prev**0.5)
            lin.bias.copy_(torch.zeros(w) if zero_bias else 0.3 * torch.randn(w, generator=g, dtype=torch.float64))
        linears.append(lin)
        layers += [lin, nn.ReLU()]
        prev = w
    with torch.no_grad():
        for layer, i, k in copies:
            lin = linears[layer % len(linears)]
            n = lin.out_features
            src, dst = i % n, (i + 1 + k) % n
            if src != dst:
                lin.weight[dst] = SCALES[k % len(SCALES)] * lin.weight[src]
                lin.bias[dst] = SCALES[k % len(SCALES)] * lin.bias[src]
        for j in range(min(dead, linears[0].out_features - 1)):
            linears[0].weight[-1 - j] = 0.0
    layers.append(nn.Linear(prev, 1).double())
    return nn.Sequential(*layers)


def polygon_facets(a: np.ndarray, b: np.ndarray) -> list[bool]:
    """The exact oracle in the plane, by another route: the polygon's vertices in rationals (every pair of lines
    met, the points that satisfy every row kept); a row is a facet if two distinct vertices lie on it (the first
    row of a group of exact positive multiples only)."""
    fa = [[Fraction(float(v)) for v in row] for row in a]
    fb = [Fraction(float(v)) for v in b]
    verts = set()
    for i, j in combinations(range(len(a)), 2):
        det = fa[i][0] * fa[j][1] - fa[i][1] * fa[j][0]
        if det == 0:
            continue
        x = ((fb[i] * fa[j][1] - fa[i][1] * fb[j]) / det, (fa[i][0] * fb[j] - fb[i] * fa[j][0]) / det)
        if all(r[0] * x[0] + r[1] * x[1] <= c for r, c in zip(fa, fb)):
            verts.add(x)
    out = []
    for k in range(len(a)):
        if fa[k][0] == 0 and fa[k][1] == 0:  # a zero row bounds nothing
            out.append(False)
            continue
        on = [v for v in verts if fa[k][0] * v[0] + fa[k][1] * v[1] == fb[k]]
        same = [j for j in range(k) if _multiple(fa[j] + [fb[j]], fa[k] + [fb[k]])]
        out.append(len(on) >= 2 and not same)
    return out


def _multiple(u: list[Fraction], v: list[Fraction]) -> bool:
    """``u = c v`` with ``c > 0``, exactly."""
    nz = next((i for i, t in enumerate(v) if t != 0), None)
    if nz is None or u[nz] == 0 or (u[nz] > 0) != (v[nz] > 0):
        return False
    c = u[nz] / v[nz]
    return all(p == c * q for p, q in zip(u, v))
