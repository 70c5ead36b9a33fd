"""Training shallow ReLU networks by search over activation patterns (zonotope paper), beside its tables.

    python examples/papers/zonotope_search.py table_a1       # synthetic teachers, d = 4 (--dims 4 8 16): GD, random vertex, GLS
    python examples/papers/zonotope_search.py a1_readings    # which reading of appendix H.1.2 gives Table A1's numbers
    python examples/papers/zonotope_search.py table_a2       # Fashion-MNIST pullover vs coat: GD vs random vertex
    python examples/papers/zonotope_search.py figure2        # Figure 2: GD vs random vertex, synthetic and Fashion-MNIST
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
table says when a run stopped on it). Table A2 takes the same data at d in {8, 16}, N in {350, 700}, m in
{4, ..., 64}: the same gradient descent (8 seeds in the paper) against program (3) at the pattern of Gaussian
weights, v the same halves, logistic loss, output bias optimised (16 vertices in the paper). Figure 2 plots
Table A1's d = m_gen = 8 rows over the overparameterisation factor (MSE, log scale) and Table A2's d = 16,
N = 700 accuracy over m. The defaults of table_a2 and figure2 are a quick run (a few seeds, 20,000 gradient
steps); each flag's help names the paper's value. Each line prints as its runs end, with elapsed time;
table_a2 and figure2 end with a JSON line of the medians and standard deviations they printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import torch

from lightning_poly.pipelines.vertex_search import (
    figure2_right,
    median_std,
    plot_figure2,
    search_after_training,
    table_a2,
    table_a3,
)
from lightning_poly.pipelines.vertex_search_synthetic import figure2_left, table_a1, table_a1_readings, theorem43_fits


def _paper(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def _med(values: list[float]) -> str:
    return median_std(values) if values else "-"


def cmd_table_a1(args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"Table A1, d in {args.dims} (medians, std in brackets; GD {args.gd_runs} runs, random vertex "
          f"{args.rv_runs}, GLS {args.gls_runs}; paper: 8 GD, random vertex 8 (caption) or 16 (H.1.3), GLS 16 (caption) "
          "or 8 (H.1.3); '-': no entry in the paper, not run)")  # fmt: skip
    print(f"{'d':>3} {'m_gen':>5} {'m':>4} | {'GD':>18} {'paper':>9} | {'random vertex':>18} {'paper':>9} | "
          f"{'GLS':>18} {'paper':>9}")  # fmt: skip

    def show(row: dict[str, Any]) -> None:
        paper, stops = row["paper"], row["gls_stopped"]
        print(
            f"{row['d']:>3} {row['m_gen']:>5} {row['m']:>4} | {_med(row['gd']):>18} {_paper(paper[0]):>9} | "
            f"{_med(row['random_vertex']):>18} {_paper(paper[1]):>9} | {_med(row['gls']):>18} "
            f"{_paper(paper[2]):>9}   [{stops.count('local_minimum')}/{len(stops)} GLS at a local minimum; "
            f"{row['elapsed_s']:.0f} s]",
            flush=True,
        )

    return table_a1(dims=args.dims, m_gen=args.m_gen, gd_runs=args.gd_runs, rv_runs=args.rv_runs,
                    gls_runs=args.gls_runs, gd_steps=args.gd_steps, max_seconds=args.max_seconds,
                    methods=args.methods, cells=args.cells, on_row=show)  # fmt: skip


def _cell(text: str) -> tuple[int, int, int]:
    """``"4,2,2"`` -> ``(4, 2, 2)`` for argparse (a clear usage error otherwise)."""
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"a cell is d,m_gen,m (three integers, e.g. 4,2,2), got {text!r}")
    d, m_gen, m = (int(p) for p in parts)
    return d, m_gen, m


def cmd_a1_readings(args: argparse.Namespace) -> list[dict[str, Any]]:
    cells = args.cells
    print(f"Table A1 read several ways, {args.runs} datasets a cell (medians, std in brackets)")

    def show(row: dict[str, Any]) -> None:
        s, paper = row["summary"], row["paper"]
        rv = "  ".join(f"{k} {v[0]:.2e} ({v[1]:.1e})" for k, v in s["random_vertex"].items())
        gd = "  ".join(f"{k} {v[0]:.2e} ({v[1]:.1e})" for k, v in s["gd"].items())
        gls = "  ".join(f"{k} {v[0]:.2e} ({v[1]:.1e})" for k, v in s["gls"].items())
        print(f"({row['d']}, {row['m_gen']}, {row['m']}): random vertex [{rv}] paper {_paper(paper[1])} | "
              f"GD bias init [{gd or '-'}] paper {_paper(paper[0])} | GLS [{gls or '-'}] paper {_paper(paper[2])}   "
              f"[{row['elapsed_s']:.0f} s]", flush=True)  # fmt: skip

    return table_a1_readings(cells, runs=args.runs, gd_steps=args.gd_steps, on_row=show)  # type: ignore[arg-type]


def _loss_acc(summary: dict[str, Any], method: str, paper: tuple | None, at: int) -> str:
    """``loss (sd) paper | acc (sd) paper`` of one method (``"gd"`` or ``"rv"``) from a row's summary."""
    (loss, loss_sd), (acc, acc_sd) = summary[f"{method}_loss"], summary[f"{method}_acc"]
    p_loss, p_acc = (paper[at], paper[at + 1]) if paper else (None, None)
    p_acc_s = "-" if p_acc is None else f"{p_acc:.1f}"
    return f"{loss:.2e} ({loss_sd:.1e}) {_paper(p_loss):>9} | {acc:5.1f} ({acc_sd:4.2f}) {p_acc_s:>5}"


def _a2_header(title: str) -> None:
    print(title)
    print(f"{'d':>2} {'N':>3} {'m':>3} | {'GD loss (sd)':>18} {'paper':>9} | {'acc % (sd)':>12} {'paper':>5} | "
          f"{'RV loss (sd)':>18} {'paper':>9} | {'acc % (sd)':>12} {'paper':>5}")  # fmt: skip


def _show_a2(row: dict[str, Any]) -> None:
    s, p = row["summary"], row["paper"]
    print(f"{row['d']:>2} {row['n']:>3} {row['m']:>3} | {_loss_acc(s, 'gd', p, 0)} | {_loss_acc(s, 'rv', p, 2)}   "
          f"[GD {row['gd_steps']} steps, last tenth -{row['gd_last_tenth_relative_gain']:.1e} rel.; program (3) gap "
          f"<= {row['rv_gap']:.0e}; {row['elapsed_s']:.0f} s]", flush=True)  # fmt: skip


def _a2_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"d": r["d"], "n": r["n"], "m": r["m"], **r["summary"], "paper": r["paper"]} for r in rows]


def cmd_table_a2(args: argparse.Namespace) -> list[dict[str, Any]]:
    _a2_header(f"Table A2, Fashion-MNIST pullover vs coat (medians, population sd in brackets; GD {args.gd_runs} runs, "
               f"random vertex {args.rv_runs}; paper: 8 and 16, GD 1,000,000 steps)")  # fmt: skip
    rows = table_a2(dims=args.dims, ns=args.n, widths=args.widths, gd_runs=args.gd_runs, rv_runs=args.rv_runs,
                    gd_steps=args.gd_steps, gd_lr=args.gd_lr, on_row=_show_a2)  # fmt: skip
    print(json.dumps({"table": "A2", "gd_steps": args.gd_steps, "gd_runs": args.gd_runs, "rv_runs": args.rv_runs,
                      "rows": _a2_json(rows)}))  # fmt: skip
    return rows


def cmd_figure2(args: argparse.Namespace) -> dict[str, Any]:
    print(f"Figure 2, left: synthetic d = 8, m_gen = 8, MSE (medians over GD {args.gd_runs} / random vertex "
          f"{args.rv_runs} datasets; GD {args.gd_steps_synthetic} steps, paper 400,000)")  # fmt: skip
    print(f"{'factor':>6} {'m':>3} | {'GD (sd)':>18} {'paper':>9} | {'random vertex (sd)':>18} {'paper':>9}")

    def show_left(r: dict[str, Any]) -> None:
        (g, g_sd), (v, v_sd), p = r["summary"]["gd"], r["summary"]["random_vertex"], r["paper"] or (None, None)
        print(f"{r['factor']:>6g} {r['m']:>3} | {g:.2e} ({g_sd:.1e}) {_paper(p[0]):>9} | {v:.2e} ({v_sd:.1e}) "
              f"{_paper(p[1]):>9}   [{r['elapsed_s']:.0f} s]", flush=True)  # fmt: skip

    left = figure2_left(factors=args.factors, gd_runs=args.gd_runs, rv_runs=args.rv_runs,
                        gd_steps=args.gd_steps_synthetic, on_row=show_left)  # fmt: skip
    _a2_header(f"Figure 2, right: Fashion-MNIST d = 16, N = 700 (GD {args.gd_steps} steps, paper 1,000,000)")
    right = figure2_right(widths=args.widths, gd_runs=args.gd_runs, rv_runs=args.rv_runs, gd_steps=args.gd_steps,
                          gd_lr=args.gd_lr, on_row=_show_a2)  # fmt: skip
    png = plot_figure2(left, right, args.png)
    print(json.dumps({"figure": 2, "png": str(png), "gd_runs": args.gd_runs, "rv_runs": args.rv_runs,
                      "gd_steps_synthetic": args.gd_steps_synthetic, "gd_steps": args.gd_steps,
                      "left": [{"factor": r["factor"], "m": r["m"], **r["summary"], "paper": r["paper"]} for r in left],
                      "right": _a2_json(right)}))  # fmt: skip
    return {"left": left, "right": right}


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
    s.add_argument("--dims", type=int, nargs="+", default=[4], help="input dimensions (paper: 4 8 16)")
    s.add_argument("--m-gen", type=int, nargs="*", default=None, help="only these m_gen (paper: 2 4 8 16)")
    s.add_argument("--gd-runs", type=int, default=8, help="gradient-descent runs (paper: 8)")
    s.add_argument("--rv-runs", type=int, default=16, help="random-vertex runs (paper: 16 in H.1.3, 8 in the caption)")
    s.add_argument("--gls-runs", type=int, default=16, help="GLS runs (paper: 16 in the caption, 8 in H.1.3)")
    s.add_argument("--gd-steps", type=int, default=400_000)
    s.add_argument("--max-seconds", type=float, default=600.0, help="bound on one GLS run (checked between moves)")
    s.add_argument(
        "--methods", nargs="+", default=["gd", "random_vertex", "gls"], choices=["gd", "random_vertex", "gls"]
    )
    s.add_argument("--cells", nargs="+", type=_cell, default=None, help="only these d,m_gen,m cells, e.g. 8,16,32")
    s.set_defaults(func=cmd_table_a1)
    s = sub.add_parser("a1_readings", help="Table A1's random vertex and GD read several ways on the same data")
    s.add_argument("--cells", nargs="+", type=_cell, default=[(4, 2, 2), (4, 2, 4), (4, 4, 4), (4, 4, 8), (8, 8, 8)],
                   help="(d, m_gen, m) cells of Table A1, e.g. 4,2,2")  # fmt: skip
    s.add_argument("--runs", type=int, default=8, help="datasets a cell")
    s.add_argument("--gd-steps", type=int, default=400_000)
    s.set_defaults(func=cmd_a1_readings)
    s = sub.add_parser("table_a2", help="Table A2's Fashion-MNIST rows: gradient descent vs the random vertex")
    s.add_argument("--dims", type=int, nargs="+", default=[8], help="PCA components d (paper: 8 16)")
    s.add_argument("--n", type=int, nargs="+", default=[350], help="first N training examples (paper: 350 700)")
    s.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16], help="hidden units m (paper: 4 8 16 32 64)")
    s.add_argument("--gd-runs", type=int, default=2, help="gradient-descent seeds (paper: 8)")
    s.add_argument("--rv-runs", type=int, default=4, help="random vertices (paper: 16)")
    s.add_argument("--gd-steps", type=int, default=20_000, help="gradient steps (paper: 1,000,000)")
    s.add_argument("--gd-lr", type=float, default=1e-3, help="learning rate (paper: 1e-3)")
    s.set_defaults(func=cmd_table_a2)
    s = sub.add_parser("figure2", help="Figure 2: GD vs random vertex over overparameterisation and over width")
    s.add_argument("--factors", type=float, nargs="+", default=[1, 1.5, 2, 4, 8],
                   help="m / m_gen on synthetic d = m_gen = 8 (Table A1: 1 1.5 2 4 8)")  # fmt: skip
    s.add_argument("--widths", type=int, nargs="+", default=[4, 16, 64],
                   help="hidden units m on Fashion-MNIST d = 16, N = 700 (paper: 4 8 16 32 64)")  # fmt: skip
    s.add_argument("--gd-runs", type=int, default=2, help="gradient-descent runs (paper: 8)")
    s.add_argument("--rv-runs", type=int, default=4, help="random-vertex runs (paper: 8 synthetic, 16 Fashion-MNIST)")
    s.add_argument("--gd-steps-synthetic", type=int, default=20_000, help="GD steps, left panel (paper: 400,000)")
    s.add_argument("--gd-steps", type=int, default=20_000, help="GD steps, right panel (paper: 1,000,000)")
    s.add_argument("--gd-lr", type=float, default=1e-3, help="learning rate, right panel (paper: 1e-3)")
    s.add_argument("--png", default="zonotope_figure2.png", help="where the figure is saved")
    s.set_defaults(func=cmd_figure2)
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
