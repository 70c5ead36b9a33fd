"""Polish a whole ReLU MLP: polish hidden layers, refit the last layer convexly, rescale (Section 4.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from lightning_poly._validation import check_finite
from lightning_poly.algorithms.polishing.evaluation import PolishEvaluation, evaluation_data, scored_polish
from lightning_poly.algorithms.polishing.head import copy_into, head_objective, refit_head
from lightning_poly.algorithms.polishing.layer import PolishResult, polish_layer
from lightning_poly.algorithms.polishing.scaling import balance_, neuron_norms
from lightning_poly.nn.relu_network import find_relu_network, get_relu_network, linear_layers
from lightning_poly.solvers.refit import (
    RefitLoss,
    RefitPenalty,
    check_refit_loss,
    check_refit_penalty,
)

__all__ = ["PolishReport", "layer_inputs", "polish_and_evaluate", "polish_network"]


@dataclass
class PolishReport:
    """What :func:`polish_network` did.

    Attributes:
        layers: polished layer indices (among the ``Linear`` layers).
        results: one :class:`PolishResult` per polished layer (explanations: ``results[i].indices``).
        objective_before: refit objective of the original network (its own last layer).
        objective_after: the same objective after polishing and the convex refit.
        grad_norm: norm of the refit objective's gradient (ridge) or minimum-norm subgradient (``"l1"``) at the
            solution (≈ 0: convex optimum).
        gap: the certified duality gap of the ``"l1"`` refit (NaN for ridge).
        refit_penalty: the refit's penalty.
    """

    layers: list[int]
    results: list[PolishResult] = field(default_factory=list)
    objective_before: float = float("nan")
    objective_after: float = float("nan")
    grad_norm: float = float("nan")
    gap: float = float("nan")
    refit_penalty: str = "l1"


def _check_inputs(model: nn.Module, x: torch.Tensor) -> None:
    d = linear_layers(model)[0].in_features
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[1:].numel() != d:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"`x` must be (n, {d}): {d} features per sample for the model's first layer, got {got}")


@torch.no_grad()
def layer_inputs(model: nn.Module, x: torch.Tensor, layer: int) -> torch.Tensor:
    """What reaches ``Linear`` layer ``layer`` of the ReLU MLP (the data for layer 0, activations deeper).

    Args:
        model: a ReLU MLP.
        x: ``(n, d)`` inputs.
        layer: index among the ``Linear`` layers.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> layer_inputs(net, torch.zeros(4, 2), 1).shape
        torch.Size([4, 3])
    """
    _check_inputs(model, x)
    h = x
    count = 0
    for m in get_relu_network(model):
        if isinstance(m, nn.Linear):
            if count == layer:
                return h
            count += 1
        h = m(h)
    raise ValueError(f"`layer` must be in 0..{count - 1}, got {layer}")


@torch.no_grad()
def polish_network(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    layers: Sequence[int] = (0,),
    loss: RefitLoss = "squared",
    l2: float | None = None,
    rescale: bool = True,
    chunk_size: int | None = None,
    *,
    refit_penalty: RefitPenalty = "l1",
    weight_decay: float | None = None,
    p: int = 2,
) -> PolishReport:
    """Polish hidden ``layers`` in place, refit the last layer by convex optimisation, then rescale.

    The paper's procedure (Section 4.1 steps 1–5) by default: polished neurons normalised to
    :math:`\\|w_j\\|_p = 1`, the last layer refitted by the weighted (group) Lasso that weight decay
    :math:`\beta` becomes after balancing (eq. (96)–(98); derivation in :mod:`lightning_poly.solvers.refit`),
    solved to a certified duality gap, then balanced by eq. (98). ``refit_penalty="ridge"`` is the earlier
    procedure (original neuron norms, :math:`\\ell(\\cdot) + \\lambda\\|V\\|_F^2`), kept for comparison.

    Reading chosen: the paper refits "the following layer(s)"; the part that stays convex with the
    polished layers fixed is the *last* linear layer (for a two-layer network it is the following
    one), so that is the layer refitted; its columns are weighted by the incoming :math:`p`-norms of the last
    hidden layer's neurons (1 when that layer is the polished one). Rescaling (eq. (98)) leaves the function
    unchanged.

    Args:
        model: a ReLU MLP (changed in place).
        x: training inputs.
        y: training targets (labels for logistic / cross-entropy).
        layers: indices of hidden ``Linear`` layers to polish (not the last one).
        loss: the refit loss (see :func:`~lightning_poly.solvers.refit_last_layer`).
        l2: ridge weight of the refit (``refit_penalty="ridge"`` only; default 1e-6).
        rescale: apply the optimal scaling (Equation (98)) afterwards.
        chunk_size: neurons per batch of :func:`~lightning_poly.algorithms.polish_layer` (``None``: its default).
        refit_penalty: ``"l1"`` (the paper's objective) or ``"ridge"``.
        weight_decay: :math:`\beta` of the ``"l1"`` refit (default 1e-6; an error with ``"ridge"``).
        p: the norm of problem (2) for ``"l1"``: 2 (weight decay) or 1.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> x = torch.randn(50, 2); y = x[:, 0].abs()
        >>> rep = polish_network(net, x, y)
        >>> tuple(rep.results[0].indices.shape)  # each neuron explained by r - 1 = 2 samples
        (8, 2)
        >>> rep.grad_norm < 1e-6
        True
    """
    lins = linear_layers(model)
    for l in layers:
        if not 0 <= l < len(lins) - 1:
            raise ValueError(f"`layers` must be hidden layer indices in 0..{len(lins) - 2}, got {l}")
    last = lins[-1]
    k = last.out_features
    # everything is checked before the model changes in place
    _check_inputs(model, x)
    check_finite("x", x)
    check_finite("y", y)
    if len(y) != len(x):
        raise ValueError(f"`y` must have one target per point of `x`, got {len(y)} for {len(x)} points")
    check_refit_loss(loss, k, y)
    reg = check_refit_penalty(refit_penalty, l2, weight_decay, p)
    col = (lambda: neuron_norms(lins[-2].weight, reg.p)) if len(lins) > 1 else (lambda: None)
    before = head_objective(last, layer_inputs(model, x, len(lins) - 1), y, loss, reg, col())
    report = PolishReport(list(layers), objective_before=before, refit_penalty=reg.penalty)
    for l in sorted(layers):
        lin = lins[l]
        res = polish_layer(
            lin.weight, lin.bias, layer_inputs(model, x, l), chunk_size=chunk_size,
            p=reg.p if reg.penalty == "l1" else None,
        )  # fmt: skip
        copy_into(lin, res.weight, res.bias)
        report.results.append(res)
    fit = refit_head(last, layer_inputs(model, x, len(lins) - 1), y, loss, reg, col())
    report.objective_after, report.grad_norm, report.gap = fit
    if rescale:
        balance_(model, reg.p if reg.penalty == "l1" else 2)
    return report


def polish_and_evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eval_x: torch.Tensor | None = None,
    eval_y: torch.Tensor | None = None,
    *,
    layers: Sequence[int] = (0,),
    loss: RefitLoss = "squared",
    l2: float | None = None,
    rescale: bool = True,
    network: nn.Module | None = None,
    refit_penalty: RefitPenalty = "l1",
    weight_decay: float | None = None,
    p: int = 2,
) -> PolishEvaluation:
    """Polish the ReLU network inside ``model`` in place and score the model's own forward before and after.

    The score is the refit ``loss`` (and accuracy) of ``model(eval_x)`` in eval mode against
    ``eval_y``, so it measures the model as a user holds it, whatever it does around its network.

    Args:
        model: any module whose forward runs through a ReLU MLP (changed in place).
        x: training inputs of the polish and the refit.
        y: training targets (labels for logistic / cross-entropy).
        eval_x: inputs the model is scored on; ``None``: the training inputs.
        eval_y: their targets; ``None``: the training targets.
        layers: indices of hidden ``Linear`` layers to polish.
        loss: the refit loss (see :func:`~lightning_poly.solvers.refit_last_layer`).
        l2: ridge weight of the refit (``refit_penalty="ridge"`` only).
        rescale: apply the optimal scaling (Equation (98)) after the refit.
        refit_penalty: ``"l1"`` (the paper's objective, default) or ``"ridge"`` (see :func:`polish_network`).
        weight_decay: :math:`\beta` of the ``"l1"`` refit (default 1e-6; an error with ``"ridge"``).
        p: the norm of problem (2) for ``"l1"`` (1 or 2).
        network: the ReLU MLP inside ``model`` to polish; ``None``: found
            (:func:`~lightning_poly.nn.relu_network.find_relu_network`).

    Raises:
        ValueError: if only one of ``eval_x`` and ``eval_y`` is given or their lengths differ, and
            what :func:`polish_network` raises (before anything changes).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> x = torch.randn(50, 2); y = x[:, 0].abs()
        >>> ev = polish_and_evaluate(net, x, y)
        >>> ev.improved("loss"), ev.n_samples
        (True, 50)
    """
    ex, ey = evaluation_data(x, y, eval_x, eval_y)
    net = find_relu_network(model) if network is None else network
    lins = linear_layers(net)
    check_refit_loss(loss, lins[-1].out_features, y)
    check_refit_penalty(refit_penalty, l2, weight_decay, p)
    weight = lins[0].weight
    return scored_polish(
        model, ex, ey, loss,
        lambda: polish_network(net, x.flatten(1).to(weight), y.to(weight.device), layers, loss, l2, rescale,
                               refit_penalty=refit_penalty, weight_decay=weight_decay, p=p),
    )  # fmt: skip
