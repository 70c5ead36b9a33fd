r"""Training a shallow ReLU network by search over activation patterns (zonotope paper, Algorithms 1-3, Theorem 4.3).

Every search returns a :class:`SearchRecord`: the best vertex, its solution of program (3), the loss
trace (non-increasing), vertices visited, programs solved and the time.

* :func:`exact_erm` — Algorithm 1: program (3) on every vertex of :math:`\mathcal Z^m` (the product of
  one unit's vertices), refused above ``max_programs`` with the count.
* :func:`greedy_local_search` — Algorithm 2 (GLS): solve every neighbour of the current vertex, move to
  the best, stop at a vertex no neighbour improves (a local minimum of the 1-skeleton) or after
  ``max_steps``.
* :func:`modified_greedy_local_search` — Algorithm 3 with appendix G (mGLS): the neighbours are tried in
  order — the pattern with every tight constraint flipped (if it is a vertex), then for each dead
  unit its opposite cone, then the neighbours that flip one tight constraint, then the rest in a
  seeded random order — ``batch`` at a time, and the search moves to the first that improves. A
  constraint is tight when its slack is below ``tight_tol`` times :math:`\|w_j\|\,\|\bar x_i\|`. A unit
  whose weights collapsed to 0 (its output :math:`|v_j| \max_i |w_j^\top \bar x_i|` below ``1e-4``) is dead. Reading
  chosen: a dead unit sits at its cone's apex, where *every* one of its constraints is tight, so
  appendix G's rule "first try the vertex with all tight constraints flipped" gives, for that unit,
  the opposite activation pattern (the cone :math:`-C`, always a vertex); without it a start whose
  units all collapse (the optimum of program (3) at that vertex is :math:`W = 0`) has no improving
  neighbour and the search ends where it began.
Theorem 4.3's construction is :func:`lightning_poly.algorithms.exact_fit.exact_fit_network`.

A move needs a strict improvement, by more than ``improve_tol * (1 + |loss|)``, so solver noise cannot
make the search cycle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_fraction, check_int, check_positive
from lightning_poly.geometry.zonotope import (
    Flip,
    cone_margin,
    facet_rows,
    flip_margins,
    random_vertex,
    unit_flips,
    unit_vertices,
)
from lightning_poly.nn.homogeneous import homogeneous_points
from lightning_poly.solvers.vertex_program import VertexLoss, VertexSolution, vertex_program

__all__ = [
    "SearchRecord",
    "VertexSearch",
    "exact_erm",
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
        largest_gap: the largest duality-gap bound of the solutions along the trace (each objective
            is within it of its vertex's optimum; the weights are always feasible).
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
    largest_gap: float = 0.0


def _improves(new: float, old: float, tol: float) -> bool:
    return new < old - tol * (1 + abs(old))


def neighbour_programs(
    x: torch.Tensor,
    y: torch.Tensor,
    pattern: torch.Tensor,
    current: VertexSolution,
    flips: list[Flip],
    v: torch.Tensor,
    chunk: int = 64,
    warm: float = 0.1,
    mu_start: float = 0.1,
    facets: torch.Tensor | None = None,
    centres: torch.Tensor | None = None,
    pull: float = 0.1,
    **program: object,
) -> tuple[torch.Tensor, VertexSolution]:
    """Program (3) on the neighbours ``flips`` of ``pattern``, batched and warm-started.

    The start: the unchanged units at the current solution (strictly inside), the flipped unit on the
    segment from its current weights to its new cone's deepest point (one LP, the flips of a unit on
    one model, :func:`~lightning_poly.geometry.flip_margins`), a fraction ``warm`` of
    the way past the point where the segment enters the new cone; then every unit a fraction ``pull``
    of the way towards its cone's deepest point (``centres``), away from the boundary where the
    current solution's tight constraints sit (an interior-point method starts badly there).

    Args:
        x: ``(N, d)`` data.
        y: ``(N,)`` targets.
        pattern: ``(m, N)`` the current vertex.
        current: its solution of program (3).
        flips: edges of ``pattern`` (:func:`~lightning_poly.geometry.vertex_neighbors`).
        v: ``(m,)`` the fixed second layer.
        chunk: neighbours per batched solve.
        warm: see above (1: start at the deepest point).
        mu_start: the first barrier weight, relative (:func:`~lightning_poly.solvers.vertex_program`); the
            warm start is near the optimum, so it starts below 1.
        facets: ``(m, N)`` bool, the facet rows of the current vertex's cones (its edges,
            :func:`~lightning_poly.geometry.unit_flips`): a neighbour keeps only these rows in its
            program for the units it shares with ``pattern`` (their cones are unchanged) and every row
            for the flipped unit (``rows`` of :func:`~lightning_poly.solvers.vertex_program`). Default: every row.
        centres: ``(m, d + 1)`` interior points of the current vertex's cones, e.g. their deepest
            points (:func:`~lightning_poly.geometry.cone_margin`; computed if omitted).
        pull: see above (0: no pull).
        program: ``loss``, ``output_bias``, ``ridge`` of program (3).

    Returns:
        ``(patterns, solutions)``: ``(F, m, N)`` and the solutions in the order of ``flips``.
    """
    check_int("chunk", chunk, minimum=1)
    check_fraction("warm", warm, closed_right=True)
    check_fraction("pull", pull)
    m, n = pattern.shape
    pats = torch.stack([f.apply(pattern) for f in flips])
    rows = torch.arange(len(flips))
    units = torch.tensor([f.unit for f in flips])
    depth, witness = _flipped_cones(x, pattern, flips)
    if not bool((depth > 0).all()):
        bad = flips[int(torch.nonzero(depth <= 0)[0])]
        raise ValueError(f"flip {bad} of `pattern` does not lead to a vertex: it is not an edge")
    starts = current.weight[0].expand(len(flips), -1, -1).clone()
    # the flipped unit: from its current weights towards the new cone's deepest point, just far enough in
    xb = homogeneous_points(x).to(starts)
    sign = torch.where(pats[rows, units], 1.0, -1.0).to(starts)
    old, deep = starts[rows, units], witness.to(starts)
    alpha, beta = sign * (old @ xb.T), sign * (deep @ xb.T)  # slack along the segment: (1 - t) alpha + t beta
    t_in = torch.where(alpha <= 0, alpha / (alpha - beta), 0.0).amax(dim=1)
    t = t_in + warm * (1 - t_in)
    starts[rows, units] = (1 - t)[:, None] * old + t[:, None] * deep
    if pull > 0:
        if centres is None:
            centres = cone_margin(x, pattern)[1]
        elif centres.shape != (m, xb.shape[1]):
            raise ValueError(f"`centres` must have shape {(m, xb.shape[1])}, got {tuple(centres.shape)}")
        target = centres.to(starts).expand(len(flips), -1, -1).clone()
        target[rows, units] = deep
        starts = (1 - pull) * starts + pull * target
    keep = None
    if facets is not None:
        if facets.shape != (m, n) or facets.dtype != torch.bool:
            raise ValueError(f"`facets` must be a bool tensor {(m, n)}, got {facets.dtype} {tuple(facets.shape)}")
        keep = facets.to(pats.device).expand(len(flips), -1, -1).clone()
        keep[rows, units] = True
    parts = [
        vertex_program(
            x, y, pats[i : i + chunk], v, start=starts[i : i + chunk], mu_start=mu_start, warn=False,
            rows=None if keep is None else keep[i : i + chunk], **program,
        )  # type: ignore[arg-type]
        for i in range(0, len(flips), chunk)
    ]  # fmt: skip
    return pats, _cat(parts)


def _flipped_cones(x: torch.Tensor, pattern: torch.Tensor, flips: list[Flip]) -> tuple[torch.Tensor, torch.Tensor]:
    """The depth and deepest point of each flip's new cone for the flipped unit (one LP model per unit)."""
    depth = torch.zeros(len(flips), dtype=torch.float64)
    witness = torch.zeros(len(flips), homogeneous_points(x).shape[1], dtype=torch.float64)
    for j in sorted({f.unit for f in flips}):
        idx = [i for i, f in enumerate(flips) if f.unit == j]
        depth[idx], witness[idx] = flip_margins(x, pattern[j], [flips[i].examples for i in idx])
    return depth, witness


_TENSORS = ("weight", "output_bias", "objective", "loss", "gap", "stationarity", "multipliers")


def _cat(parts: list[VertexSolution]) -> VertexSolution:
    tensors = {f: torch.cat([getattr(p, f) for p in parts]) for f in _TENSORS}
    return VertexSolution(**tensors, iterations=max(p.iterations for p in parts))


def _select(sols: VertexSolution, i: int) -> VertexSolution:
    return VertexSolution(**{f: getattr(sols, f)[i : i + 1] for f in _TENSORS}, iterations=sols.iterations)


class _Edges:
    """The edges of the current vertex, unit by unit (the facets of its cones), and each cone's deepest
    point; after a move only the changed units are recomputed."""

    def __init__(self, x: torch.Tensor, pattern: torch.Tensor) -> None:
        self.x = x
        self.pattern = pattern
        self.centres = cone_margin(x, pattern)[1]
        self.groups = unit_flips(x, pattern, witness=self.centres)

    def move(self, pattern: torch.Tensor) -> None:
        changed = torch.nonzero((pattern != self.pattern).any(dim=1)).flatten().tolist()
        if changed:
            centres = cone_margin(self.x, pattern[changed])[1]
            self.centres = self.centres.clone()
            self.centres[changed] = centres
            for j, groups in zip(changed, unit_flips(self.x, pattern[changed], witness=centres)):
                self.groups[j] = groups
        self.pattern = pattern

    def flips(self) -> list[Flip]:
        return [Flip(j, g) for j, groups in enumerate(self.groups) for g in groups]

    def facets(self) -> torch.Tensor:
        """``(m, N)`` bool: the facet rows of each unit's cone."""
        return facet_rows(self.flips(), tuple(self.pattern.shape))


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


class VertexSearch:
    r"""A local search over the vertices of :math:`\mathcal Z^m` that moves one step at a time: the state
    GLS and mGLS share (the current vertex and its solution, the loss trace, what was solved, the
    edges, recomputed only for the units a move changed). :func:`greedy_local_search` and
    :func:`modified_greedy_local_search` loop :meth:`step`; a LightningModule calls it once per
    training step.

    Args:
        x: ``(N, d)`` data, ``N > d + 1``.
        y: ``(N,)`` targets.
        v: ``(m,)`` the fixed second layer.
        pattern: ``(m, N)`` starting vertex (default: the pattern of Gaussian weights, seed ``seed``).
        algorithm: ``"mgls"`` (Algorithm 3, appendix G) or ``"gls"`` (Algorithm 2).
        loss: ``"squared"`` or ``"logistic"``.
        output_bias: optimise ``c`` too.
        ridge: see :mod:`~lightning_poly.solvers.vertex_program`.
        improve_tol: a move needs an improvement above ``improve_tol * (1 + |loss|)``.
        tight_tol: mGLS: a constraint is tight when its slack is below ``tight_tol * |w_j| |x_i|``.
        batch: mGLS: neighbours solved together; the search moves to the first of them that improves.
        seed: seed of the starting vertex and of mGLS's order of the other neighbours.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(8, 2, generator=g, dtype=torch.float64)
        >>> search = VertexSearch(x, torch.relu(x[:, 0] - x[:, 1]), torch.tensor([1.0, -1.0]))
        >>> while search.step():
        ...     pass
        >>> search.trace == sorted(search.trace, reverse=True), search.stopped
        (True, 'local_minimum')
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        v: torch.Tensor,
        pattern: torch.Tensor | None = None,
        algorithm: Literal["mgls", "gls"] = "mgls",
        loss: VertexLoss = "squared",
        output_bias: bool = True,
        ridge: float = 1e-8,
        improve_tol: float = 1e-9,
        tight_tol: float = 1e-6,
        batch: int = 16,
        seed: int = 0,
    ) -> None:
        _check_search(x, v, 0)
        self.algorithm = check_choice("algorithm", algorithm, ("mgls", "gls"))
        self.improve_tol = check_positive("improve_tol", improve_tol)
        self.tight_tol = check_positive("tight_tol", tight_tol)
        self.batch = check_int("batch", batch, minimum=1)
        self.x, self.y, self.v = x, y, v
        self.program = {"loss": loss, "output_bias": output_bias, "ridge": ridge}
        self.t0 = time.perf_counter()
        self.generator = torch.Generator().manual_seed(seed)
        self.pattern = _start(x, len(v), pattern, seed)
        self.solution = vertex_program(x, y, self.pattern, v, warn=False, **self.program)  # type: ignore[arg-type]
        self.trace = [float(self.solution.objective[0])]
        self.largest_gap = float(self.solution.gap[0])
        self.programs = 1
        self.steps = 0
        self.stopped = ""
        self.seen = {bytes(self.pattern.flatten().numpy())}
        self.edges = _Edges(x, self.pattern)

    def solve(self, flips: list[Flip]) -> tuple[torch.Tensor, VertexSolution]:
        """Program (3) on these neighbours of the current vertex, counted."""
        pats, sols = neighbour_programs(
            self.x, self.y, self.pattern, self.solution, flips, self.v, facets=self.edges.facets(),
            centres=self.edges.centres, **self.program,
        )  # fmt: skip
        self.programs += len(flips)
        self.seen.update(bytes(p.flatten().numpy()) for p in pats)
        return pats, sols

    def move(self, pattern: torch.Tensor, solution: VertexSolution) -> None:
        """Make ``pattern`` (solved: ``solution``) the current vertex."""
        self.pattern, self.solution = pattern, solution
        self.edges.move(pattern)
        self.trace.append(float(solution.objective[0]))
        self.largest_gap = max(self.largest_gap, float(solution.gap[0]))
        self.steps += 1

    def step(self) -> bool:
        """One move of the search; ``False`` (and ``stopped = "local_minimum"``) at a vertex that no
        neighbour improves."""
        if self.stopped == "local_minimum":
            return False
        moved = self._gls_step() if self.algorithm == "gls" else self._mgls_step()
        if not moved:
            self.stopped = "local_minimum"
        return moved

    def _gls_step(self) -> bool:
        pats, sols = self.solve(self.edges.flips())
        best = int(torch.argmin(sols.objective))
        if not _improves(float(sols.objective[best]), self.trace[-1], self.improve_tol):
            return False
        self.move(pats[best], _select(sols, best))
        return True

    def _mgls_step(self) -> bool:
        x, pat, best = self.x, self.pattern, self.trace[-1]
        tight, dead = _tight(x, self.solution, self.v, self.tight_tol)
        flips = self.edges.flips()
        shuffled = [flips[i] for i in torch.randperm(len(flips), generator=self.generator).tolist()]
        # identical examples flip together and have the same slack: the first of a group decides
        on_tight = tight[[f.unit for f in shuffled], [f.examples[0] for f in shuffled]].tolist()
        # tried in order: every tight constraint flipped at once, the flips of one tight constraint, the rest
        queue = [f for f, t in zip(shuffled, on_tight) if t] + [f for f, t in zip(shuffled, on_tight) if not t]
        if bool(tight.any()):
            flipped = pat ^ tight
            if bool((cone_margin(x, flipped[tight.any(dim=1)])[0] > 1e-9).all()):  # a vertex: solve it
                cand = vertex_program(x, self.y, flipped, self.v, warn=False, **self.program)  # type: ignore[arg-type]
                self.programs += 1
                self.seen.add(bytes(flipped.flatten().numpy()))
                if _improves(float(cand.objective[0]), best, self.improve_tol):
                    self.move(flipped, cand)
                    return True
        # a dead unit sits at its cone's apex, where all its constraints are tight: flipping them all is
        # the opposite cone (always a vertex), tried next, every dead unit in one batch
        revive = [Flip(int(j), tuple(range(len(x)))) for j in torch.nonzero(dead).flatten().tolist()]
        if revive:
            pats, sols = self.solve(revive)
            better = [i for i in range(len(revive)) if _improves(float(sols.objective[i]), best, self.improve_tol)]
            if better:
                self.move(pats[better[0]], _select(sols, better[0]))
                return True
        while queue:
            group, queue = queue[: self.batch], queue[self.batch :]
            pats, sols = self.solve(group)
            better = [i for i in range(len(group)) if _improves(float(sols.objective[i]), best, self.improve_tol)]
            if better:
                self.move(pats[better[0]], _select(sols, better[0]))
                return True
        return False

    def record(self) -> SearchRecord:
        """The search so far as a :class:`SearchRecord` (``stopped``: ``"local_minimum"`` or ``"max_steps"``)."""
        stopped = self.stopped or "max_steps"
        rec = _record(
            self.pattern, self.solution, self.trace, len(self.seen), self.programs, self.steps, stopped, self.t0
        )
        rec.largest_gap = self.largest_gap
        return rec


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
    search = VertexSearch(
        x, y, v, pattern, "gls", loss=loss, output_bias=output_bias, ridge=ridge, improve_tol=improve_tol, seed=seed
    )
    while search.steps < max_steps and search.step():
        pass
    return search.record()


def _tight(
    x: torch.Tensor, sol: VertexSolution, v: torch.Tensor, tight_tol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(m, N)`` bool tight constraints of the solution (scaled slack), none on dead units, and the ``(m,)``
    dead units: those whose output :math:`|v_j| \max_i |w_j^\top \bar x_i|` is below ``1e-4`` (a unit at
    its cone's apex, where every constraint holds with equality)."""
    xb = homogeneous_points(x)
    w = sol.weight[0]
    norms = w.norm(dim=1)
    pre = w @ xb.T
    slack = pre.abs() / (norms[:, None] * xb.norm(dim=1)[None]).clamp_min(1e-300)
    dead = v.abs().to(pre) * pre.abs().amax(dim=1) <= 1e-4
    return (slack <= tight_tol) & ~dead[:, None], dead


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
    search = VertexSearch(
        x, y, v, pattern, "mgls", loss=loss, output_bias=output_bias, ridge=ridge, improve_tol=improve_tol,
        tight_tol=tight_tol, batch=batch, seed=seed,
    )  # fmt: skip
    while search.steps < max_steps and search.step():
        pass
    return search.record()


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
    largest_gap = 0.0
    for i in range(0, total, chunk):
        pats = units[grids[i : i + chunk]]  # (c, m, N)
        sols = vertex_program(x, y, pats, v, loss=loss, output_bias=output_bias, ridge=ridge, warn=False)
        largest_gap = max(largest_gap, float(sols.gap.max()))
        j = int(torch.argmin(sols.objective))
        if best is None or float(sols.objective[j]) < best[0]:
            best = (float(sols.objective[j]), pats[j], _select(sols, j))
    assert best is not None
    _, pat, sol = best
    rec = _record(pat, sol, [float(sol.objective[0])], total, total, 0, "exhaustive", t0)
    rec.largest_gap = largest_gap  # the optimum is certain up to this
    return rec
