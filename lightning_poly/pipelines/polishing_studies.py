"""The wedge-products paper's polishing studies (Figures 8-12).

* :func:`spiral_study`: Figure 8 over seeds (:func:`~lightning_poly.pipelines.compare_to_optimum`);
* :func:`l1_l2_regions_study`: Section 4.2's optimal l1 vs l2 decision regions (Figures 11-12);
* :func:`fashion_mlp_study`: Figure 9 / Section 7.1's protocol on a Fashion-MNIST pair (two- and three-layer MLPs);
* :func:`tabular_study`: Figure 10a's protocol on a tabular regression (Friedman #1 in Boston Housing's place);
* :func:`cnn_study`: Figure 9a, :func:`four_layer_cnn` on Fashion-MNIST pullover vs coat.

Each study calls ``on_row`` with a row (a dict) as each seed ends, so a script prints as it goes.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import nn

from lightning_poly._validation import check_choice, check_int
from lightning_poly.algorithms.polishing.cnn import polish_cnn_and_evaluate
from lightning_poly.algorithms.polishing.evaluation import PolishEvaluation
from lightning_poly.algorithms.polishing.mlp import polish_network
from lightning_poly.data import boston_housing, friedman1, spiral
from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
from lightning_poly.modules.mlp import OptimizerName
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.pipelines.polishing import SPIRAL_TRAINING, MLPTraining, compare_to_optimum, train_and_polish
from lightning_poly.pipelines.training import train_network
from lightning_poly.plotting import grid_2d
from lightning_poly.solvers.exact_l1 import l1_network_optimum
from lightning_poly.solvers.refit import RefitPenalty, head_metrics
from lightning_poly.solvers.wedge_lasso import two_layer_objective, wedge_lasso

__all__ = [
    "cnn_study",
    "fashion_mlp_study",
    "four_layer_cnn",
    "l1_l2_regions_study",
    "plot_cnn_study",
    "spiral_study",
    "tabular_study",
]

Row = dict[str, Any]
OnRow = Callable[[Row], None] | None


def spiral_study(
    *, n: int, width: int, epochs: int, beta: float, seeds: int, out: Path | None = None, on_row: OnRow = None
) -> list[Row]:
    """Figure 8 over seeds: :func:`~lightning_poly.pipelines.compare_to_optimum` on the spiral of ``n`` points
    (SGD, polished by the paper's refit, the certified bracket on the optimum, the p = 1 comparison), plus the
    earlier ridge-refit polishing (weight beta) of the same SGD network for comparison; seed 0's decision regions
    saved as ``spiral_<network>.png`` under ``out``."""
    from lightning_poly.plotting import plot_decision_regions

    check_int("seeds", seeds, minimum=1)
    rows = []
    for seed in range(seeds):
        x, y = spiral(n, seed=seed, signed=True)
        training = replace(SPIRAL_TRAINING, hidden=(width,), epochs=epochs, seed=seed)
        r = compare_to_optimum(x, y.double(), beta, training)
        ridge = copy.deepcopy(r.networks["sgd"])
        polish_network(ridge, x.double(), y.double(), loss="squared", refit_penalty="ridge", l2=beta)
        r.networks["polished_ridge"] = ridge
        row = {"seed": seed, "sgd": r.sgd, "polished": r.polished, "lower_bound": r.lower_bound,
               "upper_bound": r.upper_bound, "upper_bound_neurons": r.upper_bound_neurons, "epsilon": r.epsilon,
               "sgd_l1": r.sgd_l1, "polished_l1": r.polished_l1, "l1_optimum": r.l1_optimum, "l1_gap": r.l1_gap,
               "polished_ridge": two_layer_objective(ridge, x, y.double(), beta)}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
        if seed == 0 and out is not None:
            for name, m in r.networks.items():
                fig = plot_decision_regions(lambda p, m=m: m(p.double())[:, 0], x, y, f"spiral: {name}")
                fig.savefig(out / f"spiral_{name}.png", dpi=100)
    return rows


def _optimal_networks(x: torch.Tensor, y: torch.Tensor, lam: float) -> dict[str, nn.Sequential]:
    """Problem (2) with the paper's lam: p = 1 exactly (Theorem 16, Lasso weight 2 lam) and p = 2 by the wedge Lasso
    (Theorem 3: an epsilon-optimal upper bound; J = MSE + lam ||theta||^2)."""
    return {"l1": l1_network_optimum(x, y, beta=2 * lam).network, "l2": wedge_lasso(x, y, lam).network(tol=1e-6)}


def l1_l2_regions_study(*, n: int, lams: Sequence[float], out: Path, on_row: OnRow = None) -> list[Row]:
    """Section 4.2 (Figures 11-12): the decision regions of the optimal l1- and l2-regularised two-layer networks
    (:func:`_optimal_networks`) on XOR and the spiral of ``n`` points across ``lams``; a figure per data set
    (``regions_<name>.png`` under ``out``: decisions, decision boundary, the optimal neurons' breaklines) and a
    row per (data, lam) with the widths and the share of the plotted square where the two decide alike."""
    import matplotlib.pyplot as plt

    rows = []

    xor = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    sets = {"xor": (xor, torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64))}
    xs, ys = spiral(n, seed=0, signed=True)
    sets["spiral"] = (xs.double(), ys.double())
    for name, (x, y) in sets.items():
        xx, yy, pts = grid_2d(x.float(), 200)
        fig, axes = plt.subplots(2, len(lams), figsize=(3 * len(lams), 6), squeeze=False)
        for col, lam in enumerate(lams):
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
            row = {"data": name, "lam": lam, "l1_neurons": len(nets["l1"][0].weight),
                   "l2_neurons": len(nets["l2"][0].weight), "agree": agree}  # fmt: skip
            rows.append(row)
            if on_row is not None:
                on_row(row)
        fig.tight_layout()
        fig.savefig(out / f"regions_{name}.png", dpi=90)
        plt.close(fig)
    return rows


def fashion_mlp_study(*, d: int, lrs: Sequence[float], seeds: int, epochs: int, on_row: OnRow = None) -> list[Row]:
    """Figure 9 / Section 7.1 on Fashion-MNIST T-shirt (0) vs shirt (6), PCA-``d``: two- and three-layer MLPs of
    256 neurons a layer (BCE, Adam at each learning rate), the first layer polished and the last refitted
    (:func:`~lightning_poly.pipelines.train_and_polish`, monitored on the validation accuracy). A row per run and
    a summary row per (depth, lr) (``"summary": True``)."""
    check_int("seeds", seeds, minimum=1)
    rows = []
    for depth in (2, 3):
        for lr in lrs:
            runs = []
            for s in range(seeds):
                dm = FashionMNISTDataModule(task="pair", pair=(0, 6), pca_components=d, val_fraction=0.2,
                                            batch_size=256, seed=s)  # fmt: skip
                training = MLPTraining(hidden=[256] * (depth - 1), loss="bce", lr=lr, epochs=epochs, seed=s)
                run = train_and_polish(dm, d, training, monitor="val_acc", max_samples=8000)
                x, y = dm.train_tensors()
                row = {"depth": depth, "lr": lr, "seed": s, "before": run.before, "after": run.after,
                       "train_acc_after": float((run.module.predict_labels(x) == y).float().mean())}  # fmt: skip
                runs.append(row)
                if on_row is not None:
                    on_row(row)
            summary = {"depth": depth, "lr": lr, "summary": True, **_before_after(runs),
                       "train_acc_after": statistics.mean(r["train_acc_after"] for r in runs)}  # fmt: skip
            rows += [*runs, summary]
            if on_row is not None:
                on_row(summary)
    return rows


def _before_after(runs: Sequence[Row]) -> dict[str, float]:
    """Mean and population sd of the runs' metric before and after polishing (a study's summary row)."""
    before, after = [r["before"] for r in runs], [r["after"] for r in runs]
    return {"before": statistics.mean(before), "before_sd": statistics.pstdev(before),
            "after": statistics.mean(after), "after_sd": statistics.pstdev(after)}  # fmt: skip


TabularData = Literal["boston", "friedman1"]


def tabular_study(
    *,
    widths: Sequence[int],
    seeds: int,
    epochs: int,
    data: TabularData = "boston",
    optimizer: OptimizerName = "adamw",
    train_weight_decay: float = 0.01,
    refit_weight_decay: float = 0.01,
    refit_penalty: RefitPenalty = "l1",
    on_row: OnRow = None,
) -> tuple[list[Row], torch.Tensor]:
    """Figure 10a: two-layer networks of each width on a tabular regression, trained (lr 1e-2, batch 16, MSE), the
    first layer polished and the last refitted by the paper's procedure (validation MSE before and after); also the
    :math:`|\\cos|` between the training samples and the first layer's neurons before polishing (Figure 10b).

    Protocol (the paper's, Section 4.1: AdamW, lr 1e-2, batch 16, 100 epochs, 100 trials): ``data="boston"`` is
    Boston Housing (:func:`~lightning_poly.data.boston_housing`; ``"friedman1"`` the synthetic stand-in of the same
    shape); features and target standardised over the 506 rows and a seeded 80/20 train/validation split per trial
    (the paper names neither); AdamW's decoupled weight decay ``train_weight_decay`` (PyTorch's default 0.01, the
    paper names none) and the refit's :math:`\\beta` = ``refit_weight_decay``: AdamW's decay shrinks every weight by
    ``lr * β`` a step, as SGD does on :math:`J + \\frac{\\beta}{2}\\|\\theta\\|^2`, the objective whose balanced
    last layer is the refit's weighted Lasso. ``refit_penalty="ridge"`` runs the earlier refit instead (weight 1e-6).

    Returns:
        A row per (width, seed) and a summary row per width (``"summary": True``), and all the cosines.
    """
    check_int("seeds", seeds, minimum=1)
    check_choice("data", data, ("boston", "friedman1"))
    x, y = boston_housing() if data == "boston" else friedman1()
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    rows, cosines = [], []
    for width in widths:
        runs = []
        for seed in range(seeds):
            dm = ArrayDataModule(x, y, task="regression", val_fraction=0.2, batch_size=16, seed=seed)
            training = MLPTraining(hidden=[width], loss="mse", optimizer=optimizer, lr=1e-2, epochs=epochs, seed=seed,
                                   weight_decay=train_weight_decay)  # fmt: skip
            run = train_and_polish(dm, x.shape[1], training, "val_loss", cosines=True,
                                   refit_weight_decay=refit_weight_decay, refit_penalty=refit_penalty)  # fmt: skip
            cosines.append(run.cosines.flatten())  # type: ignore[union-attr]
            row = {"width": width, "seed": seed, "before": run.before, "after": run.after}
            runs.append(row)
            if on_row is not None:
                on_row(row)
        before, after = [r["before"] for r in runs], [r["after"] for r in runs]
        summary = {"width": width, "summary": True, **_before_after(runs),
                   "after_median": statistics.median(after), "before_median": statistics.median(before),
                   "improved": sum(a < b for a, b in zip(after, before)), "runs": len(runs)}  # fmt: skip
        rows += [*runs, summary]
        if on_row is not None:
            on_row(summary)
    return rows, torch.cat(cosines)


def four_layer_cnn(pool: bool = False) -> nn.Sequential:
    """Figure 9a's network on 1x28x28 images, our reading of "two convolutional layers with 3x3x32 filters and two
    fully connected layers with 512 hidden neurons" in a "four-layer" network: ``Conv2d(1, 32, 3)``, ReLU,
    ``Conv2d(32, 32, 3)``, ReLU, flatten, ``Linear(18432, 512)``, ReLU, ``Linear(512, 2)``: four layers with
    weights, the two dense ones joined by the 512 hidden neurons, a 2-class output. No padding and no pooling
    (the paper names none); ``pool=True`` puts a ``MaxPool2d(2)`` after the second ReLU (``Linear(4608, 512)``).
    """
    side = 12 if pool else 24
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), *([nn.MaxPool2d(2)] if pool else []),
        nn.Flatten(), nn.Linear(32 * side * side, 512), nn.ReLU(), nn.Linear(512, 2),
    )  # fmt: skip


def _scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Cross-entropy and accuracy of the model's forward (in eval mode), as ``polish_cnn_and_evaluate`` scores."""
    return head_metrics(module_outputs(model, x), y, "cross_entropy")


def _cnn_row(
    seed: int,
    ev: PolishEvaluation,
    ref: PolishEvaluation,
    val: tuple[dict[str, float], dict[str, float], dict[str, float]],
) -> Row:
    """One seed's figures: ``ev`` the polish and refit, ``ref`` the refit alone, both scored on the training data;
    ``val``: the validation scores before, after, and after the refit alone."""

    def both(train: dict[str, float], v: dict[str, float]) -> dict[str, float]:
        return {"train_acc": train["acc"], "train_loss": train["loss"], "val_acc": v["acc"], "val_loss": v["loss"]}

    return {
        "seed": seed, "before": both(ev.before, val[0]), "after": both(ev.after, val[1]),
        "refit_only": both(ref.after, val[2]), "objective_trained": ev.report.objective_before,
        "objective_refit_only": ref.report.objective_after, "objective_polished": ev.report.objective_after,
        "grad_norm_refit_only": ref.report.grad_norm, "grad_norm_polished": ev.report.grad_norm,
        "kept_if_better": ev.improved("loss"),  # PolishingCallback(accept="if_better", monitor="train_loss")
    }  # fmt: skip


def _cnn_summary(rows: list[Row]) -> Row:
    """Mean and standard deviation over seeds of the accuracy changes; how many seeds improved."""

    def change(split: str, after: str = "after") -> list[float]:
        return [r[after][f"{split}_acc"] - r["before"][f"{split}_acc"] for r in rows]

    out: Row = {}
    for split in ("train", "val"):
        d = change(split)
        out |= {f"{split}_acc_change": statistics.mean(d), f"{split}_acc_change_sd": statistics.pstdev(d),
                f"{split}_improved": sum(v > 0 for v in d)}  # fmt: skip
        r = change(split, "refit_only")
        out |= {
            f"refit_only_{split}_acc_change": statistics.mean(r),
            f"refit_only_{split}_acc_change_sd": statistics.pstdev(r),
        }
    out["kept_if_better"] = sum(r["kept_if_better"] for r in rows)
    return out


def cnn_study(
    *,
    seeds: int = 5,
    epochs: int = 20,
    batch_size: int = 2048,
    n_train: int = 12_000,
    n_val: int = 2_000,
    lr: float = 1e-3,
    pool: bool = False,
    refit_penalty: RefitPenalty = "l1",
    weight_decay: float | None = None,
    l2: float | None = None,
    on_row: OnRow = None,
) -> tuple[list[Row], Row, int, int]:
    """Figure 9a: :func:`four_layer_cnn` trained on Fashion-MNIST pullover (2) vs coat (4) with AdamW (its defaults
    but lr) through a ``Trainer``; then the first convolution polished and the head refitted
    (:func:`~lightning_poly.algorithms.polish_cnn_and_evaluate`: the paper's refit by default, ``refit_penalty=
    "ridge"`` with ``l2`` the earlier one), beside the refit alone on an untouched copy; validation on the first
    ``n_val`` test images.

    Returns:
        A row per seed, the summary over seeds, and the numbers of training and validation images.
    """
    check_int("seeds", seeds, minimum=1)
    dm = FashionMNISTDataModule(task="pair", pair=(2, 4), flatten=False, val_fraction=0.0, seed=0)
    x, y = dm.train_tensors()  # the 12,000 training images, in an order drawn by seed 0
    x, y = x[:n_train], y[:n_train]
    test = dm.data_test.tensors  # type: ignore[union-attr]
    xv, yv = test[0][:n_val], test[1][:n_val]
    refit: dict[str, Any] = {"loss": "cross_entropy", "refit_penalty": refit_penalty, "weight_decay": weight_decay,
                             "l2": l2}  # fmt: skip
    rows = []
    for s in range(seeds):
        pl.seed_everything(s, verbose=False)
        net = four_layer_cnn(pool)
        train_network(net, x, y, epochs=epochs, seed=s, lr=lr, batch_size=batch_size, optimizer="adamw")
        control = copy.deepcopy(net)
        val_before = _scores(net, xv, yv)
        ev = polish_cnn_and_evaluate(net, x, y, layers=(0,), seed=s, **refit)
        ref = polish_cnn_and_evaluate(control, x, y, layers=(), seed=s, **refit)
        row = _cnn_row(s, ev, ref, (val_before, _scores(net, xv, yv), _scores(control, xv, yv)))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows, _cnn_summary(rows), len(x), len(xv)


def plot_cnn_study(rows: list[Row], path: Path) -> None:
    """Train and validation accuracy per seed: AdamW, polish + refit, refit only."""
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
    plt.close(fig)


def plot_tabular_study(runs: Sequence[tuple[str, list[Row]]], path: Path, title: str = "") -> None:
    """Figure 10a's picture: validation MSE (mean ± one population sd over trials) against the width, trained and
    polished, one polished curve per ``(label, rows)`` of :func:`tabular_study` (e.g. the paper's refit and ridge)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for i, (label, rows) in enumerate(runs):
        summary = [r for r in rows if r.get("summary")]
        widths = [r["width"] for r in summary]
        if i == 0:
            ax.errorbar(widths, [r["before"] for r in summary], [r["before_sd"] for r in summary], marker="o",
                        capsize=3, label="AdamW")  # fmt: skip
        ax.errorbar([w * (1.06 + 0.06 * i) for w in widths], [r["after"] for r in summary],
                    [r["after_sd"] for r in summary], marker="s", capsize=3, label=f"polished, {label}")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden neurons")
    ax.set_ylabel("validation MSE (standardised target)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
