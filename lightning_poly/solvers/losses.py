"""One loss vocabulary: the convex solvers' losses, the modules' names for the same losses, and the map between them.

The solvers (the last layer's refit, the gated group lasso and its certificate, program (3) of the vertex search)
name a loss by what it is: ``"squared"``, ``"logistic"`` (one logit, 0/1 targets) or ``"cross_entropy"`` (one
logit per class). The LightningModules name the training loss as PyTorch does: ``"mse"``, ``"bce"``,
``"cross_entropy"``. A callback that solves a convex problem on a module's network takes the module's declared
``loss`` hyperparameter through :func:`solver_loss_of_module`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = ["MODULE_LOSSES", "SOLVER_LOSSES", "ModuleLoss", "SolverLoss", "solver_loss_of_module"]

SolverLoss = Literal["squared", "logistic", "cross_entropy"]
SOLVER_LOSSES: tuple[str, ...] = get_args(SolverLoss)
ModuleLoss = Literal["bce", "cross_entropy", "mse"]
MODULE_LOSSES: tuple[str, ...] = get_args(ModuleLoss)
_SOLVER_LOSS_OF_MODULE: dict[str, SolverLoss] = {"bce": "logistic", "cross_entropy": "cross_entropy", "mse": "squared"}


def solver_loss_of_module(module: Any) -> SolverLoss | None:
    """The solver's name for the loss a module declares in its ``loss`` hyperparameter (``None`` when it declares
    none, or one the solvers do not know).

    Args:
        module: any object; its ``hparams`` mapping is read when it has one (a LightningModule's).

    Example:
        >>> from types import SimpleNamespace
        >>> solver_loss_of_module(SimpleNamespace(hparams={"loss": "bce"})), solver_loss_of_module(object())
        ('logistic', None)
    """
    declared = (getattr(module, "hparams", None) or {}).get("loss")
    return _SOLVER_LOSS_OF_MODULE.get(declared) if isinstance(declared, str) else None
