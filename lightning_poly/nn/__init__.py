"""Plain ``torch.nn`` networks (framework-free core: no Lightning import)."""

from lightning_poly.nn.mlp import InitName, ReLUMLP, initialise_linear
from lightning_poly.nn.relu_network import HasReLUNetwork, get_relu_network, linear_layers

__all__ = ["HasReLUNetwork", "InitName", "ReLUMLP", "get_relu_network", "initialise_linear", "linear_layers"]
