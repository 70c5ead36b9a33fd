"""Face-histogram experiments of "Deep ReLU Networks Have Surprisingly Simple Polytopes".

Small defaults run in seconds to a minute on a 2-core CPU; flags give the paper's sizes.

    python examples/papers/face_histograms.py init        # Figure 4 / Section V.A: initialisations
    python examples/papers/face_histograms.py depth       # Figure 5: depth and width
    python examples/papers/face_histograms.py bias        # Figure 6: bias values
    python examples/papers/face_histograms.py train       # Figure 7's protocol during training
    python examples/papers/face_histograms.py table1      # Table I: maximum #simplices vs Theorems 1-2

Each prints a table (a row per task as it ends, with the time spent and an estimate of the time left)
and saves figures under ``--out`` (default ``runs/face_histograms``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import torch

from lightning_poly.geometry import face_histogram, region_simplices
from lightning_poly.geometry.bounds import simplices_lower_bound, simplices_upper_bound
from lightning_poly.nn import ReLUMLP
from lightning_poly.pipelines import TaskProgress
from lightning_poly.plotting import plot_face_histogram

INITS = ["xavier_uniform", "xavier_normal", "kaiming_normal", "orthogonal"]


def _row(cells: list[object], widths: list[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))


def _study(settings: list[tuple[str, list[int], str, float]], repeats: int, n_points: int, out: Path) -> None:
    """Mean/max faces over repeats for (label, widths, init, bias) settings; saves the last histograms."""
    widths = [28, 9, 14, 12, 10, 10]
    print(_row(["setting", "regions", "mean faces", "max faces", "simple", "seconds"], widths))
    progress = TaskProgress(len(settings))
    for label, arch, init, bias in settings:
        hs = []
        for rep in range(repeats):
            torch.manual_seed(rep)
            net = ReLUMLP(arch, init=init, bias_value=bias).double()  # type: ignore[arg-type]
            hs.append(face_histogram(net, n_points=n_points, seed=rep))
        mean = statistics.mean(h.mean for h in hs)
        sd = statistics.pstdev(h.mean for h in hs)
        print(progress.line(_row([label, round(statistics.mean(h.n_regions for h in hs)), f"{mean:.2f} ± {sd:.2f}",
                                  max(h.max for h in hs), f"{statistics.mean(h.simple_fraction for h in hs):.0%}",
                                  f"{sum(h.seconds for h in hs):.1f}"], widths)), flush=True)  # fmt: skip
        fig = plot_face_histogram(hs[-1].counts, label, hs[-1].bound)
        fig.savefig(out / f"hist_{label.replace(' ', '_')}.png", dpi=100)


def cmd_init(args: argparse.Namespace) -> None:
    archs = [[3, 40, 20, 1], [3, 80, 40, 1]]
    settings = [(f"{'-'.join(map(str, a))} {i}", a, i, 0.01) for a, i in itertools.product(archs, INITS)]
    _study(settings, args.repeats, args.points, args.out)


def cmd_depth(args: argparse.Namespace) -> None:
    settings = [(f"3-{w}x{dep}-1 xavier_uniform", [3, *[w] * dep, 1], "xavier_uniform", 0.01)
                for dep in args.depths for w in args.widths]  # fmt: skip
    _study(settings, args.repeats, args.points, args.out)


def cmd_bias(args: argparse.Namespace) -> None:
    settings = [
        (f"3-80-40-1 {i} bias {b}", [3, 80, 40, 1], i, b)
        for i in ("xavier_uniform", "orthogonal")
        for b in (0.0, 0.01, 0.05, 0.1)
    ]
    _study(settings, args.repeats, args.points, args.out)


def cmd_train(args: argparse.Namespace) -> None:
    import pytorch_lightning as pl
    from pytorch_lightning.loggers import CSVLogger

    from lightning_poly.callbacks import FaceHistogramCallback
    from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
    from lightning_poly.modules import ReLUMLPModule

    # The paper's COVID table (5 binary features) is not available offline; we use real Fashion-MNIST
    # T-shirt (0) vs shirt (6), projected on 5 whitened principal components and scaled into [-1, 1]^5.
    fm = FashionMNISTDataModule(task="pair", pair=(0, 6), pca_components=5, val_fraction=0.2)
    fm.prepare_data()
    fm.setup()
    x, y = fm.train_tensors()
    xv, yv = fm.data_val.tensors  # type: ignore[union-attr]
    scale = float(torch.cat([x, xv]).abs().max())
    dm = ArrayDataModule(x / scale, y, x_test=xv / scale, y_test=yv, val_fraction=0.2, batch_size=256)
    pl.seed_everything(0)
    model = ReLUMLPModule(input_dim=5, hidden=[40, 20], lr=3e-3)
    cb = FaceHistogramCallback(n_points=args.points, every_n_epochs=max(1, args.epochs // 4))
    trainer = pl.Trainer(max_epochs=args.epochs, callbacks=[cb], logger=CSVLogger(str(args.out), name="train"),
                         enable_progress_bar=True, enable_checkpointing=False, accelerator="cpu")  # fmt: skip
    trainer.fit(model, dm)
    print(f"val accuracy {float(trainer.callback_metrics['val/acc']):.3f}")
    print(
        _row(
            ["when", "epoch", "regions", "mean faces", "max", "simple", "histogram (faces 0..)"],
            [9, 6, 8, 11, 5, 7, 30],
        )
    )
    for h in cb.history:
        hist = h["histogram"]
        lo = next((i for i, v in enumerate(hist) if v), 0)
        print(_row([h["when"], h["epoch"], h["regions"], f"{h['mean_faces']:.2f}", h["max_faces"],
                    f"{h['simple_fraction']:.0%}", f"{lo}: {hist[lo:]}"], [9, 6, 8, 11, 5, 7, 30]))  # fmt: skip


def cmd_table1(args: argparse.Namespace) -> None:
    paper = {7: (482, 446, 77), 8: (686, 663, 116), 9: (942, 893, 166), 10: (1256, 1140, 230)}
    w = [8, 12, 16, 16, 12, 16]
    print(_row(["net", "upper Thm 1", "ours (max)", "paper enumeration", "lower Thm 2", "regions"], w))
    progress = TaskProgress(len(args.widths))
    for n in args.widths:
        best, regions = 0, 0
        for rep in range(args.repeats):
            torch.manual_seed(rep)
            net = ReLUMLP([3, n, 1], init="xavier_uniform").double()
            with torch.no_grad():
                net.net[0].bias.uniform_(-0.5, 0.5)  # general position inside the box
            res = region_simplices(net, box=args.box, seed_points=4000)
            if res.total > best:
                best, regions = res.total, res.n_regions
        print(progress.line(_row([f"3-{n}-1", simplices_upper_bound(n, 3, 1), best, paper.get(n, ("", "", ""))[1],
                                  round(simplices_lower_bound(n, 3, 1)), regions], w)), flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/face_histograms"))
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, reps in (("init", 2), ("depth", 1), ("bias", 2)):
        s = sub.add_parser(name)
        s.add_argument("--repeats", type=int, default=reps, help="paper: 5")
        s.add_argument("--points", type=int, default=8000, help="paper: 8000")
        if name == "depth":
            s.add_argument("--widths", type=int, nargs="+", default=[20, 40], help="paper: 20 40 80 160")
            s.add_argument("--depths", type=int, nargs="+", default=[5], help="paper: 5 8")
    s = sub.add_parser("train")
    s.add_argument("--epochs", type=int, default=20)
    s.add_argument("--points", type=int, default=8000)
    s = sub.add_parser("table1")
    s.add_argument("--widths", type=int, nargs="+", default=[7, 8, 9, 10])
    s.add_argument("--repeats", type=int, default=3, help="paper: 10")
    s.add_argument("--box", type=float, default=20.0, help="half-width of C(d, B), 'large enough'")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    {"init": cmd_init, "depth": cmd_depth, "bias": cmd_bias, "train": cmd_train, "table1": cmd_table1}[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
