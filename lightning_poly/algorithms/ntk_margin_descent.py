r"""Estimating the NTK margin :math:`\gamma_V` by gradient descent (NTK-convex paper, Section 6).

Lemma 6.1: with the logistic loss :math:`L(W) = \sum_i \ln(1 + e^{-y_i f(V, W, x_i)})` minimised over
:math:`\mathcal W_B = \{\|w_j\| \le B\}` with :math:`B \ge (\ln 4 + \ln n)/(\varepsilon \gamma_V)`, any
:math:`W` with :math:`L(W) \le 2 L(W^\star)` gives :math:`\gamma_V \ge \min_i y_i f(V, W/B, x_i) \ge (1-\varepsilon)\gamma_V`.
:math:`\gamma_V` is unknown, so we guess it in powers of two (1, 1/2, 1/4, ...) and stop at the first
guess :math:`g` whose estimate is at least :math:`(1-\varepsilon) g` (checked every 100 steps, so a
guess stops as soon as it is certified). Projected FISTA with restarts solves each problem, warm
started from the previous guess's solution scaled to the new ball.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.solvers.gated_lasso import gated_adjoint, gated_output, lipschitz

__all__ = ["NTKMarginEstimate", "ntk_margin_by_descent", "ntk_margin_width_bound"]


@dataclass
class NTKMarginEstimate:
    """``gamma``: the estimate; the lemma's guarantee is ``(1 - eps) gamma_V <= gamma <= gamma_V``
    (so ``gamma_V`` lies in ``[gamma, gamma / (1 - eps)]``); ``guess`` and ``radius`` (B) used,
    ``iterations`` in total; ``weight``: the maximiser ``W / B`` (rows of norm <= 1)."""

    gamma: float
    eps: float
    guess: float
    radius: float
    iterations: int
    weight: torch.Tensor

    @property
    def interval(self) -> tuple[float, float]:
        return self.gamma, self.gamma / (1 - self.eps)


def ntk_margin_by_descent(
    x: torch.Tensor,
    y: torch.Tensor,
    gates: torch.Tensor,
    rho: torch.Tensor | None = None,
    eps: float = 0.1,
    max_iter: int = 20_000,
    tol: float = 1e-9,
    min_guess: float = 1e-6,
) -> NTKMarginEstimate:
    """Estimate :math:`\\gamma_V` within :math:`(1 \\pm \\varepsilon)` (module docstring).

    Args:
        x: ``(n, d)`` inputs.
        y: ``(n,)`` labels in {-1, +1}.
        gates: ``(m, d)`` gate vectors :math:`V`.
        rho: ``(m,)`` neuron weights (default :math:`1/m`).
        eps: relative accuracy :math:`\\varepsilon` in (0, 1).
        max_iter: most iterations of each inner solve.
        tol: tolerance of each inner solve.
        min_guess: smallest margin tried before giving up.

    Raises:
        ValueError: labels outside {-1, +1}, bad ``eps``, or no positive margin down to ``min_guess``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64); y = torch.tensor([1.0, -1.0], dtype=torch.float64)
        >>> est = ntk_margin_by_descent(x, y, torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64))
        >>> 0.45 <= est.gamma <= 0.5
        True
    """
    if not set(torch.unique(y).tolist()) <= {-1.0, 1.0}:
        raise ValueError(f"labels for the margin must be in {{-1, +1}}, got {sorted(set(torch.unique(y).tolist()))}")
    if not 0 < eps < 1:
        raise ValueError(f"`eps` must lie in (0, 1), got {eps!r}")
    check_int("max_iter", max_iter, minimum=1)
    check_positive("min_guess", min_guess)
    xd, yd, v = x.double(), y.double(), gates.double()
    m = v.shape[0]
    r = torch.full((m,), 1.0 / m, dtype=torch.float64) if rho is None else rho.double()
    act = (xd @ v.T > 0).double() * r
    n = len(yd)
    step = 4.0 / (lipschitz(xd, act) * n)  # logistic curvature <= 1/4, sum over n points
    total = 0
    guess = 1.0
    w = torch.zeros(m, xd.shape[1], dtype=torch.float64)
    prev_radius = None
    while guess >= min_guess:
        radius = (math.log(4) + math.log(n)) / (eps * guess)
        if prev_radius is not None:  # warm start from the previous guess, scaled to the new ball
            w = w * (radius / prev_radius)
        prev_radius = radius
        z, t = w.clone(), 1.0
        for it in range(1, max_iter + 1):
            total += 1
            # gradient of sum_i ln(1 + exp(-y_i f_i)): A^T(-y sigmoid(-y f))
            grad = gated_adjoint(xd, act, -yd * torch.sigmoid(-yd * gated_output(xd, act, z)))
            cand = z - step * grad
            w_new = cand * (radius / cand.norm(dim=1, keepdim=True).clamp_min(radius))  # project rows on the B-ball
            t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
            z = w_new + ((t - 1) / t_new) * (w_new - w)
            if float(((z - w_new) * (w_new - w)).sum()) > 0:  # adaptive restart
                z, t_new = w_new.clone(), 1.0
            stalled = float((w_new - w).norm()) <= tol * max(1.0, float(w_new.norm()))
            w, t = w_new, t_new
            certified = it % 100 == 0 and float((yd * gated_output(xd, act, w / radius)).min()) >= (1 - eps) * guess
            if stalled or certified:
                break
        est = float((yd * gated_output(xd, act, w / radius)).min())
        if est >= (1 - eps) * guess:
            return NTKMarginEstimate(est, eps, guess, radius, total, w / radius)
        guess /= 2
    raise ValueError(f"no positive NTK margin found down to the guess {min_guess}: gamma_V is 0 or below it")


def ntk_margin_width_bound(eps: float, delta: float, gamma: float, n: int, c: float = 1.0) -> int:
    """Theorem 6.2's width :math:`m \\ge c\\,(\\varepsilon\\delta\\gamma)^{-2}\\ln(n/\\varepsilon)` (``c`` is
    the unspecified absolute constant; 1 by default).

    Args:
        eps: :math:`\\varepsilon`.
        delta: :math:`\\delta` (failure probability).
        gamma: the margin :math:`\\gamma`.
        n: number of training points.
        c: the absolute constant.

    Example:
        >>> ntk_margin_width_bound(0.5, 0.5, 0.1, 100)
        8478
    """
    if not 0 < delta <= eps:
        raise ValueError(f"Theorem 6.2 needs 0 < delta <= eps, got delta={delta}, eps={eps}")
    check_positive("gamma", gamma)
    return math.ceil(c * (eps * delta * gamma) ** -2 * math.log(n / eps))
