r"""The convex program of one activation pattern, with the second layer fixed (zonotope paper, Equation (3)).

For a shallow network :math:`f(x) = v^\top \phi(W \bar x) + c` and a vertex :math:`A \in \{0,1\}^{m \times N}`
(signs :math:`s = 2A - 1`), inside the activation region the network is linear in :math:`(W, c)`:

.. math::
    \min_{W, c}\ \frac1N \sum_i \ell\Big(\sum_j v_j a_{ji}\, w_j^\top \bar x_i + c,\ y_i\Big)
    + \frac{\rho}{2}\big(\|W\|^2 + c^2\big)
    \quad \text{s.t.} \quad s_{ji}\, w_j^\top \bar x_i \ge 0 .

Losses: ``"squared"`` :math:`(\hat y - y)^2` and ``"logistic"``
:math:`\log(1 + e^{\hat y}) - y \hat y` for :math:`y \in \{0, 1\}`. Reading of appendix H.2.2: its
":math:`-y\hat y + \sigma(\hat y)`" is taken as the softplus form above (with the logistic
*sigmoid* the function is not convex, and softplus is the sigmoid cross-entropy it names).
``c`` is optimised when ``output_bias=True`` (as the paper's experiments do), else 0.

The ridge :math:`\rho` (``ridge``, default 1e-8) makes the problem bounded where it would not be: the
logistic minimum is not attained on a vertex that separates the data, and a unit with few active
examples (or none) has directions in its cone along which the loss does not change. It changes the
optimal loss by at most :math:`\rho \|W^\star\|^2 / 2`; both solvers below solve the same problem,
``objective`` includes the ridge term and ``loss`` is the data term alone.

Two solvers:

* :func:`vertex_program_cvxpy` — the reference, through cvxpy (Clarabel by default; ECOS, which the
  paper used, if installed and asked for).
* :func:`vertex_program` — a batched primal log-barrier Newton method in torch for many patterns at
  once (e.g. every neighbour of a vertex). The constraint Hessian is block diagonal (one
  ``(d+1) x (d+1)`` block per unit); each Newton step is one batched Cholesky solve. Every answer
  carries a certificate: on the central path the duality gap is exactly :math:`\mu K` (``K``
  constraints, dual multipliers :math:`\lambda = \mu / \text{slack}`), and the Newton decrement
  measures the distance to the central path; ``gap`` is their sum. The returned weights are strictly inside
  the region, so the network has the pattern and its ReLU loss is the reported ``loss``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_finite, check_int, check_positive

__all__ = ["VertexLoss", "VertexSolution", "vertex_loss", "vertex_program", "vertex_program_cvxpy"]

VertexLoss = Literal["squared", "logistic"]


@dataclass
class VertexSolution:
    """Solutions of program (3) for ``B`` patterns.

    Attributes:
        weight: ``(B, m, d + 1)`` first-layer weights (bias last), strictly inside each region.
        output_bias: ``(B,)`` the second layer's bias ``c`` (0 when it is not optimised).
        objective: ``(B,)`` the value of the program (data loss plus ridge term).
        loss: ``(B,)`` the data loss alone (the network's training loss with these weights).
        gap: ``(B,)`` bound on the objective's distance to the optimum: ``mu * K`` (the duality gap on the
            central path) plus the Newton decrement (0 from cvxpy, which applies its own tolerances).
        stationarity: ``(B,)`` the Newton decrement :math:`g^\\top H^{-1} g` of the barrier problem at the
            answer: how far it is from the central path, in the norm that bounds suboptimality.
        multipliers: ``(B, m, N)`` dual multipliers of the sign constraints.
        iterations: Newton steps taken (the batch's maximum).
    """

    weight: torch.Tensor
    output_bias: torch.Tensor
    objective: torch.Tensor
    loss: torch.Tensor
    gap: torch.Tensor
    stationarity: torch.Tensor
    multipliers: torch.Tensor
    iterations: int = 0

    def tight(self, rel: float = 1e-6) -> torch.Tensor:
        """``(B, m, N)`` bool: constraints whose multiplier is above ``rel`` times the largest (active at the optimum)."""
        top = self.multipliers.flatten(1).amax(dim=1).clamp_min(1e-300)
        return self.multipliers > rel * top[:, None, None]


def _check(
    x: torch.Tensor, y: torch.Tensor, patterns: torch.Tensor, v: torch.Tensor, loss: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    # imported here: the geometry package uses the LP solver of this package
    from lightning_poly.geometry.zonotope import augment

    check_choice("loss", loss, ("squared", "logistic"))
    xb = augment(x)
    n = len(xb)
    if y.shape != (n,):
        raise ValueError(f"`y` must have shape ({n},) like `x`, got {tuple(y.shape)}")
    check_finite("y", y)
    if loss == "logistic" and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("`y` must hold 0/1 labels for loss='logistic'")
    if patterns.dtype != torch.bool or patterns.ndim not in (2, 3) or patterns.shape[-1] != n:
        raise ValueError(
            f"`patterns` must be bool (m, N) or (B, m, N) with N = {n}, got {patterns.dtype} {tuple(patterns.shape)}"
        )
    pats = patterns if patterns.ndim == 3 else patterns[None]
    m = pats.shape[1]
    if v.shape != (m,):
        raise ValueError(f"`v` must have shape ({m},), one output weight per unit, got {tuple(v.shape)}")
    check_finite("v", v)
    return xb, y.detach().double().to(xb.device), pats.to(xb.device), v.detach().double().to(xb.device)


def vertex_loss(pred: torch.Tensor, y: torch.Tensor, loss: VertexLoss) -> torch.Tensor:
    """Mean loss over the last dimension: squared error or logistic (softplus) with 0/1 labels."""
    check_choice("loss", loss, ("squared", "logistic"))
    if loss == "squared":
        return (pred - y).pow(2).mean(dim=-1)
    return (torch.nn.functional.softplus(pred) - y * pred).mean(dim=-1)


def vertex_program_cvxpy(
    x: torch.Tensor,
    y: torch.Tensor,
    pattern: torch.Tensor,
    v: torch.Tensor,
    loss: VertexLoss = "squared",
    output_bias: bool = True,
    ridge: float = 1e-8,
    solver: str = "CLARABEL",
) -> VertexSolution:
    """Program (3) for one pattern ``(m, N)`` through cvxpy (the reference; see the module docstring).

    Raises:
        ValueError: on bad input, or if the solver does not report an optimal solution.
    """
    import cvxpy as cp

    xb, yd, pats, vd = _check(x, y, pattern, v, loss)
    check_positive("ridge", ridge, strict=False)
    if pats.shape[0] != 1:
        raise ValueError(f"`pattern` must be one pattern (m, N), got {tuple(pattern.shape)}")
    if solver not in cp.installed_solvers():
        raise ValueError(
            f"`solver` must be one of the installed cvxpy solvers {cp.installed_solvers()}, got {solver!r}"
        )
    a = pats[0].double().cpu().numpy()
    xn, yn, vn = xb.cpu().numpy(), yd.cpu().numpy(), vd.cpu().numpy()
    m, n = a.shape
    w = cp.Variable((m, xn.shape[1]))
    c = cp.Variable() if output_bias else 0.0
    z = w @ xn.T
    pred = vn @ cp.multiply(a, z) + c
    data = cp.sum_squares(pred - yn) / n if loss == "squared" else (cp.sum(cp.logistic(pred)) - yn @ pred) / n
    reg = ridge / 2 * (cp.sum_squares(w) + (cp.square(c) if output_bias else 0.0))
    cons = [cp.multiply(2 * a - 1, z) >= 0]
    prob = cp.Problem(cp.Minimize(data + reg), cons)
    opts = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10} if solver == "CLARABEL" else {}
    prob.solve(solver=solver, **opts)
    if prob.status not in ("optimal", "optimal_inaccurate") or w.value is None:
        raise ValueError(f"cvxpy ({solver}) did not solve program (3): status {prob.status!r}")
    weight = torch.tensor(w.value, dtype=torch.float64)[None]
    cb = torch.tensor([float(c.value) if output_bias else 0.0], dtype=torch.float64)
    pred_t = torch.einsum("j,jn->n", vd.cpu(), pats[0].double().cpu() * (weight[0] @ xb.cpu().T)) + cb
    data_t = vertex_loss(pred_t, yd.cpu(), loss)
    lam = torch.tensor(cons[0].dual_value, dtype=torch.float64)[None]
    return VertexSolution(
        weight, cb, torch.tensor([float(prob.value)]), data_t[None], torch.zeros(1), torch.zeros(1), lam
    )


def vertex_program(
    x: torch.Tensor,
    y: torch.Tensor,
    patterns: torch.Tensor,
    v: torch.Tensor,
    loss: VertexLoss = "squared",
    output_bias: bool = True,
    ridge: float = 1e-8,
    start: torch.Tensor | None = None,
    tol: float = 1e-10,
    max_newton: int = 400,
    mu_factor: float = 20.0,
    mu_start: float = 1.0,
    warn: bool = True,
) -> VertexSolution:
    r"""Program (3) for ``B`` patterns at once by a batched log-barrier Newton method (see the module docstring).

    Args:
        x: ``(N, d)`` data.
        y: ``(N,)`` targets (0/1 for ``"logistic"``).
        patterns: ``(B, m, N)`` or ``(m, N)`` bool vertices.
        v: ``(m,)`` the fixed second layer.
        loss: ``"squared"`` or ``"logistic"``.
        output_bias: optimise the second layer's bias ``c``.
        ridge: :math:`\rho` of the module docstring.
        start: ``(B, m, d + 1)`` strictly feasible weights (e.g. the current vertex's solution for the
            unchanged units); default: each cone's deepest point (one LP per unit).
        tol: stop when the duality gap bound is below ``tol * (1 + |objective|)``.
        max_newton: most Newton steps.
        mu_factor: the barrier weight is divided by this once a pattern is centred.
        mu_start: the first barrier weight, relative to :math:`(1 + |f(\text{start})|) / K`; a ``start``
            near the optimum (a neighbour's warm start) needs far less than 1.
        warn: warn when a pattern stays above the gap tolerance (callers that read ``gap`` themselves,
            such as the searches, which report the largest gap in their record, turn it off).

    Raises:
        ValueError: on bad input, or if a pattern is not a vertex (its region is empty).

    Warns:
        RuntimeWarning: with ``warn``, if some pattern is still above the gap tolerance after ``max_newton`` steps (its
            ``gap`` says by how much; the weights stay feasible).

    Example:
        >>> x = torch.tensor([[-1.0], [0.0], [1.0], [2.0]])
        >>> y = torch.tensor([0.0, 0.0, 1.0, 2.0])  # relu(x) on these points
        >>> sol = vertex_program(x, y, torch.tensor([[False, False, True, True]]), torch.tensor([1.0]))
        >>> round(float(sol.loss[0]), 6), bool(sol.gap[0] < 1e-9)
        (0.0, True)
    """
    xb, yd, pats, vd = _check(x, y, patterns, v, loss)
    check_positive("ridge", ridge, strict=False)
    check_positive("tol", tol)
    check_int("max_newton", max_newton, minimum=1)
    bsz, m, n = pats.shape
    k = xb.shape[1]
    sign = torch.where(pats, 1.0, -1.0).to(xb)  # (B, m, N)
    if start is None:
        from lightning_poly.geometry.zonotope import cone_margin

        depth, witness = cone_margin(x, pats.reshape(bsz * m, n))  # every unit of every pattern at once
        if not bool((depth > 1e-12).all()):
            raise ValueError("a pattern in `patterns` is not a vertex of the zonotope: its region is empty")
        w0 = witness.view(bsz, m, k).to(xb)
    else:
        w0 = start.detach().double().to(xb.device).clone()
        if w0.shape != (bsz, m, k):
            raise ValueError(f"`start` must have shape {(bsz, m, k)}, got {tuple(w0.shape)}")
    slack0 = sign * torch.einsum("bjk,nk->bjn", w0, xb)
    if not bool((slack0 > 0).all()):
        raise ValueError("`start` must be strictly inside every region (sign constraints strictly satisfied)")
    nvar = m * k + int(output_bias)
    gate = pats.double() * vd[None, :, None]  # (B, m, N): v_j a_ji
    phi = (gate[..., None] * xb[None, None]).permute(0, 2, 1, 3).reshape(bsz, n, m * k)  # (B, N, m k)
    if output_bias:
        phi = torch.cat([phi, torch.ones(bsz, n, 1, dtype=xb.dtype, device=xb.device)], dim=2)
    outer = torch.einsum("nk,nl->nkl", xb, xb).reshape(n, k * k)  # rows: x_i x_i^T
    theta = torch.cat([w0.reshape(bsz, m * k), torch.zeros(bsz, int(output_bias), dtype=xb.dtype, device=xb.device)], 1)
    n_cons = m * n
    eye = torch.eye(nvar, dtype=xb.dtype, device=xb.device)
    # the squared loss has a constant Hessian: form it once
    loss_hess = torch.bmm(phi.mT, phi) * (2.0 / n) if loss == "squared" else None

    def parts(th: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pred = torch.bmm(phi[idx], th[..., None])[..., 0]
        f = vertex_loss(pred, yd, loss) + ridge / 2 * th.pow(2).sum(dim=1)
        slack = sign[idx] * (th[:, : m * k].reshape(-1, k) @ xb.T).view(len(idx), m, n)
        return f, slack, pred

    def barrier_value(th: torch.Tensor, mu: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        f, slack, _ = parts(th, idx)
        val = f - mu * torch.log(slack.clamp_min(1e-300)).sum(dim=(1, 2))
        return torch.where((slack > 0).all(dim=2).all(dim=1), val, torch.inf)

    everyone = torch.arange(bsz, device=xb.device)
    f0, _, _ = parts(theta, everyone)
    check_positive("mu_start", mu_start)
    mu = (mu_start * (1.0 + f0.abs()) / n_cons).clone()  # barrier term comparable to the objective at the start
    steps = 0
    done = torch.zeros(bsz, dtype=torch.bool, device=xb.device)
    decrement = torch.zeros(bsz, dtype=xb.dtype, device=xb.device)
    while steps < max_newton:
        # only the patterns still running take a step (their number falls as they converge)
        idx = torch.nonzero(~done).flatten()
        th, mu_a = theta[idx], mu[idx]
        f, slack, pred = parts(th, idx)
        if loss == "squared":
            d1, d2 = 2 * (pred - yd) / n, torch.full_like(pred, 2.0 / n)
        else:
            sig = torch.sigmoid(pred)
            d1, d2 = (sig - yd) / n, sig * (1 - sig) / n
        inv = 1.0 / slack
        sg, ph, a = sign[idx], phi[idx], len(idx)
        grad = torch.bmm(d1[:, None, :], ph)[:, 0] + ridge * th
        grad[:, : m * k] -= ((mu_a[:, None, None] * inv * sg).view(a * m, n) @ xb).view(a, m * k)
        hess = (loss_hess[idx] if loss_hess is not None else torch.bmm(ph.mT * d2[:, None, :], ph)) + ridge * eye
        blocks = ((mu_a[:, None, None] * inv**2).view(a * m, n) @ outer).view(a, m, k, k)
        block_diag = torch.zeros(a, m, k, m, k, dtype=xb.dtype, device=xb.device)
        block_diag.diagonal(dim1=1, dim2=3).copy_(blocks.permute(0, 2, 3, 1))
        hess[:, : m * k, : m * k] += block_diag.view(a, m * k, m * k)
        chol, info = torch.linalg.cholesky_ex(hess)
        if bool((info != 0).any()):
            hess = hess + 1e-12 * (1 + hess.diagonal(dim1=1, dim2=2).abs().amax(dim=1))[:, None, None] * eye
            chol = torch.linalg.cholesky(hess)
        step = -torch.cholesky_solve(grad[..., None], chol)[..., 0]
        dec = -(grad * step).sum(dim=1)  # Newton decrement squared
        decrement[idx] = dec
        # centred: the decrement of the self-concordant barrier problem (f / mu + barrier) is below 0.1,
        # so F - F*_mu <= decrement; converged when mu K + decrement is below tol
        gap, scale = mu_a * n_cons, tol * (1 + f.abs())
        centred = dec <= 0.1 * mu_a
        fin = centred & (gap + dec <= scale)
        done[idx] = fin
        if bool(done.all()):
            break
        mu[idx] = torch.where(centred & ~fin & (gap > scale), mu_a / mu_factor, mu_a)
        mu_a = mu[idx]
        # fraction to the boundary, then backtracking on the barrier objective
        dslack = sg * (step[:, : m * k].reshape(a * m, k) @ xb.T).view(a, m, n)
        ratio = torch.where(dslack < 0, slack / (-dslack).clamp_min(1e-300), torch.inf)
        alpha = torch.clamp(0.99 * ratio.flatten(1).amin(dim=1), max=1.0)
        alpha = torch.where(fin | (centred & (gap > scale)), 0.0, alpha)
        current = barrier_value(th, mu_a, idx)
        for _ in range(30):
            trial = th + alpha[:, None] * step
            ok = barrier_value(trial, mu_a, idx) <= current - 0.25 * alpha * dec
            if bool((ok | (alpha == 0)).all()):
                break
            alpha = torch.where(ok, alpha, alpha / 2)
        theta[idx] = th + alpha[:, None] * step
        steps += 1
    f, slack, pred = parts(theta, everyone)
    if warn and not bool(done.all()):
        gaps = mu * n_cons + decrement.clamp_min(0)
        warnings.warn(
            f"program (3) stopped after `max_newton`={max_newton} Newton steps with {int((~done).sum())} of {bsz} "
            f"patterns above the gap tolerance (largest gap {float(gaps[~done].max()):.3g}): their weights are "
            "feasible and their objective is an upper bound, not the optimum",
            RuntimeWarning,
            stacklevel=2,
        )
    lam = mu[:, None, None] / slack
    weight = theta[:, : m * k].reshape(bsz, m, k)
    cvec = theta[:, -1] if output_bias else torch.zeros(bsz, dtype=xb.dtype, device=xb.device)
    return VertexSolution(
        weight=weight,
        output_bias=cvec,
        objective=f,
        loss=vertex_loss(pred, yd, loss),
        gap=mu * n_cons + decrement.clamp_min(0),
        stationarity=decrement.clamp_min(0),
        multipliers=lam,
        iterations=steps,
    )
