"""An independent facet oracle and networks with degenerate neurons, for tests and benchmarks."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linprog
from torch import nn

__all__ = ["SCALES", "degenerate_network", "oracle_facets"]

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
