"""Polishing experiments of "From Complexity to Clarity" (wedge products, convex refit, scaling).

    python examples/papers/polishing.py spiral    # Figure 8: SGD vs SGD + polishing vs the convex optimum
    python examples/papers/polishing.py fashion   # Figure 9 / Section 7.1 protocol on Fashion-MNIST pairs
    python examples/papers/polishing.py tabular   # Figure 10 protocol on a tabular regression

Small defaults; flags give the paper's sizes. A line per task as it ends says the time spent and an
estimate of the time left. Figures go under ``--out`` (default runs/polishing).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

import torch

from lightning_poly.data import friedman1, spiral
from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
from lightning_poly.pipelines import SPIRAL_TRAINING, MLPTraining, TaskProgress, compare_to_optimum, train_and_polish
from lightning_poly.plotting import plot_decision_regions


def cmd_spiral(args: argparse.Namespace) -> None:
    progress = TaskProgress(args.seeds)
    for seed in range(args.seeds):
        x, y = spiral(args.n, seed=seed, signed=True)
        training = replace(SPIRAL_TRAINING, hidden=(args.width,), epochs=args.epochs, seed=seed)
        r = compare_to_optimum(x, y.double(), args.beta, training)
        print(progress.line(f"seed {seed}: objective SGD {r.sgd:.5f}  SGD+polishing {r.polished:.5f}  "
                            f"global optimum (wedge Lasso) {r.optimum:.5f} with {r.optimum_neurons} neurons"),
              flush=True)  # fmt: skip
        if seed == 0:
            for name, m in r.networks.items():
                fig = plot_decision_regions(lambda p, m=m: m(p.double())[:, 0], x, y, f"spiral: {name}")
                fig.savefig(args.out / f"spiral_{name}.png", dpi=100)


def cmd_fashion(args: argparse.Namespace) -> None:
    print(
        f"Fashion-MNIST pair (0 T-shirt vs 6 shirt), PCA-{args.d}, first layer polished, last layer refitted (logistic)"
    )
    progress = TaskProgress(2 * len(args.lrs) * args.seeds)
    for depth in (2, 3):
        for lr in args.lrs:
            res = []
            for s in range(args.seeds):
                dm = FashionMNISTDataModule(task="pair", pair=(0, 6), pca_components=args.d, val_fraction=0.2,
                                            batch_size=256, seed=s)  # fmt: skip
                training = MLPTraining(hidden=[256] * (depth - 1), loss="bce", lr=lr, epochs=args.epochs, seed=s)
                run = train_and_polish(dm, args.d, training, monitor="val_acc", max_samples=8000)
                x, y = dm.train_tensors()
                res.append((run.before, run.after, float((run.module.predict_labels(x) == y).float().mean())))
                print(progress.line(f"{depth}-layer lr {lr:g} seed {s}: val acc {run.before:.4f} -> {run.after:.4f}"),
                      flush=True)  # fmt: skip
            vb, va = [r[0] for r in res], [r[1] for r in res]
            print(f"{depth}-layer lr {lr:g}: val acc before {statistics.mean(vb):.4f} ± {_sd(vb):.4f}  after "
                  f"{statistics.mean(va):.4f} ± {_sd(va):.4f}  (train acc after {statistics.mean(r[2] for r in res):.4f})")  # fmt: skip


def _sd(v: list[float]) -> float:
    return statistics.pstdev(v) if len(v) > 1 else 0.0


def cmd_tabular(args: argparse.Namespace) -> None:
    x, y = friedman1()
    y = (y - y.mean()) / y.std()
    print("Friedman #1 (506 x 13, standardised target); two-layer nets, AdamW-like Adam lr 1e-2, batch 16")
    cos_all = []
    progress = TaskProgress(len(args.widths) * args.seeds)
    for width in args.widths:
        before, after = [], []
        for seed in range(args.seeds):
            dm = ArrayDataModule(x, y, task="regression", val_fraction=0.2, batch_size=16, seed=seed)
            training = MLPTraining(hidden=[width], loss="mse", lr=1e-2, epochs=args.epochs, seed=seed)
            run = train_and_polish(dm, 13, training, monitor="val_loss", cosines=True)
            before.append(run.before)
            after.append(run.after)
            cos_all.append(run.cosines.flatten())  # type: ignore[union-attr]
            print(progress.line(f"width {width} seed {seed}: val MSE {before[-1]:.4f} -> {after[-1]:.4f}"), flush=True)
        print(f"width {width:4d}: val MSE before {statistics.mean(before):.4f} ± {_sd(before):.4f}  after "
              f"{statistics.mean(after):.4f} ± {_sd(after):.4f}  (improved in {sum(a < b for a, b in zip(after, before))}/{len(after)})")  # fmt: skip
    c = torch.cat(cos_all)
    qs = [float(torch.quantile(c, q)) for q in (0.01, 0.1, 0.5)]
    print(f"|cos(neuron, sample)| before polishing: 1% {qs[0]:.1e}, 10% {qs[1]:.1e}, median {qs[2]:.2f}")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(torch.log10(c.clamp_min(1e-8)).numpy(), bins=60)
    ax.set_xlabel("log10 |cos(neuron, sample)| before polishing")
    ax.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(args.out / "tabular_cosines.png", dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/polishing"))
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("spiral")
    s.add_argument("--n", type=int, default=40)
    s.add_argument("--width", type=int, default=50)
    s.add_argument("--epochs", type=int, default=2000)
    s.add_argument("--beta", type=float, default=1e-5)
    s.add_argument("--seeds", type=int, default=3)
    s = sub.add_parser("fashion")
    s.add_argument("--seeds", type=int, default=2, help="paper: 5")
    s.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 1e-2])
    s.add_argument("--epochs", type=int, default=5, help="paper: 20")
    s.add_argument("--d", type=int, default=64, help="PCA components (raw 784 pixels: slower)")
    s = sub.add_parser("tabular")
    s.add_argument("--widths", type=int, nargs="+", default=[32, 128])
    s.add_argument("--seeds", type=int, default=5, help="paper: 100")
    s.add_argument("--epochs", type=int, default=30, help="paper: 100")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    {"spiral": cmd_spiral, "fashion": cmd_fashion, "tabular": cmd_tabular}[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
