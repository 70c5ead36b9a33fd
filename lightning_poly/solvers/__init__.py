"""Convex programs and LPs (framework-free core: no Lightning import)."""

from lightning_poly.solvers.gated_certificate import GatedCertificate, gated_certificate, gated_step_size
from lightning_poly.solvers.losses import MODULE_LOSSES, SOLVER_LOSSES, ModuleLoss, SolverLoss, solver_loss_of_module
from lightning_poly.solvers.lp import IncrementalLP, LPFailure, maximize
from lightning_poly.solvers.vertex_program import (
    VertexLoss,
    VertexSolution,
    vertex_loss,
    vertex_program,
    vertex_program_cvxpy,
)

__all__ = [
    "MODULE_LOSSES",
    "SOLVER_LOSSES",
    "ModuleLoss",
    "SolverLoss",
    "solver_loss_of_module",
    "GatedCertificate",
    "IncrementalLP",
    "LPFailure",
    "VertexLoss",
    "VertexSolution",
    "gated_certificate",
    "gated_step_size",
    "maximize",
    "vertex_loss",
    "vertex_program",
    "vertex_program_cvxpy",
]
