"""Polytope-basis covers of synthetic sets ("Defining Neural Network Architecture through Polytope Structures").

    python examples/papers/polytope_covers.py swiss_roll   # Algorithm 2 from 2-320-16-1, Algorithm 3 from 2-50-1, Algorithm 4
    python examples/papers/polytope_covers.py shapes       # Section 4.1: two triangles, hexagon with a pentagonal hole
    python examples/papers/polytope_covers.py remark_c3    # XOR, two circles, two moons by Algorithm 4 (Remark C.3)
    python examples/papers/polytope_covers.py figures12_13 # the same sets by Algorithms 2 (2-80-8-1) and 3 (2-20-1)

Each prints the architecture (Theorem 3.4: d -> faces -> polytopes -> 1) of the cover found, pruned by
:func:`~lightning_poly.algorithms.prune_cover` (no prediction on the data changes), beside the paper's, and
saves the cover figures (paper Figures 4, 5, 9, 10, 12-14) under ``--out`` (default runs/covers). A line per
task reports the time spent and an estimate of the time left.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lightning_poly.pipelines import TaskProgress, quiet_lightning
from lightning_poly.pipelines.synthetic_covers import (
    CoverStudyRow,
    figures12_13_study,
    remark_c3_study,
    shapes_study,
    swiss_roll_study,
)


def _line(r: CoverStudyRow) -> str:
    return f"{r.name:<26} {r.ours:<14} {r.paper:<14} {r.accuracy:>9.4f} {r.seconds:>7.1f}s  {r.extra}"


def _run(study: Callable[..., list[CoverStudyRow]], tasks: int, **kwargs: Any) -> None:
    progress = TaskProgress(tasks)
    rows = study(on_row=lambda r: print(progress.line(" ".join(_line(r).split())), flush=True), **kwargs)
    print(f"{'data / algorithm':<26} {'ours':<14} {'paper':<14} {'accuracy':>9} {'time':>8}")
    for r in rows:
        print(_line(r))


def cmd_swiss_roll(args: argparse.Namespace) -> None:
    _run(swiss_roll_study, 3 if args.algorithm4 else 2, n=args.n, pieces=args.pieces, width=args.width,
         epochs=args.epochs, algorithm4=args.algorithm4, max_width=args.max_width, max_polytopes=args.max_polytopes,
         alg4_epochs=args.alg4_epochs, lam1=args.lam1, out=args.out)  # fmt: skip


def cmd_shapes(args: argparse.Namespace) -> None:
    _run(shapes_study, 2 * len(args.losses), n=args.n, width=args.width, epochs=args.epochs, seed=args.seed,
         losses=args.losses, refine_margin=args.refine_margin, out=args.out)  # fmt: skip


def cmd_remark_c3(args: argparse.Namespace) -> None:
    _run(remark_c3_study, 3, n=args.n, epochs=args.epochs, out=args.out)


def cmd_figures12_13(args: argparse.Namespace) -> None:
    _run(figures12_13_study, 6, n=args.n, epochs=args.epochs, paper_protocol=args.paper_protocol, out=args.out)


def main() -> None:
    quiet_lightning()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/covers"))
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("swiss_roll")
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--pieces", type=int, default=16)
    s.add_argument("--width", type=int, default=20)
    s.add_argument("--epochs", type=int, default=500)
    s.add_argument("--no-algorithm4", dest="algorithm4", action="store_false")
    s.add_argument("--max-width", type=int, default=12)
    s.add_argument("--max-polytopes", type=int, default=6)
    s.add_argument("--alg4-epochs", type=int, default=600, help="epochs of each Algorithm 4 step")
    s.add_argument(
        "--lam1", type=float, default=100.0,
        help="lambda_1 of (12) in Algorithm 4 (paper: 10; on this roll 10 makes a constant T the minimiser, see docs/results.md)",
    )  # fmt: skip
    s.set_defaults(func=cmd_swiss_roll)
    s = sub.add_parser("shapes")
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--width", type=int, default=10)
    s.add_argument("--epochs", type=int, default=600)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--losses", nargs="+", default=["bce", "mse"])
    s.add_argument("--refine-margin", type=float, default=0.03, help="refine_cover's margin (0: no refinement)")
    s.set_defaults(func=cmd_shapes)
    s = sub.add_parser("remark_c3")
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--epochs", type=int, default=300)
    s.set_defaults(func=cmd_remark_c3)
    s = sub.add_parser("figures12_13")
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--epochs", type=int, default=300)
    s.add_argument("--paper-protocol", action="store_true", help="plain SGD, no sign projection, every 1,000 steps")
    s.set_defaults(func=cmd_figures12_13)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    args.func(args)


if __name__ == "__main__":
    main()
