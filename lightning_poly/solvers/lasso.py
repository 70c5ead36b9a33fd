r"""Weighted (group) Lasso of a linear layer on fixed features, solved to a certified duality gap.

.. math::
    P(V, b) = \frac{1}{n}\sum_{i=1}^n \ell(V h_i + b, y_i) + \lambda \sum_{j=1}^m c_j \|V_{:, j}\|_p ,
    \qquad p \in \{1, 2\},

with :math:`\ell` squared, logistic or cross-entropy, an unpenalised intercept :math:`b` (optional) and
column weights :math:`c_j > 0`. This is the refit objective of polishing (wedge-products paper, Section 4.1
step 4, derived in :mod:`lightning_poly.solvers.refit`) and, with :math:`k = 1`, :math:`c = 1`, the Lasso of
Theorems 4 and 16 (:mod:`lightning_poly.solvers.exact_l1`).

The dual (Lemmas 25 and 26, eq. (93)–(94), with the column weights and a vector output) is

.. math::
    D(\Theta) = -\sum_i f_i^*(\theta_i) \quad \text{s.t.} \quad \|(H^\top \Theta)_{j}\|_{p^*} \le \lambda c_j,
    \quad 1^\top \Theta = 0 \ (\text{with an intercept}),

:math:`f_i = \ell(\cdot, y_i)/n`, :math:`p^*` the dual norm. Every primal point gives a feasible dual point
:math:`\Theta = s\,\nabla F` (the intercept minimised exactly first, so :math:`1^\top\nabla F = 0`; :math:`s \le 1`
scales into the constraint), hence a certified gap :math:`P - D \ge P - P^*`.

Solver: FISTA with adaptive restarts in float64 (squared loss on the Gram matrix, so an iteration costs
:math:`O(m^2 k)` whatever :math:`n`), and every ``check_every`` iterations a Newton-type solve restricted to the
current support and signs (exact for the squared loss with :math:`p = 1`, Newton's method otherwise), accepted
when it keeps the support's signs; the loop stops when the gap is at most ``tol * max(1, |P|)``. For the logistic
and cross-entropy losses the default is proximal Newton (:mod:`lightning_poly.solvers._lasso_newton`): FISTA
needs tens of thousands of iterations on a classification head at a small penalty. Measured: a Figure 9a head
(n = 8,000, 512 columns, 2 classes, lambda = 1e-6) reaches the 1e-8 gap in 12 outer iterations (6.6 s at one
thread), where FISTA's 20,000 iterations stopped 2-8 % above the optimum on such heads; on 120 separable points
(logistic, lambda = 1e-6) FISTA's 20,000 iterations end at a relative gap of 1.0, proximal Newton certifies the
optimum in 18.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.solvers._lasso_newton import newton_affordable, prox_newton
from lightning_poly.solvers._lasso_problem import (  # noqa: F401 (the private names tests and lasso_qp use)
    _check,
    _data_grad,
    _data_hessian,
    _penalty,
    _Problem,
    _prox,
    _restricted_hessian,
    _support_solve,
    _targets,
)
from lightning_poly.solvers.losses import SolverLoss

__all__ = ["LassoResult", "lasso_certificate", "lasso_objective", "weighted_lasso"]

NormP = Literal[1, 2]

# method='auto' on a classification loss: FISTA's iterations tried before proximal Newton, on heads of at most
# NEWTON_AFTER_COLUMNS entries (a FISTA iteration costs ~4 n m k, a Newton step ~n (m k)^2 / 2 and its inner solve: on
# a Figure 9a head, m k = 1,024, 2,000 FISTA iterations took 45 s against Newton's 7-14 s to the certified gap)
NEWTON_AFTER = 2_000
NEWTON_AFTER_COLUMNS = 256


@dataclass
class LassoResult:
    """A solution of the weighted Lasso and its certificate.

    Attributes:
        weight: ``(k, m)`` float64 weights :math:`V`.
        bias: ``(k,)`` float64 intercept (zeros without one).
        objective: the primal value :math:`P(V, b)`.
        dual: the dual value of the certificate, a lower bound on the optimum.
        gap: ``objective - dual`` (≥ the suboptimality).
        subgrad_norm: norm of the minimum-norm subgradient at the solution (0 at the optimum).
        iterations: FISTA iterations run (proximal Newton: its outer iterations, plus FISTA's if it went on).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    objective: float
    dual: float
    gap: float
    subgrad_norm: float
    iterations: int


def lasso_objective(
    h: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    loss: SolverLoss,
    lam: float,
    col_weights: torch.Tensor | None = None,
    p: NormP = 2,
) -> float:
    """:math:`P(V, b)` of the module docstring at given weights ``(k, m)`` and bias ``(k,)``.

    Example:
        >>> h = torch.tensor([[1.0], [2.0]]); y = torch.tensor([1.0, 2.0])
        >>> lasso_objective(h, y, torch.tensor([[1.0]]), torch.zeros(1), "squared", 0.5)
        0.5
    """
    _check(h, y, loss, lam, p, col_weights)
    hd = h.detach().double()
    k = weight.shape[0]
    c = torch.ones(hd.shape[1], dtype=hd.dtype, device=hd.device) if col_weights is None else col_weights.double()
    pb = _Problem(hd, y, loss, lam, c, p, k, True)
    return pb.objective(weight.detach().double(), bias.detach().double())


def lasso_certificate(
    h: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor,
    loss: SolverLoss,
    lam: float,
    col_weights: torch.Tensor | None = None,
    p: NormP = 2,
    fit_intercept: bool = True,
) -> tuple[float, float]:
    """``(primal, dual)`` at weights ``weight`` with the exact intercept: ``dual`` ≤ the optimum ≤ ``primal``.

    Example:
        >>> h = torch.tensor([[1.0], [2.0]]); y = torch.tensor([1.0, 2.0])
        >>> pr, du = lasso_certificate(h, y, torch.tensor([[0.0]]), "squared", 10.0, fit_intercept=False)
        >>> pr, du  # V = 0 is optimal for a large penalty: the gap is 0
        (2.5, 2.5)
    """
    _check(h, y, loss, lam, p, col_weights)
    hd = h.detach().double()
    c = torch.ones(hd.shape[1], dtype=hd.dtype, device=hd.device) if col_weights is None else col_weights.double()
    pb = _Problem(hd, y, loss, lam, c, p, weight.shape[0], fit_intercept)
    v = weight.detach().double()
    _, primal, dual, _ = pb.certificate(v, torch.zeros(pb.k, dtype=v.dtype, device=v.device))
    return primal, dual


@torch.no_grad()
def weighted_lasso(
    h: torch.Tensor,
    y: torch.Tensor,
    loss: SolverLoss = "squared",
    lam: float = 1e-6,
    col_weights: torch.Tensor | None = None,
    p: NormP = 2,
    n_outputs: int | None = None,
    fit_intercept: bool = True,
    tol: float = 1e-8,
    max_iter: int = 20_000,
    check_every: int = 25,
    init: torch.Tensor | None = None,
    method: Literal["auto", "fista", "prox_newton"] = "auto",
) -> LassoResult:
    """Solve the weighted (group) Lasso of the module docstring to a certified relative gap ``tol``.

    Args:
        h: ``(n, m)`` features.
        y: targets ``(n,)``/``(n, k)`` (squared), 0/1 or ±1 labels (logistic), class indices (cross-entropy).
        loss: ``"squared"``, ``"logistic"`` or ``"cross_entropy"``.
        lam: the penalty weight :math:`\\lambda > 0`.
        col_weights: ``(m,)`` weights :math:`c_j > 0` (default 1).
        p: 1 (entry-wise ℓ1) or 2 (group ℓ2 over each column's ``k`` outputs; ℓ1 when ``k = 1``).
        n_outputs: outputs ``k`` (cross-entropy: default ``max(y) + 1``; squared: the targets' columns).
        fit_intercept: an unpenalised intercept.
        tol: stop when ``gap <= tol * max(1, |objective|)``.
        max_iter: most FISTA iterations (the result then carries the gap reached).
        check_every: FISTA iterations between certificates and support solves.
        init: warm start ``(k, m)``.
        method: ``"prox_newton"`` (:mod:`~lightning_poly.solvers._lasso_newton`: logistic and cross-entropy
            only; FISTA goes on from its best point if it stalls short of ``tol``), ``"fista"``, or ``"auto"``:
            proximal Newton for the logistic and cross-entropy losses when the ``k (m + 1)``-row Hessian is
            affordable (:func:`~lightning_poly.solvers._lasso_newton.newton_affordable`), else FISTA.

    Raises:
        ValueError: for a loss, ``p``, ``lam``, shapes, weights or ``method`` outside those above.

    Example:
        >>> h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> res = weighted_lasso(h, torch.tensor([1.0, 2.0, 3.0]), lam=1e-3, fit_intercept=False)
        >>> res.weight.round(decimals=2).tolist(), res.gap < 1e-9
        ([[1.0, 2.0]], True)
    """
    _check(h, y, loss, lam, p, col_weights)
    check_int("max_iter", max_iter, minimum=1)
    check_int("check_every", check_every, minimum=1)
    check_positive("tol", tol)
    check_choice("method", method, ("auto", "fista", "prox_newton"))
    if method == "prox_newton" and loss == "squared":
        raise ValueError(
            "`method`='prox_newton' is for the logistic and cross-entropy losses; the squared loss's FISTA works on "
            "its Gram matrix with an exact support solve (use 'auto' or 'fista')"
        )
    hd = h.detach().double()
    n, m = hd.shape
    if loss == "squared":
        k = y.numel() // n
    elif loss == "logistic":
        k = 1
    else:
        k = int(n_outputs or int(y.max()) + 1)
    c = (
        torch.ones(m, dtype=hd.dtype, device=hd.device)
        if col_weights is None
        else col_weights.detach().double().to(hd.device)
    )
    p = 1 if k == 1 else p  # one output: the group norm is the absolute value
    pb = _Problem(hd, y, loss, lam, c, p, k, fit_intercept)
    x = torch.zeros(k, m, dtype=hd.dtype, device=hd.device) if init is None else init.detach().double().clone()
    b0 = torch.zeros(k, dtype=hd.dtype, device=hd.device)
    newton = method == "prox_newton" or (method == "auto" and loss != "squared" and newton_affordable(n, m, k))
    target = lambda r: r[0] <= tol * max(1.0, abs(r[3]))  # noqa: E731
    runs: list[_Run] = []
    it = 0
    if (
        method == "auto" and newton and m * k <= NEWTON_AFTER_COLUMNS
    ):  # a short FISTA first: small heads need no Hessian
        runs.append(_fista(pb, x, pb.best_bias(x, b0), tol, min(max_iter, NEWTON_AFTER), check_every))
        it = runs[-1].iterations
    if newton and not (runs and target(runs[-1].best)):
        start = runs[-1].best if runs else None
        xs, bs = (start[1], start[2]) if start else (x, pb.best_bias(x, b0))
        gap, v, b, primal, dual, sg, outer = prox_newton(pb, xs, bs, tol)
        runs.append(_Run((gap, v, b, primal, dual, sg), outer))
        it += outer
    if not runs or (not target(_best(runs)) and it < max_iter):  # FISTA (on), from the lowest objective so far
        lowest = min((r.best for r in runs), key=lambda r: r[3], default=None)
        xs, bs = (lowest[1], lowest[2]) if lowest else (x, pb.best_bias(x, b0))
        runs.append(_fista(pb, xs, bs, tol, max(max_iter - it, check_every), check_every))
        it += runs[-1].iterations
    gap, v, b, primal, dual, sg = _best(runs)
    if gap > tol * max(1.0, abs(primal)):
        warnings.warn(
            f"weighted_lasso stopped after `max_iter`={max_iter} iterations at a relative duality gap of "
            f"{gap / max(1.0, abs(primal)):.2g} (target `tol`={tol:g}): the weights are feasible and their objective "
            "is an upper bound within `gap` of the optimum; a larger `lam` (weight decay) or `max_iter` gets closer "
            "(a small penalty with a classification loss on nearly separable features converges slowly)",
            RuntimeWarning,
            stacklevel=3,  # the caller of weighted_lasso, past torch.no_grad's wrapper
        )
    return LassoResult(v, b, primal, dual, gap, sg, it)


@dataclass
class _Run:
    best: tuple  # (gap, V, b, primal, dual, subgradient norm) of the point with the smallest gap
    iterations: int


def _best(runs: list[_Run]) -> tuple:
    """``(gap, V, b, primal, dual, subgradient norm)``: the lowest objective of the runs, certified by the best dual
    value any of them gave (each is a lower bound on the optimum)."""
    low = min((r.best for r in runs), key=lambda r: r[3])
    dual = max(r.best[4] for r in runs)
    return (low[3] - dual, low[1], low[2], low[3], dual, low[5])


def _fista(pb: _Problem, x: torch.Tensor, bx: torch.Tensor, tol: float, max_iter: int, check_every: int) -> _Run:
    """FISTA with adaptive restarts and restricted support solves from ``(x, bx)`` (the module docstring)."""
    p = pb.p
    thr = (pb.step * pb.lam * pb.c)[None, :]
    yv, yb, t = x.clone(), bx.clone(), 1.0
    best: tuple[float, torch.Tensor, torch.Tensor, float, float, float] | None = None
    it, last_supp, tried, wait, next_try = 0, None, False, check_every, 0
    while True:
        for _ in range(check_every):
            _, gv, gb = pb.smooth(yv, yb)
            xn = _prox(yv - pb.step * gv, thr, p)
            bn = yb - pb.step * gb
            tn = (1 + (1 + 4 * t * t) ** 0.5) / 2
            mom = (t - 1) / tn
            yv_new, yb_new = xn + mom * (xn - x), bn + mom * (bn - bx)
            if float(((yv_new - xn) * (xn - x)).sum() + ((yb_new - bn) * (bn - bx)).sum()) > 0:  # restart
                yv_new, yb_new, tn = xn.clone(), bn.clone(), 1.0
            x, bx, yv, yb, t = xn, bn, yv_new, yb_new, tn
            it += 1
        supp = (x != 0) if p == 1 else (x.norm(dim=0) > 0)
        stable = last_supp is not None and bool(torch.equal(supp, last_supp)) and it >= next_try
        last_supp = supp
        for cand in (x, _support_solve(pb, x, bx) if stable and not tried else None):
            if cand is None:
                continue
            cv = cand if isinstance(cand, torch.Tensor) else cand[0]
            cb, primal, dual, sg = pb.certificate(cv, bx if isinstance(cand, torch.Tensor) else cand[1])
            if stable and not isinstance(cand, torch.Tensor):
                tried, wait = True, 2 * wait  # back off: the next restricted solve waits twice as long
            if best is None or primal - dual < best[0]:
                best = (primal - dual, cv, cb, primal, dual, sg)
        assert best is not None
        if best[0] <= tol * max(1.0, abs(best[3])) or it >= max_iter:
            break
        if best[3] < pb.objective(x, bx):  # restart FISTA from the better (support-solved) point
            x, bx, yv, yb, t = best[1].clone(), best[2].clone(), best[1].clone(), best[2].clone(), 1.0
        if not stable:
            tried = False  # a new support earns a new restricted solve
        if tried:
            next_try, tried = it + wait, False
    return _Run(best, it)
