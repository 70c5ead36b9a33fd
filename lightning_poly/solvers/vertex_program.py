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
* :func:`vertex_program` — a batched primal-dual interior-point method in torch (Mehrotra's
  predictor-corrector) for many patterns at once (e.g. every neighbour of a vertex). Each iteration
  factorises one Newton matrix per pattern, the loss Hessian formed unit pair by unit pair and the
  barrier adding one ``(d+1) x (d+1)`` block per unit; it keeps only the rows given in ``rows`` (each
  unit's facets suffice: the other sign constraints are implied by them). Every answer carries a
  certificate: with multipliers :math:`\lambda \ge 0` and dual residual :math:`r = \nabla f - G^\top \lambda`,
  weak duality and the ridge's strong convexity bound the distance to the optimum by
  ``gap`` :math:`= s^\top \lambda + \|r\|^2 / (2\rho)` (:mod:`lightning_poly.solvers._vertex_ipm`). The
  returned weights are strictly inside the region (every row, checked), so the network has the
  pattern and its ReLU loss is the reported ``loss``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_finite, check_int, check_positive
from lightning_poly.solvers._vertex_ipm import Batch, Problem, primal_dual

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
        gap: ``(B,)`` bound on the objective's distance to the optimum, :math:`s^\\top\\lambda + \\|r\\|^2 / (2\\rho)`
            (complementarity plus the dual residual's term; with ``ridge=0`` the latter is the Newton
            decrement, an estimate). 0 from cvxpy, which applies its own tolerances.
        stationarity: ``(B,)`` the Newton decrement :math:`r^\\top H^{-1} r` of the dual residual
            :math:`r = \\nabla f - G^\\top \\lambda` at the answer.
        multipliers: ``(B, m, N)`` dual multipliers of the sign constraints (0 on rows left out by ``rows``).
        iterations: interior-point iterations taken (the batch's maximum).
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
    from lightning_poly.nn.homogeneous import homogeneous_points

    check_choice("loss", loss, ("squared", "logistic"))
    xb = homogeneous_points(x)
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


def _rows(rows: torch.Tensor | None, bsz: int, m: int, n: int, device: torch.device) -> torch.Tensor:
    if rows is None:
        return torch.ones(bsz, m, n, dtype=torch.bool, device=device)
    if rows.dtype != torch.bool or rows.shape not in ((m, n), (bsz, m, n)):
        raise ValueError(
            f"`rows` must be bool ({m}, {n}) or ({bsz}, {m}, {n}) like `patterns`, got {rows.dtype} {tuple(rows.shape)}"
        )
    out = rows.to(device).expand(bsz, m, n)
    if not bool(out.any(dim=2).all()):
        raise ValueError("`rows` must keep at least one row of every unit (each cone has a facet)")
    return out


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
    rows: torch.Tensor | None = None,
) -> VertexSolution:
    r"""Program (3) for ``B`` patterns at once by a batched primal-dual interior-point method (see the module docstring).

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
        max_newton: most iterations (one Newton system each).
        mu_factor: the centring target falls at least this much per iteration (Mehrotra's choice,
            :math:`\sigma = (\mu_{\text{aff}} / \mu)^3`, capped at ``1 / mu_factor``).
        mu_start: the first barrier weight (the start's multipliers are :math:`\mu / s`), relative to
            :math:`(1 + |f(\text{start})|) / K`; a ``start`` near the optimum needs less than 1.
        warn: warn when a pattern stays above the gap tolerance (callers that read ``gap`` themselves,
            such as the searches, which report the largest gap in their record, turn it off).
        rows: ``(B, m, N)`` or ``(m, N)`` bool, the sign constraints kept in the barrier; they must
            include every facet of each unit's cone (e.g. the edges of the vertex, from
            :func:`~lightning_poly.geometry.unit_flips`): the other rows are implied by them, stay
            satisfied and get multiplier 0. Default: every row. Fewer rows, fewer iterations.

    Raises:
        ValueError: on bad input, or if a pattern is not a vertex (its region is empty).
        RuntimeError: if an answer is not strictly inside its region (cannot happen in exact arithmetic).

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
    check_positive("mu_start", mu_start)
    if not (isinstance(mu_factor, int | float) and mu_factor > 1):
        raise ValueError(f"`mu_factor` must be a number > 1, got {mu_factor!r}")
    bsz, m, n = pats.shape
    k = xb.shape[1]
    keep = _rows(rows, bsz, m, n, xb.device)
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
    theta = torch.cat([w0.reshape(bsz, m * k), torch.zeros(bsz, int(output_bias), dtype=xb.dtype, device=xb.device)], 1)
    prob = Problem(xb, yd, loss, output_bias, ridge, m, 1.0 / mu_factor)
    gate = pats.double() * vd[None, :, None]  # (B, m, N): v_j a_ji
    f0 = vertex_loss(prob.forward(theta, gate)[1], yd, loss) + ridge / 2 * theta.pow(2).sum(dim=1)
    keep_f = keep.to(xb.dtype)
    count = keep_f.sum(dim=(1, 2))
    mu0 = mu_start * (1.0 + f0.abs()) / count  # barrier term comparable to the objective at the start
    batch = Batch(
        torch.arange(bsz, device=xb.device), gate, sign, keep_f, count, prob.curvature(gate), theta,
        mu0[:, None, None] * keep_f / slack0,
    )  # fmt: skip
    res = primal_dual(prob, batch, tol, max_newton)
    weight = res.theta[:, : m * k].reshape(bsz, m, k)
    inside = (sign * torch.einsum("bjk,nk->bjn", weight, xb) > 0).flatten(1).all(dim=1)
    if not bool(inside.all()):
        raise RuntimeError(
            f"program (3): the answers of patterns {torch.nonzero(~inside).flatten().tolist()} are not strictly inside "
            "their regions (rounding at the boundary)"
        )
    if warn and not bool(res.done.all()):
        warnings.warn(
            f"program (3) stopped (after `max_newton`={max_newton} Newton steps, or where rounding broke a Newton "
            f"matrix at the boundary) with {int((~res.done).sum())} of {bsz} patterns above the gap tolerance (largest gap {float(res.gap[~res.done].max()):.3g}): their weights are "
            "feasible and their objective is an upper bound, not the optimum",
            RuntimeWarning,
            stacklevel=2,
        )
    cvec = res.theta[:, -1] if output_bias else torch.zeros(bsz, dtype=xb.dtype, device=xb.device)
    return VertexSolution(
        weight=weight,
        output_bias=cvec,
        objective=res.objective,
        loss=vertex_loss(res.pred, yd, loss),
        gap=res.gap,
        stationarity=res.decrement,
        multipliers=res.lam,
        iterations=res.iterations,
    )
