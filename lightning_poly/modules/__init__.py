"""LightningModules (thin: losses, metrics, logging)."""

from lightning_poly.modules.mlp import LossName, ReLUMLPModule

__all__ = ["LossName", "ReLUMLPModule"]
