"""The step hooks of a module that scores every stage the same way, through its ``_step(batch, stage)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
import torchmetrics
from typing_extensions import override

from lightning_poly.solvers.losses import ModuleLoss

__all__ = ["LossSteps", "StageSteps", "module_loss"]

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


def module_loss(out: torch.Tensor, y: torch.Tensor, loss: ModuleLoss) -> torch.Tensor:
    """The modules' training loss of outputs ``out`` against targets ``y``.

    ``"bce"``: one logit, labels ``{0, 1}`` or ``{-1, +1}`` (``y > 0`` is class 1); ``"cross_entropy"``: one
    logit per class, class indices; ``"mse"``: the targets as given (one output squeezed for 1-d targets).

    Example:
        >>> round(float(module_loss(torch.zeros(2, 1), torch.tensor([0.0, 1.0]), "bce")), 4)  # log 2
        0.6931
    """
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(out.squeeze(1), (y > 0).to(out.dtype))
    if loss == "cross_entropy":
        return F.cross_entropy(out, y.long())
    return F.mse_loss(out.squeeze(1) if y.ndim == 1 else out, y.to(out.dtype))


class LossSteps(StageSteps):
    """Every stage scored the same way: the loss named by ``self.hparams["loss"]`` (:func:`module_loss`) logged
    as ``{stage}/loss`` and, for a classification loss, the accuracy as ``{stage}/acc`` (torchmetrics).

    The subclass calls :meth:`_make_accuracy` with its number of outputs in ``__init__``.
    """

    hparams: Any
    log: Callable[..., None]
    __call__: Callable[..., torch.Tensor]

    def _make_accuracy(self, output_dim: int) -> None:
        self.classification = self.hparams["loss"] != "mse"
        if self.classification:
            kw: dict[str, Any] = (
                {"task": "binary"}
                if self.hparams["loss"] == "bce"
                else {"task": "multiclass", "num_classes": output_dim}
            )
            self.train_acc = torchmetrics.Accuracy(**kw)
            self.val_acc = torchmetrics.Accuracy(**kw)
            self.test_acc = torchmetrics.Accuracy(**kw)

    def predict_labels(self, x: torch.Tensor) -> torch.Tensor:
        """Class predictions (``{0, 1}`` for ``bce``, indices for ``cross_entropy``, ``out > 0.5`` for ``mse``)."""
        out = self(x)
        if self.hparams["loss"] == "cross_entropy":
            return out.argmax(dim=1)
        return (out.squeeze(1) > (0 if self.hparams["loss"] == "bce" else 0.5)).long()

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        x, y = batch
        out = self(x)
        loss = module_loss(out, y, self.hparams["loss"])
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", sync_dist=stage != "train")
        if self.classification:
            metric = getattr(self, f"{stage}_acc")
            binary = self.hparams["loss"] == "bce"
            metric(out.squeeze(1) if binary else out, (y > 0).long() if binary else y.long())
            self.log(f"{stage}/acc", metric, prog_bar=True, on_step=False, on_epoch=True)
        return loss
