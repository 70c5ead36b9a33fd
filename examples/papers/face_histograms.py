"""Face-histogram experiments of "Deep ReLU Networks Have Surprisingly Simple Polytopes".

Small defaults run in seconds to a minute on a 2-core CPU; flags give the paper's sizes.

    python examples/papers/face_histograms.py init        # Figure 4 / Section V.A: initialisations
    python examples/papers/face_histograms.py depth       # Figure 5: depth and width
    python examples/papers/face_histograms.py bias        # Figure 6: bias values
    python examples/papers/face_histograms.py train       # Figure 7's protocol during training
    python examples/papers/face_histograms.py table1      # Table I: maximum #simplices vs Theorems 1-2
    python examples/papers/face_histograms.py lenet       # Section V.C, Figures 8-9: a LeNet-5 on images
    python examples/papers/face_histograms.py sections    # Figure 10: cross-sections of 784-7-7-6-10 in training

Each prints a table (a row per task as it ends, with the time spent and an estimate of the time left)
and saves figures under ``--out`` (default ``runs/face_histograms``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import torch

from lightning_poly.geometry import face_histogram, pwl_regions, region_simplices
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


# Section V.C: "a modified LeNet-5 ... removing one convolutional layer and replacing all activation functions
# with ReLU". Reading: LeNet-5's first convolution (6 filters 5x5, padded to keep 28x28, as LeNet-5 sees 32x32)
# and its subsampling layer (2x2 average pooling, LeNet-5's S2), then its three fully connected layers
# 120-84-10; the second convolution (C3) is the one removed. Without max pooling every row is a unit's.
def lenet5_one_conv() -> torch.nn.Sequential:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(6 * 14 * 14, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def _fashion_mnist(n_train: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Real Fashion-MNIST (10 classes, pixels in [0, 1], flattened) in MNIST's place: the first ``n_train``
    training images (all by default) and 6,000 held out from the training set."""
    from lightning_poly.datamodules import FashionMNISTDataModule

    fm = FashionMNISTDataModule(task="all", val_fraction=0.1)
    fm.prepare_data()
    fm.setup()
    x, y = fm.train_tensors()
    xv, yv = fm.data_val.tensors  # type: ignore[union-attr]
    return x[:n_train], y[:n_train], xv, yv


def _train_classifier(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> None:
    """Adam (lr 1e-3), batch 128, cross-entropy: the plain loop a user runs."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(128):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()


def cmd_lenet(args: argparse.Namespace) -> None:
    import json
    import time

    import matplotlib.pyplot as plt

    torch.manual_seed(args.seed)
    x, y, xv, yv = _fashion_mnist(args.n_train)
    net = lenet5_one_conv()
    t0 = time.perf_counter()
    _train_classifier(net, x.reshape(-1, 1, 28, 28), y, args.epochs, args.seed)
    net = net.double().eval()
    with torch.no_grad():
        acc = float((net(xv.double().reshape(-1, 1, 28, 28)).argmax(1) == yv).double().mean())
    print(f"LeNet-5 without C3 on Fashion-MNIST: {args.epochs} epochs in {time.perf_counter() - t0:.0f} s, "
          f"held-out accuracy {acc:.3f}", flush=True)  # fmt: skip
    points = torch.rand(args.points, 784, generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        spent = time.perf_counter() - start
        print(f"  {done}/{total} regions counted, {spent:.0f} s", flush=True)

    h = face_histogram(
        net, points=points, box=args.box, method="estimate", patience=args.patience, max_rays=args.max_rays,
        max_seconds=args.max_seconds, input_shape=(1, 28, 28), seed=args.seed, on_progress=progress,
    )  # fmt: skip
    counted = len(h.counts)
    rows = pwl_regions(net, points[:1].reshape(1, 1, 28, 28), box=args.box).a.shape[1]  # the network's, not assumed
    rays = h.rays.double() if h.rays is not None else torch.zeros(counted, dtype=torch.float64)
    stopped = int((rays < args.max_rays).sum())
    net_faces = h.counts - (h.box_counts if h.box_counts is not None else 0)
    print(f"{counted} of {h.n_points} points' regions counted in {h.seconds:.0f} s ({h.n_uncounted} left by "
          f"--max-seconds {args.max_seconds}; {h.n_degenerate} degenerate); {rows:,} inequalities per region "
          f"({rows - 2 * 784:,} units + {2 * 784:,} box rows of [-{args.box:g}, {args.box:g}]^784)")  # fmt: skip
    w = [26, 12, 12, 22]
    print(_row(["", "ours", "paper (MNIST)", "note"], w))
    if counted:
        print(_row(["inequalities per region", f"{rows:,}", "26,796", "paper's network is larger"], w))
        print(_row(["faces per region: mean", f"{h.counts.double().mean():.0f}", "1,677", "box faces included"], w))
        print(_row(["faces per region: max", int(h.counts.max()), "< 2,000", ""], w))
        print(_row(["  of them on the box (mean)", f"{(h.counts - net_faces).double().mean():.0f}", "", ""], w))
        print(_row(["rays (iterations): mean", f"{rays.mean():,.0f}", "~120,000", f"patience {args.patience}"], w))
        print(_row(["stopped by the rule", stopped, "all", f"of {counted}; the rest at --max-rays"], w))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].hist(h.counts.numpy(), bins=20, color="tab:blue")
    axes[0].set(xlabel="faces found per region", ylabel="regions", title="Figure 8 (Fashion-MNIST)")
    axes[1].hist(rays.numpy(), bins=20, color="tab:orange")
    axes[1].set(xlabel=f"rays used ({stopped} of {counted} regions stopped by the rule)", ylabel="regions",
                title="Figure 9: rays until no new face in the last --patience")  # fmt: skip
    fig.tight_layout()
    fig.savefig(args.out / "lenet_faces.png", dpi=110)
    print(json.dumps({
        "experiment": "lenet_faces", "accuracy": round(acc, 4), "regions_counted": counted, "points": h.n_points,
        "rows_per_region": rows, "faces_mean": round(float(h.counts.double().mean()), 1) if counted else None,
        "faces_max": int(h.counts.max()) if counted else None,
        "box_faces_mean": round(float((h.counts - net_faces).double().mean()), 1) if counted else None,
        "rays_mean": round(float(rays.mean()), 1) if counted else None,
        "stopped_by_rule": stopped, "seconds": round(h.seconds, 1),
    }))  # fmt: skip


def cmd_sections(args: argparse.Namespace) -> None:
    import pytorch_lightning as pl

    from lightning_poly.callbacks import CrossSectionCallback
    from lightning_poly.datamodules import ArrayDataModule
    from lightning_poly.modules import ReLUMLPModule

    x, y, xv, yv = _fashion_mnist(args.n_train)
    dm = ArrayDataModule(x, y, x_test=xv, y_test=yv, val_fraction=0.0, batch_size=128)
    pl.seed_everything(args.seed)
    model = ReLUMLPModule(input_dim=784, hidden=[7, 7, 6], output_dim=10, loss="cross_entropy", lr=1e-3)
    cb = CrossSectionCallback(every_n_epochs=1, anchor=0, extent=args.extent, resolution=args.resolution,
                              count="section", seed=args.seed)  # fmt: skip
    trainer = pl.Trainer(max_epochs=args.epochs, callbacks=[cb], logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False, accelerator="cpu",
                         default_root_dir=str(args.out))  # fmt: skip
    trainer.fit(model, dm)
    w = [12, 9, 12, 22, 30]
    print(_row(["after", "regions", "mean edges", "triangles + quads", "regions by edges (3, 4, 5, ...)"], w))
    for rec, path in zip(cb.history, cb.paths):
        hist = rec["histogram"]
        small = sum(hist[3:5]) / max(sum(hist), 1)
        when = rec["when"] if rec["when"] != "epoch" else f"epoch {rec['epoch']}"  # Lightning's index, as the figure
        print(_row([when, rec["regions"], f"{rec['mean_faces']:.2f}", f"{small:.0%}", hist[3:]], w))
        (args.out / f"section_{when.replace(' ', '')}.png").write_bytes(Path(path).read_bytes())


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
    s = sub.add_parser("lenet")
    s.add_argument("--epochs", type=int, default=3)
    s.add_argument("--points", type=int, default=200, help="paper: 200")
    s.add_argument("--patience", type=int, default=1000, help="paper: 1000")
    s.add_argument("--max-rays", type=int, default=400_000, help="most rays per region")
    s.add_argument("--max-seconds", type=float, default=900.0, help="budget of the counting (regions left uncounted)")
    s.add_argument("--box", type=float, default=1.0, help="half-width of the box that bounds the regions")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="first training images (default all 54,000)")
    s = sub.add_parser("sections")
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--extent", type=float, default=60.0, help="the plane spans [-extent, extent]^2 around the image")
    s.add_argument("--resolution", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="first training images (default all 54,000)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    commands = {"init": cmd_init, "depth": cmd_depth, "bias": cmd_bias, "train": cmd_train, "table1": cmd_table1}
    commands.update(lenet=cmd_lenet, sections=cmd_sections)
    commands[args.cmd](args)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
