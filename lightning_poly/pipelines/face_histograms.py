"""The face-histogram paper's studies ("Deep ReLU Networks Have Surprisingly Simple Polytopes").

* :func:`histogram_study` over :class:`HistogramSetting` lists (:func:`init_settings`: Figure 4 / Section V.A;
  :func:`depth_settings`: Figure 5; :func:`bias_settings`: Figure 6);
* :func:`simplices_table`: Table I (the most simplices of a one-hidden-layer network's triangulation beside
  Theorems 1-2);
* :func:`histograms_during_training`: Figure 7's protocol, :class:`~lightning_poly.callbacks.FaceHistogramCallback`
  during a fit;
* :func:`lenet_faces`: Section V.C, Figures 8-9 (:func:`lenet5_one_conv` trained with a ``Trainer``, then the
  faces of its regions by the hit-and-run estimator);
* :func:`sections_during_training`: Figure 10 (:class:`~lightning_poly.callbacks.CrossSectionCallback`);
* :func:`whole_arrangement_study`: Theorems 8-10 on every region of the box (the region complex) beside the
  sampled regions.

Each study calls ``on_row`` with a row as it ends, so a script prints as it goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.geometry import FaceHistogram, face_histogram, pwl_regions
from lightning_poly.geometry.bounds import simplices_lower_bound, simplices_upper_bound
from lightning_poly.geometry.triangulation import APEXES, arrangement_box, region_simplices_by_apex
from lightning_poly.nn import ReLUMLP
from lightning_poly.pipelines.training import quiet_trainer, train_network

__all__ = [
    "INITS",
    "HistogramSetting",
    "HistogramStudyRow",
    "LeNetFaces",
    "SimplicesRow",
    "bias_settings",
    "depth_settings",
    "fashion_mnist_images",
    "histogram_study",
    "histograms_during_training",
    "init_settings",
    "lenet5_one_conv",
    "lenet_faces",
    "sections_during_training",
    "simplices_table",
    "whole_arrangement_study",
]

INITS = ("xavier_uniform", "xavier_normal", "kaiming_normal", "orthogonal")
# Table I of the paper: n -> (upper bound, its enumeration's maximum, lower bound)
PAPER_TABLE1 = {7: (482, 446, 77), 8: (686, 663, 116), 9: (942, 893, 166), 10: (1256, 1140, 230)}


@dataclass(frozen=True)
class HistogramSetting:
    """One network setting of a histogram study: ``label``, layer ``widths`` (input first), ``init``, ``bias``."""

    label: str
    widths: tuple[int, ...]
    init: str
    bias: float


def init_settings(archs: Sequence[Sequence[int]] = ((3, 40, 20, 1), (3, 80, 40, 1))) -> list[HistogramSetting]:
    """Figure 4 / Section V.A: every architecture at each of :data:`INITS`, bias 0.01."""
    return [HistogramSetting(f"{'-'.join(map(str, a))} {i}", tuple(a), i, 0.01) for a in archs for i in INITS]


def depth_settings(widths: Sequence[int], depths: Sequence[int]) -> list[HistogramSetting]:
    """Figure 5: ``3-w x depth-1`` networks, Xavier uniform, bias 0.01."""
    return [HistogramSetting(f"3-{w}x{dep}-1 xavier_uniform", (3, *[w] * dep, 1), "xavier_uniform", 0.01)
            for dep in depths for w in widths]  # fmt: skip


def bias_settings() -> list[HistogramSetting]:
    """Figure 6: 3-80-40-1, Xavier uniform and orthogonal, biases 0, 0.01, 0.05, 0.1."""
    return [HistogramSetting(f"3-80-40-1 {i} bias {b}", (3, 80, 40, 1), i, b)
            for i in ("xavier_uniform", "orthogonal") for b in (0.0, 0.01, 0.05, 0.1)]  # fmt: skip


@dataclass
class HistogramStudyRow:
    """A setting's histograms, one per repeat (seed ``0 .. repeats - 1``)."""

    setting: HistogramSetting
    histograms: list[FaceHistogram]

    @property
    def mean_faces(self) -> float:
        return statistics.mean(h.mean for h in self.histograms)

    @property
    def sd_faces(self) -> float:
        """The spread of the repeats' mean faces (population standard deviation)."""
        return statistics.pstdev(h.mean for h in self.histograms)

    @property
    def max_faces(self) -> int:
        return max(h.max for h in self.histograms)

    @property
    def regions(self) -> float:
        return statistics.mean(h.n_regions for h in self.histograms)

    @property
    def simple_fraction(self) -> float:
        return statistics.mean(h.simple_fraction for h in self.histograms)

    @property
    def seconds(self) -> float:
        return sum(h.seconds for h in self.histograms)


def histogram_study(
    settings: Sequence[HistogramSetting],
    *,
    repeats: int,
    n_points: int,
    out: str | Path | None = None,
    on_row: Callable[[HistogramStudyRow], None] | None = None,
) -> list[HistogramStudyRow]:
    """Face histograms of every setting at initialisation, ``repeats`` seeds each (the paper: 5 repeats, 8,000
    points uniform in ``[-1, 1]^3``); the last repeat's histogram saved as ``hist_<label>.png`` under ``out``.

    Args:
        settings: the networks.
        repeats: seeds per setting.
        n_points: points that find the regions.
        out: folder of the figures (none when ``None``).
        on_row: called with each setting's row as it ends.
    """
    from lightning_poly.plotting import plot_face_histogram

    check_int("repeats", repeats, minimum=1)
    check_int("n_points", n_points, minimum=1)
    folder = None if out is None else Path(out)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for setting in settings:
        histograms = []
        for rep in range(repeats):
            torch.manual_seed(rep)
            net = ReLUMLP(list(setting.widths), init=setting.init, bias_value=setting.bias).double()  # type: ignore[arg-type]
            histograms.append(face_histogram(net, n_points=n_points, seed=rep))
        row = HistogramStudyRow(setting, histograms)
        rows.append(row)
        if folder is not None:
            fig = plot_face_histogram(histograms[-1].counts, setting.label, histograms[-1].bound)
            fig.savefig(folder / f"hist_{setting.label.replace(' ', '_')}.png", dpi=100)
        if on_row is not None:
            on_row(row)
    return rows


BiasInit = Literal["xavier_augmented", "uniform_half"]


@dataclass
class SimplicesRow:
    """Table I, one width: Theorem 1's upper bound, Theorem 2's lower bound, the paper's enumeration (``None``
    where it has none) and, for each triangulation (:data:`~lightning_poly.geometry.triangulation.APEXES`), the
    most simplices over the seeds; the regions and the box of the network with the most (first apex)."""

    width: int
    upper: int
    lower: float
    paper: int | None
    most: dict[str, int]
    regions: int
    box: float


def _table1_network(n: int, seed: int, bias_init: BiasInit) -> nn.Module:
    torch.manual_seed(seed)
    net = ReLUMLP([3, n, 1], init="xavier_uniform").double()
    first = net.net[0]
    with torch.no_grad():
        if bias_init == "uniform_half":
            first.bias.uniform_(-0.5, 0.5)
        else:  # weight and bias as one (n, d + 1) Xavier-uniform matrix
            joint = torch.empty(n, 4, dtype=torch.float64)
            nn.init.xavier_uniform_(joint)
            first.weight.copy_(joint[:, :3])
            first.bias.copy_(joint[:, 3])
    return net


def simplices_table(
    widths: Sequence[int],
    *,
    repeats: int,
    box: float | None = None,
    bias_init: BiasInit = "xavier_augmented",
    apexes: Sequence[str] = APEXES,
    seed_points: int = 4000,
    on_row: Callable[[SimplicesRow], None] | None = None,
) -> list[SimplicesRow]:
    """Table I: the most simplices of the triangulations of ``3-n-1`` networks' regions over ``repeats`` seeds.

    The paper: "we initialize all the parameters based on the Xavier uniform initialization", ten times, every
    region enumerated in a box "large enough". Our reading (``bias_init="xavier_augmented"``): each layer's
    weight and bias drawn together as one ``(n, d + 1)`` Xavier-uniform matrix (Xavier has no rule for a bias
    alone); ``"uniform_half"`` draws the first layer's biases from ``U(-0.5, 0.5)`` instead (our earlier
    protocol). ``box=None``: per network, the smallest box holding every vertex of its arrangement, times 1.05
    (:func:`~lightning_poly.geometry.triangulation.arrangement_box`). A region's number of simplices depends on
    the triangulation, so each apex rule of :func:`~lightning_poly.geometry.triangulation.pulling_triangulation`
    is counted.

    Args:
        widths: the hidden widths ``n``.
        repeats: seeds per width (the paper: 10).
        box: half-width of the box ``C(d, B)`` (``None``: each network's :func:`arrangement_box`).
        bias_init: ``"xavier_augmented"`` or ``"uniform_half"``.
        apexes: the triangulations to count.
        seed_points: points that seed the region enumeration.
        on_row: called with each width's row as it ends.
    """
    check_int("repeats", repeats, minimum=1)
    if box is not None:
        check_positive("box", box)
    check_choice("bias_init", bias_init, ("xavier_augmented", "uniform_half"))
    for apex in apexes:
        check_choice("apexes", apex, APEXES)
    rows = []
    for n in widths:
        most = dict.fromkeys(apexes, 0)
        regions, used = 0, 0.0
        for rep in range(repeats):
            net = _table1_network(n, rep, bias_init)
            b = arrangement_box(net) if box is None else box
            by_apex = region_simplices_by_apex(net, box=b, seed_points=seed_points, apexes=apexes)  # type: ignore[arg-type]
            for i, (apex, res) in enumerate(by_apex.items()):
                if res.total > most[apex]:
                    most[apex] = res.total
                    if i == 0:
                        regions, used = res.n_regions, b
        paper = PAPER_TABLE1.get(n)
        row = SimplicesRow(n, simplices_upper_bound(n, 3, 1), simplices_lower_bound(n, 3, 1),
                           None if paper is None else paper[1], most, regions, used)  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def histograms_during_training(
    *,
    epochs: int = 400,
    n_points: int = 8000,
    out: Path,
    hidden: Sequence[int] = (20, 20),
    lr: float = 0.1,
    box: float = 5.0,
    sample_box: float = 1.0,
    batch_size: int = 256,
    seed: int = 0,
    max_seconds: float | None = None,
) -> tuple[list[dict[str, Any]], float]:
    """Figure 7: a ``5-20-20-1`` :class:`~lightning_poly.modules.ReLUMLPModule` (Xavier uniform, binary
    cross-entropy) trained with Adam, lr 0.1, for 400 epochs on an 80/20 split, with
    :class:`~lightning_poly.callbacks.FaceHistogramCallback` at fit start, four times during the fit and at its
    end: 8,000 points uniform in ``[-1, 1]^5``, every region bounded by ``[-5, 5]^5`` (the paper writes
    ``[-1, 1]^3`` and ``[-5, 5]^3`` for its 5 features; we read 5).

    Data (a named deviation): the paper's COVID table (5 binary features, Kaggle) is not available offline, so
    real Fashion-MNIST T-shirt (0) vs shirt (6) on 5 whitened principal components (unit variance, so the data
    lie in the box). The batch size is not given in the paper (256 here).

    Returns:
        The callback's history and the validation accuracy at the end.
    """
    import pytorch_lightning as pl
    from pytorch_lightning.loggers import CSVLogger

    from lightning_poly.callbacks import FaceHistogramCallback
    from lightning_poly.datamodules import ArrayDataModule, FashionMNISTDataModule
    from lightning_poly.modules import ReLUMLPModule

    check_int("epochs", epochs, minimum=1)
    fm = FashionMNISTDataModule(task="pair", pair=(0, 6), pca_components=5, val_fraction=0.2)
    fm.prepare_data()
    fm.setup()
    x, y = fm.train_tensors()
    xv, yv = fm.data_val.tensors  # type: ignore[union-attr]
    dm = ArrayDataModule(x, y, x_test=xv, y_test=yv, val_fraction=0.2, batch_size=batch_size)
    pl.seed_everything(seed, verbose=False)
    model = ReLUMLPModule(input_dim=5, hidden=list(hidden), lr=lr, init="xavier_uniform")
    cb = FaceHistogramCallback(n_points=n_points, box=box, sample_box=sample_box, every_n_epochs=max(1, epochs // 4),
                               max_seconds=max_seconds, plot=False)  # fmt: skip
    trainer = pl.Trainer(max_epochs=epochs, callbacks=[cb], logger=CSVLogger(str(out), name="train"),
                         enable_progress_bar=False, enable_checkpointing=False, accelerator="cpu")  # fmt: skip
    trainer.fit(model, dm)
    return cb.history, float(trainer.callback_metrics["val/acc"])


# Section V.C: "a modified LeNet-5 ... removing one convolutional layer and replacing all activation functions
# with ReLU". Reading: LeNet-5's first convolution (6 filters 5x5, padded to keep 28x28, as LeNet-5 sees 32x32)
# and its subsampling layer (2x2 average pooling, LeNet-5's S2), then its three fully connected layers
# 120-84-10; the second convolution (C3) is the one removed. Without max pooling every row is a unit's.
def lenet5_one_conv() -> nn.Sequential:
    """Section V.C's network, our reading: LeNet-5's C1 (``Conv2d(1, 6, 5, padding=2)``), ReLU, S2 as
    ``AvgPool2d(2)``, then ``1176-120-84-10`` with ReLU (C3 removed)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(6 * 14 * 14, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def fashion_mnist_images(n_train: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Real Fashion-MNIST (10 classes, pixels in [0, 1], flattened) in MNIST's place: the first ``n_train``
    training images (all 54,000 by default) and 6,000 held out from the training set."""
    from lightning_poly.datamodules import FashionMNISTDataModule

    fm = FashionMNISTDataModule(task="all", val_fraction=0.1)
    fm.prepare_data()
    fm.setup()
    x, y = fm.train_tensors()
    xv, yv = fm.data_val.tensors  # type: ignore[union-attr]
    return x[:n_train], y[:n_train], xv, yv


@dataclass
class LeNetFaces:
    """What :func:`lenet_faces` measured.

    Attributes:
        accuracy: held-out accuracy of the trained network.
        train_seconds: the fit's wall time.
        histogram: the faces of the counted regions (hit-and-run estimates: lower bounds).
        rows: inequalities per region (the network's units plus ``2 * 784`` box rows), read from the network.
        rays: rays used per counted region.
        stopped_by_rule: regions whose count stopped by the patience rule (the rest at ``max_rays``).
    """

    accuracy: float
    train_seconds: float
    histogram: FaceHistogram
    rows: int
    rays: torch.Tensor
    stopped_by_rule: int

    @property
    def counted(self) -> int:
        return len(self.histogram.counts)

    @property
    def box_faces(self) -> torch.Tensor:
        """Faces on the box, per counted region."""
        h = self.histogram
        return h.box_counts if h.box_counts is not None else torch.zeros_like(h.counts)

    def record(self) -> dict[str, Any]:
        """The JSON record of the experiment (``None`` for what no counted region gives)."""
        h, counted = self.histogram, self.counted
        return {
            "experiment": "lenet_faces", "accuracy": round(self.accuracy, 4), "regions_counted": counted,
            "points": h.n_points, "rows_per_region": self.rows,
            "faces_mean": round(float(h.counts.double().mean()), 1) if counted else None,
            "faces_max": int(h.counts.max()) if counted else None,
            "box_faces_mean": round(float(self.box_faces.double().mean()), 1) if counted else None,
            "rays_mean": round(float(self.rays.mean()), 1) if counted else None,
            "stopped_by_rule": self.stopped_by_rule, "seconds": round(h.seconds, 1),
        }  # fmt: skip


def lenet_faces(
    *,
    epochs: int,
    points: int,
    patience: int,
    max_rays: int,
    max_seconds: float,
    box: float = 1.0,
    seed: int = 0,
    n_train: int | None = None,
    out: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> LeNetFaces:
    """Section V.C (Figures 8-9): train :func:`lenet5_one_conv` on Fashion-MNIST (Adam lr 1e-3, batch 128,
    cross-entropy, through a ``Trainer``), then estimate the faces of the regions of ``points`` points uniform in
    ``[0, 1]^784`` (the paper's), each region bounded by ``[-box, box]^784``, by hit-and-run until ``patience``
    rays in a row find no new face (at most ``max_rays`` a region, ``max_seconds`` in all); the figure
    ``lenet_faces.png`` (faces found, rays used) under ``out``.
    """
    check_int("points", points, minimum=1)
    torch.manual_seed(seed)
    x, y, xv, yv = fashion_mnist_images(n_train)
    net = lenet5_one_conv()
    seconds = train_network(net, x.reshape(-1, 1, 28, 28), y, epochs=epochs, seed=seed, lr=1e-3, batch_size=128)
    net = net.double().eval()
    with torch.no_grad():
        acc = float((net(xv.double().reshape(-1, 1, 28, 28)).argmax(1) == yv).double().mean())
    sample = torch.rand(points, 784, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    h = face_histogram(
        net, points=sample, box=box, method="estimate", patience=patience, max_rays=max_rays,
        max_seconds=max_seconds, input_shape=(1, 28, 28), seed=seed, on_progress=on_progress,
    )  # fmt: skip
    rows = pwl_regions(net, sample[:1].reshape(1, 1, 28, 28), box=box).a.shape[1]  # the network's, not assumed
    rays = h.rays.double() if h.rays is not None else torch.zeros(len(h.counts), dtype=torch.float64)
    result = LeNetFaces(acc, seconds, h, rows, rays, int((rays < max_rays).sum()))
    if out is not None:
        _plot_lenet_faces(result, out / "lenet_faces.png")
    return result


def _plot_lenet_faces(result: LeNetFaces, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].hist(result.histogram.counts.numpy(), bins=20, color="tab:blue")
    axes[0].set(xlabel="faces found per region", ylabel="regions", title="Figure 8 (Fashion-MNIST)")
    axes[1].hist(result.rays.numpy(), bins=20, color="tab:orange")
    axes[1].set(xlabel=f"rays used ({result.stopped_by_rule} of {result.counted} regions stopped by the rule)",
                ylabel="regions", title="Figure 9: rays until no new face in the last patience")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sections_during_training(
    *,
    epochs: int = 480,
    extent: float,
    resolution: int,
    every_n_epochs: int = 60,
    init: str = "kaiming_normal",
    seed: int = 0,
    n_train: int | None = None,
    out: Path,
) -> list[tuple[dict[str, Any], Path]]:
    """Figure 10: a 784-7-7-6-10 :class:`~lightning_poly.modules.ReLUMLPModule`, Kaiming-normal initialisation,
    trained on Fashion-MNIST in MNIST's place (Adam lr 1e-3, batch 128, cross-entropy, the paper's 480 epochs)
    with :class:`~lightning_poly.callbacks.CrossSectionCallback` at fit start and every ``every_n_epochs`` epochs:
    the plane through the first image along two random directions, ``[-extent, extent]^2``, ``resolution`` cells
    a side (the paper does not say at which epochs its sections are drawn).

    Returns:
        Each cross-section's record and its figure, copied to ``out/section_<when>.png``.
    """
    import pytorch_lightning as pl

    from lightning_poly.callbacks import CrossSectionCallback
    from lightning_poly.datamodules import ArrayDataModule
    from lightning_poly.modules import ReLUMLPModule

    check_int("every_n_epochs", every_n_epochs, minimum=1)
    x, y, xv, yv = fashion_mnist_images(n_train)
    dm = ArrayDataModule(x, y, x_test=xv, y_test=yv, val_fraction=0.0, batch_size=128)
    pl.seed_everything(seed, verbose=False)
    model = ReLUMLPModule(input_dim=784, hidden=[7, 7, 6], output_dim=10, loss="cross_entropy", lr=1e-3,
                          init=init)  # type: ignore[arg-type]  # fmt: skip
    cb = CrossSectionCallback(every_n_epochs=every_n_epochs, anchor=0, extent=extent, resolution=resolution,
                              count="section", seed=seed)  # fmt: skip
    quiet_trainer(epochs, [cb], accelerator="cpu", default_root_dir=str(out)).fit(model, dm)
    sections = []
    for rec, path in zip(cb.history, cb.paths):
        when = rec["when"] if rec["when"] != "epoch" else f"epoch {rec['epoch']}"  # Lightning's index, as the figure
        copy = out / f"section_{when.replace(' ', '')}.png"
        copy.write_bytes(Path(path).read_bytes())
        sections.append(({**rec, "label": when}, copy))
    return sections


WHOLE_ARRANGEMENT_NETWORKS = (  # d, hidden widths, zero bias
    (2, (20,), False), (2, (100,), False), (2, (40, 40), False), (2, (20, 20, 20), False), (2, (40, 40), True),
    (3, (10,), False), (3, (40,), False), (3, (20, 20), False), (3, (12, 12, 12), False), (3, (16, 16), True),
    (4, (8,), False), (4, (24,), False), (4, (12, 12), False), (4, (10, 10), True),
)  # fmt: skip


def default_init_network(d: int, widths: Sequence[int], zero_bias: bool, seed: int = 0) -> nn.Sequential:
    """A seeded float64 ReLU MLP ``d-widths-1`` of PyTorch's default initialisation (hidden biases 0 with
    ``zero_bias``)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, w in enumerate(widths):
        lin = nn.Linear(d if i == 0 else widths[i - 1], w)
        if zero_bias:
            nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1)).double()


def whole_arrangement_study(
    networks: Sequence[tuple[int, Sequence[int], bool]] = WHOLE_ARRANGEMENT_NETWORKS,
    *,
    box: float = 1.0,
    n_points: int = 8000,
    max_dim: int | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Theorems 8-10 on whole arrangements: for each ``(d, widths, zero_bias)`` network
    (:func:`default_init_network`), every region of ``[-box, box]^d`` (``face_histogram(..., regions="all")``, from
    the region complex) beside the regions found by ``n_points`` uniform points (the paper's protocol), and the
    mean-faces bound that applies. ``max_dim``: only the networks with ``d <= max_dim``."""
    check_positive("box", box)
    rows = []
    for d, widths, zero_bias in networks:
        if max_dim is not None and d > max_dim:
            continue
        net = default_init_network(d, widths, zero_bias)
        t0 = time.perf_counter()
        whole = face_histogram(net, n_points=n_points, box=box, regions="all", max_regions=500_000)
        t1 = time.perf_counter()
        sampled = face_histogram(net, n_points=n_points, box=box)
        t2 = time.perf_counter()
        if whole.regions != "all":
            raise RuntimeError(f"the whole complex of {d}-{widths}-1 did not fit its budget: {whole.notes}")
        row = {"network": "-".join(map(str, [d, *widths, 1])) + (" zero bias" if zero_bias else ""),
               "bound": whole.bound, "whole": whole, "sampled": sampled, "seconds_whole": t1 - t0,
               "seconds_sampled": t2 - t1}  # fmt: skip
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
