"""A plain ReLU multilayer perceptron with the initialisations the papers compare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._validation import check_choice, check_int

__all__ = ["InitName", "ReLUMLP", "initialise_linear"]

InitName = Literal["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "default"]


def initialise_linear(layer: nn.Linear, init: InitName, bias_value: float | None = None) -> None:
    """Initialise a linear layer in place.

    Args:
        layer: the layer.
        init: weight initialisation; ``"default"`` keeps PyTorch's.
        bias_value: if given, every bias entry is set to this constant (the face-histogram paper
            uses 0.01, Section V.A); otherwise the bias keeps the initialiser's default (zeros for
            the named initialisations).

    Example:
        >>> layer = nn.Linear(3, 4)
        >>> initialise_linear(layer, "orthogonal", bias_value=0.01)
        >>> torch.allclose(layer.weight.T @ layer.weight, torch.eye(3), atol=1e-5)
        True
        >>> round(float(layer.bias[0].detach()), 6)
        0.01
    """
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"`layer` must be an nn.Linear, got {type(layer).__name__}")
    check_choice("init", init, get_args(InitName))
    with torch.no_grad():
        if init == "xavier_uniform":
            nn.init.xavier_uniform_(layer.weight)
        elif init == "xavier_normal":
            nn.init.xavier_normal_(layer.weight)
        elif init == "kaiming_uniform":
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        elif init == "kaiming_normal":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        elif init == "orthogonal":
            nn.init.orthogonal_(layer.weight)
        if layer.bias is not None:
            if bias_value is not None:
                layer.bias.fill_(float(bias_value))
            elif init != "default":
                layer.bias.zero_()


class ReLUMLP(nn.Module):
    """Fully connected ReLU network ``d -> n_1 -> ... -> n_L -> out``.

    Exposes its layers through :meth:`relu_network`, the protocol every analysis callback uses.

    Args:
        widths: layer widths including input and output, e.g. ``[3, 40, 20, 1]``.
        bias: whether linear layers have a bias.
        init: weight initialisation (see :data:`InitName`).
        bias_value: constant bias initial value (``None``: the initialiser's default).

    Example:
        >>> net = ReLUMLP([3, 40, 20, 1], init="xavier_uniform", bias_value=0.01)
        >>> net(torch.zeros(5, 3)).shape
        torch.Size([5, 1])
        >>> net.hidden_widths
        [40, 20]
    """

    def __init__(
        self,
        widths: Sequence[int],
        bias: bool = True,
        init: InitName = "xavier_uniform",
        bias_value: float | None = None,
    ) -> None:
        super().__init__()
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"`widths` must list at least input and output sizes, got {widths}")
        for i, w in enumerate(widths):
            check_int(f"widths[{i}]", w, minimum=1)
        check_choice("init", init, get_args(InitName))
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            lin = nn.Linear(a, b, bias=bias)
            initialise_linear(lin, init, bias_value)
            layers.append(lin)
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.widths = widths
        self.net = nn.Sequential(*layers)

    @property
    def hidden_widths(self) -> list[int]:
        """Widths of the hidden layers."""
        return self.widths[1:-1]

    def relu_network(self) -> nn.Sequential:
        """Return the ``nn.Sequential`` of ``Linear``/``ReLU`` layers (the model's own)."""
        return self.net

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
