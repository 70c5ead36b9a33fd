"""LightningModules (thin: losses, metrics, logging)."""

from lightning_poly.modules.export import to_mlp_module
from lightning_poly.modules.gated_relu import ConvexGatedReLUModule
from lightning_poly.modules.mlp import LossName, ReLUMLPModule
from lightning_poly.modules.polytope_cover import PolytopeCoverModule
from lightning_poly.modules.vertex_search import VertexSearchModule

__all__ = [
    "ConvexGatedReLUModule",
    "LossName",
    "PolytopeCoverModule",
    "ReLUMLPModule",
    "VertexSearchModule",
    "to_mlp_module",
]
