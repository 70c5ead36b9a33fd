"""Polishing experiments of "From Complexity to Clarity" (wedge products, convex refit, scaling).

    python examples/papers/polishing.py spiral    # Figure 8: SGD vs SGD + polishing vs certified bounds
    python examples/papers/polishing.py regions   # Figures 11-12: optimal l1 vs l2 decision regions across lambda
    python examples/papers/polishing.py fashion   # Figure 9 / Section 7.1 protocol on Fashion-MNIST pairs
    python examples/papers/polishing.py tabular   # Figure 10a: Boston Housing
    python examples/papers/polishing.py cnn       # Figure 9a: the four-layer CNN on Fashion-MNIST pullover vs coat

Small defaults, except ``cnn``, whose defaults are Figure 9a's protocol (20 epochs, batch 2048, 5 seeds, all
12,000 training images; about 53 minutes at one thread on a 2-core CPU; ``--n-train`` makes it shorter);
flags give the paper's sizes. A line per task as it ends says the time spent and an estimate of the time
left. Figures go under ``--out`` (default runs/polishing).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from lightning_poly.pipelines import TaskProgress, quiet_lightning
from lightning_poly.pipelines.polishing_studies import (
    cnn_study,
    fashion_mlp_study,
    l1_l2_regions_study,
    plot_cnn_study,
    plot_tabular_study,
    spiral_study,
    tabular_study,
)


def cmd_spiral(args: argparse.Namespace) -> None:
    progress = TaskProgress(args.seeds)

    def show(r: dict[str, Any]) -> None:
        print(progress.line(f"seed {r['seed']}: J (p = 2) SGD {r['sgd']:.5f}  SGD+polishing {r['polished']:.5f}  "
                            f"optimum in [{r['lower_bound']:.5f}, {r['upper_bound']:.5f}] (certified p = 1 lower bound, "
                            f"wedge Lasso upper bound, {r['upper_bound_neurons']} neurons; local dispersion "
                            f"{r['epsilon']:.3f}); J_1 (p = 1) SGD {r['sgd_l1']:.5f}  SGD+polishing(p = 1) "
                            f"{r['polished_l1']:.5f}  certified optimum {r['l1_optimum']:.5f} (gap {r['l1_gap']:.1e}); "
                            f"earlier ridge-refit polishing J {r['polished_ridge']:.5f}"), flush=True)  # fmt: skip

    spiral_study(n=args.n, width=args.width, epochs=args.epochs, beta=args.beta, seeds=args.seeds, out=args.out,
                 on_row=show)  # fmt: skip


def cmd_regions(args: argparse.Namespace) -> None:
    """Section 4.2 (Figures 11-12): decision regions of the optimal l1- and l2-regularised networks across lam."""

    def show(r: dict[str, Any]) -> None:
        print(f"{r['data']} lam {r['lam']:g}: l1 {r['l1_neurons']} neurons, l2 {r['l2_neurons']} neurons; decisions "
              f"agree on {r['agree']:.1%} of the plotted square")  # fmt: skip

    l1_l2_regions_study(n=args.n, lams=args.lams, out=args.out, on_row=show)


def cmd_fashion(args: argparse.Namespace) -> None:
    print(
        f"Fashion-MNIST pair (0 T-shirt vs 6 shirt), PCA-{args.d}, first layer polished, last layer refitted (logistic)"
    )
    progress = TaskProgress(2 * len(args.lrs) * args.seeds)

    def show(r: dict[str, Any]) -> None:
        if r.get("summary"):
            print(f"{r['depth']}-layer lr {r['lr']:g}: val acc before {r['before']:.4f} ± {r['before_sd']:.4f}  after "
                  f"{r['after']:.4f} ± {r['after_sd']:.4f}  (train acc after {r['train_acc_after']:.4f})")  # fmt: skip
        else:
            print(progress.line(f"{r['depth']}-layer lr {r['lr']:g} seed {r['seed']}: val acc {r['before']:.4f} -> "
                                f"{r['after']:.4f}"), flush=True)  # fmt: skip

    fashion_mlp_study(d=args.d, lrs=args.lrs, seeds=args.seeds, epochs=args.epochs, on_row=show)


def cmd_tabular(args: argparse.Namespace) -> None:
    name = "Boston Housing" if args.data == "boston" else "Friedman #1"
    refit = (
        "ridge, weight 1e-6" if args.refit_penalty == "ridge" else f"weighted Lasso, beta {args.refit_weight_decay:g}"
    )
    print(f"{name} (506 x 13, standardised, 80/20 split per trial); two-layer nets, {args.optimizer} lr 1e-2 (weight "
          f"decay {args.train_weight_decay:g}), batch 16, {args.epochs} epochs; refit: {refit}")  # fmt: skip
    progress = TaskProgress(len(args.widths) * args.seeds)

    def show(r: dict[str, Any]) -> None:
        if r.get("summary"):
            print(f"width {r['width']:4d}: val MSE before {r['before']:.4f} ± {r['before_sd']:.4f}  after "
                  f"{r['after']:.4f} ± {r['after_sd']:.4f}  (improved in {r['improved']}/{r['runs']})")  # fmt: skip
        else:
            print(progress.line(f"width {r['width']} seed {r['seed']}: val MSE {r['before']:.4f} -> {r['after']:.4f}"),
                  flush=True)  # fmt: skip

    rows, c = tabular_study(widths=args.widths, seeds=args.seeds, epochs=args.epochs, data=args.data,
                            optimizer=args.optimizer, train_weight_decay=args.train_weight_decay,
                            refit_weight_decay=args.refit_weight_decay, refit_penalty=args.refit_penalty,
                            on_row=show)  # fmt: skip
    print(json.dumps({"experiment": "tabular", "data": args.data, "epochs": args.epochs, "seeds": args.seeds,
                      "optimizer": args.optimizer, "train_weight_decay": args.train_weight_decay,
                      "refit_weight_decay": args.refit_weight_decay, "refit_penalty": args.refit_penalty,
                      "rows": rows}))  # fmt: skip
    label = "the paper's refit" if args.refit_penalty == "l1" else "the ridge refit"
    plot_tabular_study(
        [(label, rows)], args.out / "tabular_mse.png", f"{name}, {args.epochs} epochs, {args.seeds} trials"
    )
    qs = [float(torch.quantile(c, q)) for q in (0.01, 0.1, 0.5)]
    print(f"|cos(neuron, sample)| before polishing: 1% {qs[0]:.1e}, 10% {qs[1]:.1e}, median {qs[2]:.2f}")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(torch.log10(c.clamp_min(1e-8)).numpy(), bins=60)
    ax.set_xlabel("log10 |cos(neuron, sample)| before polishing")
    ax.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(args.out / "tabular_cosines.png", dpi=100)


def cmd_cnn(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    quiet_lightning()
    arch = "conv 3x3x32, conv 3x3x32" + (", max-pool 2" if args.pool else "") + ", dense 512, dense 2"
    refit = (f"l1 (the paper's), weight decay {args.weight_decay or 1e-6:g}" if args.refit_penalty == "l1"
             else f"ridge, l2 {args.l2 or 1e-6:g}")  # fmt: skip
    print(f"Fashion-MNIST pullover (2) vs coat (4): {args.n_train} training images, validation: {args.n_val} test "
          f"images; CNN {arch}; AdamW lr {args.lr:g}, {args.epochs} epochs, batch {args.batch_size}, {args.threads} "
          f"thread(s); first conv layer polished, last layer refitted (cross-entropy, {refit})")  # fmt: skip
    progress = TaskProgress(args.seeds)

    def show(row: dict[str, Any]) -> None:
        b, a = row["before"], row["after"]
        print(progress.line(f"seed {row['seed']}: train acc {b['train_acc']:.4f} -> {a['train_acc']:.4f} (loss "
                            f"{b['train_loss']:.4f} -> {a['train_loss']:.4f}), val acc {b['val_acc']:.4f} -> "
                            f"{a['val_acc']:.4f} (loss {b['val_loss']:.4f} -> {a['val_loss']:.4f})"), flush=True)  # fmt: skip
        print(f"    refit only (no polishing): train acc {row['refit_only']['train_acc']:.4f}, val acc "
              f"{row['refit_only']['val_acc']:.4f}; refit objective: trained head {row['objective_trained']:.6f}, "
              f"refit only {row['objective_refit_only']:.6f}, polished {row['objective_polished']:.6f} (grad norm "
              f"{row['grad_norm_polished']:.1e}); accept='if_better' on train loss: "
              f"{'kept' if row['kept_if_better'] else 'undone'}", flush=True)  # fmt: skip

    rows, summary, n_train, n_val = cnn_study(
        seeds=args.seeds, epochs=args.epochs, batch_size=args.batch_size, n_train=args.n_train, n_val=args.n_val,
        lr=args.lr, pool=args.pool, refit_penalty=args.refit_penalty, weight_decay=args.weight_decay,
        l2=args.l2 if args.refit_penalty == "ridge" else None, on_row=show,
    )  # fmt: skip
    print(f"summary over {len(rows)} seeds, polish + refit: train acc change {summary['train_acc_change']:+.4f} ± "
          f"{summary['train_acc_change_sd']:.4f} (higher in {summary['train_improved']}/{len(rows)}), val acc change "
          f"{summary['val_acc_change']:+.4f} ± {summary['val_acc_change_sd']:.4f} (higher in "
          f"{summary['val_improved']}/{len(rows)}); refit only: train {summary['refit_only_train_acc_change']:+.4f}, "
          f"val {summary['refit_only_val_acc_change']:+.4f}; kept by accept='if_better' (train loss): "
          f"{summary['kept_if_better']}/{len(rows)}")  # fmt: skip
    options = ("epochs", "batch_size", "lr", "refit_penalty", "weight_decay", "l2", "pool", "threads")
    print(json.dumps({"experiment": "cnn", "pair": [2, 4], **{k: getattr(args, k) for k in options},
                      "n_train": n_train, "n_val": n_val, "seeds": rows, **summary}))  # fmt: skip
    plot_cnn_study(rows, args.out / "cnn_accuracy.png")


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
    s.add_argument("--data", choices=["boston", "friedman1"], default="boston", help="paper: Boston Housing")
    s.add_argument("--widths", type=int, nargs="+", default=[32, 128])
    s.add_argument("--seeds", type=int, default=5, help="paper: 100")
    s.add_argument("--epochs", type=int, default=30, help="paper: 100")
    s.add_argument("--optimizer", choices=["adamw", "adam"], default="adamw", help="paper: AdamW")
    s.add_argument("--train-weight-decay", type=float, default=0.01, help="AdamW's (PyTorch's default)")
    s.add_argument("--refit-weight-decay", type=float, default=0.01, help="beta of the paper's refit")
    s.add_argument("--refit-penalty", choices=["l1", "ridge"], default="l1", help="ridge: the earlier refit")
    s = sub.add_parser("cnn")
    s.add_argument("--seeds", type=int, default=5, help="seeds 0..SEEDS-1 (paper: 5 trials)")
    s.add_argument("--epochs", type=int, default=20, help="paper: 20")
    s.add_argument("--batch-size", type=int, default=2048, help="paper: 2048")
    s.add_argument("--n-train", type=int, default=12_000, help="training images (all: 12,000)")
    s.add_argument("--n-val", type=int, default=2_000, help="validation images, from the test split (all: 2,000)")
    s.add_argument("--lr", type=float, default=1e-3, help="AdamW's learning rate (its default)")
    s.add_argument(
        "--refit-penalty",
        choices=["l1", "ridge"],
        default="l1",
        help="l1: the paper's refit (weight decay becomes a weighted group Lasso); ridge: the earlier one",
    )
    s.add_argument("--weight-decay", type=float, default=None, help="beta of the l1 refit (default 1e-6)")
    s.add_argument("--l2", type=float, default=1e-6, help="ridge weight of the ridge refit")
    s.add_argument("--pool", action="store_true", help="max-pool 2x2 after the second convolution")
    s.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    commands = {"spiral": cmd_spiral, "regions": cmd_regions, "fashion": cmd_fashion, "tabular": cmd_tabular}
    {**commands, "cnn": cmd_cnn}[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
