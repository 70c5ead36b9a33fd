"""Score a model's own forward before and after a polish that changes it in place (MLP and CNN polishing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from lightning_poly._validation import check_choice
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.solvers.refit import RefitLoss, head_metrics

if TYPE_CHECKING:
    from lightning_poly.algorithms.polishing.conv import ConvPolishReport
    from lightning_poly.algorithms.polishing.mlp import PolishReport

__all__ = ["PolishEvaluation", "evaluation_data", "scored_polish"]


@dataclass
class PolishEvaluation:
    """What polishing did to a model's own outputs (:func:`polish_and_evaluate`).

    Attributes:
        report: what :func:`polish_network` (or :func:`~lightning_poly.algorithms.polish_cnn`) did to the network.
        loss: the refit loss that scores the outputs (:func:`~lightning_poly.solvers.refit.head_metrics`).
        before: ``{"loss": ..., "acc": ...}`` of the model's forward on the evaluation data before.
        after: the same after polishing, the refit and the rescaling.
        n_samples: evaluation samples.
    """

    report: PolishReport | ConvPolishReport
    loss: RefitLoss
    before: dict[str, float]
    after: dict[str, float]
    n_samples: int

    def improved(self, metric: Literal["loss", "acc"]) -> bool:
        """Whether ``metric`` got strictly better (a lower loss, a higher accuracy)."""
        check_choice("metric", metric, ("loss", "acc"))
        if metric == "loss":
            return self.after["loss"] < self.before["loss"]
        return self.after["acc"] > self.before["acc"]


def evaluation_data(
    x: torch.Tensor, y: torch.Tensor, eval_x: torch.Tensor | None, eval_y: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The data a polish is scored on: ``(eval_x, eval_y)``, or the training data when both are ``None``."""
    if (eval_x is None) != (eval_y is None):
        raise ValueError("`eval_x` and `eval_y` go together: give both or neither")
    ex, ey = (x, y) if eval_x is None or eval_y is None else (eval_x, eval_y)
    if len(ex) != len(ey):
        raise ValueError(f"`eval_y` must have one target per point of `eval_x`, got {len(ey)} for {len(ex)} points")
    return ex, ey


def scored_polish(
    model: nn.Module,
    ex: torch.Tensor,
    ey: torch.Tensor,
    loss: RefitLoss,
    polish: Callable[[], PolishReport | ConvPolishReport],
) -> PolishEvaluation:
    """Score ``model``'s own forward on ``(ex, ey)`` before and after ``polish()`` (which changes it in place)."""

    def score() -> dict[str, float]:
        out = module_outputs(model, ex)
        return head_metrics(out, ey.to(out.device), loss)

    before = score()
    report = polish()
    return PolishEvaluation(report, loss, before, score(), len(ey))
