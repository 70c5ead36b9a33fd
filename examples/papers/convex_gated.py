"""Experiments of "NTK with convex two-layer ReLU networks" (Section 7) and a training comparison.

python examples/papers/convex_gated.py circle    # alternating circle: gamma = Theta(1/n); small widths fail (Thm 7.2)
python examples/papers/convex_gated.py cube      # parity cube: convex net classifies all 8; standard nets never (Thm 7.3)
python examples/papers/convex_gated.py compare   # spiral: convex gated training (GD and exact) vs a standard MLP
python examples/papers/convex_gated.py fashion   # Fashion-MNIST pairs: exact convex gated vs a standard MLP

A line per task as it ends says the time spent and an estimate of the time left.
"""

from __future__ import annotations

import argparse
import time

import pytorch_lightning as pl
import torch

from lightning_poly.data import alternating_circle, cube_parity, spiral
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.geometry.cones import cones_2d, data_gates, gaussian_gates
from lightning_poly.modules import ConvexGatedReLUModule, ReLUMLPModule
from lightning_poly.nn.gated import augment
from lightning_poly.pipelines import TaskProgress, quiet_trainer
from lightning_poly.solvers.gated_lasso import gated_lasso_admm, gated_output
from lightning_poly.solvers.ntk_margin import ntk_margin


def cmd_circle(args: argparse.Namespace) -> None:
    print(
        " n    |S_0|  gamma_X (exact, one gate per cone)  n * gamma   misclassified with m Gaussian gates (m = 4, 16, 64)"
    )
    progress = TaskProgress(len(args.ns))
    for n in args.ns:
        x, y = (t.double() for t in alternating_circle(n, signed=True))
        gates, measure = cones_2d(x)
        gamma, _ = ntk_margin(x, y, gates, measure)
        fails = []
        for m in (4, 16, 64):
            bad = 0
            for seed in range(args.trials):
                v = gaussian_gates(m, 2, seed=seed)
                try:
                    g, _ = ntk_margin(x, y, v)
                    bad += g <= 1e-9
                except RuntimeError:
                    bad += 1
            fails.append(f"{bad}/{args.trials}")
        print(
            progress.line(
                f"{n:3d}  {len(gates):5d}  {gamma:.5f}                            {n * gamma:.3f}      {'  '.join(fails)}"
            ),
            flush=True,
        )


def cmd_cube(args: argparse.Namespace) -> None:
    x, y = cube_parity(signed=True)
    x = x.double()
    gamma, w = ntk_margin(x, y.double(), data_gates(x, 64, seed=0))
    act = (x @ data_gates(x, 64, seed=0).T > 0).double() / 64
    correct = int((gated_output(x, act, w) * y > 0).sum())
    print(f"convex network with 64 data gates (orthogonal to data points): margin {gamma:.4f}, {correct}/8 correct")
    best = 0
    t0 = time.perf_counter()
    progress = TaskProgress(len(args.widths))
    for width in args.widths:
        for seed in range(args.seeds):
            pl.seed_everything(seed, verbose=False)
            dm = ArrayDataModule(x.float(), (y > 0).long(), val_fraction=0.0, batch_size=8)
            model = ReLUMLPModule(input_dim=3, hidden=[width], bias=False, lr=0.05)
            quiet_trainer(args.epochs).fit(model, dm)
            best = max(best, int((model.predict_labels(x.float()) == (y > 0).long()).sum()))
        print(progress.line(f"standard nets of width {width}, {args.seeds} seeds: best so far {best}/8"), flush=True)
    print(f"standard two-layer ReLU nets without bias, widths {args.widths} x {args.seeds} seeds: best {best}/8 correct "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip


def cmd_compare(args: argparse.Namespace) -> None:
    x, y = spiral(args.n, seed=0, signed=True)
    y = y.float()
    dm = ArrayDataModule(x, y, task="regression", val_fraction=0.0, batch_size=0)
    xt = augment(x.double(), True)
    gates = gaussian_gates(args.gates, 3, seed=0)
    mask = (xt @ gates.T > 0).double()
    print(f"spiral n={args.n}, {args.gates} gates/neurons, lambda={args.lam}, {args.epochs} full-batch epochs")
    progress = TaskProgress(3)
    t0 = time.perf_counter()
    exact = gated_lasso_admm(xt, mask, y.double(), args.lam, rel_gap=1e-6)
    t_exact = time.perf_counter() - t0
    print(progress.line("convex gated, exact (ADMM)"), flush=True)
    acc_exact = float((gated_output(xt, mask, exact.weight).sign() == y.double()).double().mean())
    t0 = time.perf_counter()
    conv = ConvexGatedReLUModule(input_dim=2, n_gates=args.gates, lam=args.lam, seed=0)
    quiet_trainer(args.epochs).fit(conv, dm)
    t_gd = time.perf_counter() - t0
    print(progress.line("convex gated, GroupFISTA in Lightning"), flush=True)
    cert = conv.certificate()
    acc_gd = float((conv(x).detach()[:, 0].sign() == y).float().mean())
    t0 = time.perf_counter()
    pl.seed_everything(0, verbose=False)
    mlp = ReLUMLPModule(input_dim=2, hidden=[args.gates], loss="mse", lr=1e-2)
    quiet_trainer(args.epochs).fit(mlp, dm)
    t_mlp = time.perf_counter() - t0
    print(progress.line("standard MLP"), flush=True)
    acc_mlp = float((mlp(x).detach()[:, 0].sign() == y).float().mean())
    print(
        f"  convex gated, exact (ADMM, gap {exact.rel_gap:.1e}): objective {exact.objective:.5f}, train acc {acc_exact:.3f}, {t_exact:.2f} s"
    )
    print(
        f"  convex gated, GroupFISTA in Lightning: objective {cert['objective']:.5f} (certified gap {cert['rel_gap']:.1e}), train acc {acc_gd:.3f}, {t_gd:.1f} s"
    )
    print(f"  standard MLP (Adam, MSE): train acc {acc_mlp:.3f}, {t_mlp:.1f} s")


def cmd_fashion(args: argparse.Namespace) -> None:
    from lightning_poly.datamodules import FashionMNISTDataModule
    from lightning_poly.nn.convert import gated_to_relu
    from lightning_poly.nn.gated import GatedReLU

    progress = TaskProgress(2)
    for task, kw in (
        ("one-vs-rest class 0", {"task": "one_vs_rest", "positive_class": 0}),
        ("pair 0 vs 6", {"task": "pair", "pair": (0, 6)}),
    ):
        dm = FashionMNISTDataModule(pca_components=args.d, val_fraction=0.0, **kw)  # type: ignore[arg-type]
        dm.prepare_data()
        dm.setup()
        x, y = dm.train_tensors()
        g = torch.Generator().manual_seed(0)
        idx = torch.randperm(len(x), generator=g)[: args.n]
        x, y = x[idx].double(), (2.0 * y[idx] - 1).double()
        xte, yte = dm.data_test.tensors  # type: ignore[union-attr]
        xte, yte = xte.double(), 2.0 * yte.double() - 1
        gates = gaussian_gates(args.gates, args.d + 1, seed=0)
        xt = augment(x, True)
        mask = (xt @ gates.T > 0).double()
        t0 = time.perf_counter()
        sol = gated_lasso_admm(xt, mask, y, args.lam, rel_gap=1e-4)
        t_cvx = time.perf_counter() - t0
        net = GatedReLU(gates, bias=True).double()
        with torch.no_grad():
            net.weight.copy_(sol.weight[None])
        relu = gated_to_relu(net, x)
        same = bool(torch.allclose(relu(x), net(x), atol=1e-6))
        acc_c = float((net(xte)[:, 0].sign() == yte).double().mean())
        t0 = time.perf_counter()
        pl.seed_everything(0, verbose=False)
        mlp = ReLUMLPModule(input_dim=args.d, hidden=[args.gates], loss="mse", lr=1e-3)
        dmm = ArrayDataModule(x.float(), y.float(), task="regression", val_fraction=0.0, batch_size=128)
        quiet_trainer(args.epochs).fit(mlp, dmm)
        t_mlp = time.perf_counter() - t0
        acc_m = float((mlp(xte.float()).detach()[:, 0].sign() == yte.float()).float().mean())
        print(progress.line(f"Fashion-MNIST {task}, PCA-{args.d}, {args.n} train points, width {args.gates}: convex gated (exact, certified "
              f"gap {sol.rel_gap:.0e}) test acc {acc_c:.4f} in {t_cvx:.1f} s; standard MLP (Adam, {args.epochs} epochs) "
              f"{acc_m:.4f} in {t_mlp:.1f} s; ReLU network from the gated one predicts identically on the training points: {same}"),
              flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("circle")
    s.add_argument("--ns", type=int, nargs="+", default=[8, 16, 32, 64])
    s.add_argument("--trials", type=int, default=10)
    s = sub.add_parser("cube")
    s.add_argument("--widths", type=int, nargs="+", default=[2, 8, 32, 128])
    s.add_argument("--seeds", type=int, default=5)
    s.add_argument("--epochs", type=int, default=300)
    s = sub.add_parser("compare")
    s.add_argument("--n", type=int, default=200)
    s.add_argument("--gates", type=int, default=100)
    s.add_argument("--lam", type=float, default=1e-3)
    s.add_argument("--epochs", type=int, default=500)
    s = sub.add_parser("fashion")
    s.add_argument("--n", type=int, default=2000)
    s.add_argument("--d", type=int, default=20)
    s.add_argument("--gates", type=int, default=200)
    s.add_argument("--lam", type=float, default=1e-3)
    s.add_argument("--epochs", type=int, default=30)
    args = p.parse_args()
    {"circle": cmd_circle, "cube": cmd_cube, "compare": cmd_compare, "fashion": cmd_fashion}[args.cmd](args)


if __name__ == "__main__":
    main()
