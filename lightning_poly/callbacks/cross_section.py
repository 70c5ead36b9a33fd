"""Log the regions on a plane through a training input at several epochs (face-histogram paper, Figure 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from typing_extensions import override

from lightning_poly._compat import MisconfigurationException
from lightning_poly._user import analysed_network, resolve_analysed_network, user_inputs
from lightning_poly._validation import check_choice, check_int, check_int_tuple, check_positive
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.cross_section import CrossSection, SectionCount, cross_section
from lightning_poly.geometry.faces import FACE_METHODS, FaceMethod
from lightning_poly.media import log_figure
from lightning_poly.nn.outputs import eval_mode
from lightning_poly.plotting import plot_cross_section

__all__ = ["CrossSectionCallback"]


class CrossSectionCallback(SuiteCallback):
    """A figure of the linear regions on a plane through a training input, at fit start, epochs and fit end.

    Figure 10 of the face-histogram paper: the plane :math:`x_0 + s u + t v` through an input :math:`x_0` (the
    ``anchor``-th training sample) along two seeded random unit directions, the same plane at every call,
    each grid point coloured by the face count of its region (by default the edges of the region's polygon
    in the plane, exact: the paper's reading) with the region boundaries drawn. The work is
    :func:`lightning_poly.geometry.cross_section`, the figure :func:`lightning_poly.plotting.plot_cross_section`,
    logged as ``cross_section`` (``wandb.Image``, TensorBoard, or a PNG in the log folder; ``paths`` lists
    them) with the scalars ``cross_section/regions`` and ``cross_section/mean_faces``. The model is measured
    in eval mode and never changed; rank zero alone computes and logs, and under DDP broadcasts the record, so
    every rank holds the same ``history`` and ``callback_metrics``. At the end of training (before the strategy's
    teardown) a figure is drawn unless the weights are bit-identical to the last figure's (then its record is
    repeated for the end, without a figure). ``history`` keeps a
    record per figure: ``when``, ``epoch``, ``step``, ``regions``, ``mean_faces`` and ``histogram`` (regions
    per face count: ``histogram[4]`` quadrilaterals when counting a section's edges; empty for ``"none"``).

    A ReLU MLP is found in the module as by the other callbacks; any other piecewise-linear network (a CNN)
    is analysed at the shape of the training samples, or at ``input_shape`` when given: the module's forward
    (or the ``network`` submodule) is traced and checked at ``setup``, a layer that is not piecewise linear
    refused by name. Several instances (e.g. planes through several anchors) run in one Trainer.

    This is a callback of its own rather than a mode of
    :class:`~lightning_poly.callbacks.DecisionBoundaryCallback`: that one draws a classifier's decision on 2-D
    data with the data on top; a cross-section draws the regions (not the decision) on a plane through one
    input of any shape, so the two share neither inputs nor figure.

    Args:
        every_n_epochs: draw at the end of every this many epochs (``0``: never).
        at_fit_start: draw at fit start (skipped on resume, where the restored history holds it).
        at_fit_end: draw at fit end (on the weights of the last figure: its record again, no figure).
        resolution: grid points per side.
        extent: the plane is drawn over ``[-extent, extent]^2`` (unit directions: a distance in input space).
        count: ``"section"`` (edges of each region's polygon in the plane, exact), ``"region"`` (faces of the
            d-dimensional region in the box: exact for an MLP, estimated for other networks, slow in high
            dimension) or ``"none"`` (regions only).
        anchor: the index of the training sample the plane runs through, or the point itself (a tensor).
        seed: seed of the plane's directions.
        box: half-width of the box of ``count="region"``.
        method: face-counting method of ``count="region"`` (see :func:`~lightning_poly.geometry.face_histogram`).
        input_shape: a point's shape (e.g. ``(1, 28, 28)``) for a network that is not a ReLU MLP; ``None``: a
            ReLU MLP, or the shape of the training samples (of ``anchor`` when it is a tensor) otherwise.
        network: the submodule holding the network (``None``: found for an MLP, the module itself with
            ``input_shape``).
        data: the training inputs (tensors, a Dataset or a DataLoader); ``None``: the Trainer's.
        batch_to_xy: splits a batch into ``(x, y)`` (default: tuple, list or dict batches).

    Example:
        >>> cb = CrossSectionCallback(every_n_epochs=5, input_shape=(1, 28, 28))
        >>> cb.count, cb.paths
        ('section', [])
    """

    reuse_unchanged = True  # no second figure of the same weights at the end (see `_repeat`)

    def __init__(
        self,
        every_n_epochs: int = 1,
        at_fit_start: bool = True,
        at_fit_end: bool = True,
        resolution: int = 100,
        extent: float = 1.0,
        count: SectionCount = "section",
        anchor: int | torch.Tensor = 0,
        seed: int = 0,
        box: float = 1.0,
        method: FaceMethod = "auto",
        input_shape: tuple[int, ...] | None = None,
        network: str | None = None,
        data: Any = None,
        batch_to_xy: BatchToXY | None = None,
    ) -> None:
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.at_fit_start, self.at_fit_end = bool(at_fit_start), bool(at_fit_end)
        self.resolution = check_int("resolution", resolution, minimum=2)
        self.extent = float(check_positive("extent", extent))
        self.count = check_choice("count", count, ("section", "region", "none"))
        if not isinstance(anchor, torch.Tensor):
            check_int("anchor", anchor, minimum=0)
        self.anchor, self.seed = anchor, int(seed)
        self.box = float(check_positive("box", box))
        self.method = check_choice("method", method, FACE_METHODS)
        self.input_shape = None if input_shape is None else check_int_tuple("input_shape", input_shape)
        self.network, self.data, self.batch_to_xy = network, data, batch_to_xy
        self._origin: torch.Tensor | None = None
        self._shape: tuple[int, ...] | None = self.input_shape
        self.paths: list[Path] = []
        self.last: CrossSection | None = None
        self._schedule(self.at_fit_start, self.every_n_epochs, at_end=self.at_fit_end)

    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        who = type(self).__name__
        if isinstance(self.anchor, torch.Tensor):
            x = origin = self.anchor.detach().cpu()[None]
        else:
            x = user_inputs(trainer, self.data, "train", max(64, self.anchor + 1), self.batch_to_xy, who)
            if self.anchor >= len(x):
                raise MisconfigurationException(
                    f"{who}: `anchor` is sample {self.anchor}, but the training data holds {len(x)} samples"
                )
            origin = x[self.anchor]
        _, self._shape = resolve_analysed_network(pl_module, self.network, x, self.input_shape, who)
        self._origin = origin.float().reshape(-1) if self._shape is None else origin.float().reshape(self._shape)

    def _net(self, pl_module: pl.LightningModule, x: torch.Tensor) -> torch.nn.Module:
        return analysed_network(pl_module, self.network, x, self._shape, type(self).__name__)

    def _compute(self, pl_module: pl.LightningModule) -> CrossSection:
        assert self._origin is not None, "setup() reads the anchor"
        with eval_mode(pl_module):
            net = self._net(pl_module, self._origin.reshape(1, -1))
            return cross_section(
                net, self._origin, extent=self.extent, resolution=self.resolution, box=self.box,
                method=self.method, count=self.count, input_shape=self._shape, seed=self.seed,
            )  # fmt: skip

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        record: dict[str, Any] | None = None
        if trainer.is_global_zero:
            cs = self.last = self._compute(pl_module)
            record = {"when": when, "epoch": trainer.current_epoch, "step": trainer.global_step}
            per = cs.region_faces
            counts = per[per >= 0] if per is not None else per
            hist = torch.bincount(counts).tolist() if counts is not None and counts.numel() else []
            record.update(regions=cs.n_regions, mean_faces=cs.mean_faces, histogram=hist)
            title = {"fit_start": "fit start", "epoch": f"after epoch {trainer.current_epoch}"}
            fig = plot_cross_section(cs, title.get(when, f"fit end, step {trainer.global_step}"))
            path = log_figure(trainer, "cross_section", fig)
            if path is not None:
                self.paths.append(path)
        if trainer.world_size > 1:  # every rank reaches it: the same history and callback_metrics everywhere
            record = trainer.strategy.broadcast(record, src=0)
        assert record is not None
        self.history.append(record)
        self._log_scalars(trainer, pl_module, self._record_scalars("cross_section/", record))  # (a None mean left out)
