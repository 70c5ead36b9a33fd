"""Plain ``torch.nn`` networks (framework-free core: no Lightning import)."""

from lightning_poly.nn.convert import gated_to_relu, relu_to_gated
from lightning_poly.nn.convex_relu import ConvexReLU
from lightning_poly.nn.cover_losses import CoverLoss, cover_loss
from lightning_poly.nn.cover_net import CoverNetwork
from lightning_poly.nn.gated import GatedReLU
from lightning_poly.nn.mlp import InitName, ReLUMLP, initialise_linear
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.nn.relu_network import HasReLUNetwork, get_relu_network, linear_layers

__all__ = [
    "ConvexReLU",
    "CoverLoss",
    "CoverNetwork",
    "cover_loss",
    "GatedReLU",
    "HasReLUNetwork",
    "InitName",
    "ReLUMLP",
    "gated_to_relu",
    "get_relu_network",
    "initialise_linear",
    "linear_layers",
    "module_outputs",
    "relu_to_gated",
]
