"""Convex programs and LPs (framework-free core: no Lightning import)."""

from lightning_poly.solvers.lp import LPFailure, maximize

__all__ = ["LPFailure", "maximize"]
