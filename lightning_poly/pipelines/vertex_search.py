"""The activation-pattern search paper's Fashion-MNIST studies (zonotope vertices, Matena & Raffel), appendix H.2.

* :func:`table_a2`: Fashion-MNIST pullover vs coat, d in {8, 16}, N in {350, 700}: gradient descent and the
  random vertex (:func:`table_a2_row` on any 0/1-labelled data);
* :func:`figure2_right`, :func:`plot_figure2`: Figure 2, gradient descent vs the random vertex over width
  (Fashion-MNIST, d = 16, N = 700), and the picture of both panels (the left one, synthetic, is
  :func:`~lightning_poly.pipelines.vertex_search_synthetic.figure2_left`);
* :func:`table_a3`: Fashion-MNIST pullover vs coat, d = 8, N = 350: gradient descent and mGLS;
* :func:`search_after_training`: a user's shallow module trained with Adam through a ``Trainer``, then
  :class:`~lightning_poly.callbacks.VertexSearchCallback`.

The synthetic studies (Table A1, Figure 2's left panel, Theorem 4.3) are in
:mod:`~lightning_poly.pipelines.vertex_search_synthetic`. Each study calls ``on_row`` with a row (a dict) as it
ends, so a script prints as it goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.algorithms import (
    SearchRecord,
    VertexSearch,
    shallow_gradient_descent,
)
from lightning_poly.datamodules import pullover_coat_first
from lightning_poly.geometry.zonotope import random_vertex
from lightning_poly.nn.homogeneous import homogeneous_points
from lightning_poly.pipelines.training import quiet_trainer
from lightning_poly.solvers import vertex_loss, vertex_program

__all__ = [
    "PAPER_A2",
    "PAPER_A3",
    "VertexSearchRun",
    "figure2_right",
    "halves",
    "median_std",
    "plot_figure2",
    "run_vertex_search",
    "search_after_training",
    "table_a2",
    "table_a2_row",
    "table_a3",
]

Row = dict[str, Any]
OnRow = Callable[[Row], None] | None

# Table A2, Fashion-MNIST: (d, N, m) -> (GD loss, GD acc %, random-vertex loss, random-vertex acc %) medians
PAPER_A2 = {
    (8, 350, 4): (2.98e-01, 88.4, 5.97e-01, 68.4), (8, 350, 8): (2.24e-01, 91.4, 5.58e-01, 72.9),
    (8, 350, 16): (1.39e-01, 95.9, 4.96e-01, 78.6), (8, 350, 32): (6.71e-02, 98.8, 3.78e-01, 85.1),
    (8, 350, 64): (3.21e-02, 100.0, 2.91e-01, 88.1),
    (8, 700, 4): (3.52e-01, 84.8, 6.62e-01, 60.5), (8, 700, 8): (3.15e-01, 86.6, 5.99e-01, 69.3),
    (8, 700, 16): (2.48e-01, 90.5, 5.17e-01, 76.1), (8, 700, 32): (1.65e-01, 94.3, 4.31e-01, 80.7),
    (8, 700, 64): (8.70e-02, 98.3, 3.66e-01, 84.4),
    (16, 350, 4): (1.93e-01, 92.4, 6.24e-01, 64.4), (16, 350, 8): (8.33e-02, 98.0, 5.46e-01, 72.7),
    (16, 350, 16): (3.71e-02, 99.3, 4.27e-01, 80.1), (16, 350, 32): (1.43e-02, 100.0, 3.00e-01, 87.3),
    (16, 350, 64): (6.72e-03, 100.0, 1.65e-01, 94.3),
    (16, 700, 4): (2.84e-01, 88.1, 6.30e-01, 64.8), (16, 700, 8): (1.95e-01, 92.0, 5.95e-01, 68.4),
    (16, 700, 16): (1.13e-01, 96.5, 5.19e-01, 75.7), (16, 700, 32): (4.53e-02, 99.4, 4.26e-01, 81.4),
    (16, 700, 64): (2.05e-02, 100.0, 3.43e-01, 85.6),
}  # fmt: skip
# Table A3, Fashion-MNIST: m -> (GD loss, GD acc %, mGLS loss, mGLS acc %)
PAPER_A3 = {
    4: (2.98e-01, 88.4, 2.88e-01, 88.3),
    8: (2.24e-01, 91.4, 1.72e-01, 93.7),
    16: (1.39e-01, 95.9, 2.91e-03, 100.0),
}


def halves(m: int) -> torch.Tensor:
    """The fixed second layer of GLS (appendix H): ``m - m // 2`` entries +1, then ``m // 2`` entries -1."""
    check_int("m", m, minimum=1)
    return torch.cat([torch.ones(m - m // 2), -torch.ones(m // 2)]).double()


@dataclass
class VertexSearchRun:
    """One search: its final loss, record, why it stopped (``"local_minimum"``, ``"max_steps"`` or ``"time"``)."""

    loss: float
    record: SearchRecord
    stopped: str
    seconds: float


def run_vertex_search(
    x: torch.Tensor,
    y: torch.Tensor,
    v: torch.Tensor,
    *,
    algorithm: str,
    loss: str,
    max_steps: int,
    seed: int,
    max_seconds: float,
) -> VertexSearchRun:
    """Run :class:`~lightning_poly.algorithms.VertexSearch` until a local minimum, ``max_steps`` moves or
    ``max_seconds``."""
    check_positive("max_seconds", max_seconds)
    start = time.perf_counter()
    search = VertexSearch(x, y, v, algorithm=algorithm, loss=loss, seed=seed)  # type: ignore[arg-type]
    while search.steps < max_steps and time.perf_counter() - start < max_seconds and search.step():
        pass
    rec = search.record()
    if rec.stopped == "local_minimum":
        stopped = rec.stopped
    else:
        stopped = "max_steps" if search.steps >= max_steps else "time"
    return VertexSearchRun(rec.loss, rec, stopped, time.perf_counter() - start)


def _ints(name: str, values: Sequence[int], minimum: int) -> Sequence[int]:
    """``values``, each an integer >= ``minimum`` (naming the argument otherwise)."""
    if isinstance(values, int) or not isinstance(values, Sequence):
        raise TypeError(f"`{name}` must be a list of integers, got {type(values).__name__} {values!r}")
    for i, v in enumerate(values):
        check_int(f"{name}[{i}]", v, minimum=minimum)
    return values


def _accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * float(((pred > 0).double() == y).double().mean())


def _predict(weight: torch.Tensor, v: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(S, N)`` outputs of ``S`` shallow networks ``v^T relu(W x̄) + c`` (weights ``(S, m, d + 1)``, ``v`` ``(S, m)``)."""
    pre = torch.einsum("smk,nk->smn", weight, homogeneous_points(x).to(weight))
    return torch.einsum("sm,smn->sn", v.to(weight), pre.clamp_min(0)) + c.to(weight)[:, None]


def _summary(values: Sequence[float]) -> tuple[float, float]:
    """``(median, population sd)`` of the runs, as the paper's tables report them."""
    return statistics.median(values), statistics.pstdev(values)


def _gd_logistic(
    x: torch.Tensor, y: torch.Tensor, m: int, *, runs: int, steps: int, lr: float
) -> tuple[list[float], list[float], float]:
    """Appendix H.2.2's gradient descent, all runs batched: logistic loss, v frozen to :func:`halves`, ``W`` and
    ``c`` trained from Glorot initialisations (seeds 0 .. runs - 1 of one generator), full batch.

    Returns:
        ``(losses, accuracies %, tail)``: ``tail`` is the median relative loss decrease over the last tenth of
        the steps (small: the run had stopped improving), NaN below 20 steps.
    """
    gd = shallow_gradient_descent(x, y, m, steps=steps, seeds=runs, loss="logistic", v=halves(m), lr=lr,
                                  log_every=max(1, steps // 20))  # fmt: skip
    accs = [_accuracy(p, y) for p in _predict(gd.weight, gd.v, gd.output_bias, x)]
    tail = float(((gd.trace[-3] - gd.trace[-1]) / gd.trace[-1]).median()) if len(gd.trace) > 2 else float("nan")
    return gd.loss.tolist(), accs, tail


def _random_vertex_logistic(
    x: torch.Tensor, y: torch.Tensor, m: int, *, runs: int, chunk: int = 8
) -> tuple[list[float], list[float], float]:
    """Appendix H.2.2's random vertex: the pattern of standard Gaussian first-layer weights
    (:func:`~lightning_poly.geometry.random_vertex`, seed = run), then program (3) with the logistic loss, v fixed
    to :func:`halves` and the output bias optimised (:func:`~lightning_poly.solvers.vertex_program`, ``chunk``
    patterns a batch). Loss and accuracy are the ReLU network's at the solution.

    Returns:
        ``(losses, accuracies %, gap)``: ``gap`` is the largest certified distance of a run's objective to its
        program's optimum.
    """
    v = halves(m)
    weights, biases, gaps = [], [], []
    for first in range(0, runs, chunk):
        pats = torch.stack([random_vertex(x, m, seed=r)[0] for r in range(first, min(runs, first + chunk))])
        sol = vertex_program(x, y, pats, v, loss="logistic", output_bias=True)
        weights.append(sol.weight)
        biases.append(sol.output_bias)
        gaps.append(sol.gap)
    weight, c = torch.cat(weights), torch.cat(biases)
    pred = _predict(weight, v.expand(len(weight), m), c, x)
    return (
        vertex_loss(pred, y.to(pred), "logistic").tolist(),
        [_accuracy(p, y) for p in pred],
        float(torch.cat(gaps).max()),
    )


def _check_runs(gd_runs: int, rv_runs: int, gd_steps: int) -> None:
    for name, value in (("gd_runs", gd_runs), ("rv_runs", rv_runs), ("gd_steps", gd_steps)):
        check_int(name, value, minimum=1)


def _emit(rows: list[Row], row: Row, on_row: OnRow) -> None:
    """Keep ``row`` and hand it to ``on_row`` (a script prints as the study goes)."""
    rows.append(row)
    if on_row is not None:
        on_row(row)


def table_a2_row(
    x: torch.Tensor, y: torch.Tensor, m: int, *, gd_runs: int, rv_runs: int, gd_steps: int, gd_lr: float = 1e-3
) -> Row:
    r"""One row of Table A2 (zonotope paper, appendix H.2.2) on the data ``(x, y)``: gradient descent against the
    random vertex, both on the network :math:`f(x) = v^\top \phi(W \bar x) + c` with ``v`` frozen to half
    +1, half -1 (:func:`halves`) and the sigmoid cross-entropy (softplus form, see
    :mod:`~lightning_poly.solvers.vertex_program`).

    * gradient descent: full batch, lr ``gd_lr`` (paper 1e-3), ``gd_steps`` steps (paper 1,000,000), Glorot
      initialisation with zero biases, ``W`` and ``c`` trained, ``gd_runs`` seeds batched (paper 8);
    * random vertex: the pattern of standard Gaussian weights (seed = run), program (3) with ``c`` optimised,
      ``rv_runs`` vertices (paper 16). Deviation: solved by the suite's batched interior-point solver rather than
      cvxpy with ECOS (the paper's), with its ridge 1e-8 (:mod:`~lightning_poly.solvers.vertex_program`), which
      keeps the program bounded where the infimum lies at infinity; it raises the loss by at most
      :math:`\rho \|W^\star\|^2 / 2` (1e-5 on a small test instance whose weights run off, far below the
      table's three digits).

    Args:
        x: ``(N, d)`` inputs.
        y: ``(N,)`` 0/1 labels.
        m: hidden units.
        gd_runs, rv_runs: runs of each method.
        gd_steps: gradient steps.
        gd_lr: learning rate.

    Returns:
        ``{"m", "gd_loss", "gd_acc", "gd_steps", "gd_last_tenth_relative_gain", "rv_loss", "rv_acc", "rv_gap",
        "summary"}``: the runs' training losses and accuracies (%), and ``summary[key] = (median, population sd)``
        of each list.

    Raises:
        ValueError: on labels other than 0/1 or arguments out of range (named).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(20, 2, generator=g, dtype=torch.float64)
        >>> row = table_a2_row(x, (x[:, 0] > 0).double(), 2, gd_runs=2, rv_runs=3, gd_steps=10)
        >>> len(row["gd_loss"]), len(row["rv_acc"]), sorted(row["summary"])
        (2, 3, ['gd_acc', 'gd_loss', 'rv_acc', 'rv_loss'])
    """
    check_int("m", m, minimum=1)
    _check_runs(gd_runs, rv_runs, gd_steps)
    check_positive("gd_lr", gd_lr)
    if not isinstance(y, torch.Tensor) or not bool(((y == 0) | (y == 1)).all()):
        got = sorted({float(t) for t in y.flatten()[:1000]})[:5] if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"`y` must hold 0/1 labels for the logistic loss, got values {got}")
    gd_loss, gd_acc, tail = _gd_logistic(x, y, m, runs=gd_runs, steps=gd_steps, lr=gd_lr)
    rv_loss, rv_acc, gap = _random_vertex_logistic(x, y, m, runs=rv_runs)
    lists = {"gd_loss": gd_loss, "gd_acc": gd_acc, "rv_loss": rv_loss, "rv_acc": rv_acc}
    return {"m": m, **lists, "gd_steps": gd_steps, "gd_last_tenth_relative_gain": tail, "rv_gap": gap,
            "summary": {k: _summary(v) for k, v in lists.items()}}  # fmt: skip


def table_a2(
    *,
    dims: Sequence[int] = (8, 16),
    ns: Sequence[int] = (350, 700),
    widths: Sequence[int] = (4, 8, 16, 32, 64),
    gd_runs: int = 8,
    rv_runs: int = 16,
    gd_steps: int = 1_000_000,
    gd_lr: float = 1e-3,
    on_row: OnRow = None,
) -> list[Row]:
    """Table A2's Fashion-MNIST rows (zonotope paper, appendix H.2): pullover vs coat, the first ``d``
    PCA-whitened components, the first ``N`` training examples (:func:`~lightning_poly.datamodules.pullover_coat_first`,
    the data of :func:`table_a3`), gradient descent against the random vertex (:func:`table_a2_row`).

    The defaults are the paper's sizes (20 rows; at 1 thread the gradient descent of one m = 64 row alone takes
    about half an hour): pass ``gd_steps`` below 1,000,000 for a shorter run; each row records its steps and how
    much the last tenth of them still gained. The MNIST 4/9 rows are not computed (MNIST is not available to the
    suite offline).

    Args:
        dims: PCA components ``d`` (paper 8, 16).
        ns: training examples ``N`` (paper 350, 700).
        widths: hidden units ``m`` (paper 4, 8, 16, 32, 64).
        gd_runs: gradient-descent seeds (paper 8).
        rv_runs: random vertices (paper 16).
        gd_steps: gradient steps (paper 1,000,000).
        gd_lr: learning rate (paper 1e-3).
        on_row: called with each row as it ends.

    Returns:
        one row per ``(d, N, m)``: :func:`table_a2_row`'s keys plus ``"d"``, ``"n"``, ``"paper"`` (the paper's
        medians ``(GD loss, GD acc %, random-vertex loss, random-vertex acc %)`` or ``None``) and ``"elapsed_s"``.
    """
    dims, ns, widths = _ints("dims", dims, 1), _ints("ns", ns, 2), _ints("widths", widths, 1)
    _check_runs(gd_runs, rv_runs, gd_steps)
    check_positive("gd_lr", gd_lr)
    rows = []
    t0 = time.perf_counter()
    for d in dims:
        x_all, y_all = pullover_coat_first(max(ns), d)  # the first N of the file's order: a prefix for each N
        for n in ns:
            x, y = x_all[:n], y_all[:n]
            for m in widths:
                row = {"d": d, "n": n, **table_a2_row(x, y, m, gd_runs=gd_runs, rv_runs=rv_runs, gd_steps=gd_steps,
                                                      gd_lr=gd_lr),
                       "paper": PAPER_A2.get((d, n, m)), "elapsed_s": time.perf_counter() - t0}  # fmt: skip
                _emit(rows, row, on_row)
    return rows


def figure2_right(
    *,
    widths: Sequence[int] = (4, 8, 16, 32, 64),
    gd_runs: int = 8,
    rv_runs: int = 16,
    gd_steps: int = 1_000_000,
    gd_lr: float = 1e-3,
    on_row: OnRow = None,
) -> list[Row]:
    """Figure 2, right (zonotope paper, Section 4.2): training accuracy on Fashion-MNIST coat/pullover,
    d = 16, N = 700, over the width ``m``: Table A2's rows for that (d, N) (:func:`table_a2`, same arguments
    and defaults, the paper's)."""
    return table_a2(dims=[16], ns=[700], widths=widths, gd_runs=gd_runs, rv_runs=rv_runs, gd_steps=gd_steps,
                    gd_lr=gd_lr, on_row=on_row)  # fmt: skip


def plot_figure2(left: Sequence[Row], right: Sequence[Row], path: str | Path) -> Path:
    """Figure 2's two panels from :func:`figure2_left` and :func:`figure2_right` rows, saved as a PNG at ``path``:
    median MSE (log scale) over the overparameterisation factor, and median training accuracy over ``m``; each
    run a faint dot, the paper's medians as open markers on dashed lines.

    Returns:
        ``path`` as a :class:`~pathlib.Path` (its folder is created).

    Raises:
        ValueError: if ``left`` or ``right`` holds no row.
    """
    for name, rows in (("left", left), ("right", right)):
        if not rows:
            raise ValueError(f"`{name}` must hold at least one row of figure2_{name}, got {rows!r}")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_l, ax_r) = plt.subplots(1, 2, figsize=(10, 4))
    series = ((0, "gradient descent", "tab:blue", "o", "gd", "gd_acc"),
              (1, "random vertex", "tab:orange", "s", "random_vertex", "rv_acc"))  # fmt: skip
    for i, label, color, marker, mse, acc in series:
        for ax, rows, x_key, y_key, paper_at in ((ax_l, left, "factor", mse, i), (ax_r, right, "m", acc, 2 * i + 1)):
            for r in rows:  # each run
                ax.plot([r[x_key]] * len(r[y_key]), r[y_key], ".", color=color, alpha=0.25, ms=4)
            ax.plot([r[x_key] for r in rows], [r["summary"][y_key][0] for r in rows], marker + "-", color=color,
                    label=label)  # fmt: skip
            paper = [(r[x_key], r["paper"][paper_at]) for r in rows if r["paper"] and r["paper"][paper_at] is not None]
            if paper:
                ax.plot(*zip(*paper), marker + "--", color=color, mfc="none", label=f"{label} (paper)")
    top_l, top_r = left[0], right[0]
    title_l = f"synthetic, d = {top_l['d']}, m_gen = {top_l['m_gen']}\n(GD {top_l['gd_steps']:,} steps)"
    title_r = f"Fashion-MNIST coat/pullover, d = {top_r['d']}, N = {top_r['n']}\n(GD {top_r['gd_steps']:,} steps)"
    ax_l.set(xscale="log", yscale="log", xlabel="overparameterisation factor (m / m_gen)",
             ylabel="training MSE (median)", title=title_l)  # fmt: skip
    ticks = sorted({r["factor"] for r in left})
    ax_l.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax_r.set(xscale="log", xlabel="hidden units m", ylabel="training accuracy % (median)", title=title_r)
    ax_r.set_xticks([r["m"] for r in right], [str(r["m"]) for r in right])
    for ax in (ax_l, ax_r):
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    handles = {lab: h for ax in (ax_l, ax_r) for h, lab in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle("Figure 2: gradient descent vs program (3) at a random vertex")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table_a3(
    *,
    runs: int,
    widths: Sequence[int],
    gd_steps: int,
    max_seconds: float,
    on_run: OnRow = None,
    on_row: OnRow = None,
) -> list[Row]:
    """Table A3: Fashion-MNIST pullover vs coat, the first 8 PCA-whitened components, the first N = 350 training
    examples (:func:`~lightning_poly.datamodules.pullover_coat_first`), logistic loss with v frozen to halves and
    the output bias trained: gradient descent (lr 1e-3, ``gd_steps``, ``runs`` seeds) and mGLS (at most T = 2048
    moves, ``max_seconds`` a run). ``on_run`` gets each mGLS run as it ends, ``on_row`` each width's row."""
    check_int("runs", runs, minimum=1)
    x, y = pullover_coat_first(350, 8)
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    rows = []
    t0 = time.perf_counter()
    for m in widths:
        v = halves(m)
        gd_loss, gd_acc, tail = _gd_logistic(x, y, m, runs=runs, steps=gd_steps, lr=1e-3)
        ms, accs, stops, secs = [], [], [], []
        for run in range(runs):
            res = run_vertex_search(x, y, v, algorithm="mgls", loss="logistic", max_steps=2048, seed=run,
                                    max_seconds=max_seconds)  # fmt: skip
            rec = res.record
            pred_run = (rec.weight @ xb.T).clamp_min(0).T @ v + rec.output_bias
            ms.append(float(vertex_loss(pred_run, y, "logistic")))
            accs.append(_accuracy(pred_run, y))
            stops.append(res.stopped)
            secs.append(res.seconds)
            if on_run is not None:
                on_run({"m": m, "run": run, "loss": ms[-1], "acc": accs[-1], "moves": rec.steps,
                        "programs": rec.programs, "stopped": res.stopped, "seconds": res.seconds})  # fmt: skip
        row = {"m": m, "gd_loss": gd_loss, "gd_acc": gd_acc, "gd_steps": gd_steps,
               "gd_last_tenth_relative_gain": tail, "mgls_loss": ms, "mgls_acc": accs, "mgls_stopped": stops,
               "mgls_seconds": secs, "paper": PAPER_A3.get(m, (None, None, None, None)),
               "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def search_after_training(
    *, widths: Sequence[int], epochs: int, lr: float, max_steps: int, on_row: OnRow = None
) -> list[Row]:
    """A user's workflow: a shallow ``nn.Sequential`` (8-m-1) trained on pullover vs coat (N = 350, d = 8) with
    Adam, full batch, binary cross-entropy through a ``Trainer`` (:class:`~lightning_poly.modules.NetworkModule`),
    then :class:`~lightning_poly.callbacks.VertexSearchCallback` (mGLS, logistic loss, at most ``max_steps``
    moves) at the fit's end."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    from lightning_poly.callbacks import VertexSearchCallback
    from lightning_poly.modules.network import NetworkModule

    x, y = pullover_coat_first(350, 8)
    rows = []
    for m in widths:
        pl.seed_everything(0, verbose=False)
        search = VertexSearchCallback(loss="logistic", max_steps=max_steps)
        net = torch.nn.Sequential(torch.nn.Linear(8, m), torch.nn.ReLU(), torch.nn.Linear(m, 1))
        start = time.perf_counter()
        quiet_trainer(epochs, [search]).fit(NetworkModule(net, loss="bce", lr=lr),
                                            DataLoader(TensorDataset(x.float(), y.float()), batch_size=len(x)))  # fmt: skip
        h = search.history[-1]
        row = {"m": m, **{k: v for k, v in h.items() if k != "when"}, "summary": search.summary(),
               "fit_seconds": time.perf_counter() - start}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def median_std(values: Sequence[float]) -> str:
    """``median (std)`` as the paper's tables print them."""
    return f"{statistics.median(values):.2e} ({statistics.pstdev(values):.1e})"
