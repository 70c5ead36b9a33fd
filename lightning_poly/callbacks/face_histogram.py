"""Log the face histogram of the model's linear regions during training (DDP-safe, resumable)."""

from __future__ import annotations

import time
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException

from lightning_poly._lightning import Callback
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.callbacks._history import HistoryState
from lightning_poly.geometry.histogram import FaceHistogram, FaceMethod, count_region_faces, network_architecture
from lightning_poly.geometry.regions import enumerate_regions, sample_box
from lightning_poly.logging import log_figure, log_histogram
from lightning_poly.nn.relu_network import get_relu_network
from lightning_poly.plotting import plot_face_histogram

__all__ = ["FaceHistogramCallback"]

PointSource = Literal["uniform", "train"]


class FaceHistogramCallback(HistoryState, Callback):
    """Histogram of the faces of the network's linear regions at fit start, during and at fit end.

    The work is :func:`lightning_poly.geometry.face_histogram`, split in two: the regions are found
    on every rank from identical points (seeded uniform points, or the training split, which the
    data modules split identically on every rank), then each rank counts the faces of every
    ``world_size``-th region and one ``sum`` all-reduce, reached by every rank, gathers the counts.
    Only rank zero logs: ``faces/*`` scalars (mean, max, regions, simple fraction, the applicable
    bound, seconds per call), the histogram (``wandb.Histogram`` / TensorBoard / ``.npz``) and a
    bar-chart image. The model is never changed, and no global random state is used.

    Args:
        n_points: uniform points in the box (paper: 8,000 in ``[-1, 1]^3``).
        box: half-width ``B`` of the input box.
        points: ``"uniform"`` or ``"train"`` (the data module's ``train_tensors()``, which must lie
            in the box).
        method: exact method or ``"estimate"`` (see :func:`~lightning_poly.geometry.face_histogram`).
        every_n_epochs: also run at the end of every this many epochs (0: never).
        every_n_steps: also run every this many optimizer steps (0: never).
        at_fit_start, at_fit_end: run at these moments (fit start is skipped on resume, where the
            restored history already holds it).
        seed: seed of the points and rays.
        plot: log the bar chart too.

    Example:
        >>> cb = FaceHistogramCallback(n_points=2000, every_n_epochs=5)
        >>> cb.state_key
        "FaceHistogramCallback{'n_points': 2000, 'box': 1.0, 'points': 'uniform', 'method': 'auto'}"
    """

    def __init__(
        self,
        n_points: int = 8000,
        box: float = 1.0,
        points: PointSource = "uniform",
        method: FaceMethod = "auto",
        every_n_epochs: int = 1,
        every_n_steps: int = 0,
        at_fit_start: bool = True,
        at_fit_end: bool = True,
        seed: int = 0,
        plot: bool = True,
        patience: int = 1000,
        max_rays: int = 100_000,
    ) -> None:
        self.n_points = check_int("n_points", n_points, minimum=1)
        self.box = float(check_positive("box", box))
        self.points = check_choice("points", points, ("uniform", "train"))
        self.method = check_choice("method", method, ("auto", "reference", "qhull", "clarkson", "estimate"))
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=0)
        self.at_fit_start, self.at_fit_end = bool(at_fit_start), bool(at_fit_end)
        self.seed, self.plot = int(seed), bool(plot)
        self.patience = check_int("patience", patience, minimum=1)
        self.max_rays = check_int("max_rays", max_rays, minimum=1)
        self.history: list[dict[str, Any]] = []
        self.last: FaceHistogram | None = None

    @property
    def state_key(self) -> str:
        return self._generate_state_key(n_points=self.n_points, box=self.box, points=self.points, method=self.method)

    # -- hooks decide ---------------------------------------------------------------------------
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        try:
            get_relu_network(pl_module)
        except TypeError as err:
            raise MisconfigurationException(f"FaceHistogramCallback needs a ReLU network: {err}") from err

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_fit_start and not self.history:
            self._run(trainer, pl_module, "fit_start")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._run(trainer, pl_module, "epoch")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self._run(trainer, pl_module, "step")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_fit_end:
            self._run(trainer, pl_module, "fit_end")

    def summary(self) -> str:
        """One line for the CLI's run summary."""
        if self.last is None:
            return ""
        h = self.last
        b = f", bound {h.bound[0]} {h.bound[1]:.2f}" if h.bound else ""
        return f"{h.n_regions} regions, mean faces {h.mean:.2f}, max {h.max}, simple {h.simple_fraction:.0%}{b}"

    # -- private methods compute ----------------------------------------------------------------
    def _points(self, trainer: pl.Trainer, d: int, device: torch.device) -> torch.Tensor:
        if self.points == "uniform":
            return sample_box(self.n_points, d, self.box, self.seed, device=device)
        dm: Any = trainer.datamodule
        if dm is None or not hasattr(dm, "train_tensors"):
            raise MisconfigurationException("points='train' needs a data module with `train_tensors()`")
        x = dm.train_tensors()[0].flatten(1).to(device, torch.float64)
        if bool((x.abs() > self.box).any()):
            raise MisconfigurationException(
                f"points='train' needs the training data inside the box; max |x| is {float(x.abs().max()):.3g} > box={self.box}"
            )
        return x

    @torch.no_grad()
    def _compute(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> FaceHistogram:
        t0 = time.perf_counter()
        net = get_relu_network(pl_module)
        d = network_architecture(net)[0]
        device = pl_module.device
        pts = self._points(trainer, d, device)
        regions = enumerate_regions(net, pts, self.box)
        r, world, rank = len(regions), trainer.world_size, trainer.global_rank
        mine = torch.arange(rank, r, world)
        counts, ok, rays, _ = count_region_faces(
            net, regions, self.box, self.method, mine, self.patience, self.max_rays, self.seed
        )
        packed = torch.zeros(3, r, dtype=torch.long)
        packed[0, mine], packed[1, mine], packed[2, mine] = counts, ok.long(), rays
        if world > 1:  # every rank reaches this collective
            packed = trainer.strategy.reduce(packed.to(device), reduce_op="sum").cpu()
        return FaceHistogram.from_counts(
            net,
            regions.counts,
            packed[0],
            packed[1].bool(),
            packed[2],
            self.box,
            self.method,
            len(pts),
            time.perf_counter() - t0,
        )

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        was_training = pl_module.training
        pl_module.eval()
        try:
            hist = self._compute(trainer, pl_module)
        finally:
            pl_module.train(was_training)
        self.last = hist
        values, regions = hist.histogram()
        record = {"when": when, "epoch": trainer.current_epoch, "step": trainer.global_step, **hist.summary()}
        record["histogram"] = regions.tolist()
        self.history.append(record)
        if trainer.is_global_zero:
            self._log(trainer, hist, values, regions)

    def _log(self, trainer: pl.Trainer, hist: FaceHistogram, values: torch.Tensor, regions: torch.Tensor) -> None:
        scalars = {f"faces/{k}": float(v) for k, v in hist.summary().items() if not isinstance(v, str)}
        for logger in trainer.loggers:
            logger.log_metrics(scalars, step=trainer.global_step)
        edges = (
            torch.cat([values.double() - 0.5, values[-1:].double() + 0.5]) if len(values) else torch.tensor([0.0, 1.0])
        )
        log_histogram(trainer, "faces/histogram", regions.numpy() if len(values) else [0], edges.numpy())
        if self.plot:
            title = f"{'-'.join(map(str, [hist.input_dim, *hist.hidden_widths]))}: step {trainer.global_step}"
            log_figure(trainer, "faces/histogram_plot", plot_face_histogram(hist.counts, title, hist.bound))
