"""LightningModules (thin: losses, metrics, logging)."""

from lightning_poly.modules.from_sequential import mlp_module_from_sequential
from lightning_poly.modules.gated_relu import ConvexGatedReLUModule
from lightning_poly.modules.mlp import LossName, ReLUMLPModule
from lightning_poly.modules.network import NetworkModule
from lightning_poly.modules.polytope_cover import PolytopeCoverModule
from lightning_poly.modules.vertex_search import VertexSearchModule

__all__ = [
    "ConvexGatedReLUModule",
    "LossName",
    "NetworkModule",
    "PolytopeCoverModule",
    "ReLUMLPModule",
    "VertexSearchModule",
    "mlp_module_from_sequential",
]
