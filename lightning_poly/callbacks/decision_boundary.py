"""Plot a binary classifier's decision regions on 2-D data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from typing_extensions import override

from lightning_poly._user import labelled_data, network_of
from lightning_poly._validation import check_int, check_positive
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.complex import region_complex
from lightning_poly.media import log_figure
from lightning_poly.plotting import plot_model_decision_regions
from lightning_poly.plotting_complex import plot_region_complex

__all__ = ["DecisionBoundaryCallback"]


class DecisionBoundaryCallback(SuiteCallback):
    """Log a figure of the decision regions of a binary classifier on 2-D inputs.

    Runs at the end of training and every ``every_n_epochs`` epochs if set (the end does not repeat the last
    figure when the weights are bit-identical to it). The figure is
    :func:`lightning_poly.plotting.plot_model_decision_regions` of the module's own forward (class 1
    where its logit is > 0; the last minus the first logit for several outputs). The data is read
    once at ``setup``; inputs other than 2-D are skipped with a warning (for those,
    :class:`~lightning_poly.callbacks.CrossSectionCallback` draws the regions on a plane through an input).

    Args:
        every_n_epochs: also plot every this many epochs (``0``: only at fit end).
        resolution: grid resolution.
        data: the points to draw (tensors ``(x, y)``, a Dataset or a DataLoader); ``None``: the
            Trainer's training data.
        max_samples: at most this many samples.
        batch_to_xy: splits a batch into ``(x, y)`` (default: tuple, list or dict batches).
        complex_box: also log ``region_complex``: every linear region of the module's ReLU MLP in
            ``[-complex_box, complex_box]^2`` (:func:`~lightning_poly.geometry.region_complex`), coloured by its
            number of faces, with the exact decision boundary and the data (``None``: not drawn). A complex not
            enumerated within ``complex_seconds`` is not drawn (a warning says so).
        complex_seconds: time budget of that enumeration.

    Example:
        >>> cb = DecisionBoundaryCallback(every_n_epochs=0)
        >>> cb.paths
        []
    """

    reuse_unchanged = True

    def __init__(
        self,
        every_n_epochs: int = 0,
        resolution: int = 200,
        data: Any = None,
        max_samples: int | None = 5000,
        batch_to_xy: BatchToXY | None = None,
        complex_box: float | None = None,
        complex_seconds: float = 10.0,
    ) -> None:
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.resolution = check_int("resolution", resolution, minimum=2)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=1)
        self.data, self.batch_to_xy = data, batch_to_xy
        self.complex_box = None if complex_box is None else float(check_positive("complex_box", complex_box))
        self.complex_seconds = float(check_positive("complex_seconds", complex_seconds))
        self._xy: tuple[torch.Tensor, torch.Tensor] | None = None
        self.paths: list[Path] = []
        self._schedule(every_n_epochs=self.every_n_epochs, at_end=True)

    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        x, y = labelled_data(trainer, self.data, "train", self.max_samples, self.batch_to_xy, type(self).__name__)
        if x.ndim != 2 or x.shape[1] != 2:
            rank_zero_warn(
                f"DecisionBoundaryCallback draws 2-D inputs only; got inputs of shape {tuple(x.shape[1:])}: skipped "
                f"(CrossSectionCallback draws the regions on a plane through an input of any shape)"
            )
            return
        self._xy = (x, y)
        if self.complex_box is not None:  # a ReLU MLP is needed: refused here, by name, if there is none
            network_of(pl_module, None, x, type(self).__name__, own_tensors=False)

    @override
    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        if not trainer.is_global_zero or self._xy is None:
            return
        x, y = self._xy
        fig = plot_model_decision_regions(pl_module, x, y, f"epoch {trainer.current_epoch}", self.resolution)
        path = log_figure(trainer, "decision_regions", fig)
        if path is not None:
            self.paths.append(path)
        if self.complex_box is not None:
            self._log_complex(trainer, pl_module, x, y)

    def _log_complex(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, x: torch.Tensor, y: torch.Tensor
    ) -> None:
        net = network_of(pl_module, None, x, type(self).__name__, own_tensors=False)
        cx = region_complex(net, box=self.complex_box, max_seconds=self.complex_seconds)
        if not cx.complete:
            rank_zero_warn(f"DecisionBoundaryCallback: the region complex is not drawn: {cx.reason}")
            return
        fig = plot_region_complex(cx, net, title=f"epoch {trainer.current_epoch}: {len(cx)} regions, mean faces "
                                  f"{float(cx.counts.double().mean()):.2f}", points=x, labels=y)  # fmt: skip
        path = log_figure(trainer, "region_complex", fig)
        if path is not None:
            self.paths.append(path)
