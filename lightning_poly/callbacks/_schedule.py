"""What the suite's callbacks share: when they run, the module's own outputs, their scalar logs.

``module_outputs`` is :func:`lightning_poly.nn.module_outputs`, the core function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
from typing_extensions import override

from lightning_poly.nn.outputs import module_outputs

__all__ = ["EpochsOrFitEnd", "log_scalars", "module_outputs"]


class EpochsOrFitEnd:
    """Call ``self._run(trainer, pl_module, when)`` every ``every_n_epochs`` epochs (``when="epoch"``)
    and at fit end (``"fit_end"``) when ``at_fit_end``; mixed in before ``Callback``."""

    every_n_epochs: int
    at_fit_end: bool
    _run: Callable[[pl.Trainer, pl.LightningModule, str], None]  # the subclass's work

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._run(trainer, pl_module, "epoch")

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_fit_end:
            self._run(trainer, pl_module, "fit_end")


def log_scalars(trainer: pl.Trainer, prefix: str, record: dict[str, Any]) -> None:
    """Every number of ``record`` (but its epoch and step) to every logger, as ``prefix/key``.

    Args:
        trainer: the Trainer whose loggers receive them.
        prefix: the key prefix.
        record: the callback's record.
    """
    scalars = {
        f"{prefix}/{k}": float(v)
        for k, v in record.items()
        if isinstance(v, int | float | bool) and k not in ("epoch", "step")
    }
    for logger in trainer.loggers:
        logger.log_metrics(scalars, step=trainer.global_step)
