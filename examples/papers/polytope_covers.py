"""Polytope-basis covers of synthetic sets ("Defining Neural Network Architecture through Polytope Structures").

    python examples/papers/polytope_covers.py swiss_roll   # Algorithm 2 from 2-320-16-1, Algorithm 3 from 2-50-1, Algorithm 4
    python examples/papers/polytope_covers.py shapes       # Section 4.1: two triangles, hexagon with a pentagonal hole
    python examples/papers/polytope_covers.py remark_c3    # XOR, two circles, two moons by Algorithm 4 (Remark C.3)

Each prints the architecture (Theorem 3.4: d -> faces -> polytopes -> 1) of the cover found, pruned by
:func:`~lightning_poly.algorithms.prune_cover` (no prediction on the data changes), beside the paper's, and
saves the cover figures (paper Figures 4, 5, 9, 10, 14) under ``--out`` (default runs/covers). A line per
task reports the time spent and an estimate of the time left.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from lightning_poly.algorithms import prune_cover, refine_cover, two_layer_cover
from lightning_poly.data import make_synthetic
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.geometry import PolytopeBasisCover
from lightning_poly.modules import ReLUMLPModule
from lightning_poly.pipelines import (
    CoverTraining,
    PolytopeTraining,
    TaskProgress,
    compressed_cover,
    quiet_lightning,
    quiet_trainer,
    sequential_cover,
)
from lightning_poly.plotting import plot_cover

PAPER = {
    "swiss_roll/algorithm 2": "2-72-16-1", "swiss_roll/algorithm 3": "68 polytopes (faces unknown)",
    "swiss_roll/algorithm 4": "2-17-4-1", "two_triangles": "2-6-2-1", "hexagon_with_hole": "2-11-2-1",
    "xor": "2-2-1", "two_circles": "2-4-1", "two_moons": "2-4-2-1",
}  # fmt: skip


def arch(cover: PolytopeBasisCover) -> str:
    """Theorem 3.4's architecture; one polytope is the two-layer ``d -> m -> 1`` (Proposition 3.1)."""
    d, m, k, _ = cover.architecture()
    return f"{d}-{m}-1" if k == 1 else f"{d}-{m}-{k}-1"


def _row(name: str, cover: PolytopeBasisCover, acc: float, seconds: float, extra: str = "") -> str:
    return f"{name:<26} {arch(cover):<14} {PAPER.get(name, '-'):<14} {acc:>9.4f} {seconds:>7.1f}s  {extra}"


class _Table:
    """The rows of one command: a progress line as each task ends, the table at the end."""

    def __init__(self, tasks: int) -> None:
        self.progress = TaskProgress(tasks)
        self.rows: list[str] = []

    def add(self, row: str) -> None:
        self.rows.append(row)
        print(self.progress.line(" ".join(row.split())), flush=True)

    def print(self) -> None:
        print(f"{'data / algorithm':<26} {'ours':<14} {'paper':<14} {'accuracy':>9} {'time':>8}")
        for row in self.rows:
            print(row)


def _save(cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor, title: str, path: Path) -> None:
    plot_cover(cover, x, y, title=title).savefig(path, dpi=90)


def cmd_swiss_roll(args: argparse.Namespace) -> None:
    x, y = make_synthetic("swiss_roll", n_samples=args.n, seed=0)
    x = x.float()
    table = _Table(3 if args.algorithm4 else 2)
    fit = compressed_cover(x, y, CoverTraining(widths=[args.width] * args.pieces, epochs=args.epochs))
    cover = fit.cover
    table.add(_row("swiss_roll/algorithm 2", cover, fit.accuracy, fit.seconds, f"before pruning {arch(fit.raw)}"))
    _save(cover, x, y, f"Algorithm 2: {arch(cover)}", args.out / "swiss_roll_algorithm2.png")
    # Algorithm 3 from a trained two-layer network 2-50-1
    pl.seed_everything(0, verbose=False)
    mlp = ReLUMLPModule(input_dim=2, hidden=[50], loss="bce", lr=1e-2)
    start = time.perf_counter()
    quiet_trainer(args.epochs).fit(mlp, ArrayDataModule(x, y, val_fraction=0.0, batch_size=100))
    level = two_layer_cover(mlp.relu_network(), x)
    seconds = time.perf_counter() - start
    acc = level.accuracy(x, y)
    table.add(
        f"{'swiss_roll/algorithm 3':<26} {f'{len(level)} polytopes':<14} {'68 polytopes':<14} {acc:>9.4f} {seconds:>7.1f}s"
    )
    if args.algorithm4:
        start = time.perf_counter()
        training = PolytopeTraining(width=4, epochs=args.alg4_epochs, class_weights=(1.0, args.lam1))
        raw = sequential_cover(
            x, y, training, max_width=args.max_width, width_step=2, restarts=1, max_polytopes=args.max_polytopes
        )
        seq = prune_cover(raw, x)
        extra = f"{raw.meta['reason']}; before pruning {arch(raw)}"
        table.add(_row("swiss_roll/algorithm 4", seq, seq.accuracy(x, y), time.perf_counter() - start, extra))
        _save(seq, x, y, f"Algorithm 4: {arch(seq)}", args.out / "swiss_roll_algorithm4.png")
    table.print()


def cmd_shapes(args: argparse.Namespace) -> None:
    table = _Table(2 * len(args.losses))
    for name, signs in (("two_triangles", [1, 1]), ("hexagon_with_hole", [1, -1])):
        x, y = make_synthetic(name, n_samples=args.n, seed=0)
        x = x.float()
        for loss in args.losses:
            training = CoverTraining(
                widths=[args.width] * 2, signs=signs, epochs=args.epochs, seed=args.seed, loss=loss
            )
            fit = compressed_cover(x, y, training)
            cover = fit.cover
            row = _row(name, cover, fit.accuracy, fit.seconds, f"loss {loss}, 2 pieces x {args.width} neurons")
            if cover.accuracy(x, y) < 1.0 and args.refine_margin > 0:  # our addition: the last points by margin
                table.rows.append(row)
                start = time.perf_counter()
                cover, rep = refine_cover(cover, x.double(), y, margin=args.refine_margin)
                cover = prune_cover(cover, x)
                row = _row(f"{name} + refine_cover", cover, cover.accuracy(x, y), time.perf_counter() - start,
                           f"{rep.errors_before} -> {rep.errors_after} errors ({rep.reason})")  # fmt: skip
            table.add(row)
            _save(cover, x, y, f"{name} ({loss}): {arch(cover)}", args.out / f"{name}_{loss}.png")
    table.print()


def cmd_remark_c3(args: argparse.Namespace) -> None:
    table = _Table(3)
    for name in ("xor", "two_circles", "two_moons"):
        x, y = make_synthetic(name, n_samples=args.n, seed=0)
        start = time.perf_counter()
        training = PolytopeTraining(width=2, epochs=args.epochs)
        raw = sequential_cover(x.float(), y, training, max_width=12, max_polytopes=4)
        cover = prune_cover(raw, x.float())
        extra = f"algorithm 4, {raw.meta['reason']}; before pruning {arch(raw)}"
        table.add(_row(name, cover, cover.accuracy(x.float(), y), time.perf_counter() - start, extra))
        _save(cover, x, y, f"{name}: {arch(cover)}", args.out / f"{name}_algorithm4.png")
    table.print()


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
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    args.func(args)


if __name__ == "__main__":
    main()
