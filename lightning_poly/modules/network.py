"""Train any network the suite analyses (a CNN, a LeNet, a shallow net) with the modules' losses and logging."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._compat import LightningModule
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.modules._steps import LossSteps
from lightning_poly.solvers.losses import MODULE_LOSSES, ModuleLoss

__all__ = ["NetworkModule"]

NetworkOptimizer = Literal["adam", "adamw", "sgd"]


def _outputs_of(net: nn.Module) -> int | None:
    """The ``out_features`` / ``out_channels`` of the network's last layer that declares one."""
    last = None
    for layer in net.modules():
        last = getattr(layer, "out_features", getattr(layer, "out_channels", last))
    return last


class NetworkModule(LossSteps, LightningModule):
    """Train the network ``net`` (held as ``self.net``, where every callback of the suite finds it) with one of
    the modules' losses; logs ``{stage}/loss`` and, for classification, ``{stage}/acc`` like
    :class:`~lightning_poly.modules.ReLUMLPModule`.

    Args:
        net: the network; its forward takes the batches' inputs as they come.
        loss: ``"bce"`` (one logit), ``"cross_entropy"`` (one logit per class) or ``"mse"``.
        lr: learning rate.
        optimizer: ``"adam"``, ``"adamw"`` (PyTorch's default weight decay 0.01 unless ``weight_decay`` is
            given) or ``"sgd"`` (momentum 0.9).
        weight_decay: the optimiser's weight decay (``None``: the optimiser's default).
        output_dim: classes for the accuracy of ``"cross_entropy"`` (default: the last layer's outputs).

    Example:
        >>> m = NetworkModule(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)))
        >>> m(torch.zeros(5, 1, 4, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        loss: ModuleLoss = "cross_entropy",
        lr: float = 1e-3,
        optimizer: NetworkOptimizer = "adam",
        weight_decay: float | None = None,
        output_dim: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"`net` must be a torch.nn.Module, got {type(net).__name__}")
        check_choice("loss", loss, MODULE_LOSSES)
        check_choice("optimizer", optimizer, ("adam", "adamw", "sgd"))
        check_positive("lr", lr)
        if weight_decay is not None:
            check_positive("weight_decay", weight_decay, strict=False)
        outputs = output_dim if output_dim is not None else _outputs_of(net)
        if loss == "bce" and outputs not in (None, 1):
            raise ValueError(f"loss='bce' takes one logit: the network's last layer must have 1 output, got {outputs} "
                             "(use loss='cross_entropy' for one logit per class)")  # fmt: skip
        if loss == "cross_entropy":
            if outputs is None:
                raise ValueError(
                    "`output_dim` is needed with loss='cross_entropy': the network's last layer names none"
                )
            check_int("output_dim", outputs, minimum=2)
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self._make_accuracy(outputs or 1)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @override
    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams
        decay = {} if hp["weight_decay"] is None else {"weight_decay": hp["weight_decay"]}
        if hp["optimizer"] == "sgd":
            return torch.optim.SGD(self.parameters(), lr=hp["lr"], momentum=0.9, **decay)
        opt = torch.optim.AdamW if hp["optimizer"] == "adamw" else torch.optim.Adam
        return opt(self.parameters(), lr=hp["lr"], **decay)
