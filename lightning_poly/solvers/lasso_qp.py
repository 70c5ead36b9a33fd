r"""The squared-loss Lasso as a convex QP solved by HiGHS's active-set method, for degenerate dictionaries.

.. math::
    \min_{z^\pm \ge 0,\, t,\, r} \ \frac{1}{n} r^\top r + \lambda\, c^\top (z^+ + z^-)
    \quad \text{s.t.} \quad H (z^+ - z^-) + t\,1 - r = y ,

the weighted Lasso of :mod:`lightning_poly.solvers.lasso` (squared loss, one output) with the residual :math:`r`
as a variable, so the Hessian is :math:`\frac{2}{n} I` on :math:`r` alone and the model has :math:`nnz(H)`
constraint entries whatever the Gram matrix. The dictionaries of Theorems 4 and 16
(:mod:`lightning_poly.solvers.exact_l1`) have many more columns than points, so the Gram matrix on a support is
singular and the solution set is not a point: FISTA's certificate converges slowly there (a relative gap ~1e-4
after 20,000 iterations on n = 8 points), while an active-set QP ends on an optimal vertex of the solution set.

HiGHS runs with feasibility tolerances 1e-10 and without its default QP regularisation (1e-7, which alone leaves a
relative gap ~1e-6). The returned point is certified exactly as FISTA's is (:func:`~lightning_poly.solvers.lasso.
lasso_certificate`: dual = the conjugate at the scaled residual, Lemmas 25–26): the gap is a measured bound, not
HiGHS's word.
"""

from __future__ import annotations

import highspy
import numpy as np
import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.solvers.lasso import LassoResult, _check, _Problem
from lightning_poly.solvers.lp import _new_highs, run_optimal, set_rowwise

__all__ = ["logistic_lasso_qp", "squared_lasso_qp"]


def _model(
    h: np.ndarray, y: np.ndarray, lam_c: np.ndarray, ones: np.ndarray | None
) -> tuple[highspy.HighsLp, highspy.HighsHessian]:
    """The QP of the module docstring; ``ones`` is the intercept's column (``None``: no intercept)."""
    n, m = h.shape
    icpt = ones is not None
    nv = 2 * m + int(icpt) + n
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nv, n
    lp.col_cost_ = np.concatenate([lam_c, lam_c, np.zeros(nv - 2 * m)])
    lp.col_lower_ = np.concatenate([np.zeros(2 * m), np.full(nv - 2 * m, -inf)])
    lp.col_upper_ = np.full(nv, inf)
    lp.row_lower_ = lp.row_upper_ = y
    set_rowwise(lp, np.hstack([h, -h, *([ones[:, None]] if ones is not None else []), -np.eye(n)]))
    hess = highspy.HighsHessian()
    hess.dim_ = nv
    hess.format_ = highspy.HessianFormat.kTriangular
    first = 2 * m + int(icpt)
    start = np.zeros(nv + 1, dtype=np.int32)
    start[first + 1 :] = np.arange(1, n + 1)
    hess.start_ = start
    hess.index_ = np.arange(first, nv, dtype=np.int32)
    hess.value_ = np.full(n, 2.0 / n)
    return lp, hess


def _solve_qp(
    h: np.ndarray, y: np.ndarray, lam_c: np.ndarray, ones: np.ndarray | None
) -> tuple[torch.Tensor, float, int]:
    """``(z (1, m), t, QP iterations)`` of :math:`\\min \\frac1n\\|h z + t\\,\\mathrm{ones} - y\\|^2 + \\lambda c^\\top|z|`."""
    m = h.shape[1]
    lp, hess = _model(h, y, lam_c, ones)
    solver = _new_highs()
    solver.setOptionValue("threads", 1)
    solver.setOptionValue("primal_feasibility_tolerance", 1e-10)
    solver.setOptionValue("dual_feasibility_tolerance", 1e-10)
    solver.setOptionValue("qp_regularization_value", 0.0)
    solver.passModel(lp)
    solver.passHessian(hess)
    sol = run_optimal(solver, " for the Lasso QP")
    t = float(sol[2 * m]) if ones is not None else 0.0
    return torch.from_numpy(sol[:m] - sol[m : 2 * m])[None, :], t, int(solver.getInfo().qp_iteration_count)


def squared_lasso_qp(
    h: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    *,
    col_weights: torch.Tensor | None = None,
    fit_intercept: bool = True,
) -> LassoResult:
    """The weighted Lasso (squared loss, one output) solved as the QP of the module docstring, with its certificate.

    Args:
        h: ``(n, m)`` features (any ``m``; the QP has ``2m + n`` variables).
        y: ``(n,)`` targets.
        lam: the penalty weight :math:`\\lambda > 0`.
        col_weights: ``(m,)`` weights :math:`c_j > 0` (default 1).
        fit_intercept: an unpenalised intercept :math:`t`.

    Returns:
        a :class:`~lightning_poly.solvers.lasso.LassoResult` (``iterations`` = HiGHS's QP iterations) whose ``gap``
        is the certified ``objective - dual``.

    Raises:
        ValueError: for shapes, ``lam`` or weights outside those above.
        LPFailure: if HiGHS does not report an optimal solution.

    Example:
        >>> h = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0]])  # a singular Gram matrix
        >>> res = squared_lasso_qp(h, torch.tensor([1.0, 2.0, 3.0]), 1e-3, fit_intercept=False)
        >>> round(res.objective, 6), res.gap < 1e-12
        (0.002, True)
    """
    _check(h, y, "squared", lam, 1, col_weights)
    if y.numel() != len(h):
        raise ValueError(f"`y` must hold one target per row of `h` ({len(h)}), got shape {tuple(y.shape)}")
    hd = h.detach().double().cpu()
    n, m = hd.shape
    c = torch.ones(m, dtype=torch.float64) if col_weights is None else col_weights.detach().double().cpu()
    v, _, iters = _solve_qp(hd.numpy(), y.detach().double().cpu().reshape(n).numpy(), lam * c.numpy(),
                            np.ones(n) if fit_intercept else None)  # fmt: skip
    pb = _Problem(hd, y.detach().cpu(), "squared", lam, c, 1, 1, fit_intercept)
    b, primal, dual, sg = pb.certificate(v, torch.zeros(1, dtype=torch.float64))
    return LassoResult(v, b, primal, dual, primal - dual, sg, iters)


def logistic_lasso_qp(
    h: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    *,
    fit_intercept: bool = True,
    tol: float = 1e-9,
    max_newton: int = 50,
) -> LassoResult:
    """The logistic Lasso by proximal Newton steps whose subproblems are the QP above, to a certified gap.

    At the outputs :math:`u^0` the logistic loss's second-order model is a weighted least-squares fit to
    :math:`u^0 - g/H` (:math:`g, H` its first and second derivatives), so each step is :func:`squared_lasso_qp`'s QP
    with the rows scaled by :math:`\\sqrt{nH_i}`, solved exactly, then a backtracking line search on the true
    objective. Stops when the certificate's gap (:func:`~lightning_poly.solvers.lasso.lasso_certificate`) is at most
    ``tol * max(1, |objective|)`` or after ``max_newton`` steps (the result carries the gap reached).

    Args:
        h: ``(n, m)`` features.
        y: 0/1 or ±1 labels ``(n,)``.
        lam: the penalty weight :math:`\\lambda > 0`.
        fit_intercept: an unpenalised intercept.
        tol: relative gap at which to stop.
        max_newton: most proximal Newton steps.

    Raises:
        ValueError: for shapes or ``lam`` outside those above.
        LPFailure: if HiGHS does not report an optimal solution.

    Example:
        >>> h = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
        >>> res = logistic_lasso_qp(h, torch.tensor([1.0, 1.0, 1.0, 0.0]), 1e-2)
        >>> res.gap <= 1e-9 * max(1.0, res.objective)
        True
    """
    _check(h, y, "logistic", lam, 1, None)
    check_int("max_newton", max_newton, minimum=1)
    check_positive("tol", tol)
    hd = h.detach().double().cpu()
    n, m = hd.shape
    c = torch.ones(m, dtype=torch.float64)
    pb = _Problem(hd, y.detach().cpu(), "logistic", lam, c, 1, 1, fit_intercept)
    t = pb.t[:, 0]
    v = torch.zeros(1, m, dtype=torch.float64)
    b = pb.best_bias(v, torch.zeros(1, dtype=torch.float64))
    obj, steps = pb.objective(v, b), 0
    while steps < max_newton:
        steps += 1
        b, primal, dual, _ = pb.certificate(v, b)
        if primal - dual <= tol * max(1.0, abs(primal)):
            break
        u = hd @ v[0] + b
        s = torch.sigmoid(u)
        curv = (s * (1 - s)).clamp_min(1e-12)
        # the model (1/n) sum_i curv_i / 2 (u_i - target_i)^2 is the QP's (1/n) ||r||^2 with rows scaled by
        # sqrt(curv_i / 2), the intercept's column included
        scale = (curv / 2).sqrt()
        target = u - (s - t) / curv
        nz, nt, _ = _solve_qp((hd * scale[:, None]).numpy(), (scale * target).numpy(), lam * c.numpy(),
                              scale.numpy() if fit_intercept else None)  # fmt: skip
        step_v = nz - v
        step_b = torch.tensor([nt], dtype=torch.float64) - b if fit_intercept else torch.zeros(1, dtype=torch.float64)
        a = 1.0
        while a > 1e-10:
            cand_v, cand_b = v + a * step_v, b + a * step_b
            cand = pb.objective(cand_v, cand_b)
            if cand <= obj:
                break
            a /= 2
        if a <= 1e-10:
            break
        v, b, obj = cand_v, cand_b, cand
    b, primal, dual, sg = pb.certificate(v, b)
    return LassoResult(v, b, primal, dual, primal - dual, sg, steps)
