r"""Estimating the NTK margin :math:`\gamma_V` by gradient descent (NTK-convex paper, Section 6).

Lemma 6.1: with the logistic loss :math:`L(W) = \sum_i \ln(1 + e^{-y_i f(V, W, x_i)})` minimised over
:math:`\mathcal W_B = \{\|w_j\| \le B\}` with :math:`B \ge (\ln 4 + \ln n)/(\varepsilon \gamma_V)`, any
:math:`W` with :math:`L(W) \le 2 L(W^\star)` gives :math:`\gamma_V \ge \min_i y_i f(V, W/B, x_i) \ge (1-\varepsilon)\gamma_V`.

Our reading, and the rule implemented (:func:`ntk_margin_by_descent`):

* **The inner stopping rule is Lemma 6.1's** :math:`L(W) \le 2L(W^\star)`, *certified*: :math:`L` is convex and
  :math:`\mathcal W_B` a product of balls, so for every :math:`W \in \mathcal W_B` the linearisation gives the
  lower bound (a Frank-Wolfe bound)

  .. math:: L(W^\star) \ge \mathrm{LB}(W) = L(W) - \langle \nabla L(W), W\rangle - B \sum_j \|\nabla_j L(W)\|_2,

  which tends to :math:`L(W^\star)` as :math:`W \to W^\star`. A guess's solve stops once
  :math:`L(W) \le 2 \max_t \mathrm{LB}(W_t)` (the best bound met so far).
* **Guesses** :math:`g = 1, 1/2, 1/4, \dots` (the paper's powers of two), :math:`B = (\ln 4 + \ln n)/(\varepsilon g)`.
  A guess is accepted when its certified solve gives :math:`\hat\gamma = \min_i y_i f(V, W/B, x_i) \ge (1-\varepsilon) g`.
  Then :math:`(1-\varepsilon)\gamma_V \le \hat\gamma \le \gamma_V`: the upper side because the rows of :math:`W/B` have
  norm :math:`\le 1` (Equation (1)); the lower side by Lemma 6.1 when :math:`g \le \gamma_V`, and because
  :math:`\hat\gamma \ge (1-\varepsilon) g > (1-\varepsilon)\gamma_V` when :math:`g > \gamma_V`. The first guess
  :math:`g \le \gamma_V` is always accepted (Lemma 6.1), so the search ends by :math:`g \ge \gamma_V/2`.
* **A guess is rejected early** when it is provably above :math:`\gamma_V`: :math:`B\,W_V` has margin
  :math:`B\gamma_V` on every point, so :math:`g \le \gamma_V` implies :math:`L(W^\star) \le n\,\ell(Bg)`; a lower bound
  :math:`\mathrm{LB} > n\,\ell(Bg)` therefore shows :math:`\gamma_V < g`.

The earlier rule (stop as soon as :math:`\hat\gamma \ge (1-\varepsilon) g`) only guaranteed
:math:`\hat\gamma \ge (1-\varepsilon)\gamma_V/2`. Each guess is solved by projected FISTA with backtracking (the step
may grow: near :math:`W^\star` the loss and its curvature are :math:`\sim e^{-B\gamma_V}`, far below the global
Lipschitz constant) and adaptive restarts, warm started from the previous guess's solution scaled to the new ball.
A solve that ends at ``max_iter`` without the certificate is reported (``certified`` false, with a warning).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch.nn.functional import softplus

from lightning_poly._validation import check_finite, check_int, check_positive
from lightning_poly.solvers.gated_lasso import gated_adjoint, gated_output, lipschitz

__all__ = ["NTKMarginEstimate", "ntk_margin_by_descent", "ntk_margin_width_bound"]

_CHECK_EVERY = 20  # iterations between evaluations of the certificate (one extra gradient each)


@dataclass
class NTKMarginEstimate:
    """``gamma``: the estimate; with ``certified`` true, Lemma 6.1's guarantee ``(1 - eps) gamma_V <= gamma <= gamma_V``
    holds (so ``gamma_V`` lies in ``[gamma, gamma / (1 - eps)]``); ``guess`` and ``radius`` (B) used,
    ``iterations`` in total; ``weight``: the maximiser ``W / B`` (rows of norm <= 1); ``loss`` and ``loss_lower``:
    :math:`L(W)` and the certified lower bound on :math:`L(W^\\star)` of the accepted guess."""

    gamma: float
    eps: float
    guess: float
    radius: float
    iterations: int
    weight: torch.Tensor
    certified: bool = True
    loss: float = float("nan")
    loss_lower: float = float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return self.gamma, self.gamma / (1 - self.eps)


def _log_loss(margin: torch.Tensor) -> tuple[float, torch.Tensor]:
    """:math:`\\varphi = \\ln L` and :math:`\\partial\\varphi/\\partial m_i` at the margins :math:`m_i = y_i f_i`,
    computed without underflow (near :math:`W^\\star` the loss is :math:`\\sim e^{-B\\gamma_V}`)."""
    big = margin > 30  # there ln softplus(-m) = -m + ln(1 - e^(-m)/2 + ...) = -m to double precision
    log_sp = torch.where(big, -margin, torch.log(softplus(-margin.clamp(max=30))))
    phi = float(torch.logsumexp(log_sp, 0))
    ratio = torch.where(big, 1.0, torch.sigmoid(-margin) / softplus(-margin.clamp(max=30)))  # sigma(-m) / softplus(-m)
    return phi, -torch.exp(log_sp - phi) * ratio


def _lower_bound(x: torch.Tensor, y: torch.Tensor, act: torch.Tensor, margin: torch.Tensor, radius: float) -> float:
    """A certified lower bound on :math:`\\min_{\\mathcal W_B} L` (module docstring): the Fenchel dual
    :math:`D(\\alpha) = \\sum_i H(\\alpha_i) - B\\sum_j \\|\\sum_i \\alpha_i y_i D_{ij} x_i\\|_2` (``H`` the binary
    entropy in nats) at :math:`\\alpha = c\\lambda`, :math:`\\lambda \\propto \\sigma(-y_i f_i)` the point's
    normalised dual weights, :math:`c` maximising :math:`D` (bisection on :math:`\\log c`)."""
    lam = torch.sigmoid(-margin)
    lam = lam / lam.sum()
    s = float(gated_adjoint(x, act, lam * y).norm(dim=1).sum())  # an upper bound on gamma_V (the SOCP's dual)
    pos = lam > 0
    lam = lam[pos]
    lo, hi = -800.0, -math.log(float(lam.max()))  # c in (e^lo, 1 / max lambda]

    def slope(log_c: float) -> float:  # dD/dc: sum_i lam_i log((1 - c lam_i) / (c lam_i)) - B s
        cl = (math.exp(log_c) * lam).clamp(max=1 - 1e-16)
        return float((lam * (torch.log1p(-cl) - torch.log(cl))).sum()) - radius * s

    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    cl = (math.exp(lo) * lam).clamp(max=1 - 1e-16)
    entropy = -(cl * torch.log(cl) + (1 - cl) * torch.log1p(-cl))
    return float(entropy.sum()) - radius * math.exp(lo) * s


def _project(w: torch.Tensor, radius: float) -> torch.Tensor:
    return w * (radius / w.norm(dim=1, keepdim=True).clamp_min(radius))


def _solve_guess(
    x: torch.Tensor, y: torch.Tensor, act: torch.Tensor, w: torch.Tensor, radius: float, step: float, max_iter: int,
    reject_above: float,
) -> tuple[torch.Tensor, float, float, int, str]:  # fmt: skip
    """Projected FISTA with backtracking on :math:`\\mathcal W_B`, on :math:`\\ln L` (the same minimisers; its
    curvature stays of the order of :math:`\\|A\\|^2` while :math:`L` itself falls to :math:`e^{-B\\gamma_V}`),
    until Lemma 6.1's certificate ``L <= 2 LB`` (``"certified"``), a lower bound above ``reject_above``
    (``"rejected"``) or ``max_iter`` (``"budget"``). Returns ``(w, L, best lower bound, iterations, status)``."""
    z, t, s = w.clone(), 1.0, step
    best_lb, phi_w = 0.0, float("nan")  # the loss is nonnegative

    def phi_grad(u: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        margin = y * gated_output(x, act, u)
        phi, dm = _log_loss(margin)
        return phi, gated_adjoint(x, act, dm * y), margin

    for it in range(1, max_iter + 1):
        pz, gz, _ = phi_grad(z)
        s *= 1.5  # let the step grow; backtrack until the quadratic model bounds the objective
        while True:
            w_new = _project(z - s * gz, radius)
            diff = w_new - z
            p_new, _, margin = phi_grad(w_new)
            if p_new <= pz + float((gz * diff).sum()) + float((diff * diff).sum()) / (2 * s) or s < 1e-12 * step:
                break
            s /= 2.0
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = w_new + ((t - 1) / t_new) * (w_new - w)
        if p_new > phi_w or float(((z - w_new) * (w_new - w)).sum()) > 0:  # adaptive restart
            z, t_new = w_new.clone(), 1.0
        w, t, phi_w = w_new, t_new, p_new
        if it % _CHECK_EVERY == 0 or it == max_iter:
            best_lb = max(best_lb, _lower_bound(x, y, act, margin, radius))
            loss = math.exp(phi_w)
            if best_lb > reject_above:
                return w, loss, best_lb, it, "rejected"
            if loss <= 2 * best_lb:
                return w, loss, best_lb, it, "certified"
    return w, math.exp(phi_w), best_lb, max_iter, "budget"


def ntk_margin_by_descent(
    x: torch.Tensor,
    y: torch.Tensor,
    gates: torch.Tensor,
    rho: torch.Tensor | None = None,
    *,
    eps: float = 0.1,
    max_iter: int = 20_000,
    min_guess: float = 1e-6,
) -> NTKMarginEstimate:
    """Estimate :math:`\\gamma_V` (Equation (1)) with :math:`(1-\\varepsilon)\\gamma_V \\le \\hat\\gamma \\le \\gamma_V`
    by gradient descent on the logistic loss, Lemma 6.1's stopping rule certified (module docstring).

    Args:
        x: ``(n, d)`` inputs.
        y: ``(n,)`` labels in {-1, +1}.
        gates: ``(m, d)`` gate vectors :math:`V`.
        rho: ``(m,)`` neuron weights (default :math:`1/m`).
        eps: relative accuracy :math:`\\varepsilon` in (0, 1).
        max_iter: most iterations of each guess's solve.
        min_guess: smallest margin tried before giving up.

    Returns:
        :class:`NTKMarginEstimate`; ``certified`` false (and a warning) if the accepted guess's solve reached
        ``max_iter`` before Lemma 6.1's condition :math:`L(W) \\le 2L(W^\\star)` was certified.

    Raises:
        ValueError: labels outside {-1, +1}, shapes that do not match, bad ``eps``, or no positive margin down to
            ``min_guess``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64); y = torch.tensor([1.0, -1.0], dtype=torch.float64)
        >>> est = ntk_margin_by_descent(x, y, torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64))
        >>> 0.45 <= est.gamma <= 0.5, est.certified
        (True, True)
    """
    if not set(torch.unique(y).tolist()) <= {-1.0, 1.0}:
        raise ValueError(f"labels for the margin must be in {{-1, +1}}, got {sorted(set(torch.unique(y).tolist()))}")
    if x.ndim != 2 or gates.ndim != 2 or gates.shape[1] != x.shape[1] or y.shape != (len(x),) or len(x) == 0:
        raise ValueError(
            f"expected x (n, d) with n >= 1, y (n,), gates (m, d); got {tuple(x.shape)}, {tuple(y.shape)}, "
            f"{tuple(gates.shape)}"
        )
    if rho is not None and rho.shape != (len(gates),):
        raise ValueError(f"`rho` must have shape ({len(gates)},) (one weight per gate), got {tuple(rho.shape)}")
    if not (isinstance(eps, int | float) and 0 < eps < 1):
        raise ValueError(f"`eps` must lie in (0, 1), got {eps!r}")
    check_int("max_iter", max_iter, minimum=1)
    check_positive("min_guess", min_guess)
    xd, yd, v = check_finite("x", x).double(), y.double(), check_finite("gates", gates).double()
    m, n = v.shape[0], len(yd)
    r = torch.full((m,), 1.0 / m, dtype=torch.float64) if rho is None else rho.double()
    act = (xd @ v.T > 0).double() * r
    step = 1.0 / (lipschitz(xd, act) * n)  # ln L's curvature is about ||A||^2 (that of a log-sum-exp of A W)
    total, guess, prev_radius = 0, 1.0, None
    w = torch.zeros(m, xd.shape[1], dtype=torch.float64)
    while guess >= min_guess:
        radius = (math.log(4) + math.log(n)) / (eps * guess)
        if prev_radius is not None:  # warm start from the previous guess, scaled to the new ball
            w = w * (radius / prev_radius)
        prev_radius = radius
        reject_above = n * math.log1p(math.exp(-radius * guess))  # L(W*) <= this whenever guess <= gamma_V
        w, loss, lower, its, status = _solve_guess(xd, yd, act, w, radius, step, max_iter, reject_above)
        total += its
        est = float((yd * gated_output(xd, act, w / radius)).min())
        if status != "rejected" and est >= (1 - eps) * guess:
            if status == "budget":
                warnings.warn(
                    f"ntk_margin_by_descent: Lemma 6.1's L(W) <= 2 L(W*) not certified in max_iter={max_iter} "
                    f"iterations (L = {loss:.3e}, lower bound {lower:.3e}); the estimate {est:.4g} may fall below "
                    "(1 - eps) gamma_V",
                    stacklevel=2,
                )
            return NTKMarginEstimate(est, eps, guess, radius, total, w / radius, status == "certified", loss, lower)
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
