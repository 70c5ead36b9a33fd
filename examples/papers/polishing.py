"""Polishing experiments of "From Complexity to Clarity" (wedge products, convex refit, scaling).

    python examples/papers/polishing.py spiral    # Figure 8: SGD vs SGD + polishing vs the convex optimum
    python examples/papers/polishing.py fashion   # Figure 9 / Section 7.1 protocol on Fashion-MNIST pairs
    python examples/papers/polishing.py tabular   # Figure 10 protocol on a tabular regression

Small defaults; flags give the paper's sizes. A line per task as it ends says the time spent and an
estimate of the time left. Figures go under ``--out`` (default runs/polishing).
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
from pathlib import Path

import pytorch_lightning as pl
import torch
from typing_extensions import override

from lightning_poly.algorithms import polish_network
from lightning_poly.callbacks import PolishingCallback
from lightning_poly.data import spiral
from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
from lightning_poly.modules import ReLUMLPModule
from lightning_poly.pipelines import TaskProgress
from lightning_poly.plotting import plot_decision_regions
from lightning_poly.solvers.wedge_lasso import two_layer_objective, wedge_lasso


def _trainer(epochs: int, callbacks: list | None = None) -> pl.Trainer:
    return pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", callbacks=callbacks or [])  # fmt: skip


def spiral_experiment(
    n: int = 40, width: int = 50, epochs: int = 2000, beta: float = 1e-5, seed: int = 0
) -> dict[str, float]:
    """SGD (squared loss, weight decay beta), SGD + polishing, and the wedge Lasso optimum on the spiral."""
    x, y = spiral(n, seed=seed, signed=True)
    yf = y.double()
    pl.seed_everything(seed)
    model = ReLUMLPModule(
        input_dim=2, hidden=[width], loss="mse", optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=2 * beta
    )
    dm = ArrayDataModule(x, yf, task="regression", val_fraction=0.0, batch_size=0, seed=seed)
    _trainer(epochs).fit(model, dm)
    net = model.model.net.double()
    j_sgd = two_layer_objective(net, x, yf, beta)
    polished = copy.deepcopy(net)
    polish_network(polished, x.double(), yf, loss="squared", l2=beta)
    j_pol = two_layer_objective(polished, x, yf, beta)
    lasso = wedge_lasso(x, yf, beta)
    return {"sgd": j_sgd, "polished": j_pol, "optimum": lasso.objective, "neurons_optimum": float((abs(lasso.z) > 1e-6 * abs(lasso.z).max()).sum()),
            "_nets": (net, polished, lasso.network()), "_data": (x, y)}  # type: ignore[dict-item]  # fmt: skip


def cmd_spiral(args: argparse.Namespace) -> None:
    rows = []
    progress = TaskProgress(args.seeds)
    for seed in range(args.seeds):
        r = spiral_experiment(args.n, args.width, args.epochs, args.beta, seed)
        rows.append(r)
        print(progress.line(f"seed {seed}: objective SGD {r['sgd']:.5f}  SGD+polishing {r['polished']:.5f}  "
                            f"global optimum (wedge Lasso) {r['optimum']:.5f} with {int(r['neurons_optimum'])} neurons"),
              flush=True)  # fmt: skip
    net, pol, opt = rows[0]["_nets"]  # type: ignore[misc]
    x, y = rows[0]["_data"]  # type: ignore[misc]
    for name, m in (("sgd", net), ("polished", pol), ("optimum", opt)):
        fig = plot_decision_regions(lambda p, m=m: m(p.double())[:, 0], x, y, f"spiral: {name}")
        fig.savefig(args.out / f"spiral_{name}.png", dpi=100)


def _fashion_run(
    depth: int, lr: float, seed: int, epochs: int, pair: tuple[int, int], d: int
) -> tuple[float, float, float, float]:
    dm = FashionMNISTDataModule(task="pair", pair=pair, pca_components=d, val_fraction=0.2, batch_size=256, seed=seed)
    pl.seed_everything(seed)
    model = ReLUMLPModule(input_dim=d, hidden=[256] * (depth - 1), loss="bce", lr=lr)
    cb = PolishingCallback(accept="always", monitor="val_acc", max_samples=8000)
    _trainer(epochs, [cb]).fit(model, dm)
    h = cb.history[-1]
    x, y = dm.train_tensors()
    acc_train_after = float((model.predict_labels(x) == y).float().mean())
    return h["metric_before"], h["metric_after"], acc_train_after, h["objective_after"]


def cmd_fashion(args: argparse.Namespace) -> None:
    print(
        f"Fashion-MNIST pair (0 T-shirt vs 6 shirt), PCA-{args.d}, first layer polished, last layer refitted (logistic)"
    )
    progress = TaskProgress(2 * len(args.lrs) * args.seeds)
    for depth in (2, 3):
        for lr in args.lrs:
            res = []
            for s in range(args.seeds):
                res.append(_fashion_run(depth, lr, s, args.epochs, (0, 6), args.d))
                print(progress.line(f"{depth}-layer lr {lr:g} seed {s}: val acc {res[-1][0]:.4f} -> {res[-1][1]:.4f}"),
                      flush=True)  # fmt: skip
            vb, va = [r[0] for r in res], [r[1] for r in res]
            print(f"{depth}-layer lr {lr:g}: val acc before {statistics.mean(vb):.4f} ± {_sd(vb):.4f}  after "
                  f"{statistics.mean(va):.4f} ± {_sd(va):.4f}  (train acc after {statistics.mean(r[2] for r in res):.4f})")  # fmt: skip


def friedman1(n: int = 506, d: int = 13, noise: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Friedman #1 regression (Friedman 1991), a standard offline tabular benchmark: ``d`` uniform
    features of which 5 matter, ``y = 10 sin(pi x1 x2) + 20 (x3 - 0.5)^2 + 10 x4 + 5 x5 + noise``.
    Shaped like Boston Housing (506 x 13), which is not shipped here."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = 10 * torch.sin(math.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    return x.float(), (y + noise * torch.randn(n, generator=g, dtype=torch.float64)).float()


class _Cosines(pl.Callback):
    """Record |cos| between first-layer neurons and (augmented) samples before polishing (Figure 10b)."""

    def __init__(self, out: list[torch.Tensor]) -> None:
        self.out = out

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        lin = pl_module.model.net[0]  # type: ignore[union-attr]
        x = trainer.datamodule.train_tensors()[0]  # type: ignore[union-attr]
        xt = torch.cat([x, torch.ones(len(x), 1)], 1)
        wt = torch.cat([lin.weight, lin.bias[:, None]], 1).detach()
        self.out.append(((xt @ wt.T) / (xt.norm(dim=1, keepdim=True) * wt.norm(dim=1))).abs().flatten())


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
            pl.seed_everything(seed)
            model = ReLUMLPModule(input_dim=13, hidden=[width], loss="mse", lr=1e-2)
            cb = PolishingCallback(accept="always", monitor="val_loss")
            _trainer(args.epochs, [_Cosines(cos_all), cb]).fit(model, dm)
            before.append(cb.history[-1]["metric_before"])
            after.append(cb.history[-1]["metric_after"])
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
