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
import statistics
from pathlib import Path
from typing import Any

import torch

from lightning_poly.pipelines.vertex_search import (
    median_std,
    search_after_training,
    table_a1,
    table_a3,
    theorem43_fits,
)


def _paper(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def cmd_table_a1(args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"Table A1, d = 4 (medians over {args.runs} runs, std in brackets; paper: 8 runs GD / random vertex, 16 GLS)")
    print(
        f"{'m_gen':>5} {'m':>3} | {'GD':>18} {'paper':>9} | {'random vertex':>18} {'paper':>9} | {'GLS':>18} {'paper':>9}"
    )

    def show(row: dict[str, Any]) -> None:
        paper, stops = row["paper"], row["gls_stopped"]
        print(
            f"{row['m_gen']:>5} {row['m']:>3} | {median_std(row['gd']):>18} {_paper(paper[0]):>9} | "
            f"{median_std(row['random_vertex']):>18} {_paper(paper[1]):>9} | {median_std(row['gls']):>18} "
            f"{_paper(paper[2]):>9}   [{stops.count('local_minimum')}/{len(stops)} GLS at a local minimum; "
            f"{row['elapsed_s']:.0f} s]",
            flush=True,
        )

    return table_a1(runs=args.runs, m_gen=args.m_gen, gd_steps=args.gd_steps, max_seconds=args.max_seconds,
                    on_row=show)  # fmt: skip


def cmd_table_a3(args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"Table A3, Fashion-MNIST pullover vs coat, d = 8, N = 350 (medians over {args.runs} runs; paper: 8)")
    print(f"{'m':>3} | {'GD loss':>18} {'acc %':>6} {'paper':>15} | {'mGLS loss':>18} {'acc %':>6} {'paper':>15}")

    def show_run(r: dict[str, Any]) -> None:
        print(f"    m = {r['m']} mGLS run {r['run']}: loss {r['loss']:.3e}, acc {r['acc']:.1f}%, {r['moves']} moves, "
              f"{r['programs']} programs, stopped: {r['stopped']}, {r['seconds']:.0f} s", flush=True)  # fmt: skip

    def show(row: dict[str, Any]) -> None:
        p, stops = row["paper"], row["mgls_stopped"]
        print(
            f"{row['m']:>3} | {median_std(row['gd_loss']):>18} {statistics.median(row['gd_acc']):>6.1f} "
            f"{_paper(p[0]) + ' ' + str(p[1]):>15} | {median_std(row['mgls_loss']):>18} "
            f"{statistics.median(row['mgls_acc']):>6.1f} {_paper(p[2]) + ' ' + str(p[3]):>15}   [GD {row['gd_steps']} "
            f"steps, last tenth -{row['gd_last_tenth_relative_gain']:.1e} rel.; mGLS at a local minimum "
            f"{stops.count('local_minimum')}/{len(stops)}; {row['elapsed_s']:.0f} s]",
            flush=True,
        )

    return table_a3(runs=args.runs, widths=args.widths, gd_steps=args.gd_steps, max_seconds=args.max_seconds,
                    on_run=show_run, on_row=show)  # fmt: skip


def cmd_theorem43(args: argparse.Namespace) -> list[dict[str, Any]]:
    print("Theorem 4.3: exact fit of N random points with 2 ceil(N / (d + 1)) units, beside GD at the same width")
    print(f"{'d':>2} {'N':>4} {'units':>5} | {'max error / (1 + max|y|)':>24} {'max |W|':>9} | {'GD MSE':>9}")

    def show(r: dict[str, Any]) -> None:
        print(f"{r['d']:>2} {r['n']:>4} {r['units']:>5} | {r['relative_error']:>24.2e} {r['max_weight']:>9.2e} | "
              f"{r['gd_mse']:>9.2e}", flush=True)  # fmt: skip

    return theorem43_fits(dims=args.dims, n=args.n, gd_steps=args.gd_steps, gd_lr=args.gd_lr, on_row=show)


def cmd_callback(args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"Adam ({args.epochs} full-batch epochs), then VertexSearchCallback (mGLS, at most {args.max_steps} moves)")

    def show(r: dict[str, Any]) -> None:
        print(f"  m = {r['m']}: {r['summary']} in {r['seconds']:.0f} s ({r['stopped']})", flush=True)

    return search_after_training(widths=args.widths, epochs=args.epochs, lr=args.lr, max_steps=args.max_steps,
                                 on_row=show)  # fmt: skip


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
