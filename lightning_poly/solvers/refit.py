r"""Convex refit of the layer that follows a polished layer (wedge-products paper, Section 4.1 step 4).

Two refit penalties (``refit_penalty``):

``"l1"`` (the default of polishing, the paper's objective). Problem (2) with weight decay,
:math:`\frac{1}{n}\sum_i \ell(f(x_i), y_i) + \frac{\beta}{2}\sum_j (\|w_j\|_p^2 + \|v_j\|_p^2)`, is unchanged in
its data term by the rescaling :math:`w_j \to \alpha_j w_j`, :math:`v_j \to v_j/\alpha_j` (eq. (96)–(97)); minimising
over :math:`\alpha_j` (eq. (98), AM–GM) turns the penalty into :math:`\beta\sum_j \|w_j\|_p \|v_j\|_p`. With the hidden
neurons fixed (polished, :math:`\|w_j\|_p = 1` after Section 4.1 step 3) the following layer therefore solves the
weighted (group) Lasso

.. math::
    \min_{V, c} \ \frac{1}{n}\sum_i \ell(V h_i + c, y_i) + \beta \sum_j \|w_j\|_p \, \|V_{:, j}\|_p ,

(:func:`~lightning_poly.solvers.lasso.weighted_lasso`, solved to a certified duality gap), then eq. (98) balances
each pair (Lemma 27's AM–GM argument, :func:`~lightning_poly.algorithms.polishing.scaling.balance_`) so that the
network's value of (2) equals this objective. Readings chosen: the paper's (2) writes
:math:`\lambda\sum(\|w\|^2 + \|v\|^2)` and its Lasso programs (9), (14) :math:`\lambda\|z\|_1`, a factor 2 apart after
balancing; we write the regulariser as :math:`\frac{\beta}{2}\|\theta\|^2` (PyTorch's ``weight_decay = β``), so the Lasso
weight is :math:`\beta = 2\lambda`. The norm of a vector output's weights is the :math:`p`-norm of the row of
:math:`W^{(2)}` (Section 3.6's convention): a group Lasso for :math:`p = 2`, an entry-wise Lasso for :math:`p = 1`.
The neuron norms :math:`\|w_j\|_p` weight the columns (1 for polished neurons; the incoming norms of a deeper
network's last hidden layer otherwise); a neuron with :math:`w_j = 0` has no penalty and a constant output, so its
output weight is set to 0 (the intercept absorbs it).

``"ridge"`` (the earlier refit, kept for comparison). With the hidden features :math:`H` fixed, the last layer
solves a convex problem

.. math::
    \min_{V, c} \ \frac{1}{n}\sum_i \ell(H_i V + c, y_i) + \lambda \|V\|_F^2 ,

with :math:`\ell` the squared loss (closed form: ridge regression with an unpenalised intercept),
the logistic loss (labels in {0, 1} or {-1, +1}) or the cross-entropy (class indices). The logistic
and cross-entropy problems are solved by L-BFGS in float64 to a gradient norm below ``tol``
(the tests check the optimum against cvxpy); the returned ``grad_norm`` certifies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F

from lightning_poly._validation import check_choice, check_positive
from lightning_poly.solvers.losses import SolverLoss

__all__ = [
    "REFIT_PENALTIES",
    "RefitLoss",
    "RefitPenalty",
    "RefitRegulariser",
    "check_refit_penalty",
    "RefitResult",
    "check_refit_loss",
    "head_metrics",
    "infer_refit_loss",
    "refit_last_layer",
    "refit_objective",
]

RefitLoss = SolverLoss  # (the one vocabulary: solvers/losses.py)
RefitPenalty = Literal["l1", "ridge"]
REFIT_PENALTIES: tuple[str, ...] = get_args(RefitPenalty)


@dataclass(frozen=True)
class RefitRegulariser:
    """The refit's penalty: ``"l1"`` (weight ``weight_decay``, neuron norm ``p``) or ``"ridge"`` (weight ``l2``)."""

    penalty: RefitPenalty
    weight: float
    p: int = 2


def check_refit_penalty(
    refit_penalty: str, l2: float | None = None, weight_decay: float | None = None, p: int = 2
) -> RefitRegulariser:
    """Validate the refit options of the polishing entry points.

    Args:
        refit_penalty: ``"l1"`` (the paper's objective, module docstring) or ``"ridge"``.
        l2: the ridge weight (``"ridge"`` only; default 1e-6).
        weight_decay: :math:`\beta` of the ``"l1"`` refit (``"l1"`` only; default 1e-6).
        p: the neuron norm of the ``"l1"`` refit, the integer 1 or 2 (the ridge refit keeps the neurons' norms: 2).

    Raises:
        ValueError: naming the argument, the allowed values and the value received.

    Example:
        >>> check_refit_penalty("l1", weight_decay=1e-4)
        RefitRegulariser(penalty='l1', weight=0.0001, p=2)
        >>> check_refit_penalty("l1", l2=1e-3)
        Traceback (most recent call last):
        ...
        ValueError: `l2` is the weight of refit_penalty='ridge'; the 'l1' refit takes `weight_decay` (got l2=0.001)
    """
    check_choice("refit_penalty", refit_penalty, REFIT_PENALTIES)
    if isinstance(p, bool) or not isinstance(p, int):
        raise ValueError(f"`p` must be the integer 1 or 2, got {p!r}")
    check_choice("p", p, (1, 2))
    if l2 is not None:
        check_positive("l2", l2)
    if weight_decay is not None:
        check_positive("weight_decay", weight_decay)
    if refit_penalty == "ridge":
        if weight_decay is not None or p != 2:
            raise ValueError(
                "`weight_decay` and `p` belong to refit_penalty='l1'; the 'ridge' refit takes `l2` and keeps the "
                f"neurons' norms (got weight_decay={weight_decay}, p={p})"
            )
        return RefitRegulariser("ridge", 1e-6 if l2 is None else float(l2), p)
    if l2 is not None:
        raise ValueError(
            f"`l2` is the weight of refit_penalty='ridge'; the 'l1' refit takes `weight_decay` (got l2={l2})"
        )
    return RefitRegulariser("l1", 1e-6 if weight_decay is None else float(weight_decay), p)


def _is_labels(y: torch.Tensor) -> bool:
    return y.ndim == 1 and (not y.is_floating_point() or bool(torch.equal(y, y.round())))


def _is_binary(y: torch.Tensor) -> bool:
    return _is_labels(y) and set(torch.unique(y).tolist()) <= {-1, 0, 1}


def infer_refit_loss(n_outputs: int, y: torch.Tensor) -> RefitLoss:
    """The refit loss that matches a head of ``n_outputs`` and targets ``y``.

    One output and binary labels ({0, 1} or {-1, +1}) → ``"logistic"``; ``C >= 2`` outputs and
    integer labels in ``0..C-1`` → ``"cross_entropy"``; real targets of the outputs' shape →
    ``"squared"``. Then :func:`check_refit_loss` holds.

    Args:
        n_outputs: outputs of the head.
        y: the targets.

    Raises:
        ValueError: if the targets fit no loss for this head (e.g. 10 classes on one output).

    Example:
        >>> infer_refit_loss(1, torch.tensor([0, 1, 1]))
        'logistic'
        >>> infer_refit_loss(3, torch.tensor([0, 2, 1]))
        'cross_entropy'
        >>> infer_refit_loss(1, torch.tensor([0.3, -1.2]))
        'squared'
    """
    if n_outputs == 1 and _is_binary(y):
        loss: RefitLoss = "logistic"
    elif n_outputs >= 2 and _is_labels(y):
        loss = "cross_entropy"
    else:
        loss = "squared"
    check_refit_loss(loss, n_outputs, y)
    return loss


def check_refit_loss(loss: RefitLoss, n_outputs: int, y: torch.Tensor) -> None:
    """Check that ``loss`` is a loss of a head of ``n_outputs`` on targets ``y``, and that ``y`` has two classes.

    Args:
        loss: the refit loss.
        n_outputs: outputs of the head.
        y: the targets.

    Raises:
        ValueError: naming the head, the loss and the targets received.

    Example:
        >>> check_refit_loss("logistic", 10, torch.arange(10))
        Traceback (most recent call last):
        ...
        ValueError: refit loss 'logistic' needs one output and binary labels, got 10 outputs and targets of shape (10,) with 10 distinct values; use 'cross_entropy' for 10 classes
        >>> check_refit_loss("cross_entropy", 2, torch.zeros(5, dtype=torch.long))
        Traceback (most recent call last):
        ...
        ValueError: the targets hold one class only ([0]): a refit on them is meaningless
    """
    check_choice("loss", loss, ("squared", "logistic", "cross_entropy"))
    distinct = torch.unique(y)
    desc = f"{n_outputs} output{'s' * (n_outputs != 1)} and targets of shape {tuple(y.shape)} with {len(distinct)} distinct values"
    if loss == "logistic" and not (n_outputs == 1 and _is_binary(y)):
        hint = f"; use 'cross_entropy' for {len(distinct)} classes" if n_outputs >= 2 and _is_labels(y) else ""
        raise ValueError(f"refit loss 'logistic' needs one output and binary labels, got {desc}{hint}")
    if loss == "cross_entropy":
        ok = n_outputs >= 2 and _is_labels(y) and int(distinct.min()) >= 0 and int(distinct.max()) < n_outputs
        if not ok:
            raise ValueError(
                f"refit loss 'cross_entropy' needs C >= 2 outputs and integer labels in 0..C-1, got {desc}"
            )
    if loss == "squared" and y.numel() != len(y) * n_outputs:
        raise ValueError(f"refit loss 'squared' needs one target per output, got {desc}")
    if loss != "squared" and len(distinct) < 2:
        raise ValueError(f"the targets hold one class only ({distinct.tolist()}): a refit on them is meaningless")


@torch.no_grad()
def head_metrics(out: torch.Tensor, y: torch.Tensor, loss: RefitLoss) -> dict[str, float]:
    """``{"loss": ..., "acc": ...}`` of outputs ``out`` ``(n, k)`` against ``y`` under the refit ``loss``.

    The loss is the data term of :func:`refit_objective`; accuracy is the sign of the logit
    (logistic), the argmax (cross-entropy), or thresholding at 0.5 (squared, for 0/1 targets).

    Args:
        out: ``(n, k)`` outputs.
        y: targets (labels for logistic / cross-entropy).
        loss: the refit loss that scores them.

    Example:
        >>> head_metrics(torch.tensor([[2.0], [-1.0]]), torch.tensor([1, 0]), "logistic")["acc"]
        1.0
    """
    out = out.double().reshape(len(y), -1)
    if loss == "squared":
        t = y.double().reshape(out.shape)
        return {"loss": float(((out - t) ** 2).sum(1).mean()), "acc": float(((out > 0.5) == (t > 0.5)).double().mean())}
    if loss == "logistic":
        t = (y > 0).double()
        return {
            "loss": float(F.binary_cross_entropy_with_logits(out[:, 0], t)),
            "acc": float(((out[:, 0] > 0).double() == t).double().mean()),
        }
    return {"loss": float(F.cross_entropy(out, y.long())), "acc": float((out.argmax(1) == y.long()).double().mean())}


@dataclass
class RefitResult:
    """Weights ``(k, m)`` and bias ``(k,)`` of the refitted layer, its objective and gradient norm."""

    weight: torch.Tensor
    bias: torch.Tensor
    objective: float
    grad_norm: float


def refit_objective(
    h: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, loss: RefitLoss, l2: float
) -> torch.Tensor:
    """The objective above for given weights (differentiable).

    Args:
        h: ``(n, m)`` hidden features.
        y: targets (labels for logistic / cross-entropy).
        weight: ``(k, m)`` last-layer weights.
        bias: ``(k,)`` last-layer bias.
        loss: the refit loss.
        l2: weight of :math:`\\|V\\|_F^2`.
    """
    out = h @ weight.T + bias
    if loss == "squared":
        target = y.reshape(out.shape).to(out)
        data = ((out - target) ** 2).sum(dim=1).mean()
    elif loss == "logistic":
        data = F.binary_cross_entropy_with_logits(out[:, 0], (y > 0).to(out))
    else:
        data = F.cross_entropy(out, y.long())
    return data + l2 * (weight**2).sum()


@torch.enable_grad()
def refit_last_layer(
    h: torch.Tensor,
    y: torch.Tensor,
    loss: RefitLoss = "squared",
    l2: float = 1e-6,
    n_outputs: int | None = None,
    tol: float = 1e-9,
    max_iter: int = 500,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> RefitResult:
    """Solve the convex last-layer problem for fixed features ``h`` ``(n, m)``.

    Args:
        h: ``(n, m)`` hidden features.
        y: targets ``(n,)``/``(n, k)`` (squared), labels (logistic/cross-entropy).
        loss: ``"squared"``, ``"logistic"`` or ``"cross_entropy"``.
        l2: weight of :math:`\\|V\\|_F^2` (> 0 keeps the problem strongly convex).
        n_outputs: number of classes for cross-entropy (default: ``max(y) + 1``).
        tol: gradient-norm target of L-BFGS.
        max_iter: most L-BFGS iterations.
        init: warm start ``(weight, bias)``.

    Example:
        >>> h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> res = refit_last_layer(h, torch.tensor([1.0, 2.0, 3.0]), l2=1e-12)
        >>> res.weight.round(decimals=4).tolist(), round(float(res.bias[0]), 4)
        ([[1.0, 2.0]], 0.0)
    """
    check_choice("loss", loss, ("squared", "logistic", "cross_entropy"))
    check_positive("l2", l2)
    if h.ndim != 2 or len(h) != len(y):
        raise ValueError(f"`h` must be (n, m) with n = len(y) = {len(y)}, got {tuple(h.shape)}")
    hd = h.detach().double()
    n, m = hd.shape
    if loss == "squared":
        yd = y.detach().double().reshape(n, -1)
        mu_h, mu_y = hd.mean(0), yd.mean(0)
        hc, yc = hd - mu_h, yd - mu_y
        a = hc.T @ hc / n + l2 * torch.eye(m, dtype=torch.float64)
        w = torch.linalg.solve(a, hc.T @ yc / n).T  # (k, m)
        b = mu_y - w @ mu_h
    else:
        k = 1 if loss == "logistic" else int(n_outputs or int(y.max()) + 1)
        w = torch.zeros(k, m, dtype=torch.float64) if init is None else init[0].detach().double().clone()
        b = torch.zeros(k, dtype=torch.float64) if init is None else init[1].detach().double().clone()
        w.requires_grad_(True)
        b.requires_grad_(True)
        opt = torch.optim.LBFGS(
            [w, b],
            lr=1,
            max_iter=max_iter,
            tolerance_grad=tol,
            tolerance_change=0,
            history_size=50,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            f = refit_objective(hd, y, w, b, loss, l2)
            f.backward()
            return f

        for _ in range(5):
            opt.step(closure)
            if float(torch.cat([w.grad.flatten(), b.grad.flatten()]).norm()) <= tol:  # type: ignore[union-attr]
                break
        w, b = w.detach(), b.detach()
    wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    obj = refit_objective(hd, y, wg, bg, loss, l2)
    gw, gb = torch.autograd.grad(obj, [wg, bg])
    return RefitResult(w, b, float(obj.detach()), float(torch.cat([gw.flatten(), gb.flatten()]).norm()))
