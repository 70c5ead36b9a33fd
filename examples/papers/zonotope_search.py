"""Training shallow ReLU networks by search over activation patterns (zonotope paper), beside its tables.

    python examples/papers/zonotope_search.py table_a1       # synthetic teachers, d = 4: GD, random vertex, GLS
    python examples/papers/zonotope_search.py table_a3       # Fashion-MNIST pullover vs coat, d = 8, N = 350: GD vs mGLS
    python examples/papers/zonotope_search.py theorem43      # exact fit with 2 ceil(N / (d + 1)) units vs GD
    python examples/papers/zonotope_search.py callback       # a user's module: Adam, then VertexSearchCallback

Protocols (appendix H): Table A1 draws N = (d + 1) m_gen Gaussian points labelled by a Gaussian teacher
(``teacher_relu``), MSE; gradient descent is full batch, lr 1e-3, Glorot initialisation, all parameters
trained (``--gd-steps``, paper 400,000); the random vertex is program (3) at the pattern of Gaussian
weights with a random +-1 second layer, alternated with least squares (it stops after one round, see
:func:`~lightning_poly.algorithms.random_vertex_alternating`); GLS fixes v to half +1, half -1, starts
at a Gaussian vertex and runs at most T = 1024 moves. Table A3 takes Fashion-MNIST pullover vs coat,
the first 8 PCA-whitened components (PCA on the two classes' training images), N = 350 (the first in the file's order, as the paper; :func:`~lightning_poly.datamodules.pullover_coat_first`)
training examples, logistic loss with v frozen to +-1 halves, output bias trained; gradient descent lr
1e-3 (``--gd-steps``, paper 1,000,000), mGLS at most T = 2048 moves (``--max-seconds`` bounds a run; the
table says when a run stopped on it). Each line prints as its runs end, with elapsed time.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from lightning_poly.algorithms import (
    VertexSearch,
    exact_fit_network,
    random_vertex_alternating,
    shallow_gradient_descent,
)
from lightning_poly.data import teacher_relu
from lightning_poly.datamodules import pullover_coat_first
from lightning_poly.solvers import vertex_loss

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


def _halves(m: int) -> torch.Tensor:
    return torch.cat([torch.ones(m - m // 2), -torch.ones(m // 2)]).double()


def _median_std(values: list[float]) -> str:
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.median(values):.2e} ({std:.1e})"


def _paper(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def _search(x: torch.Tensor, y: torch.Tensor, v: torch.Tensor, algorithm: str, loss: str, max_steps: int,
            seed: int, max_seconds: float) -> dict[str, Any]:  # fmt: skip
    start = time.perf_counter()
    search = VertexSearch(x, y, v, algorithm=algorithm, loss=loss, seed=seed)  # type: ignore[arg-type]
    while search.steps < max_steps and time.perf_counter() - start < max_seconds and search.step():
        pass
    rec = search.record()
    stopped = rec.stopped if rec.stopped == "local_minimum" or search.steps >= max_steps else "time"
    return {"loss": rec.loss, "record": rec, "stopped": stopped, "seconds": time.perf_counter() - start}


def cmd_table_a1(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    t0 = time.perf_counter()
    print(f"Table A1, d = 4 (medians over {args.runs} runs, std in brackets; paper: 8 runs GD / random vertex, 16 GLS)")
    print(
        f"{'m_gen':>5} {'m':>3} | {'GD':>18} {'paper':>9} | {'random vertex':>18} {'paper':>9} | {'GLS':>18} {'paper':>9}"
    )
    for (m_gen, m), paper in PAPER_A1.items():
        if args.m_gen and m_gen not in args.m_gen:
            continue
        data = [teacher_relu(d=4, m_gen=m_gen, seed=run) for run in range(args.runs)]
        xs, ys = torch.stack([d[0] for d in data]).double(), torch.stack([d[1] for d in data]).double()
        gd = shallow_gradient_descent(xs, ys, m, steps=args.gd_steps).loss.tolist()  # one dataset per run
        rv, gls, stops = [], [], []
        for run in range(args.runs):
            x, y = xs[run], ys[run]
            rv.append(float(random_vertex_alternating(x, y, m, seeds=1, seed=run).loss[0]))
            res = _search(x, y, _halves(m), "gls", "squared", 1024, run, args.max_seconds)
            gls.append(res["loss"])
            stops.append(res["stopped"])
        row = {"m_gen": m_gen, "m": m, "gd": gd, "random_vertex": rv, "gls": gls, "gls_stopped": stops,
               "paper": paper, "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        rows.append(row)
        print(
            f"{m_gen:>5} {m:>3} | {_median_std(gd):>18} {_paper(paper[0]):>9} | {_median_std(rv):>18} "
            f"{_paper(paper[1]):>9} | {_median_std(gls):>18} {_paper(paper[2]):>9}   "
            f"[{stops.count('local_minimum')}/{len(stops)} GLS at a local minimum; {row['elapsed_s']:.0f} s]",
            flush=True,
        )
    return rows


def _accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * float(((pred > 0).double() == y).double().mean())


def cmd_table_a3(args: argparse.Namespace) -> list[dict[str, Any]]:
    x, y = pullover_coat_first(350, 8)
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    rows = []
    t0 = time.perf_counter()
    print(f"Table A3, Fashion-MNIST pullover vs coat, d = 8, N = 350 (medians over {args.runs} runs; paper: 8)")
    print(f"{'m':>3} | {'GD loss':>18} {'acc %':>6} {'paper':>15} | {'mGLS loss':>18} {'acc %':>6} {'paper':>15}")
    for m in args.widths:
        v = _halves(m)
        gd = shallow_gradient_descent(x, y, m, steps=args.gd_steps, seeds=args.runs, loss="logistic", v=v,
                                      log_every=max(1, args.gd_steps // 20))  # fmt: skip
        pred = torch.einsum("sm,smn->sn", gd.v, (torch.einsum("smk,nk->smn", gd.weight, xb)).clamp_min(0))
        gd_acc = [_accuracy(p + c, y) for p, c in zip(pred, gd.output_bias)]
        # the loss had stopped falling if the last tenth of the run gained little
        tail = float(((gd.trace[-3] - gd.trace[-1]) / gd.trace[-1]).median()) if len(gd.trace) > 2 else float("nan")
        ms, accs, stops, secs = [], [], [], []
        for run in range(args.runs):
            res = _search(x, y, v, "mgls", "logistic", 2048, run, args.max_seconds)
            rec = res["record"]
            pred = (rec.weight @ xb.T).clamp_min(0).T @ v + rec.output_bias
            ms.append(float(vertex_loss(pred, y, "logistic")))
            accs.append(_accuracy(pred, y))
            stops.append(res["stopped"])
            secs.append(res["seconds"])
            print(f"    m = {m} mGLS run {run}: loss {ms[-1]:.3e}, acc {accs[-1]:.1f}%, {rec.steps} moves, "
                  f"{rec.programs} programs, stopped: {res['stopped']}, {res['seconds']:.0f} s", flush=True)  # fmt: skip
        p = PAPER_A3.get(m, (None, None, None, None))
        row = {"m": m, "gd_loss": gd.loss.tolist(), "gd_acc": gd_acc, "gd_steps": args.gd_steps,
               "gd_last_tenth_relative_gain": tail, "mgls_loss": ms, "mgls_acc": accs, "mgls_stopped": stops,
               "mgls_seconds": secs, "paper": p, "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        rows.append(row)
        print(
            f"{m:>3} | {_median_std(gd.loss.tolist()):>18} {statistics.median(gd_acc):>6.1f} "
            f"{_paper(p[0]) + ' ' + str(p[1]):>15} | {_median_std(ms):>18} {statistics.median(accs):>6.1f} "
            f"{_paper(p[2]) + ' ' + str(p[3]):>15}   [GD {args.gd_steps} steps, last tenth -{tail:.1e} rel.; "
            f"mGLS at a local minimum {stops.count('local_minimum')}/{len(stops)}; {row['elapsed_s']:.0f} s]",
            flush=True,
        )
    return rows


def cmd_theorem43(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    print("Theorem 4.3: exact fit of N random points with 2 ceil(N / (d + 1)) units, beside GD at the same width")
    print(f"{'d':>2} {'N':>4} {'units':>5} | {'max error / (1 + max|y|)':>24} {'max |W|':>9} | {'GD MSE':>9}")
    for d in args.dims:
        for n in args.n:
            g = torch.Generator().manual_seed(d * 1000 + n)
            x = torch.randn(n, d, generator=g, dtype=torch.float64)
            y = torch.randn(n, generator=g, dtype=torch.float64)
            fit = exact_fit_network(x, y)
            err = float((fit(x) - y).abs().max()) / (1 + float(y.abs().max()))
            units = 2 * math.ceil(n / (d + 1))
            gd = shallow_gradient_descent(x, y, units, steps=args.gd_steps, seeds=1, lr=args.gd_lr)
            rows.append({"d": d, "n": n, "units": units, "relative_error": err, "max_weight": float(fit.weight_norms.max()),
                         "gd_mse": float(gd.loss[0])})  # fmt: skip
            print(
                f"{d:>2} {n:>4} {units:>5} | {err:>24.2e} {float(fit.weight_norms.max()):>9.2e} | {float(gd.loss[0]):>9.2e}",
                flush=True,
            )
    return rows


class _Shallow(pl.LightningModule):
    """A user's module: one hidden layer, logistic loss, Adam (the callback finds ``self.net``)."""

    def __init__(self, d: int, m: int, lr: float) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(d, m), torch.nn.ReLU(), torch.nn.Linear(m, 1))
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def cmd_callback(args: argparse.Namespace) -> list[dict[str, Any]]:
    from torch.utils.data import DataLoader, TensorDataset

    from lightning_poly.callbacks import VertexSearchCallback
    from lightning_poly.pipelines import quiet_trainer

    x, y = pullover_coat_first(350, 8)
    rows = []
    print(f"Adam ({args.epochs} full-batch epochs), then VertexSearchCallback (mGLS, at most {args.max_steps} moves)")
    for m in args.widths:
        pl.seed_everything(0, verbose=False)
        search = VertexSearchCallback(loss="logistic", max_steps=args.max_steps)
        trainer = quiet_trainer(args.epochs, [search])
        start = time.perf_counter()
        trainer.fit(_Shallow(8, m, args.lr), DataLoader(TensorDataset(x.float(), y.float()), batch_size=len(x)))
        h = search.history[-1]
        rows.append({"m": m, **{k: v for k, v in h.items() if k != "when"}, "fit_seconds": time.perf_counter() - start})
        print(f"  m = {m}: {search.summary()} in {h['seconds']:.0f} s ({h['stopped']})", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default=None, help="write the rows to this file")
    p.add_argument("--threads", type=int, default=1, help="torch threads (small tensors: 1 is fastest)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("table_a1")
    s.add_argument("--runs", type=int, default=8)
    s.add_argument("--m-gen", type=int, nargs="*", default=None, help="only these m_gen (2, 4)")
    s.add_argument("--gd-steps", type=int, default=400_000)
    s.add_argument("--max-seconds", type=float, default=600.0, help="bound on one GLS run")
    s.set_defaults(func=cmd_table_a1)
    s = sub.add_parser("table_a3")
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16])
    s.add_argument("--gd-steps", type=int, default=1_000_000)
    s.add_argument("--max-seconds", type=float, default=900.0, help="bound on one mGLS run")
    s.set_defaults(func=cmd_table_a3)
    s = sub.add_parser("theorem43")
    s.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8])
    s.add_argument("--n", type=int, nargs="+", default=[50, 350])
    s.add_argument("--gd-steps", type=int, default=100_000)
    s.add_argument("--gd-lr", type=float, default=1e-3)
    s.set_defaults(func=cmd_theorem43)
    s = sub.add_parser("callback")
    s.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16])
    s.add_argument("--epochs", type=int, default=2000)
    s.add_argument("--lr", type=float, default=1e-2)
    s.add_argument("--max-steps", type=int, default=100)
    s.set_defaults(func=cmd_callback)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = args.func(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
