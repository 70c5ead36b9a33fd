"""The activation-pattern search paper's studies (zonotope vertices, Matena & Raffel), appendix H.

* :func:`table_a1`: synthetic Gaussian teachers, d = 4: gradient descent, the random vertex and GLS;
* :func:`table_a3`: Fashion-MNIST pullover vs coat, d = 8, N = 350: gradient descent and mGLS;
* :func:`theorem43_fits`: Theorem 4.3's exact fit with ``2 ceil(N / (d + 1))`` units beside gradient descent;
* :func:`search_after_training`: a user's shallow module trained with Adam through a ``Trainer``, then
  :class:`~lightning_poly.callbacks.VertexSearchCallback`.

Each study calls ``on_row`` with a row (a dict) as it ends, so a script prints as it goes.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.algorithms import (
    SearchRecord,
    VertexSearch,
    exact_fit_network,
    random_vertex_alternating,
    shallow_gradient_descent,
)
from lightning_poly.data import teacher_relu
from lightning_poly.datamodules import pullover_coat_first
from lightning_poly.pipelines.training import quiet_trainer
from lightning_poly.solvers import vertex_loss

__all__ = [
    "PAPER_A1",
    "PAPER_A3",
    "VertexSearchRun",
    "halves",
    "median_std",
    "run_vertex_search",
    "search_after_training",
    "table_a1",
    "table_a3",
    "theorem43_fits",
]

Row = dict[str, Any]
OnRow = Callable[[Row], None] | None

# Table A1 (d = 4): (m_gen, m) -> (GD, random vertex, GLS) medians; None where the paper has no entry
PAPER_A1 = {
    (2, 2): (3.82e-10, 1.25e-01, 8.27e-01), (2, 4): (6.01e-12, 4.10e-08, 1.58e-01),
    (2, 8): (None, 8.81e-09, 8.29e-13), (2, 16): (None, 1.13e-08, 4.11e-17),
    (4, 4): (8.30e-03, 1.98e-03, 8.11e-01), (4, 8): (6.54e-12, 4.70e-05, 8.47e-09),
    (4, 16): (None, 5.08e-07, 1.68e-12), (4, 32): (None, 2.71e-07, 1.97e-15),
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


def table_a1(
    *, runs: int, m_gen: Sequence[int] | None = None, gd_steps: int, max_seconds: float, on_row: OnRow = None
) -> list[Row]:
    """Table A1, d = 4: for each ``(m_gen, m)`` of the paper, ``runs`` datasets of ``N = (d + 1) m_gen`` Gaussian
    points labelled by a Gaussian teacher (:func:`~lightning_poly.data.teacher_relu`), squared loss: full-batch
    gradient descent (lr 1e-3, all parameters trained), the random vertex alternated with least squares, and GLS
    (v fixed to halves, at most T = 1024 moves)."""
    check_int("runs", runs, minimum=1)
    rows = []
    t0 = time.perf_counter()
    for (mg, m), paper in PAPER_A1.items():
        if m_gen and mg not in m_gen:
            continue
        data = [teacher_relu(d=4, m_gen=mg, seed=run) for run in range(runs)]
        xs, ys = torch.stack([d[0] for d in data]).double(), torch.stack([d[1] for d in data]).double()
        gd = shallow_gradient_descent(xs, ys, m, steps=gd_steps).loss.tolist()  # one dataset per run
        rv, gls, stops = [], [], []
        for run in range(runs):
            x, y = xs[run], ys[run]
            rv.append(float(random_vertex_alternating(x, y, m, seeds=1, seed=run).loss[0]))
            res = run_vertex_search(x, y, halves(m), algorithm="gls", loss="squared", max_steps=1024, seed=run,
                                    max_seconds=max_seconds)  # fmt: skip
            gls.append(res.loss)
            stops.append(res.stopped)
        row = {"m_gen": mg, "m": m, "gd": gd, "random_vertex": rv, "gls": gls, "gls_stopped": stops,
               "paper": paper, "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def _ints(name: str, values: Sequence[int], minimum: int) -> Sequence[int]:
    """``values``, each an integer >= ``minimum`` (naming the argument otherwise)."""
    if isinstance(values, int) or not isinstance(values, Sequence):
        raise TypeError(f"`{name}` must be a list of integers, got {type(values).__name__} {values!r}")
    for i, v in enumerate(values):
        check_int(f"{name}[{i}]", v, minimum=minimum)
    return values


def _accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * float(((pred > 0).double() == y).double().mean())


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
        gd = shallow_gradient_descent(x, y, m, steps=gd_steps, seeds=runs, loss="logistic", v=v,
                                      log_every=max(1, gd_steps // 20))  # fmt: skip
        pred = torch.einsum("sm,smn->sn", gd.v, (torch.einsum("smk,nk->smn", gd.weight, xb)).clamp_min(0))
        gd_acc = [_accuracy(p + c, y) for p, c in zip(pred, gd.output_bias)]
        # the loss had stopped falling if the last tenth of the run gained little
        tail = float(((gd.trace[-3] - gd.trace[-1]) / gd.trace[-1]).median()) if len(gd.trace) > 2 else float("nan")
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
        row = {"m": m, "gd_loss": gd.loss.tolist(), "gd_acc": gd_acc, "gd_steps": gd_steps,
               "gd_last_tenth_relative_gain": tail, "mgls_loss": ms, "mgls_acc": accs, "mgls_stopped": stops,
               "mgls_seconds": secs, "paper": PAPER_A3.get(m, (None, None, None, None)),
               "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
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
