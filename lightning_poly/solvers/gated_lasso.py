r"""The gated group-lasso problem: exactly with cvxpy, fast with accelerated proximal gradient.

.. math::
    \min_W \ P(W) = \frac{1}{2n} \Big\| \sum_j D_j \tilde X w_j - y \Big\|_2^2 + \lambda \sum_j \|w_j\|_2 ,
    \qquad D_j = \mathrm{diag}(\mathbf 1[\tilde X v_j > 0]),

the convex training problem of a gated ReLU network with squared loss (Mishkin et al. 2022, Eq. (4)).
Its Fenchel dual is :math:`\max_u -\frac n2\|u\|^2 - u^\top y` s.t. :math:`\|\tilde X^\top D_j u\|_2 \le \lambda`
for all :math:`j`; scaling :math:`u = r/n` (the residual) into the dual feasible set gives a dual value
:math:`D(u) \le P^\star`, hence the certificate :math:`\mathrm{gap} = P(W) - D(u) \ge P(W) - P^\star`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import torch

from lightning_poly._validation import check_int, check_positive

__all__ = [
    "LassoSolution",
    "duality_gap",
    "gated_lasso_admm",
    "gated_lasso_cvxpy",
    "gated_lasso_fista",
    "gated_adjoint",
    "gated_lasso_objective",
    "gated_output",
    "lipschitz",
    "relative_gap",
]


@dataclass
class LassoSolution:
    """Weights ``(m, d~)``, primal objective, relative duality gap, iterations and seconds."""

    weight: torch.Tensor
    objective: float
    rel_gap: float
    iterations: int
    seconds: float
    status: str = "optimal"


def gated_output(x: torch.Tensor, mask: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r""":math:`A W = \sum_j D_j \tilde X w_j`: ``(n,)`` outputs for gate pattern ``mask`` ``(n, m)`` and ``w`` ``(m, d)``.

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        w: ``(m, d~)`` weights.
    """
    return (mask * (x @ w.T)).sum(dim=1)


def gated_adjoint(x: torch.Tensor, mask: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r""":math:`A^\top u`: ``(m, d)``, rows :math:`\tilde X^\top D_j u`.

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        u: ``(n,)`` a vector of the output space.
    """
    return (mask * u[:, None]).T @ x


def lipschitz(x: torch.Tensor, mask: torch.Tensor, iters: int = 30) -> float:
    r"""Lipschitz constant of the gradient of :math:`\frac{1}{2n}\|AW - y\|^2`: :math:`\|A\|_2^2 / n`
    by power iteration (5% safety margin).

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        iters: power iterations.
    """
    n, d = x.shape
    v = torch.randn(
        mask.shape[1], d, dtype=x.dtype, device=x.device, generator=torch.Generator(device=x.device).manual_seed(0)
    )
    for _ in range(iters):
        v = gated_adjoint(x, mask, gated_output(x, mask, v))
        v = v / v.norm()
    return float(gated_output(x, mask, v).norm() ** 2) / n * 1.05


def gated_lasso_objective(x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, w: torch.Tensor, lam: float) -> float:
    """:math:`P(W)` above (``mask`` is the ``(n, m)`` gate pattern, ``x`` already augmented).

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        w: ``(m, d~)`` weights.
        lam: group-lasso weight :math:`\\lambda`.
    """
    return _primal(gated_output(x, mask, w) - y, w, lam)


def _primal(residual: torch.Tensor, w: torch.Tensor, lam: float) -> float:
    r""":math:`P(W)` from the residual :math:`r = \sum_j D_j \tilde X w_j - y`."""
    return float(0.5 * (residual @ residual) / len(residual) + lam * w.norm(dim=1).sum())


def duality_gap(
    x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, w: torch.Tensor, lam: float
) -> tuple[float, float]:
    """``(P(W), D(u))``: a primal value and a dual lower bound on the optimum (module docstring).

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        w: ``(m, d~)`` weights.
        lam: group-lasso weight :math:`\\lambda`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(20, 3, generator=g, dtype=torch.float64); y = torch.randn(20, generator=g, dtype=torch.float64)
        >>> mask = (x @ torch.randn(3, 4, generator=g, dtype=torch.float64) > 0).double()
        >>> p, d = duality_gap(x, mask, y, torch.zeros(4, 3, dtype=torch.float64), 0.1)
        >>> p >= d
        True
    """
    n = len(y)
    r = gated_output(x, mask, w) - y
    u = r / n
    scale = min(1.0, lam / max(float(gated_adjoint(x, mask, u).norm(dim=1).max()), 1e-300))
    u = u * scale
    primal = _primal(r, w, lam)
    dual = float(-0.5 * n * (u @ u) - u @ y)
    return primal, dual


def relative_gap(
    x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, w: torch.Tensor, lam: float
) -> tuple[float, float]:
    """``(P(W), (P(W) - D(u)) / |P(W)|)``: the objective and its certified relative duality gap.

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        w: ``(m, d~)`` weights.
        lam: group-lasso weight :math:`\\lambda`.
    """
    p, dval = duality_gap(x, mask, y, w, lam)
    return p, (p - dval) / max(abs(p), 1e-300)


def gated_lasso_fista(
    x: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    rel_gap: float = 1e-4,
    max_iter: int = 20_000,
    check_every: int = 10,
    w0: torch.Tensor | None = None,
) -> LassoSolution:
    """FISTA with adaptive restarts (O'Donoghue & Candès) for the group lasso, stopped by the
    certified relative duality gap ``(P - D) / |P| <= rel_gap``. Device-agnostic.

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        lam: group-lasso weight :math:`\\lambda`.
        rel_gap: stop at this certified relative duality gap.
        max_iter: most iterations.
        check_every: iterations between two gap evaluations.
        w0: ``(m, d~)`` warm start (default zeros).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(50, 3, generator=g, dtype=torch.float64); y = torch.randn(50, generator=g, dtype=torch.float64)
        >>> mask = (x @ torch.randn(3, 8, generator=g, dtype=torch.float64) > 0).double()
        >>> sol = gated_lasso_fista(x, mask, y, lam=0.05, rel_gap=1e-8)
        >>> sol.rel_gap <= 1e-8
        True
    """
    check_positive("lam", lam)
    check_positive("rel_gap", rel_gap)
    check_int("max_iter", max_iter, minimum=1)
    t0 = time.perf_counter()
    n, d = x.shape
    m = mask.shape[1]
    step = 1.0 / lipschitz(x, mask)
    w = torch.zeros(m, d, dtype=x.dtype, device=x.device) if w0 is None else w0.clone()
    z, t = w.clone(), 1.0
    gap = float("inf")
    it = 0
    for it in range(1, max_iter + 1):
        grad = gated_adjoint(x, mask, gated_output(x, mask, z) - y) / n
        cand = z - step * grad
        norms = cand.norm(dim=1, keepdim=True)
        w_new = cand * (1 - step * lam / norms.clamp_min(1e-300)).clamp_min(0)
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = w_new + ((t - 1) / t_new) * (w_new - w)
        # adaptive restart (gradient scheme)
        if float(((z - w_new) * (w_new - w)).sum()) > 0:
            z, t_new = w_new.clone(), 1.0
        w, t = w_new, t_new
        if it % check_every == 0:
            _, gap = relative_gap(x, mask, y, w, lam)
            if gap <= rel_gap:
                break
    p, gap = relative_gap(x, mask, y, w, lam)
    return LassoSolution(w, p, gap, it, time.perf_counter() - t0, "optimal" if gap <= rel_gap else "max_iter")


def gated_lasso_cvxpy(
    x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, lam: float, solver: str = "CLARABEL"
) -> LassoSolution:
    """The same problem through cvxpy (open-source Clarabel by default; any installed conic solver).

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        lam: group-lasso weight :math:`\\lambda`.
        solver: an installed cvxpy conic solver.

    Raises:
        RuntimeError: if the solver is missing (names what to install) or does not reach optimality
            (with its status).
    """
    check_positive("lam", lam)
    if solver not in cp.installed_solvers():
        raise RuntimeError(
            f"cvxpy solver {solver!r} is not installed (installed: {cp.installed_solvers()}); try `pip install {solver.lower()}`"
        )
    t0 = time.perf_counter()
    X, M, Y = x.double().cpu().numpy(), mask.double().cpu().numpy(), y.double().cpu().numpy()
    n, d = X.shape
    W = cp.Variable((M.shape[1], d))
    pred = cp.sum(cp.multiply(M, X @ W.T), axis=1)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(pred - Y) / (2 * n) + lam * cp.sum(cp.norm(W, 2, axis=1))))
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError as err:
        raise RuntimeError(f"cvxpy solver {solver} failed: {err}") from err
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"gated group lasso not solved: status {prob.status!r} (expected 'optimal')")
    w = torch.as_tensor(np.asarray(W.value), dtype=torch.float64)
    _, gap = relative_gap(x.double().cpu(), mask.double().cpu(), y.double().cpu(), w, lam)
    return LassoSolution(w, float(prob.value), gap, 0, time.perf_counter() - t0, str(prob.status))


def gated_lasso_admm(
    x: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    rel_gap: float = 1e-4,
    max_iter: int = 5000,
    rho: float | None = None,
    check_every: int = 5,
) -> LassoSolution:
    r"""ADMM for the group lasso with the linear system solved through the ``n x n`` Woodbury form.

    The smooth step needs :math:`(A^\top A / n + \rho I)^{-1}`, with :math:`A W = \sum_j D_j \tilde X w_j`.
    Since :math:`A A^\top = (\tilde X \tilde X^\top) \odot (M M^\top)` (``M`` the gate pattern), one
    Cholesky factor of the ``n x n`` matrix :math:`n\rho I + A A^\top` serves every iteration
    (:math:`(\rho I + A^\top A/n)^{-1} b = (b - A^\top (n\rho I + AA^\top)^{-1} A b)/\rho`). The penalty
    :math:`\rho` is rebalanced from the residuals (Boyd et al. 2011, §3.4.1), refactoring when it
    changes. Stops on the same certified relative duality gap as :func:`gated_lasso_fista`,
    evaluated at the sparse iterate.

    Args:
        x: ``(n, d~)`` augmented inputs.
        mask: ``(n, m)`` gate pattern.
        y: ``(n,)`` targets.
        lam: group-lasso weight :math:`\lambda`.
        rel_gap: stop at this certified relative duality gap.
        max_iter: most iterations.
        rho: initial penalty :math:`\rho` (default ``10 lam``).
        check_every: iterations between two gap evaluations.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(50, 3, generator=g, dtype=torch.float64); y = torch.randn(50, generator=g, dtype=torch.float64)
        >>> mask = (x @ torch.randn(3, 8, generator=g, dtype=torch.float64) > 0).double()
        >>> gated_lasso_admm(x, mask, y, lam=0.05, rel_gap=1e-8).rel_gap <= 1e-8
        True
    """
    check_positive("lam", lam)
    check_positive("rel_gap", rel_gap)
    t0 = time.perf_counter()
    n, d = x.shape
    m = mask.shape[1]
    gram = (x @ x.T) * (mask @ mask.T)  # A A^T
    rho = float(rho) if rho is not None else max(lam, 1e-8) * 10

    def factor(r: float) -> torch.Tensor:
        return torch.linalg.cholesky(gram + n * r * torch.eye(n, dtype=x.dtype, device=x.device))

    chol = factor(rho)
    aty = gated_adjoint(x, mask, y) / n
    w = torch.zeros(m, d, dtype=x.dtype, device=x.device)
    z, u = w.clone(), w.clone()
    gap, it = float("inf"), 0
    for it in range(1, max_iter + 1):
        b = aty + rho * (z - u)
        ab = gated_output(x, mask, b)
        w = (b - gated_adjoint(x, mask, torch.cholesky_solve(ab[:, None], chol)[:, 0])) / rho
        z_old = z
        v = w + u
        z = v * (1 - (lam / rho) / v.norm(dim=1, keepdim=True).clamp_min(1e-300)).clamp_min(0)
        u = u + w - z
        if it % check_every == 0:
            _, gap = relative_gap(x, mask, y, z, lam)
            if gap <= rel_gap:
                break
            r_norm, s_norm = float((w - z).norm()), float(rho * (z - z_old).norm())
            if r_norm > 10 * s_norm or s_norm > 10 * r_norm:
                scale = 2.0 if r_norm > s_norm else 0.5
                rho *= scale
                u /= scale
                chol = factor(rho)
    p, gap = relative_gap(x, mask, y, z, lam)
    return LassoSolution(z, p, gap, it, time.perf_counter() - t0, "optimal" if gap <= rel_gap else "max_iter")
