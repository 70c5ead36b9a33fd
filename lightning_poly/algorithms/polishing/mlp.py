"""Polish a whole ReLU MLP: polish hidden layers, refit the last layer convexly, rescale (Section 4.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from lightning_poly._validation import check_choice, check_finite
from lightning_poly.algorithms.polishing.conv import ConvPolishReport
from lightning_poly.algorithms.polishing.layer import PolishResult, polish_layer
from lightning_poly.algorithms.polishing.scaling import balance_, neuron_norms
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.nn.relu_network import find_relu_network, get_relu_network, linear_layers
from lightning_poly.solvers.lasso import lasso_objective, weighted_lasso
from lightning_poly.solvers.refit import (
    RefitLoss,
    RefitPenalty,
    RefitRegulariser,
    check_refit_loss,
    check_refit_penalty,
    head_metrics,
    refit_last_layer,
    refit_objective,
)

__all__ = ["PolishEvaluation", "PolishReport", "layer_inputs", "polish_and_evaluate", "polish_network"]


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
    weight_decay: float = 1e-6,
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
        weight_decay: :math:`\beta` of the ``"l1"`` refit.
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
    before = _head_objective(last, layer_inputs(model, x, len(lins) - 1), y, loss, reg, col())
    report = PolishReport(list(layers), objective_before=before, refit_penalty=reg.penalty)
    for l in sorted(layers):
        lin = lins[l]
        res = polish_layer(
            lin.weight, lin.bias, layer_inputs(model, x, l), chunk_size=chunk_size,
            p=reg.p if reg.penalty == "l1" else None,
        )  # fmt: skip
        _copy_into(lin, res.weight, res.bias)
        report.results.append(res)
    fit = _refit_head(last, layer_inputs(model, x, len(lins) - 1), y, loss, reg, col())
    report.objective_after, report.grad_norm, report.gap = fit
    if rescale:
        balance_(model, reg.p if reg.penalty == "l1" else 2)
    return report


def _head_objective(
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
def _copy_into(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Copy ``weight`` and ``bias`` into ``layer``'s own tensors (in place; a bias-free layer keeps none)."""
    layer.weight.copy_(weight.to(layer.weight))  # type: ignore[operator]
    if layer.bias is not None and bias is not None:
        layer.bias.copy_(bias.to(layer.bias))  # type: ignore[operator]


def _refit_head(
    head: nn.Linear, feats: torch.Tensor, y: torch.Tensor, loss: RefitLoss, reg: RefitRegulariser,
    col_weights: torch.Tensor | None = None,
) -> tuple[float, float, float]:  # fmt: skip
    """Refit ``head`` in place to the convex optimum on ``feats``; its objective, (sub)gradient norm and gap."""
    if reg.penalty == "ridge":
        fit = refit_last_layer(feats, y.to(feats.device), loss, reg.weight, n_outputs=head.out_features)
        _copy_into(head, fit.weight, fit.bias)
        return fit.objective, fit.grad_norm, float("nan")
    c = _live_columns(feats, col_weights)
    k = head.out_features
    sol = weighted_lasso(feats.double()[:, c.keep], y.to(feats.device), loss, reg.weight, c.weights, reg.p, n_outputs=k)  # type: ignore[arg-type]
    w = torch.zeros(k, feats.shape[1], dtype=torch.float64, device=feats.device)
    w[:, c.keep] = sol.weight
    _copy_into(head, w, sol.bias)
    return sol.objective, sol.subgrad_norm, sol.gap


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
    weight_decay: float = 1e-6,
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
        weight_decay: :math:`\beta` of the ``"l1"`` refit.
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
    ex, ey = _evaluation_data(x, y, eval_x, eval_y)
    net = find_relu_network(model) if network is None else network
    lins = linear_layers(net)
    check_refit_loss(loss, lins[-1].out_features, y)
    check_refit_penalty(refit_penalty, l2, weight_decay, p)
    weight = lins[0].weight
    return _scored(
        model, ex, ey, loss,
        lambda: polish_network(net, x.flatten(1).to(weight), y.to(weight.device), layers, loss, l2, rescale,
                               refit_penalty=refit_penalty, weight_decay=weight_decay, p=p),
    )  # fmt: skip


def _evaluation_data(
    x: torch.Tensor, y: torch.Tensor, eval_x: torch.Tensor | None, eval_y: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The data a polish is scored on: ``(eval_x, eval_y)``, or the training data when both are ``None``."""
    if (eval_x is None) != (eval_y is None):
        raise ValueError("`eval_x` and `eval_y` go together: give both or neither")
    ex, ey = (x, y) if eval_x is None or eval_y is None else (eval_x, eval_y)
    if len(ex) != len(ey):
        raise ValueError(f"`eval_y` must have one target per point of `eval_x`, got {len(ey)} for {len(ex)} points")
    return ex, ey


def _scored(
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
