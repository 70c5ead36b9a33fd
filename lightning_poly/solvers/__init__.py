"""Convex programs and LPs (framework-free core: no Lightning import)."""

from lightning_poly.solvers.lp import LPFailure, maximize
from lightning_poly.solvers.vertex_program import (
    VertexLoss,
    VertexSolution,
    vertex_loss,
    vertex_program,
    vertex_program_cvxpy,
)

__all__ = [
    "LPFailure",
    "VertexLoss",
    "VertexSolution",
    "maximize",
    "vertex_loss",
    "vertex_program",
    "vertex_program_cvxpy",
]
