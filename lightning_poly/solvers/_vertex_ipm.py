r"""The primal-dual interior-point method behind :func:`~lightning_poly.solvers.vertex_program`.

Program (3) for ``B`` patterns at once: minimise :math:`f(\theta)` (data loss plus ridge) over
:math:`\theta = (W, c)` subject to :math:`s = G\theta \ge 0`, :math:`s_{ji} = \sigma_{ji} w_j^\top \bar x_i`. The
constraints are linear and the start strictly feasible, so every iterate stays strictly feasible (the
step is cut short of the boundary of *every* row) and the method drives the dual residual
:math:`r = \nabla f - G^\top \lambda` and the complementarity :math:`s^\top \lambda` to 0 by Mehrotra's
predictor-corrector (one factorisation and two solves per iteration). A row mask keeps only some rows
in the barrier and the dual (each unit's facets: the other rows are implied by them and have
multiplier 0).

Newton matrix :math:`H = \nabla^2 f + G^\top \operatorname{diag}(\lambda / s) G`. Row :math:`i` of the map
:math:`\theta \mapsto \hat y` is :math:`(g_{1i} \bar x_i, \dots, g_{mi} \bar x_i, 1)`, :math:`g_{ji} = v_j a_{ji}`,
so the loss Hessian's block of units :math:`(j, l)` is :math:`\sum_i \ell''_i g_{ji} g_{li} \bar x_i \bar x_i^\top`:
one batched product of the ``m (m + 1) / 2`` unit pairs with the ``(d + 1)(d + 2) / 2`` distinct
entries of :math:`\bar x_i \bar x_i^\top`, put in place by one gather; the barrier adds to the pairs
:math:`(j, j)`. :math:`H` is factorised after symmetric diagonal scaling. Near the end it holds
curvatures from :math:`\rho` (directions the loss does not see) to :math:`\lambda / s \sim 10^{12}`, beyond
double precision in one matrix: there the factorisation preconditions conjugate gradients on
:math:`H` applied as products with the data (never formed), which solve the system to the accuracy the
certificate needs.

Certificate: for :math:`\lambda \ge 0` the Lagrangian :math:`f - \lambda^\top G\,\cdot` is :math:`\rho`-strongly
convex, so its infimum is at least its value minus :math:`\|r\|^2 / (2\rho)`, and weak duality gives
:math:`f(\theta) - f^\star \le s^\top \lambda + \|r\|^2 / (2\rho)` (``gap``; with :math:`\rho = 0` the second
term is the Newton decrement :math:`r^\top H^{-1} r`, an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

TAU = 0.995  # fraction of the way to the boundary a step may go
CG_STEPS = 10  # most conjugate-gradient steps per Newton system


@dataclass
class Problem:
    """What all patterns of a batch share."""

    xb: torch.Tensor  # (N, k) augmented data
    y: torch.Tensor  # (N,)
    loss: str
    output_bias: bool
    ridge: float
    m: int
    sigma_max: float = 1.0  # the centring target falls at least by this factor per iteration

    def __post_init__(self) -> None:
        n, k = self.xb.shape
        self.n, self.k, self.mk = n, k, self.m * k
        self.nvar = self.mk + int(self.output_bias)
        dev = self.xb.device
        first, second = torch.triu_indices(self.m, self.m, device=dev)
        ca, cb = torch.triu_indices(k, k, device=dev)
        self.first, self.second = first, second
        self.xsym = self.xb[:, ca] * self.xb[:, cb]  # (N, Q): the distinct entries of x x^T
        pair = torch.empty(self.m, self.m, dtype=torch.long, device=dev)
        pair[first, second] = pair[second, first] = torch.arange(len(first), device=dev)
        sym = torch.empty(k, k, dtype=torch.long, device=dev)
        sym[ca, cb] = sym[cb, ca] = torch.arange(len(ca), device=dev)
        self.diagonal = pair.diagonal()  # the pairs (j, j)
        width = len(first) * len(ca)
        # one flat vector per pattern: pair blocks, then the cross terms with c, then H_cc
        gather = (pair[:, None, :, None] * len(ca) + sym[None, :, None, :]).reshape(self.mk, self.mk)
        if self.output_bias:
            cross = width + torch.arange(self.mk, device=dev)
            corner = cross.new_full((1,), width + self.mk)
            gather = torch.cat([torch.cat([gather, cross[:, None]], 1), torch.cat([cross, corner])[None]])
        self.gather = gather.flatten()

    def pre(self, theta: torch.Tensor) -> torch.Tensor:
        """Pre-activations :math:`w_j^\\top \\bar x_i`, ``(B, m, N)``."""
        return torch.matmul(theta[:, : self.mk].view(-1, self.m, self.k), self.xb.T)

    def forward(self, theta: torch.Tensor, gate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-activations ``(B, m, N)`` and predictions ``(B, N)``."""
        z = self.pre(theta)
        pred = (gate * z).sum(dim=1)
        return z, pred + theta[:, self.mk :] if self.output_bias else pred

    def derivatives(self, pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Data loss ``(B,)`` and its first and second derivatives in the predictions ``(B, N)``."""
        n = self.n
        if self.loss == "squared":
            res = pred - self.y
            return res.pow(2).mean(dim=1), 2 * res / n, torch.full_like(pred, 2.0 / n)
        sig = torch.sigmoid(pred)
        data = (torch.nn.functional.softplus(pred) - self.y * pred).mean(dim=1)
        return data, (sig - self.y) / n, sig * (1 - sig) / n

    def transpose(
        self, per_unit: torch.Tensor, u: torch.Tensor | None = None, gate: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(B, nvar)``: :math:`\\sum_i` ``per_unit[j, i]`` :math:`\\bar x_i` per unit (``(B, m, N)``; with
        ``per_unit`` :math:`= \\sigma \\circ \\lambda` this is :math:`G^\\top\\lambda`), plus the map's transpose on ``u`` ``(B, N)``."""
        if u is not None:
            per_unit = per_unit + u[:, None, :] * gate
        out = torch.matmul(per_unit, self.xb).reshape(len(per_unit), self.mk)
        if not self.output_bias:
            return out
        return torch.cat([out, u.sum(dim=1, keepdim=True) if u is not None else out.new_zeros(len(out), 1)], dim=1)

    def curvature(self, gate: torch.Tensor) -> torch.Tensor:
        """What :meth:`hessian` needs of the patterns: the unit-pair products :math:`g_j g_l` ``(B, P, N)``,
        or for the squared loss (constant Hessian) the loss blocks themselves ``(B, P, Q)``."""
        pairs = gate[:, self.first] * gate[:, self.second]
        return torch.matmul(pairs, self.xsym) * (2.0 / self.n) if self.loss == "squared" else pairs

    def hessian(self, curv: torch.Tensor, gate: torch.Tensor, d2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``(B, nvar, nvar)``: :math:`\\nabla^2 f + G^\\top \\operatorname{diag}(w) G` (``weight`` ``(B, m, N)``)."""
        blocks = curv.clone() if self.loss == "squared" else torch.bmm(curv, d2[:, :, None] * self.xsym)  # (B, P, Q)
        blocks[:, self.diagonal] += torch.matmul(weight, self.xsym)
        parts = [blocks.flatten(1)]
        if self.output_bias:
            parts += [torch.matmul(gate * d2[:, None, :], self.xb).flatten(1), d2.sum(dim=1, keepdim=True)]
        hess = torch.index_select(torch.cat(parts, dim=1), 1, self.gather).view(len(curv), self.nvar, self.nvar)
        hess.diagonal(dim1=1, dim2=2).add_(self.ridge)
        return hess

    def apply(self, x: torch.Tensor, gate: torch.Tensor, d2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``H x`` from the data (the matrix is never formed: accurate where ``H`` holds curvatures far apart)."""
        z, u = self.forward(x, gate)
        return self.transpose(weight * z, d2 * u, gate) + self.ridge * x


@dataclass
class Batch:
    """The per-pattern tensors, sliced together as patterns finish."""

    ids: torch.Tensor  # (B,) positions in the caller's batch
    gate: torch.Tensor  # (B, m, N) v_j a_ji
    sign: torch.Tensor  # (B, m, N) +-1
    rows: torch.Tensor  # (B, m, N) float 0/1: rows in the barrier
    count: torch.Tensor  # (B,) rows in the barrier
    curv: torch.Tensor  # Problem.curvature
    theta: torch.Tensor  # (B, nvar)
    lam: torch.Tensor  # (B, m, N), 0 off `rows`

    def __getitem__(self, keep: torch.Tensor) -> Batch:
        return Batch(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


@dataclass
class Result:
    """Where each pattern stopped (in the caller's order)."""

    theta: torch.Tensor
    lam: torch.Tensor
    objective: torch.Tensor
    pred: torch.Tensor
    gap: torch.Tensor
    decrement: torch.Tensor
    done: torch.Tensor
    iterations: int = 0


def _max_step(value: torch.Tensor, delta: torch.Tensor, fraction: float = 1.0) -> torch.Tensor:
    """``(B,)``: ``fraction`` of the largest step keeping ``value + t delta >= 0``, at most 1."""
    ratio = torch.where(delta < 0, value / (-delta).clamp_min(1e-300), torch.inf)
    return (fraction * ratio.flatten(1).amin(dim=1)).clamp(max=1.0)


class _Factor:
    """Cholesky factors of the Jacobi-scaled Newton matrices (plus a growing multiple of I where one fails).

    A Newton matrix is positive semi-definite while the iterate is strictly interior; one that is not (a
    non-positive or non-finite diagonal, or no factorisation even with ``MAX_SHIFT`` times I, which happens when
    rounding has pushed a slack or a multiplier through 0) is marked ``failed`` and factored as I, and
    :func:`primal_dual` stops that pattern uncertified instead of iterating on it."""

    MAX_SHIFT = 1e6  # the scaled matrix has unit diagonal: beyond this the step is a scaled gradient step

    def __init__(self, hess: torch.Tensor | None = None) -> None:
        if hess is None:
            return
        diag = hess.diagonal(dim1=1, dim2=2)
        eye = torch.eye(hess.shape[1], dtype=hess.dtype, device=hess.device)
        self.failed = ~((diag > 0).all(dim=1) & torch.isfinite(hess).all(dim=(1, 2)))
        self.scale = torch.where(self.failed[:, None], 1.0, diag).rsqrt()
        scaled = torch.where(self.failed[:, None, None], eye, hess * (self.scale[:, :, None] * self.scale[:, None, :]))
        self.chol, info = torch.linalg.cholesky_ex(scaled)
        self.shifted = torch.zeros(len(hess), dtype=torch.bool, device=hess.device)
        shift = 1e-15
        while bool((info != 0).any()):
            bad = info != 0
            if shift > self.MAX_SHIFT:
                self.failed |= bad
                self.chol[bad] = eye
                break
            self.shifted |= bad
            scaled[bad] += shift * eye
            self.chol[bad], info[bad] = torch.linalg.cholesky_ex(scaled[bad])
            shift *= 100

    def half(self, rhs: torch.Tensor) -> torch.Tensor:
        """:math:`L^{-1} D r`: its squared norm is :math:`r^\\top H^{-1} r`."""
        return torch.linalg.solve_triangular(self.chol, (self.scale * rhs)[..., None], upper=False)[..., 0]

    def solve(self, rhs: torch.Tensor) -> torch.Tensor:
        half = self.half(rhs)[..., None]
        return self.scale * torch.linalg.solve_triangular(self.chol.mT, half, upper=True)[..., 0]

    def __getitem__(self, keep: torch.Tensor) -> _Factor:
        out = _Factor()
        out.scale, out.chol, out.shifted, out.failed = (
            self.scale[keep],
            self.chol[keep],
            self.shifted[keep],
            self.failed[keep],
        )
        return out


@dataclass
class _Point:
    """The quantities of one iterate that the certificate and the next step need."""

    f: torch.Tensor  # (B,) objective
    pred: torch.Tensor  # (B, N)
    slack: torch.Tensor  # (B, m, N)
    grad: torch.Tensor  # (B, nvar) gradient of f
    dual: torch.Tensor  # (B, nvar) dual residual grad - G^T lam
    comp: torch.Tensor  # (B,) complementarity s^T lam
    weight: torch.Tensor  # (B, m, N) lam / s
    d2: torch.Tensor  # (B, N) second derivative of the loss
    factor: _Factor
    gap: torch.Tensor  # (B,) the certificate
    decrement: torch.Tensor  # (B,) dual^T H^-1 dual

    def __getitem__(self, keep: torch.Tensor) -> _Point:
        return _Point(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


def _measure(prob: Problem, batch: Batch) -> _Point:
    z, pred = prob.forward(batch.theta, batch.gate)
    data, d1, d2 = prob.derivatives(pred)
    slack = batch.sign * z
    grad = prob.transpose(torch.zeros_like(z), d1, batch.gate) + prob.ridge * batch.theta
    dual = grad - prob.transpose(batch.lam * batch.sign)
    comp = (slack * batch.lam).sum(dim=(1, 2))
    weight = batch.lam / slack
    factor = _Factor(prob.hessian(batch.curv, batch.gate, d2, weight))
    dec = factor.half(dual).pow(2).sum(dim=1)
    gap = comp + (dual.pow(2).sum(dim=1) / (2 * prob.ridge) if prob.ridge > 0 else dec)
    f = data + prob.ridge / 2 * batch.theta.pow(2).sum(dim=1)
    return _Point(f, pred, slack, grad, dual, comp, weight, d2, factor, gap, dec)


def _step(prob: Problem, batch: Batch, pt: _Point, tol: float) -> None:
    """One predictor-corrector step of every pattern in ``batch`` (in place)."""
    s, lam, count = pt.slack, batch.lam, batch.count
    mu = pt.comp / count
    # predictor: the affine-scaling direction
    dth = pt.factor.solve(-pt.grad)
    ds = batch.sign * prob.pre(dth)
    dl = -lam - pt.weight * ds
    t_p, t_d = _max_step(s, ds), _max_step(lam, dl)
    mu_aff = ((s + t_p[:, None, None] * ds) * (lam + t_d[:, None, None] * dl)).sum(dim=(1, 2)) / count
    # corrector: Mehrotra's centring (at most prob.sigma_max, not below the tolerance's own level) and
    # second-order term
    sigma = (mu_aff / mu).clamp(0, 1).pow(3).clamp(max=prob.sigma_max)
    target = torch.maximum(sigma * mu, 0.1 * tol * (1 + pt.f.abs()) / count)
    corr = batch.rows * (target[:, None, None] - ds * dl) / s
    rhs = prob.transpose(corr * batch.sign) - pt.grad
    dth = pt.factor.solve(rhs)
    late = pt.factor.shifted | (pt.comp <= 100 * tol * (1 + pt.f.abs()))
    if bool(late.any()):  # where rounding in H matters: solve to the accuracy the certificate needs
        dth = _refine(prob, batch, pt, rhs, dth, torch.where(late, 1e-3 * pt.dual.norm(dim=1) + 1e-15, torch.inf))
    ds = batch.sign * prob.pre(dth)
    dl = corr - lam - pt.weight * ds
    t_p, t_d = _max_step(s, ds, TAU), _max_step(lam, dl, TAU)
    batch.theta = batch.theta + t_p[:, None] * dth
    batch.lam = lam + t_d[:, None, None] * dl


def _refine(
    prob: Problem, batch: Batch, pt: _Point, rhs: torch.Tensor, x: torch.Tensor, goal: torch.Tensor
) -> torch.Tensor:
    """Conjugate gradients on ``H x = rhs`` from ``x``, preconditioned by the factorisation, with ``H``
    applied from the data, until the residual is below ``goal``."""

    def apply(u: torch.Tensor) -> torch.Tensor:
        return prob.apply(u, batch.gate, pt.d2, pt.weight)

    res = rhs - apply(x)
    z = pt.factor.solve(res)
    p, rz = z, (res * z).sum(dim=1)
    for _ in range(CG_STEPS):
        act = res.norm(dim=1) > goal
        if not bool(act.any()):
            break
        q = apply(p)
        pq = (p * q).sum(dim=1)
        alpha = torch.where(act & (pq > 0), rz / pq.clamp_min(1e-300), 0.0)
        x, res = x + alpha[:, None] * p, res - alpha[:, None] * q
        z = pt.factor.solve(res)
        rz, rz_old = (res * z).sum(dim=1), rz
        p = z + torch.where(rz_old > 0, rz / rz_old.clamp_min(1e-300), 0.0)[:, None] * p
    return x


def primal_dual(prob: Problem, batch: Batch, tol: float, max_iter: int) -> Result:
    """Mehrotra's predictor-corrector on every pattern of ``batch`` until its ``gap`` is below
    ``tol * (1 + |f|)`` or after ``max_iter`` iterations (see the module docstring)."""
    bsz, dev = len(batch.ids), prob.xb.device
    out = Result(
        batch.theta.clone(), batch.lam.clone(), prob.xb.new_zeros(bsz), prob.xb.new_zeros(bsz, prob.n),
        prob.xb.new_full((bsz,), torch.inf), prob.xb.new_zeros(bsz), torch.zeros(bsz, dtype=torch.bool, device=dev),
    )  # fmt: skip
    last: tuple[torch.Tensor, ...] | None = None  # the last iterate whose Newton matrix factored, per pattern
    while True:
        pt = _measure(prob, batch)
        failed = pt.factor.failed
        cur = (batch.theta, batch.lam, pt.f, pt.pred, pt.gap, pt.decrement)
        last = cur if last is None else tuple(
            torch.where(failed.view(-1, *[1] * (c.ndim - 1)), old, c) for old, c in zip(last, cur)
        )  # fmt: skip
        certified = (pt.gap <= tol * (1 + pt.f.abs())) & ~failed
        stop = certified | (out.iterations >= max_iter) | failed  # a failed Newton matrix: stop, uncertified
        if bool(stop.any()):  # record the patterns that stop (a failed one at its last good iterate), go on
            at = batch.ids[stop]
            kept = [t[stop] for t in last]
            out.theta[at], out.lam[at], out.objective[at], out.pred[at], out.gap[at], out.decrement[at] = kept
            out.done[at] = certified[stop]
            if bool(stop.all()):
                return out
            batch, pt = batch[~stop], pt[~stop]
            last = tuple(t[~stop] for t in last)
        _step(prob, batch, pt, tol)
        out.iterations += 1
