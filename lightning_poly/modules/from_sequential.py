"""Turn a plain two-layer (or deeper) ReLU ``nn.Sequential`` into the suite's ``ReLUMLPModule``."""

from __future__ import annotations

import torch
from torch import nn

from lightning_poly.modules.mlp import LossName, ReLUMLPModule
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["mlp_module_from_sequential"]


@torch.no_grad()
def mlp_module_from_sequential(net: nn.Module, loss: LossName = "mse", **kwargs: object) -> ReLUMLPModule:
    """A ``ReLUMLPModule`` with the same layers and weights (e.g. from ``gated_to_relu`` or
    ``to_relu_network``), so it trains, logs and runs the analysis callbacks like any other.

    Args:
        net: a ReLU MLP.
        loss: the module's loss.
        **kwargs: further :class:`ReLUMLPModule` arguments (optimiser, learning rate, ...).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> m = mlp_module_from_sequential(net)
        >>> x = torch.randn(4, 2)
        >>> torch.allclose(m(x), net(x))
        True
    """
    lins = linear_layers(net)
    has_bias = any(lin.bias is not None for lin in lins)  # layers without one get a zero bias
    module = ReLUMLPModule(
        input_dim=lins[0].in_features,
        hidden=[lin.out_features for lin in lins[:-1]],
        output_dim=lins[-1].out_features,
        bias=has_bias,
        loss=loss,
        **kwargs,  # type: ignore[arg-type]
    )
    for dst, src in zip(linear_layers(module), lins):
        dst.weight.copy_(src.weight.to(dst.weight))
        if has_bias:
            dst.bias.copy_(src.bias.to(dst.bias) if src.bias is not None else torch.zeros_like(dst.bias))
    return module
