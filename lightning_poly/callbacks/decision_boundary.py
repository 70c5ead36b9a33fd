"""Plot a binary classifier's decision regions on 2-D data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from lightning_poly._lightning import Callback
from lightning_poly._validation import check_int
from lightning_poly.logging import log_figure
from lightning_poly.plotting import plot_decision_regions

__all__ = ["DecisionBoundaryCallback"]


class DecisionBoundaryCallback(Callback):
    """Log a figure of the decision regions of a binary classifier on 2-D inputs.

    Runs at fit end, and every ``every_n_epochs`` epochs if set. The scorer is the module's output
    (class 1 where it is > 0, i.e. logits). Inputs other than 2-D are skipped with a warning.

    Args:
        every_n_epochs: also plot every this many epochs (``0``: only at fit end).
        resolution: grid resolution.

    Example:
        >>> cb = DecisionBoundaryCallback(every_n_epochs=0)
        >>> cb.paths
        []
    """

    def __init__(self, every_n_epochs: int = 0, resolution: int = 200) -> None:
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.resolution = check_int("resolution", resolution, minimum=2)
        self.paths: list[Path] = []

    def _plot(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        dm: Any = trainer.datamodule
        if dm is None or not hasattr(dm, "train_tensors"):
            return
        x, y = dm.train_tensors()
        if x.ndim != 2 or x.shape[1] != 2:
            return
        was_training = pl_module.training
        pl_module.eval()
        try:

            def score(p: torch.Tensor) -> torch.Tensor:
                out = pl_module(p.to(pl_module.device))
                return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out[:, -1] - out[:, 0]

            fig = plot_decision_regions(score, x, y, f"epoch {trainer.current_epoch}", self.resolution)
        finally:
            pl_module.train(was_training)
        path = log_figure(trainer, "decision_regions", fig)
        if path is not None:
            self.paths.append(path)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._plot(trainer, pl_module)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._plot(trainer, pl_module)
