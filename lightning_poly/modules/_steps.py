"""The step hooks of a module that scores every stage the same way, through its ``_step(batch, stage)``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from typing_extensions import override

__all__ = ["StageSteps"]

Batch = tuple[torch.Tensor, torch.Tensor]


class StageSteps:
    """``training_step``, ``validation_step`` and ``test_step`` call ``self._step(batch, stage)`` with
    ``stage`` ``"train"``, ``"val"`` or ``"test"``; mixed in before ``LightningModule``."""

    _step: Callable[[Batch, str], torch.Tensor]  # the subclass's loss and metrics of one batch

    @override
    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    @override
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    @override
    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")
