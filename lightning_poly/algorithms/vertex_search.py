r"""Training a shallow ReLU network by search over activation patterns (zonotope paper, Algorithms 1-3, Theorem 4.3).

Every search returns a :class:`SearchRecord`: the best vertex, its solution of program (3), the loss
trace (non-increasing), vertices visited, programs solved and the time.

* :func:`exact_erm` — Algorithm 1: program (3) on every vertex of :math:`\mathcal Z^m` (the product of
  one unit's vertices), refused above ``max_programs`` with the count.
* :func:`greedy_local_search` — Algorithm 2 (GLS): solve every neighbour of the current vertex, move to
  the best, stop at a vertex no neighbour improves (a local minimum of the 1-skeleton) or after
  ``max_steps``.
* :func:`modified_greedy_local_search` — Algorithm 3 with appendix G (mGLS): the neighbours are tried in
  order — the pattern with every tight constraint flipped (if it is a vertex), then the neighbours
  that flip one tight constraint, then the rest in a seeded random order — ``batch`` at a time, and
  the search moves to the first that improves. A constraint is tight when its slack is below
  ``tight_tol`` times :math:`\|w_j\|\,\|\bar x_i\|`; a unit whose weights collapsed to 0 (norm below
  ``1e-8`` of the largest) is dead and its constraints are not taken as tight.
* :func:`exact_fit_network` — Theorem 4.3 / appendix F: :math:`2\lceil N/(d+1)\rceil` units fitting any
  data in general position exactly, in polynomial time.

A move needs a strict improvement, by more than ``improve_tol * (1 + |loss|)``, so solver noise cannot
make the search cycle.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.geometry.zonotope import (
    Flip,
    augment,
    cone_margin,
    general_position,
    random_vertex,
    unit_flips,
    unit_vertices,
)
from lightning_poly.solvers.vertex_program import VertexLoss, VertexSolution, vertex_program

__all__ = [
    "ExactFit",
    "SearchRecord",
    "exact_erm",
    "exact_fit_network",
    "greedy_local_search",
    "modified_greedy_local_search",
    "neighbour_programs",
]


@dataclass
class SearchRecord:
    """What a search found and what it cost.

    Attributes:
        pattern: ``(m, N)`` the final vertex.
        weight: ``(m, d + 1)`` its first layer (bias last); ``output_bias``: the second layer's ``c``.
        loss: the data loss there (the network's training loss).
        objective: program (3)'s value there (the data loss plus the ridge term).
        trace: the objective after every step (non-increasing), the start first.
        vertices: distinct vertices whose program was solved.
        programs: programs (3) solved.
        steps: moves made.
        stopped: ``"local_minimum"``, ``"max_steps"`` or ``"exhaustive"``.
        seconds: wall time.
    """

    pattern: torch.Tensor
    weight: torch.Tensor
    output_bias: float
    loss: float
    objective: float
    trace: list[float] = field(default_factory=list)
    vertices: int = 0
    programs: int = 0
    steps: int = 0
    stopped: str = ""
    seconds: float = 0.0


def _improves(new: float, old: float, tol: float) -> bool:
    return new < old - tol * (1 + abs(old))


def _solve(
    x: torch.Tensor, y: torch.Tensor, patterns: torch.Tensor, v: torch.Tensor, starts: torch.Tensor | None, **kw: object
) -> VertexSolution:
    return vertex_program(x, y, patterns, v, start=starts, **kw)  # type: ignore[arg-type]


def neighbour_programs(
    x: torch.Tensor,
    y: torch.Tensor,
    pattern: torch.Tensor,
    current: VertexSolution,
    flips: list[Flip],
    v: torch.Tensor,
    chunk: int = 64,
    **program: object,
) -> tuple[torch.Tensor, VertexSolution]:
    """Program (3) on the neighbours ``flips`` of ``pattern``, batched: the unchanged units start from the
    current solution (strictly inside, since it is a barrier solution), the flipped unit from its new
    cone's deepest point (one LP).

    Returns:
        ``(patterns, solutions)``: ``(F, m, N)`` and the solutions in the order of ``flips``.
    """
    check_int("chunk", chunk, minimum=1)
    pats = torch.stack([f.apply(pattern) for f in flips])
    starts = current.weight[0].expand(len(flips), -1, -1).clone()
    for b, f in enumerate(flips):
        depth, wit = cone_margin(x, pats[b, f.unit])
        if float(depth[0]) <= 0:
            raise ValueError(f"flip {f} of `pattern` does not lead to a vertex: it is not an edge")
        starts[b, f.unit] = wit[0]
    parts = [
        _solve(x, y, pats[i : i + chunk], v, starts[i : i + chunk], **program) for i in range(0, len(flips), chunk)
    ]
    return pats, _cat(parts)


_TENSORS = ("weight", "output_bias", "objective", "loss", "gap", "stationarity", "multipliers")


def _cat(parts: list[VertexSolution]) -> VertexSolution:
    tensors = {f: torch.cat([getattr(p, f) for p in parts]) for f in _TENSORS}
    return VertexSolution(**tensors, iterations=max(p.iterations for p in parts))


def _select(sols: VertexSolution, i: int) -> VertexSolution:
    return VertexSolution(**{f: getattr(sols, f)[i : i + 1] for f in _TENSORS}, iterations=sols.iterations)


class _Edges:
    """The edges of the current vertex, unit by unit; after a move only the changed units are recomputed."""

    def __init__(self, x: torch.Tensor, pattern: torch.Tensor) -> None:
        self.x = x
        self.pattern = pattern
        self.groups = unit_flips(x, pattern)

    def move(self, pattern: torch.Tensor) -> None:
        changed = torch.nonzero((pattern != self.pattern).any(dim=1)).flatten().tolist()
        if changed:
            for j, groups in zip(changed, unit_flips(self.x, pattern[changed])):
                self.groups[j] = groups
        self.pattern = pattern

    def flips(self) -> list[Flip]:
        return [Flip(j, g) for j, groups in enumerate(self.groups) for g in groups]


def _start(x: torch.Tensor, m: int, pattern: torch.Tensor | None, seed: int) -> torch.Tensor:
    if pattern is None:
        return random_vertex(x, m, seed)[0]
    if pattern.shape != (m, len(x)) or pattern.dtype != torch.bool:
        raise ValueError(f"`pattern` must be a bool tensor ({m}, {len(x)}), got {pattern.dtype} {tuple(pattern.shape)}")
    return pattern.to(x.device)


def _check_search(x: torch.Tensor, v: torch.Tensor, max_steps: int) -> None:
    check_int("max_steps", max_steps, minimum=0)
    if x.ndim != 2 or len(x) <= x.shape[1] + 1:
        raise ValueError(
            f"`x` must be (N, d) with N > d + 1 examples (the paper's assumption), got shape {tuple(x.shape)}"
        )
    if v.ndim != 1:
        raise ValueError(f"`v` must be the (m,) second layer, got shape {tuple(v.shape)}")


def _record(
    pattern: torch.Tensor,
    sol: VertexSolution,
    trace: list[float],
    seen: int,
    programs: int,
    steps: int,
    stopped: str,
    t0: float,
) -> SearchRecord:
    return SearchRecord(
        pattern, sol.weight[0], float(sol.output_bias[0]), float(sol.loss[0]), float(sol.objective[0]),
        trace, seen, programs, steps, stopped, time.perf_counter() - t0,
    )  # fmt: skip


def greedy_local_search(
    x: torch.Tensor,
    y: torch.Tensor,
    v: torch.Tensor,
    pattern: torch.Tensor | None = None,
    max_steps: int = 1024,
    loss: VertexLoss = "squared",
    output_bias: bool = True,
    ridge: float = 1e-8,
    improve_tol: float = 1e-9,
    seed: int = 0,
) -> SearchRecord:
    """Algorithm 2 (GLS) from ``pattern`` (default: the pattern of Gaussian weights, as the paper starts).

    Args:
        x: ``(N, d)`` data, ``N > d + 1``.
        y: ``(N,)`` targets.
        v: ``(m,)`` the fixed second layer (the paper: half ``+1``, half ``-1``).
        pattern: ``(m, N)`` starting vertex.
        max_steps: ``T``, most moves.
        loss: ``"squared"`` or ``"logistic"``.
        output_bias: optimise ``c`` too (the paper does).
        ridge: see :mod:`~lightning_poly.solvers.vertex_program`.
        improve_tol: a move needs an improvement above ``improve_tol * (1 + |loss|)``.
        seed: seed of the starting vertex.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(8, 2, generator=g, dtype=torch.float64)
        >>> y = torch.relu(x[:, 0] - x[:, 1])
        >>> rec = greedy_local_search(x, y, torch.tensor([1.0, -1.0]), max_steps=20)
        >>> rec.trace == sorted(rec.trace, reverse=True), rec.stopped
        (True, 'local_minimum')
    """
    _check_search(x, v, max_steps)
    check_positive("improve_tol", improve_tol)
    program = {"loss": loss, "output_bias": output_bias, "ridge": ridge}
    t0 = time.perf_counter()
    pat = _start(x, len(v), pattern, seed)
    sol = vertex_program(x, y, pat, v, **program)  # type: ignore[arg-type]
    trace, programs, seen = [float(sol.objective[0])], 1, {bytes(pat.flatten().numpy())}
    edges = _Edges(x, pat)
    for step in range(max_steps):
        flips = edges.flips()
        pats, sols = neighbour_programs(x, y, pat, sol, flips, v, **program)
        programs += len(flips)
        seen.update(bytes(p.flatten().numpy()) for p in pats)
        best = int(torch.argmin(sols.objective))
        if not _improves(float(sols.objective[best]), trace[-1], improve_tol):
            return _record(pat, sol, trace, len(seen), programs, step, "local_minimum", t0)
        pat, sol = pats[best], _select(sols, best)
        edges.move(pat)
        trace.append(float(sol.objective[0]))
    return _record(pat, sol, trace, len(seen), programs, max_steps, "max_steps", t0)


def _tight(x: torch.Tensor, sol: VertexSolution, tight_tol: float) -> torch.Tensor:
    """``(m, N)`` bool: tight constraints of the solution (scaled slack), none on dead units."""
    xb = augment(x)
    w = sol.weight[0]
    norms = w.norm(dim=1)
    slack = (w @ xb.T).abs() / (norms[:, None] * xb.norm(dim=1)[None]).clamp_min(1e-300)
    dead = norms <= 1e-8 * norms.max().clamp_min(1e-300)
    return (slack <= tight_tol) & ~dead[:, None]


def modified_greedy_local_search(
    x: torch.Tensor,
    y: torch.Tensor,
    v: torch.Tensor,
    pattern: torch.Tensor | None = None,
    max_steps: int = 2048,
    loss: VertexLoss = "squared",
    output_bias: bool = True,
    ridge: float = 1e-8,
    improve_tol: float = 1e-9,
    tight_tol: float = 1e-6,
    batch: int = 16,
    seed: int = 0,
) -> SearchRecord:
    """Algorithm 3 with appendix G (mGLS); arguments as :func:`greedy_local_search`, and:

    Args:
        tight_tol: a constraint is tight when its slack is below ``tight_tol * |w_j| |x_i|``.
        batch: neighbours solved together (in the order of the module docstring); the search moves to
            the first of them that improves, so larger batches solve more programs per step.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(8, 2, generator=g, dtype=torch.float64)
        >>> y = torch.relu(x[:, 0] - x[:, 1])
        >>> rec = modified_greedy_local_search(x, y, torch.tensor([1.0, -1.0]), max_steps=20)
        >>> rec.trace == sorted(rec.trace, reverse=True)
        True
    """
    _check_search(x, v, max_steps)
    check_positive("improve_tol", improve_tol)
    check_positive("tight_tol", tight_tol)
    check_int("batch", batch, minimum=1)
    program = {"loss": loss, "output_bias": output_bias, "ridge": ridge}
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    pat = _start(x, len(v), pattern, seed)
    sol = vertex_program(x, y, pat, v, **program)  # type: ignore[arg-type]
    trace, programs, seen = [float(sol.objective[0])], 1, {bytes(pat.flatten().numpy())}
    edges = _Edges(x, pat)
    for step in range(max_steps):
        tight = _tight(x, sol, tight_tol)
        flips = edges.flips()
        order = torch.randperm(len(flips), generator=g).tolist()
        on_tight = [f for f in (flips[i] for i in order) if bool(tight[f.unit, list(f.examples)].any())]
        rest = [f for f in (flips[i] for i in order) if not bool(tight[f.unit, list(f.examples)].any())]
        moved = False
        if bool(tight.any()):  # the vertex with every tight constraint flipped, if it is one
            flipped = pat ^ tight
            units = torch.nonzero(tight.any(dim=1)).flatten()
            if bool((cone_margin(x, flipped[units])[0] > 1e-9).all()):
                cand = vertex_program(x, y, flipped, v, **program)  # type: ignore[arg-type]
                programs += 1
                seen.add(bytes(flipped.flatten().numpy()))
                if _improves(float(cand.objective[0]), trace[-1], improve_tol):
                    pat, sol, moved = flipped, cand, True
        queue = on_tight + rest
        while not moved and queue:
            group, queue = queue[:batch], queue[batch:]
            pats, sols = neighbour_programs(x, y, pat, sol, group, v, **program)
            programs += len(group)
            seen.update(bytes(p.flatten().numpy()) for p in pats)
            better = [i for i in range(len(group)) if _improves(float(sols.objective[i]), trace[-1], improve_tol)]
            if better:
                pat, sol, moved = pats[better[0]], _select(sols, better[0]), True
        if not moved:
            return _record(pat, sol, trace, len(seen), programs, step, "local_minimum", t0)
        edges.move(pat)
        trace.append(float(sol.objective[0]))
    return _record(pat, sol, trace, len(seen), programs, max_steps, "max_steps", t0)


def exact_erm(
    x: torch.Tensor,
    y: torch.Tensor,
    v: torch.Tensor,
    loss: VertexLoss = "squared",
    output_bias: bool = True,
    ridge: float = 1e-8,
    max_programs: int = 20_000,
    chunk: int = 256,
) -> SearchRecord:
    """Algorithm 1: the best vertex of :math:`\\mathcal Z^m` by solving program (3) on every one.

    Raises:
        ValueError: if the number of vertices (one unit's vertices to the power ``m``) exceeds ``max_programs``.

    Example:
        >>> x = torch.tensor([[-1.0], [0.0], [1.0], [2.0]], dtype=torch.float64)
        >>> rec = exact_erm(x, torch.tensor([0.0, 0.0, 1.0, 2.0], dtype=torch.float64), torch.tensor([1.0]))
        >>> round(rec.loss, 8), rec.programs
        (0.0, 8)
    """
    check_int("max_programs", max_programs, minimum=1)
    check_int("chunk", chunk, minimum=1)
    if x.ndim != 2 or v.ndim != 1:
        raise ValueError(f"`x` must be (N, d) and `v` (m,), got {tuple(x.shape)} and {tuple(v.shape)}")
    t0 = time.perf_counter()
    m = len(v)
    units = unit_vertices(x, max_vertices=max_programs)
    total = len(units) ** m
    if total > max_programs:
        raise ValueError(
            f"exact ERM needs {len(units)}^{m} = {total} programs, more than `max_programs`={max_programs}"
        )
    grids = torch.cartesian_prod(*[torch.arange(len(units))] * m).reshape(total, m)
    best: tuple[float, torch.Tensor, VertexSolution] | None = None
    for i in range(0, total, chunk):
        pats = units[grids[i : i + chunk]]  # (c, m, N)
        sols = vertex_program(x, y, pats, v, loss=loss, output_bias=output_bias, ridge=ridge)
        j = int(torch.argmin(sols.objective))
        if best is None or float(sols.objective[j]) < best[0]:
            best = (float(sols.objective[j]), pats[j], _select(sols, j))
    assert best is not None
    _, pat, sol = best
    return _record(pat, sol, [float(sol.objective[0])], total, total, 0, "exhaustive", t0)


@dataclass
class ExactFit:
    """The network of Theorem 4.3: :math:`f(x) = v^\\top \\phi(W \\bar x)` with ``2 ceil(N / (d + 1))`` units.

    Attributes:
        weight: ``(m, d + 1)`` first layer (bias last).
        v: ``(m,)`` second layer (``+1, -1`` per pair of units).
        max_abs_error: largest ``|f(x_i) - y_i|`` on the data.
        weight_norms: ``(m,)`` norms of the units (they grow fast along the chunks: ill-conditioned).
    """

    weight: torch.Tensor
    v: torch.Tensor
    max_abs_error: float
    weight_norms: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(augment(x) @ self.weight.T) @ self.v


def exact_fit_network(x: torch.Tensor, y: torch.Tensor) -> ExactFit:
    """Theorem 4.3 (appendix F): sort by the last coordinate, chunks of ``d + 1``, two units per chunk (Lemma F.1).

    Chunk ``k`` is fitted on the residual of the earlier units: with :math:`w` solving
    :math:`w^\\top \\bar b = r_b` on the chunk (least squares, exact for ``d + 1`` points in general
    position), a separating direction :math:`u = e_d - \\alpha e_{d+1}` scaled so that
    :math:`u^\\top \\bar a < -1` before the chunk and :math:`> 1` on and after it, and
    :math:`\\beta = \\max(\\max_a \\phi(w^\\top \\bar a), \\max_b \\phi(-w^\\top \\bar b))`, the units
    :math:`w + \\beta u` and :math:`\\beta u` (second-layer weights ``+1, -1``) add the chunk's residual
    and nothing before it. (Lemma F.1 speaks of A, the earlier points; the units are also active on
    the later chunks, whose residuals the next chunks absorb.)

    Raises:
        ValueError: if the data are not in general position or two points share the last coordinate.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(9, 2, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64)
        >>> fit = exact_fit_network(x, y)
        >>> len(fit.v), fit.max_abs_error < 1e-6
        (6, True)
    """
    xb = augment(x)
    n, k = xb.shape
    d = k - 1
    if y.shape != (n,):
        raise ValueError(f"`y` must have shape ({n},) like `x`, got {tuple(y.shape)}")
    yd = y.detach().double().to(xb.device)
    gp = general_position(x)
    if not gp.ok:
        raise ValueError(
            f"Theorem 4.3 needs data in general position: {gp.duplicates} duplicates, smallest relative "
            f"singular value of a {k}-subset {gp.min_singular:.1e}"
        )
    order = torch.argsort(xb[:, d - 1])
    last = xb[order, d - 1]
    if bool((last[1:] == last[:-1]).any()):
        raise ValueError("Theorem 4.3 sorts by the last coordinate: two examples share it; rotate the data first")
    units, signs = [], []
    residual = yd.clone()
    for start in range(0, n, k):
        chunk = order[start : start + k]
        before, after = order[:start], order[start:]
        w = torch.linalg.lstsq(xb[chunk], residual[chunk, None]).solution[:, 0]
        lo = float(last[start - 1]) if start else float(last[0]) - 1.0
        alpha = (lo + float(last[start])) / 2
        u = torch.zeros(k, dtype=xb.dtype, device=xb.device)
        u[d - 1], u[d] = 1.0, -alpha
        margin = torch.cat([-(xb[before] @ u), xb[after] @ u]).min()
        u = u * (1.0 + 1e-9) / margin  # u.a < -1 before the chunk, u.b > 1 on and after it
        beta = torch.cat([torch.relu(xb[before] @ w), torch.relu(-(xb[chunk] @ w))]).max().clamp_min(0)
        w1, w2 = w + beta * u, beta * u
        units += [w1, w2]
        signs += [1.0, -1.0]
        residual = residual - (torch.relu(xb @ w1) - torch.relu(xb @ w2))
    weight = torch.stack(units)
    v = torch.tensor(signs, dtype=xb.dtype, device=xb.device)
    fit = ExactFit(weight, v, 0.0, weight.norm(dim=1))
    fit.max_abs_error = float((fit(x) - yd).abs().max())
    assert len(v) == 2 * math.ceil(n / k)
    return fit


Stopped = Literal["local_minimum", "max_steps", "exhaustive"]
