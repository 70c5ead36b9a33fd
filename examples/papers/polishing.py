"""Polishing experiments of "From Complexity to Clarity" (wedge products, convex refit, scaling).

    python examples/papers/polishing.py spiral    # Figure 8: SGD vs SGD + polishing vs certified bounds
    python examples/papers/polishing.py regions   # Figures 11-12: optimal l1 vs l2 decision regions across lambda
    python examples/papers/polishing.py fashion   # Figure 9 / Section 7.1 protocol on Fashion-MNIST pairs
    python examples/papers/polishing.py tabular   # Figure 10 protocol on a tabular regression
    python examples/papers/polishing.py cnn       # Figure 9a: the four-layer CNN on Fashion-MNIST pullover vs coat

Small defaults, except ``cnn``, whose defaults are Figure 9a's protocol (20 epochs, batch 2048, 5 seeds, all
12,000 training images; about 53 minutes at one thread on a 2-core CPU; ``--n-train`` makes it shorter);
flags give the paper's sizes. A line per task as it ends says the time spent and an estimate of the time
left. Figures go under ``--out`` (default runs/polishing).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from lightning_poly.algorithms import PolishEvaluation, polish_cnn_and_evaluate, polish_network
from lightning_poly.data import friedman1, spiral
from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.pipelines import (
    SPIRAL_TRAINING,
    MLPTraining,
    TaskProgress,
    compare_to_optimum,
    quiet_lightning,
    quiet_trainer,
    train_and_polish,
)
from lightning_poly.plotting import grid_2d, plot_decision_regions
from lightning_poly.solvers.exact_l1 import l1_network_optimum
from lightning_poly.solvers.refit import head_metrics
from lightning_poly.solvers.wedge_lasso import two_layer_objective, wedge_lasso


def cmd_spiral(args: argparse.Namespace) -> None:
    progress = TaskProgress(args.seeds)
    for seed in range(args.seeds):
        x, y = spiral(args.n, seed=seed, signed=True)
        training = replace(SPIRAL_TRAINING, hidden=(args.width,), epochs=args.epochs, seed=seed)
        r = compare_to_optimum(x, y.double(), args.beta, training)
        ridge = copy.deepcopy(r.networks["sgd"])  # the earlier procedure, for comparison: ridge refit, weight beta
        polish_network(ridge, x.double(), y.double(), loss="squared", refit_penalty="ridge", l2=args.beta)
        r.networks["polished_ridge"] = ridge
        print(progress.line(f"seed {seed}: J (p = 2) SGD {r.sgd:.5f}  SGD+polishing {r.polished:.5f}  "
                            f"optimum in [{r.lower_bound:.5f}, {r.upper_bound:.5f}] (certified p = 1 lower bound, "
                            f"wedge Lasso upper bound, {r.upper_bound_neurons} neurons; local dispersion "
                            f"{r.epsilon:.3f}); J_1 (p = 1) SGD {r.sgd_l1:.5f}  SGD+polishing(p = 1) "
                            f"{r.polished_l1:.5f}  certified optimum {r.l1_optimum:.5f} (gap {r.l1_gap:.1e}); "
                            f"earlier ridge-refit polishing J {two_layer_objective(ridge, x, y.double(), args.beta):.5f}"),
              flush=True)  # fmt: skip
        if seed == 0:
            for name, m in r.networks.items():
                fig = plot_decision_regions(lambda p, m=m: m(p.double())[:, 0], x, y, f"spiral: {name}")
                fig.savefig(args.out / f"spiral_{name}.png", dpi=100)


def _optimal_networks(x: torch.Tensor, y: torch.Tensor, lam: float) -> dict[str, nn.Sequential]:
    """Problem (2) with the paper's lam: p = 1 exactly (Theorem 16, Lasso weight 2 lam) and p = 2 by the wedge Lasso
    (Theorem 3: an epsilon-optimal upper bound; J = MSE + lam ||theta||^2)."""
    return {"l1": l1_network_optimum(x, y, beta=2 * lam).network, "l2": wedge_lasso(x, y, lam).network(tol=1e-6)}


def cmd_regions(args: argparse.Namespace) -> None:
    """Section 4.2 (Figures 11-12): decision regions of the optimal l1- and l2-regularised networks across lam."""
    import matplotlib.pyplot as plt

    xor = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    sets = {"xor": (xor, torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64))}
    xs, ys = spiral(args.n, seed=0, signed=True)
    sets["spiral"] = (xs.double(), ys.double())
    for name, (x, y) in sets.items():
        xx, yy, pts = grid_2d(x.float(), 200)
        fig, axes = plt.subplots(2, len(args.lams), figsize=(3 * len(args.lams), 6), squeeze=False)
        for col, lam in enumerate(args.lams):
            nets = _optimal_networks(x, y, lam)
            scores = {p: net(pts.double())[:, 0].detach() for p, net in nets.items()}
            agree = float(((scores["l1"] > 0) == (scores["l2"] > 0)).double().mean())
            for row, (p, net) in enumerate(nets.items()):
                ax = axes[row, col]
                s = scores[p].reshape(xx.shape).float()
                ax.contourf(xx, yy, (s > 0).float(), levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
                ax.contour(xx, yy, s, levels=[0.0], colors="k", linewidths=1.0)
                w, b = net[0].weight.detach(), net[0].bias.detach()
                for k in range(len(w)):  # breaklines w.x + b = 0 of the optimal neurons
                    ax.contour(xx, yy, (pts.double() @ w[k] + b[k]).reshape(xx.shape).float(), levels=[0.0],
                               colors="gray", linestyles="dashed", linewidths=0.6)  # fmt: skip
                ax.scatter(x[:, 0], x[:, 1], c=(y > 0).float(), cmap="coolwarm", edgecolors="k", s=18)
                ax.set_title(f"{p}, lam = {lam:g}: {len(w)} neurons", fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
            print(f"{name} lam {lam:g}: l1 {len(nets['l1'][0].weight)} neurons, l2 {len(nets['l2'][0].weight)} "
                  f"neurons; decisions agree on {agree:.1%} of the plotted square")  # fmt: skip
        fig.tight_layout()
        fig.savefig(args.out / f"regions_{name}.png", dpi=90)
        plt.close(fig)


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


class FourLayerCNN(pl.LightningModule):
    """Figure 9a's network on 1x28x28 images, trained with cross-entropy and AdamW (default hyperparameters but lr).

    Reading of "two convolutional layers with 3x3x32 filters and two fully connected layers with 512 hidden
    neurons" in a "four-layer" network: ``Conv2d(1, 32, 3)``, ReLU, ``Conv2d(32, 32, 3)``, ReLU, flatten,
    ``Linear(18432, 512)``, ReLU, ``Linear(512, 2)``: four layers with weights, the two dense ones joined by
    the 512 hidden neurons, a 2-class output. No padding and no pooling (the paper names none);
    ``pool=True`` puts a ``MaxPool2d(2)`` after the second ReLU (``Linear(4608, 512)``).
    """

    def __init__(self, lr: float = 1e-3, pool: bool = False) -> None:
        super().__init__()
        self.lr = lr
        side = 12 if pool else 24
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), *([nn.MaxPool2d(2)] if pool else []),
            nn.Flatten(), nn.Linear(32 * side * side, 512), nn.ReLU(), nn.Linear(512, 2),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return F.cross_entropy(self(batch[0]), batch[1])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)


def _scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Cross-entropy and accuracy of the model's forward (in eval mode), as ``polish_cnn_and_evaluate`` scores."""
    return head_metrics(module_outputs(model, x), y, "cross_entropy")


def cmd_cnn(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    quiet_lightning()
    dm = FashionMNISTDataModule(task="pair", pair=(2, 4), flatten=False, val_fraction=0.0, seed=0)
    x, y = dm.train_tensors()  # the 12,000 training images, in an order drawn by seed 0
    x, y = x[: args.n_train], y[: args.n_train]
    test = dm.data_test.tensors  # type: ignore[union-attr]
    xv, yv = test[0][: args.n_val], test[1][: args.n_val]
    arch = "conv 3x3x32, conv 3x3x32" + (", max-pool 2" if args.pool else "") + ", dense 512, dense 2"
    print(f"Fashion-MNIST pullover (2) vs coat (4): {len(x)} training images, validation: {len(xv)} test images; "
          f"CNN {arch}; AdamW lr {args.lr:g}, {args.epochs} epochs, batch {args.batch_size}, {args.threads} thread(s); "
          f"first conv layer polished, last layer refitted (cross-entropy, l2 {args.l2:g})")  # fmt: skip
    progress = TaskProgress(args.seeds)
    rows: list[dict[str, Any]] = []
    for s in range(args.seeds):
        pl.seed_everything(s, verbose=False)
        module = FourLayerCNN(args.lr, args.pool)
        data = ArrayDataModule(x, y, val_fraction=0.0, batch_size=args.batch_size, seed=s)  # order drawn by seed s
        data.setup("fit")
        quiet_trainer(args.epochs, accelerator="cpu").fit(module, data.train_dataloader())
        net = module.net
        control = copy.deepcopy(net)
        val_before = _scores(net, xv, yv)
        ev = polish_cnn_and_evaluate(net, x, y, layers=(0,), loss="cross_entropy", l2=args.l2, seed=s)
        ref = polish_cnn_and_evaluate(control, x, y, layers=(), loss="cross_entropy", l2=args.l2, seed=s)
        row = _cnn_row(s, ev, ref, val_before, _scores(net, xv, yv), _scores(control, xv, yv))
        rows.append(row)
        b, a = row["before"], row["after"]
        print(progress.line(f"seed {s}: train acc {b['train_acc']:.4f} -> {a['train_acc']:.4f} (loss "
                            f"{b['train_loss']:.4f} -> {a['train_loss']:.4f}), val acc {b['val_acc']:.4f} -> "
                            f"{a['val_acc']:.4f} (loss {b['val_loss']:.4f} -> {a['val_loss']:.4f})"), flush=True)  # fmt: skip
        print(f"    refit only (no polishing): train acc {row['refit_only']['train_acc']:.4f}, val acc "
              f"{row['refit_only']['val_acc']:.4f}; refit objective: trained head {row['objective_trained']:.6f}, "
              f"refit only {row['objective_refit_only']:.6f}, polished {row['objective_polished']:.6f} (grad norm "
              f"{row['grad_norm_polished']:.1e}); accept='if_better' on train loss: "
              f"{'kept' if row['kept_if_better'] else 'undone'}", flush=True)  # fmt: skip
    summary = _cnn_summary(rows)
    print(f"summary over {len(rows)} seeds, polish + refit: train acc change {summary['train_acc_change']:+.4f} ± "
          f"{summary['train_acc_change_sd']:.4f} (higher in {summary['train_improved']}/{len(rows)}), val acc change "
          f"{summary['val_acc_change']:+.4f} ± {summary['val_acc_change_sd']:.4f} (higher in "
          f"{summary['val_improved']}/{len(rows)}); refit only: train {summary['refit_only_train_acc_change']:+.4f}, "
          f"val {summary['refit_only_val_acc_change']:+.4f}; kept by accept='if_better' (train loss): "
          f"{summary['kept_if_better']}/{len(rows)}")  # fmt: skip
    options = ("n_train", "n_val", "epochs", "batch_size", "lr", "l2", "pool", "threads")
    print(json.dumps({"experiment": "cnn", "pair": [2, 4], **{k: getattr(args, k) for k in options},
                      "n_train": len(x), "n_val": len(xv), "seeds": rows, **summary}))  # fmt: skip
    _plot_cnn(rows, args.out / "cnn_accuracy.png")


def _cnn_row(
    seed: int,
    ev: PolishEvaluation,
    ref: PolishEvaluation,
    val_before: dict[str, float],
    val_after: dict[str, float],
    val_refit: dict[str, float],
) -> dict[str, Any]:
    """One seed's figures: ``ev`` the polish and refit, ``ref`` the refit alone, both scored on the training data."""

    def both(train: dict[str, float], val: dict[str, float]) -> dict[str, float]:
        return {"train_acc": train["acc"], "train_loss": train["loss"], "val_acc": val["acc"], "val_loss": val["loss"]}

    return {
        "seed": seed, "before": both(ev.before, val_before), "after": both(ev.after, val_after),
        "refit_only": both(ref.after, val_refit), "objective_trained": ev.report.objective_before,
        "objective_refit_only": ref.report.objective_after, "objective_polished": ev.report.objective_after,
        "grad_norm_refit_only": ref.report.grad_norm, "grad_norm_polished": ev.report.grad_norm,
        "kept_if_better": ev.improved("loss"),  # PolishingCallback(accept="if_better", monitor="train_loss")
    }  # fmt: skip


def _cnn_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds of the accuracy changes; how many seeds improved."""

    def change(split: str, after: str = "after") -> list[float]:
        return [r[after][f"{split}_acc"] - r["before"][f"{split}_acc"] for r in rows]

    out: dict[str, Any] = {}
    for split in ("train", "val"):
        d = change(split)
        out |= {f"{split}_acc_change": statistics.mean(d), f"{split}_acc_change_sd": _sd(d),
                f"{split}_improved": sum(v > 0 for v in d)}  # fmt: skip
        r = change(split, "refit_only")
        out |= {f"refit_only_{split}_acc_change": statistics.mean(r), f"refit_only_{split}_acc_change_sd": _sd(r)}
    out["kept_if_better"] = sum(r["kept_if_better"] for r in rows)
    return out


def _plot_cnn(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=False)
    seeds = [r["seed"] for r in rows]
    for ax, split in zip(axes, ("train", "val")):
        for key, label, marker in (("before", "AdamW", "o"), ("after", "polish + refit", "s"),
                                   ("refit_only", "refit only", "^")):  # fmt: skip
            ax.plot(seeds, [r[key][f"{split}_acc"] for r in rows], marker, label=label)
        ax.set_xlabel("seed")
        ax.set_ylabel(f"{split} accuracy")
        ax.set_xticks(seeds)
    axes[0].legend(fontsize=8)
    fig.suptitle("four-layer CNN, Fashion-MNIST pullover vs coat")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


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
    s = sub.add_parser("regions")
    s.add_argument("--n", type=int, default=40, help="spiral points")
    s.add_argument("--lams", type=float, nargs="+", default=[1e-1, 1e-2, 1e-3, 1e-4])
    s = sub.add_parser("fashion")
    s.add_argument("--seeds", type=int, default=2, help="paper: 5")
    s.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 1e-2])
    s.add_argument("--epochs", type=int, default=5, help="paper: 20")
    s.add_argument("--d", type=int, default=64, help="PCA components (raw 784 pixels: slower)")
    s = sub.add_parser("tabular")
    s.add_argument("--widths", type=int, nargs="+", default=[32, 128])
    s.add_argument("--seeds", type=int, default=5, help="paper: 100")
    s.add_argument("--epochs", type=int, default=30, help="paper: 100")
    s = sub.add_parser("cnn")
    s.add_argument("--seeds", type=int, default=5, help="seeds 0..SEEDS-1 (paper: 5 trials)")
    s.add_argument("--epochs", type=int, default=20, help="paper: 20")
    s.add_argument("--batch-size", type=int, default=2048, help="paper: 2048")
    s.add_argument("--n-train", type=int, default=12_000, help="training images (all: 12,000)")
    s.add_argument("--n-val", type=int, default=2_000, help="validation images, from the test split (all: 2,000)")
    s.add_argument("--lr", type=float, default=1e-3, help="AdamW's learning rate (its default)")
    s.add_argument("--l2", type=float, default=1e-6, help="ridge weight of the convex refit")
    s.add_argument("--pool", action="store_true", help="max-pool 2x2 after the second convolution")
    s.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    commands = {"spiral": cmd_spiral, "regions": cmd_regions, "fashion": cmd_fashion, "tabular": cmd_tabular}
    {**commands, "cnn": cmd_cnn}[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
