"""The last layer's convex refit shared by the MLP and CNN polishing (Section 4.1 step 4): its objective as it is,
the refit in place (the paper's weighted Lasso or the earlier ridge), the copy into a layer's own tensors."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly.solvers.lasso import lasso_objective, weighted_lasso
from lightning_poly.solvers.refit import RefitLoss, RefitRegulariser, refit_last_layer, refit_objective

__all__ = ["copy_into", "head_objective", "refit_head"]


def head_objective(
    head: nn.Linear, feats: torch.Tensor, y: torch.Tensor, loss: RefitLoss, reg: RefitRegulariser,
    col_weights: torch.Tensor | None = None,
) -> float:  # fmt: skip
    """The refit objective of ``head`` as it is, on features ``feats`` (what reaches it)."""
    w = head.weight.detach().double()
    b = head.bias.detach().double() if head.bias is not None else torch.zeros(len(w), dtype=w.dtype, device=w.device)
    if reg.penalty == "ridge":
        return float(refit_objective(feats.double(), y.to(feats.device), w, b, loss, reg.weight))
    c = _live_columns(feats, col_weights)
    weights = torch.full((feats.shape[1],), 1e-300, dtype=torch.float64, device=feats.device)
    weights[c.keep] = c.weights  # a zero neuron's column: in the data term, no penalty
    return lasso_objective(feats.double(), y.to(feats.device), w, b, loss, reg.weight, weights, reg.p)


@dataclass
class _Columns:
    keep: torch.Tensor
    weights: torch.Tensor


def _live_columns(feats: torch.Tensor, col_weights: torch.Tensor | None) -> _Columns:
    """The columns the ``"l1"`` refit fits: those of neurons with :math:`w_j \ne 0` (a zero neuron has no
    penalty and a constant output, which the intercept absorbs)."""
    m = feats.shape[1]
    c = torch.ones(m, dtype=torch.float64, device=feats.device) if col_weights is None else col_weights.double()
    keep = c > 0
    return _Columns(keep, c[keep])


@torch.no_grad()
def copy_into(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Copy ``weight`` and ``bias`` into ``layer``'s own tensors (in place; a bias-free layer keeps none)."""
    layer.weight.copy_(weight.to(layer.weight))  # type: ignore[operator]
    if layer.bias is not None and bias is not None:
        layer.bias.copy_(bias.to(layer.bias))  # type: ignore[operator]


def refit_head(
    head: nn.Linear, feats: torch.Tensor, y: torch.Tensor, loss: RefitLoss, reg: RefitRegulariser,
    col_weights: torch.Tensor | None = None,
) -> tuple[float, float, float]:  # fmt: skip
    """Refit ``head`` in place to the convex optimum on ``feats``; its objective, (sub)gradient norm and gap."""
    if reg.penalty == "ridge":
        fit = refit_last_layer(feats, y.to(feats.device), loss, reg.weight, n_outputs=head.out_features)
        copy_into(head, fit.weight, fit.bias)
        return fit.objective, fit.grad_norm, float("nan")
    c = _live_columns(feats, col_weights)
    k = head.out_features
    sol = weighted_lasso(feats.double()[:, c.keep], y.to(feats.device), loss, reg.weight, c.weights, reg.p, n_outputs=k)  # type: ignore[arg-type]
    w = torch.zeros(k, feats.shape[1], dtype=torch.float64, device=feats.device)
    w[:, c.keep] = sol.weight
    copy_into(head, w, sol.bias)
    return sol.objective, sol.subgrad_norm, sol.gap
