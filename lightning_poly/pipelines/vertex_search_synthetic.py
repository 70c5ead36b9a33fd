"""The activation-pattern search paper's synthetic studies (zonotope paper, appendix H.1): Gaussian teachers.

* :func:`table_a1`: Table A1 (d = 4, 8, 16): gradient descent, the random vertex and GLS, each where the paper
  has a number;
* :func:`table_a1_readings`: the readings of appendix H.1.2 that could explain Table A1's gaps, run side by side
  on the same datasets (the random vertex's first ``v``, its best sign vector, program (3) without its cone
  constraints; gradient descent's bias initialisation; GLS with and without the output bias, from its start);
* :func:`figure2_left`: Figure 2, left: gradient descent vs the random vertex over the overparameterisation;
* :func:`theorem43_fits`: Theorem 4.3's exact fit with ``2 ceil(N / (d + 1))`` units beside gradient descent.

Seeds: dataset ``r`` is ``teacher_relu(seed=r)`` and its random vertex (and random signs) use the same seed ``r``
in their own generator, so a vertex's Gaussian weights are the same numbers as the dataset's first Gaussian draws
(not independent of the data; kept so that the recorded tables reproduce).

The Fashion-MNIST studies (Tables A2-A3, Figure 2's right panel) are in
:mod:`~lightning_poly.pipelines.vertex_search`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.algorithms import (
    VertexSearch,
    exact_fit_network,
    random_vertex_alternating,
    shallow_gradient_descent,
)
from lightning_poly.data import teacher_relu
from lightning_poly.geometry.zonotope import random_vertex
from lightning_poly.nn.homogeneous import homogeneous_points
from lightning_poly.pipelines.vertex_search import (
    OnRow,
    Row,
    _check_runs,
    _emit,
    _ints,
    _summary,
    halves,
    run_vertex_search,
)
from lightning_poly.solvers import vertex_program

__all__ = [
    "PAPER_A1",
    "PAPER_A1_D8",
    "READINGS_GD",
    "READINGS_RANDOM_VERTEX",
    "figure2_left",
    "table_a1",
    "table_a1_readings",
    "theorem43_fits",
]

# Table A1 (appendix H.1.3): (d, m_gen, m) -> (GD, random vertex, GLS) medians; None where the paper has no entry
PAPER_A1: dict[tuple[int, int, int], tuple[float | None, float | None, float | None]] = {
    (4, 2, 2): (3.82e-10, 1.25e-01, 8.27e-01), (4, 2, 3): (3.43e-11, 3.85e-05, None),
    (4, 2, 4): (6.01e-12, 4.10e-08, 1.58e-01), (4, 2, 8): (None, 8.81e-09, 8.29e-13),
    (4, 2, 16): (None, 1.13e-08, 4.11e-17),
    (4, 4, 4): (8.30e-03, 1.98e-03, 8.11e-01), (4, 4, 6): (5.04e-12, 3.13e-04, None),
    (4, 4, 8): (6.54e-12, 4.70e-05, 8.47e-09), (4, 4, 16): (None, 5.08e-07, 1.68e-12),
    (4, 4, 32): (None, 2.71e-07, 1.97e-15),
    (4, 8, 8): (8.53e-03, 8.47e-03, 4.68e-01), (4, 8, 12): (2.52e-11, 7.59e-04, None),
    (4, 8, 16): (2.21e-11, 6.07e-04, 9.96e-03), (4, 8, 32): (None, 1.70e-05, 6.68e-12),
    (4, 8, 64): (None, 6.26e-06, 3.49e-14),
    (8, 4, 4): (2.54e-03, 1.44e-02, 3.74e00), (8, 4, 6): (6.11e-11, 1.11e-03, None),
    (8, 4, 8): (7.69e-12, 6.96e-08, 4.94e-01), (8, 4, 16): (None, 2.24e-08, 5.33e-12),
    (8, 4, 32): (None, 6.25e-09, 2.40e-13),
    (8, 8, 8): (7.47e-03, 2.45e-02, 3.67e00), (8, 8, 12): (7.30e-12, 1.69e-04, None),
    (8, 8, 16): (5.83e-13, 2.07e-06, 1.77e00), (8, 8, 32): (None, 8.01e-08, 3.09e-12),
    (8, 8, 64): (None, 2.43e-08, 3.15e-13),
    (8, 16, 16): (None, 2.72e-02, 7.07e00), (8, 16, 24): (None, 1.61e-03, None),
    (8, 16, 32): (None, 8.57e-05, 1.47e00), (8, 16, 64): (None, 5.62e-07, 2.35e-02),
    (8, 16, 128): (None, 1.03e-07, 3.16e-13),
    (16, 8, 8): (None, 2.79e-02, 1.85e01), (16, 8, 12): (None, 9.05e-07, None),
    (16, 8, 16): (None, 1.10e-07, 8.76e00), (16, 8, 32): (None, 2.86e-08, 1.74e00),
    (16, 8, 64): (None, 9.53e-09, 2.82e-13),
    (16, 16, 16): (None, 4.99e-02, 2.81e01), (16, 16, 24): (None, 4.70e-05, None),
    (16, 16, 32): (None, 4.80e-07, 1.63e01), (16, 16, 64): (None, 8.13e-08, 4.03e00),
    (16, 16, 128): (None, 2.75e-08, 3.42e-13),
}  # fmt: skip
# Table A1, d = 8, m_gen = 8 (Figure 2, left): m -> (GD, random vertex) medians
PAPER_A1_D8 = {m: (gd, rv) for (d, mg, m), (gd, rv, _) in PAPER_A1.items() if (d, mg) == (8, 8)}

READINGS_RANDOM_VERTEX = ("random_signs", "least_squares", "best_signs", "no_sign_constraints")
READINGS_GD = ("zero", "glorot")


def table_a1(
    *,
    dims: Sequence[int] = (4,),
    m_gen: Sequence[int] | None = None,
    gd_runs: int = 8,
    rv_runs: int = 16,
    gls_runs: int = 16,
    gd_steps: int = 400_000,
    max_seconds: float = 600.0,
    methods: Sequence[str] = ("gd", "random_vertex", "gls"),
    cells: Sequence[tuple[int, int, int]] | None = None,
    on_row: OnRow = None,
) -> list[Row]:
    """Table A1 (appendix H.1): for each ``(d, m_gen, m)`` of the paper, datasets of ``N = (d + 1) m_gen``
    Gaussian points labelled by a Gaussian teacher (:func:`~lightning_poly.data.teacher_relu`, dataset seed =
    run), squared loss; each method runs only where the paper reports it ("-" cells are not run): full-batch
    gradient descent (lr 1e-3, Glorot, all parameters trained), the random vertex alternated with least squares
    (:func:`~lightning_poly.algorithms.random_vertex_alternating`), and GLS (v fixed to :func:`halves`, at most
    T = 1024 moves, ``max_seconds`` a run; the row says how each run stopped).

    Args:
        dims: the input dimensions to run (paper: 4, 8, 16).
        m_gen: only these teacher widths (``None``: all of the paper's for each ``d``).
        gd_runs: gradient-descent runs (paper: 8).
        rv_runs: random-vertex runs (paper: 16 in H.1.3, 8 in Table A1's caption).
        gls_runs: GLS runs (paper: 16 in Table A1's caption, 8 in H.1.3).
        gd_steps: gradient steps (paper: 400,000).
        max_seconds: bound on one GLS run, checked between moves (the paper has none).
        methods: which of ``"gd"``, ``"random_vertex"``, ``"gls"`` to run (the others' lists stay empty).
        cells: only these ``(d, m_gen, m)`` (each must be in :data:`PAPER_A1` and match ``dims``/``m_gen``).
        on_row: called with each row as it ends.

    Returns:
        one row per cell: ``{"d", "m_gen", "m", "gd", "random_vertex", "gls", "gls_stopped", "paper",
        "elapsed_s"}``, each method's list of final MSEs (empty where the paper has no entry).
    """
    dims = list(_ints("dims", dims, 1))
    if m_gen is not None:
        m_gen = list(_ints("m_gen", m_gen, 1))
    _check_runs(gd_runs, rv_runs, gd_steps)
    check_int("gls_runs", gls_runs, minimum=1)
    check_positive("max_seconds", max_seconds)
    bad = [m for m in methods if m not in ("gd", "random_vertex", "gls")]
    if bad or not methods:
        raise ValueError(f"`methods` must be some of 'gd', 'random_vertex', 'gls', got {list(methods)}")
    wanted = None if cells is None else [tuple(c) for c in cells]
    for i, c in enumerate(wanted or []):
        if c not in PAPER_A1:
            raise ValueError(f"`cells[{i}]` must be a (d, m_gen, m) of Table A1 (e.g. (4, 2, 2)), got {c!r}")
    found = [k for k in PAPER_A1 if k[0] in dims and (not m_gen or k[1] in m_gen)]
    unknown = [d for d in dims if not any(k[0] == d for k in found)] + [
        g for g in (m_gen or []) if not any(k[1] == g for k in found)
    ]
    cells = found if wanted is None else [k for k in found if k in wanted]
    if not cells or unknown:
        raise ValueError(f"`dims` and `m_gen` must name Table A1 cells (the paper's d: 4, 8, 16; m_gen: 2, 4, 8 at "
                         f"d = 4, 4, 8, 16 at d = 8, 8, 16 at d = 16), got dims={dims}, m_gen={m_gen}; matching no "
                         f"cell: {unknown or dims}")  # fmt: skip
    rows: list[Row] = []
    t0 = time.perf_counter()
    for d, mg, m in cells:
        paper = PAPER_A1[d, mg, m]
        xs, ys = _teachers(d, mg, max(gd_runs, rv_runs, gls_runs))
        gd = (
            []
            if paper[0] is None or "gd" not in methods
            else shallow_gradient_descent(xs[:gd_runs], ys[:gd_runs], m, steps=gd_steps).loss.tolist()
        )
        rv = (
            []
            if paper[1] is None or "random_vertex" not in methods
            else [float(random_vertex_alternating(xs[r], ys[r], m, seeds=1, seed=r).loss[0]) for r in range(rv_runs)]
        )
        gls, stops = [], []
        for run in range(gls_runs if paper[2] is not None and "gls" in methods else 0):
            res = run_vertex_search(xs[run], ys[run], halves(m), algorithm="gls", loss="squared", max_steps=1024,
                                    seed=run, max_seconds=max_seconds)  # fmt: skip
            gls.append(res.loss)
            stops.append(res.stopped)
        row = {"d": d, "m_gen": mg, "m": m, "gd": gd, "random_vertex": rv, "gls": gls, "gls_stopped": stops,
               "paper": paper, "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        _emit(rows, row, on_row)
    return rows


def _best_sign_vertex(x: torch.Tensor, y: torch.Tensor, pattern: torch.Tensor) -> float:
    """The least MSE of program (3) at ``pattern`` over every sign vector of ``v`` (``2^m`` programs; ``v``'s
    magnitudes do not matter, as the cones are scale-invariant): the best the region offers over ``(W, v, c)``."""
    m = pattern.shape[0]
    best = math.inf
    for signs in itertools.product((1.0, -1.0), repeat=m):
        v = torch.tensor(signs, dtype=torch.float64)
        sol = vertex_program(x, y, pattern, v, loss="squared", output_bias=True, warn=False)
        best = min(best, float(sol.loss[0]))
    return best


def _gated_least_squares(x: torch.Tensor, y: torch.Tensor, pattern: torch.Tensor) -> float:
    """The MSE of program (3) at ``pattern`` without its sign constraints: least squares of the gated linear
    model :math:`\\sum_j a_{ij} u_j^\\top \\bar x_i + c` (``v`` absorbed into ``u``), a relaxation whose
    optimum is below every sign vector's."""
    xb = homogeneous_points(x)
    feats = (pattern.double()[:, :, None] * xb[None]).permute(1, 0, 2).reshape(len(x), -1)
    feats = torch.cat([feats, torch.ones(len(x), 1, dtype=feats.dtype)], dim=1)
    coef = torch.linalg.lstsq(feats, y[:, None], driver="gelsd").solution
    return float(((feats @ coef)[:, 0] - y).pow(2).mean())


def table_a1_readings(
    cells: Sequence[tuple[int, int, int]],
    *,
    runs: int = 8,
    gd_steps: int = 400_000,
    max_sign_units: int = 8,
    max_seconds: float = 120.0,
    on_row: OnRow = None,
) -> list[Row]:
    """Appendix H.1.2 read several ways, on the same datasets, to find what reproduces Table A1's numbers.

    Random vertex (the pattern of Gaussian weights, seed = run): ``"random_signs"``, v uniform in {-1, 1}, then
    program (3) and least squares alternated (:func:`table_a1`'s reading); ``"least_squares"``, the alternation
    begun with ``(v, c)`` by least squares on the Gaussian weights' features; ``"best_signs"``, program (3) for
    every sign vector of ``v`` (the region's optimum over ``(W, v, c)``; only for ``m <= max_sign_units``);
    ``"no_sign_constraints"``, program (3) without its cone constraints (the gated linear model on the same
    pattern, by least squares): a relaxation, below every reading that stays in the region.
    Gradient descent (lr 1e-3, ``gd_steps``): bias initialisation ``"zero"`` (ours) or ``"glorot"`` (the bias
    column inside the Glorot matrix); only where the paper ran gradient descent. GLS (v fixed to
    :func:`halves`, at most 1,024 moves), where the paper ran it: with the output bias ``c`` in program (3)
    (the paper's words) and without, each with the loss of its starting vertex.

    Args:
        cells: ``(d, m_gen, m)`` of Table A1 (:data:`PAPER_A1`).
        runs: datasets per cell (seeds 0 .. runs - 1, as :func:`table_a1`).
        gd_steps: gradient steps (paper: 400,000).
        max_sign_units: ``best_signs`` runs only up to this many units (``2^m`` programs a dataset).
        max_seconds: bound on one GLS run.
        on_row: called with each cell's row as it ends.

    Returns:
        one row per cell: ``{"d", "m_gen", "m", "random_vertex": {reading: [MSE per run]}, "gd": {reading: [...]},
        "gls": {reading: [...]}, "summary": {"random_vertex"|"gd"|"gls": {reading: (median, sd)}}, "paper",
        "elapsed_s"}``.
    """
    check_int("runs", runs, minimum=1)
    check_int("gd_steps", gd_steps, minimum=1)
    check_int("max_sign_units", max_sign_units, minimum=1)
    check_positive("max_seconds", max_seconds)
    for i, cell in enumerate(cells):
        if tuple(cell) not in PAPER_A1:
            raise ValueError(f"`cells[{i}]` must be a (d, m_gen, m) of Table A1 (e.g. (4, 2, 2)), got {cell!r}")
    rows: list[Row] = []
    t0 = time.perf_counter()
    for d, mg, m in cells:
        paper = PAPER_A1[d, mg, m]
        xs, ys = _teachers(d, mg, runs)
        rv: dict[str, list[float]] = {}
        for start in ("random_signs", "least_squares"):
            rv[start] = [float(random_vertex_alternating(xs[r], ys[r], m, seeds=1, seed=r, start=start).loss[0])
                         for r in range(runs)]  # fmt: skip
        if m <= max_sign_units:
            rv["best_signs"] = [
                _best_sign_vertex(xs[r], ys[r], random_vertex(xs[r], m, seed=r)[0]) for r in range(runs)
            ]
        rv["no_sign_constraints"] = [
            _gated_least_squares(xs[r], ys[r], random_vertex(xs[r], m, seed=r)[0]) for r in range(runs)
        ]
        gls: dict[str, list[float]] = {}
        if paper[2] is not None:
            for bias in (True, False):
                key = "output_bias" if bias else "no_output_bias"
                gls[f"{key}_start"], gls[key] = [], []
                for r in range(runs):
                    search = VertexSearch(xs[r], ys[r], halves(m), algorithm="gls", loss="squared", output_bias=bias,
                                          seed=r)  # fmt: skip
                    gls[f"{key}_start"].append(search.record().loss)
                    begun = time.perf_counter()
                    while search.steps < 1024 and time.perf_counter() - begun < max_seconds and search.step():
                        pass
                    gls[key].append(search.record().loss)
        gd: dict[str, list[float]] = {}
        if paper[0] is not None:
            for init in READINGS_GD:
                gd[init] = shallow_gradient_descent(xs, ys, m, steps=gd_steps, bias_init=init).loss.tolist()  # type: ignore[arg-type]
        row = {"d": d, "m_gen": mg, "m": m, "random_vertex": rv, "gd": gd, "gls": gls, "paper": paper,
               "summary": {"random_vertex": {k: _summary(v) for k, v in rv.items()},
                           "gd": {k: _summary(v) for k, v in gd.items()},
                           "gls": {k: _summary(v) for k, v in gls.items()}},
               "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        _emit(rows, row, on_row)
    return rows


def _teachers(d: int, m_gen: int, runs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``runs`` synthetic datasets of appendix H.1.1 (:func:`~lightning_poly.data.teacher_relu`, seed = run),
    stacked: ``(runs, N, d)`` and ``(runs, N)`` in float64."""
    data = [teacher_relu(d=d, m_gen=m_gen, seed=run) for run in range(runs)]
    return torch.stack([x for x, _ in data]).double(), torch.stack([y for _, y in data]).double()


def _synthetic_gd_and_random_vertex(
    xs: torch.Tensor, ys: torch.Tensor, m: int, *, gd_runs: int, rv_runs: int, gd_steps: int
) -> tuple[list[float], list[float]]:
    """Appendix H.1.2 on the first ``gd_runs`` / ``rv_runs`` datasets of ``xs``, MSE: full-batch gradient descent
    (lr 1e-3, Glorot, every parameter trained; one dataset per run, all runs batched in one tensor) and the
    random vertex alternated with least squares (:func:`~lightning_poly.algorithms.random_vertex_alternating`,
    vertex seed = run)."""
    gd = shallow_gradient_descent(xs[:gd_runs], ys[:gd_runs], m, steps=gd_steps).loss.tolist()
    rv = [float(random_vertex_alternating(xs[r], ys[r], m, seeds=1, seed=r).loss[0]) for r in range(rv_runs)]
    return gd, rv


def _factor_widths(factors: Sequence[float], m_gen: int) -> list[int]:
    """``factor * m_gen`` for each factor, refusing factors that do not give a whole number of units."""
    if isinstance(factors, str | bytes) or not isinstance(factors, Sequence) or not factors:
        raise ValueError(f"`factors` must be a non-empty list of numbers > 0, got {factors!r}")
    widths = []
    for i, f in enumerate(factors):
        ok = isinstance(f, int | float) and not isinstance(f, bool) and math.isfinite(f) and f > 0
        if not ok or abs(f * m_gen - round(f * m_gen)) > 1e-9 or round(f * m_gen) < 1:
            raise ValueError(f"`factors[{i}]` must be a number > 0 with factor * m_gen (m_gen = {m_gen}) a whole "
                             f"number of units, e.g. 1, 1.5, 2, 4, 8, got {f!r}")  # fmt: skip
        widths.append(round(f * m_gen))
    return widths


def figure2_left(
    *,
    factors: Sequence[float] = (1, 1.5, 2, 4, 8),
    gd_runs: int = 8,
    rv_runs: int = 8,
    gd_steps: int = 400_000,
    d: int = 8,
    m_gen: int = 8,
    on_row: OnRow = None,
) -> list[Row]:
    """Figure 2, left (zonotope paper, Section 4.2; the numbers of Table A1's d = 8, m_gen = 8 rows): MSE on the
    synthetic data of appendix H.1.1 (``N = (d + 1) m_gen`` Gaussian points, a Gaussian teacher with ``m_gen``
    units, dataset seed = run, as :func:`table_a1` builds them) for networks of ``m = factor * m_gen`` units:
    full-batch gradient descent (lr 1e-3, Glorot, every parameter trained) against the random vertex alternated
    with least squares (:func:`~lightning_poly.algorithms.random_vertex_alternating`, which stops after one
    round: see its docstring).

    Deviations: gradient descent runs at every factor (Table A1 has it only up to factor 2); the paper's
    caption of Table A1 says 8 runs for both methods while H.1.3 says 16 random-vertex runs: both counts are
    arguments, with 8 by default.

    Args:
        factors: overparameterisation factors (Table A1: 1, 1.5, 2, 4, 8); ``factor * m_gen`` must be whole.
        gd_runs: gradient-descent runs, one dataset each (paper 8).
        rv_runs: random-vertex runs, one dataset each (paper 8 or 16).
        gd_steps: gradient steps (paper 400,000).
        d: input dimension (Figure 2: 8).
        m_gen: the teacher's units (Figure 2: 8).
        on_row: called with each factor's row as it ends.

    Returns:
        one row per factor: ``{"d", "m_gen", "factor", "m", "gd", "random_vertex", "gd_steps", "summary", "paper",
        "elapsed_s"}`` with the
        runs' final MSE, ``summary[key] = (median, population sd)`` and the paper's medians ``(GD, random
        vertex)`` (entries ``None`` where Table A1 has none; ``None`` unless d = m_gen = 8).
    """
    check_int("d", d, minimum=1)
    check_int("m_gen", m_gen, minimum=1)
    widths = _factor_widths(factors, m_gen)
    _check_runs(gd_runs, rv_runs, gd_steps)
    xs, ys = _teachers(d, m_gen, max(gd_runs, rv_runs))
    rows = []
    t0 = time.perf_counter()
    for factor, m in zip(factors, widths):
        gd, rv = _synthetic_gd_and_random_vertex(xs, ys, m, gd_runs=gd_runs, rv_runs=rv_runs, gd_steps=gd_steps)
        paper = PAPER_A1_D8.get(m, (None, None)) if (d, m_gen) == (8, 8) else None
        row = {"d": d, "m_gen": m_gen, "factor": factor, "m": m, "gd": gd, "random_vertex": rv, "gd_steps": gd_steps,
               "summary": {"gd": _summary(gd), "random_vertex": _summary(rv)}, "paper": paper,
               "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        _emit(rows, row, on_row)
    return rows


def theorem43_fits(
    *, dims: Sequence[int], n: Sequence[int], gd_steps: int, gd_lr: float, on_row: OnRow = None
) -> list[Row]:
    """Theorem 4.3: the exact fit of ``N`` Gaussian points with ``2 ceil(N / (d + 1))`` units
    (:func:`~lightning_poly.algorithms.exact_fit_network`), its relative error and largest weight, beside
    full-batch gradient descent at the same width.

    Args:
        dims: input dimensions ``d`` (each >= 1).
        n: numbers of points ``N`` (each >= 2).
        gd_steps: gradient steps of the baseline (the example: 100,000).
        gd_lr: its learning rate (the paper's: 1e-3).
        on_row: called with each ``(d, N)`` row as it ends.
    """
    dims, n = list(_ints("dims", dims, 1)), list(_ints("n", n, 2))
    check_int("gd_steps", gd_steps, minimum=1)
    check_positive("gd_lr", gd_lr)
    rows = []
    for d in dims:
        for count in n:
            g = torch.Generator().manual_seed(d * 1000 + count)
            x = torch.randn(count, d, generator=g, dtype=torch.float64)
            y = torch.randn(count, generator=g, dtype=torch.float64)
            fit = exact_fit_network(x, y)
            err = float((fit(x) - y).abs().max()) / (1 + float(y.abs().max()))
            units = 2 * math.ceil(count / (d + 1))
            gd = shallow_gradient_descent(x, y, units, steps=gd_steps, seeds=1, lr=gd_lr)
            row = {"d": d, "n": count, "units": units, "relative_error": err,
                   "max_weight": float(fit.weight_norms.max()), "gd_mse": float(gd.loss[0])}  # fmt: skip
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
