"""A plain ReLU MLP LightningModule, the model the analysis callbacks run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._compat import LightningModule
from lightning_poly._user import check_data_input_dim
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.modules._steps import LossSteps
from lightning_poly.nn.mlp import InitName, ReLUMLP
from lightning_poly.solvers.losses import ModuleLoss

__all__ = ["LossName", "ReLUMLPModule"]

LossName = ModuleLoss  # (the one vocabulary: solvers/losses.py)
OptimizerName = Literal["adam", "adamw", "sgd"]


class ReLUMLPModule(LossSteps, LightningModule):
    """Train a ReLU MLP ``input_dim -> hidden... -> output_dim`` for classification or regression.

    Exposes its ReLU network through :meth:`relu_network` (see
    :mod:`lightning_poly.nn.relu_network`), so every analysis callback of the suite runs on it.

    Args:
        input_dim: input features.
        hidden: hidden widths, e.g. ``[40, 20]``.
        output_dim: outputs (1 for ``bce`` and ``mse``; the number of classes for ``cross_entropy``).
        bias: linear layers with bias.
        init: weight initialisation (Xavier uniform/normal, Kaiming, orthogonal, default).
        bias_value: constant initial bias (the face-histogram paper uses 0.01); ``None`` keeps the
            initialiser's default.
        loss: ``"bce"`` (binary, logits), ``"cross_entropy"`` or ``"mse"``.
        lr: learning rate.
        optimizer: ``"adam"``, ``"adamw"`` (decoupled weight decay) or ``"sgd"``.
        weight_decay: weight decay of the optimiser (L2 for ``"adam"``/``"sgd"``, decoupled for ``"adamw"``).
        momentum: momentum of SGD.

    Labels: ``bce`` accepts ``{0, 1}`` or ``{-1, +1}``; ``mse`` regresses on the targets as given.

    Example:
        >>> m = ReLUMLPModule(input_dim=2, hidden=[8, 8])
        >>> m(torch.zeros(4, 2)).shape
        torch.Size([4, 1])
    """

    def __init__(
        self,
        input_dim: int = 2,
        hidden: Sequence[int] = (64, 64),
        output_dim: int = 1,
        bias: bool = True,
        init: InitName = "xavier_uniform",
        bias_value: float | None = None,
        loss: LossName = "bce",
        lr: float = 1e-2,
        optimizer: OptimizerName = "adam",
        weight_decay: float = 0.0,
        momentum: float = 0.9,
    ) -> None:
        super().__init__()
        check_int("input_dim", input_dim, minimum=1)
        check_int("output_dim", output_dim, minimum=1)
        for i, w in enumerate(hidden):
            check_int(f"hidden[{i}]", w, minimum=1)
        check_choice("loss", loss, ("bce", "cross_entropy", "mse"))
        check_choice("optimizer", optimizer, ("adam", "adamw", "sgd"))
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, strict=False)
        if loss == "bce" and output_dim != 1:
            raise ValueError(f"`output_dim` must be 1 with loss='bce', got {output_dim}")
        if loss == "cross_entropy" and output_dim < 2:
            raise ValueError(
                f"`output_dim` must be the number of classes (>= 2) with loss='cross_entropy', got {output_dim}"
            )
        self.save_hyperparameters()
        self.model = ReLUMLP([input_dim, *hidden, output_dim], bias=bias, init=init, bias_value=bias_value)
        self._make_accuracy(output_dim)

    def relu_network(self) -> nn.Sequential:
        """The model's own ``nn.Sequential`` of ``Linear``/``ReLU`` layers."""
        return self.model.relu_network()

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1))

    @override
    def on_fit_start(self) -> None:
        check_data_input_dim(self.trainer, self.hparams["input_dim"])

    @override
    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams
        if hp["optimizer"] == "sgd":
            return torch.optim.SGD(
                self.parameters(), lr=hp["lr"], momentum=hp["momentum"], weight_decay=hp["weight_decay"]
            )
        opt = torch.optim.AdamW if hp["optimizer"] == "adamw" else torch.optim.Adam
        return opt(self.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
