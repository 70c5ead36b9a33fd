r"""Proximal Newton for the weighted (group) Lasso of :mod:`lightning_poly.solvers.lasso` with the logistic or
cross-entropy loss.

FISTA's rate depends on the condition number of the data term's Hessian; a classification head at a small
penalty (weight decay ~1e-6, Figure 9a) on correlated ReLU features has one of 1e6 or more, and 20,000 FISTA
iterations left relative gaps of 2-8 %. Proximal Newton (Lee, Sun and Saunders, SIAM J. Optim. 2014; the outer
loop of newGLMNET) builds at each iterate :math:`z = (V, b)` the second-order model of the data term,

.. math::
    F(z) + \nabla F(z)^\top (z' - z) + \tfrac12 (z' - z)^\top \nabla^2 F(z) (z' - z)
    + \lambda \sum_j c_j \|V'_{:, j}\|_p ,

solves it (:func:`quadratic_group_lasso`: FISTA on the explicit Hessian, whose iterations cost
:math:`O(k^2 m^2)` instead of a pass over the data, and an exact solve restricted to the support), and steps to
its minimiser with an Armijo line search on the true objective (sufficient decrease measured by
:math:`\Delta = \nabla F^\top d + \text{pen}(z + d) - \text{pen}(z)`). It converges superlinearly near the optimum;
the stopping rule is the certificate's gap of the true problem, as for FISTA.

The Hessian has :math:`k(m + 1)` rows; :func:`newton_affordable` says when building it is cheaper than FISTA.
"""

from __future__ import annotations

import torch

from lightning_poly.solvers._lasso_problem import (
    _data_grad,
    _data_hessian,
    _group_norm_hessian,
    _min_subgrad,
    _penalty,
    _Problem,
    _prox,
)

# the most Hessian rows (k (m + 1)) and multiply-adds (n k (k + 1) / 2 (m + 1)^2) a Newton step may cost
MAX_ROWS = 6_000
MAX_FLOPS = 6e10
# proximal Newton stops when its gap has not halved in this many outer iterations
STALL = 10


def newton_affordable(n: int, m: int, k: int) -> bool:
    """Whether the Hessian of ``k`` outputs on ``m`` columns and ``n`` rows is small and cheap enough to build."""
    rows = k * (m + 1)
    return rows <= MAX_ROWS and n * k * (k + 1) / 2 * (m + 1) ** 2 <= MAX_FLOPS


def _split(z: torch.Tensor, k: int, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    return z[: k * m].view(k, m), z[k * m :]


def _restricted(
    q: torch.Tensor, r: torch.Tensor, thr: torch.Tensor, z: torch.Tensor, k: int, m: int, p: int
) -> torch.Tensor | None:
    """The minimiser of the quadratic problem restricted to the support (and signs, p = 1) of ``z`` (the intercept
    always free), entries whose sign flips (p = 1) or columns that pass through 0 (p = 2) dropped in turn; ``None``
    if the active set does not settle."""
    n_v = k * m
    for _ in range(12):
        v, _ = _split(z, k, m)
        on = v != 0 if p == 1 else (v.norm(dim=0, keepdim=True) > 0).expand(k, m)
        free = torch.cat([on.reshape(-1), torch.ones(len(z) - n_v, dtype=torch.bool, device=z.device)])
        idx = free.nonzero()[:, 0]
        if len(idx) == 0:  # nothing free: the zero point
            return torch.zeros_like(z)
        qff = q[idx][:, idx]
        jit = (
            1e-13
            * float(qff.diagonal().abs().max().clamp_min(1e-300))
            * torch.eye(len(idx), dtype=z.dtype, device=z.device)
        )
        if p == 1:  # linear on the support: one solve
            lin = torch.zeros_like(z)
            lin[:n_v] = (thr[None, :] * v.sign()).reshape(-1)
            sol = _solve(qff + jit, (r - lin)[idx])
            new = torch.zeros_like(z)
            new[idx] = sol
            nv, _ = _split(new, k, m)
            flip = on & (nv.sign() != v.sign())
            if not bool(flip.any()):
                return new
            z = z.clone()
            z[:n_v] = torch.where(flip, torch.zeros_like(v), v).reshape(-1)
            continue
        new = _group_newton(q, r, thr, z, idx, k, m)
        if new is None:
            return None
        nv, _ = _split(new, k, m)
        back = on[0] & (nv.norm(dim=0) <= 1e-12 * float(nv.norm().clamp_min(1e-300)))
        if not bool(back.any()):
            return new
        z = new.clone()
        z[:n_v] = torch.where(back[None, :], torch.zeros_like(nv), nv).reshape(-1)
    return None


def _solve(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    chol, info = torch.linalg.cholesky_ex(a)
    if int(info) == 0:
        return torch.cholesky_solve(b[:, None], chol)[:, 0]
    return torch.linalg.lstsq(a.contiguous(), b[:, None].contiguous(), driver="gelsd").solution[:, 0]


def _group_newton(
    q: torch.Tensor, r: torch.Tensor, thr: torch.Tensor, z: torch.Tensor, idx: torch.Tensor, k: int, m: int
) -> torch.Tensor | None:
    """Newton's method on the quadratic plus the group norms of the support's columns (smooth there)."""
    n_v = k * m
    cols = _split(z, k, m)[0].norm(dim=0) > 0
    qff, rf = q[idx][:, idx], r[idx]
    zf = z[idx].clone()
    mm = int(cols.sum())
    tc = thr[cols]

    def parts(zz: torch.Tensor) -> tuple[float, torch.Tensor]:
        vv = zz[: k * mm].view(k, mm)
        nr = vv.norm(dim=0).clamp_min(1e-300)
        val = 0.5 * float(zz @ (qff @ zz)) - float(rf @ zz) + float((tc * nr).sum())
        g = qff @ zz - rf
        g[: k * mm] += (tc * vv / nr).reshape(-1)
        return val, g

    # the support's entries in idx's order are V[a, cols] row by row, then the intercept: columns of (k, mm)
    val, g = parts(zf)
    for _ in range(50):
        vv = zf[: k * mm].view(k, mm)
        hess = qff.clone()
        hess[: k * mm, : k * mm] += _group_norm_hessian(vv, tc)
        hess += (
            1e-13
            * float(hess.diagonal().abs().max().clamp_min(1e-300))
            * torch.eye(len(zf), dtype=z.dtype, device=z.device)
        )
        step = -_solve(hess, g)
        dec = float(-(g @ step))
        if dec <= 1e-16 * max(1.0, abs(val)):
            break
        nxt = (zf + step)[: k * mm].view(k, mm)
        if bool(((vv * nxt).sum(0) < 0).any()):  # a column turned back through 0: the caller drops it
            back = (vv * nxt).sum(0) < 0
            out = z.clone()
            full = torch.zeros(k, m, dtype=z.dtype, device=z.device)
            full[:, cols] = torch.where(back[None, :], torch.zeros_like(vv), vv)
            out[:n_v] = full.reshape(-1)
            out[n_v:] = zf[k * mm :]
            return out
        a = 1.0
        while a > 1e-12:
            nv, ng = parts(zf + a * step)
            if nv <= val - 1e-4 * a * dec:
                break
            a /= 2
        if a <= 1e-12:
            break
        zf, val, g = zf + a * step, nv, ng
    out = torch.zeros_like(z)
    out[idx] = zf
    return out


def quadratic_group_lasso(
    q: torch.Tensor,
    r: torch.Tensor,
    thr: torch.Tensor,
    k: int,
    m: int,
    p: int,
    z0: torch.Tensor,
    max_iter: int = 5_000,
    check_every: int = 20,
) -> torch.Tensor:
    r"""Minimise :math:`\tfrac12 z^\top Q z - r^\top z + \sum_j thr_j \|V_{:, j}\|_p` over :math:`z = (\mathrm{vec}\,V, b)`
    (``V`` ``(k, m)`` row-major, ``b`` the unpenalised rest), ``Q`` positive semi-definite: FISTA from ``z0`` with
    adaptive restarts, and every ``check_every`` iterations the exact solve on the current support, returned as soon
    as it satisfies the optimality conditions off the support (to 1e-10 relative)."""
    lip = float(torch.linalg.eigvalsh(q)[-1])
    step = 1.0 / max(lip, 1e-300)

    def objective(z: torch.Tensor) -> float:
        return 0.5 * float(z @ (q @ z)) - float(r @ z) + float(_penalty(_split(z, k, m)[0], thr, p))

    def prox(z: torch.Tensor) -> torch.Tensor:
        v, b = _split(z, k, m)
        return torch.cat([_prox(v, step * thr[None, :], p).reshape(-1), b])

    def stationary(z: torch.Tensor) -> bool:
        g = q @ z - r
        gv, gb = _split(g, k, m)
        sub = _min_subgrad(gv, _split(z, k, m)[0], thr[None, :], p)
        scale = float(r.abs().max()) + float(thr.max()) + 1e-300
        return float(sub.abs().max()) <= 1e-10 * scale and (gb.numel() == 0 or float(gb.abs().max()) <= 1e-10 * scale)

    best, best_val = z0, objective(z0)
    x, y, t = z0.clone(), z0.clone(), 1.0
    for it in range(0, max_iter, check_every):
        cand = _restricted(q, r, thr, x if it else z0, k, m, p)
        if cand is not None:
            cv = objective(cand)
            if cv < best_val:
                best, best_val = cand, cv
            if stationary(cand):
                return cand
            if cv < objective(x):
                x, y, t = cand.clone(), cand.clone(), 1.0
        for _ in range(check_every):
            xn = prox(y - step * (q @ y - r))
            tn = (1 + (1 + 4 * t * t) ** 0.5) / 2
            yn = xn + (t - 1) / tn * (xn - x)
            if float((yn - xn) @ (xn - x)) > 0:
                yn, tn = xn.clone(), 1.0
            x, y, t = xn, yn, tn
        xv = objective(x)
        if xv < best_val:
            best, best_val = x.clone(), xv
    return best


def _objective(pb: _Problem, v: torch.Tensor, b: torch.Tensor) -> float:
    return float(_data_grad(pb.h @ v.T + b, pb.t, pb.loss)[0]) + pb.lam * float(_penalty(v, pb.c, pb.p))


def prox_newton(
    pb: _Problem, v: torch.Tensor, b: torch.Tensor, tol: float, max_outer: int = 60
) -> tuple[float, torch.Tensor, torch.Tensor, float, float, float, int]:
    r"""Proximal Newton from ``(v, b)`` on ``pb`` (logistic or cross-entropy): the best certified point as
    ``(gap, V, b, primal, dual, subgradient norm, outer iterations)``, stopping at ``gap <= tol * max(1, |P|)``.

    Far from the optimum a saturated softmax has almost no curvature and the model is nearly linear (its minimiser
    far away), so the model's Hessian is damped, :math:`\nabla^2 F + \mu I` (Levenberg-Marquardt): ``mu`` grows
    tenfold when the full step fails the Armijo test and shrinks tenfold when it passes, between ``1e-12 L`` and
    ``L``, the smooth part's Lipschitz constant, where the step is a proximal-gradient step (always a descent)."""
    k, m = pb.k, pb.m
    thr = pb.lam * pb.c
    free = torch.ones(k, m, dtype=torch.bool, device=v.device)
    lip = 1.0 / pb.step
    mu, mu_min = 1e-6 * lip, 1e-12 * lip
    best = None
    gaps: list[float] = []
    outer = flat = 0
    while outer < max_outer:
        outer += 1
        b, primal, dual, sg = pb.certificate(v, b)
        if best is None or primal - dual < best[0]:
            best = (primal - dual, v, b, primal, dual, sg)
        if best[0] <= tol * max(1.0, abs(best[3])):
            break
        gaps.append(best[0])
        if len(gaps) > STALL and gaps[-1] > 0.5 * gaps[-1 - STALL]:  # superlinear no more (e.g. rank-deficient
            break  # features leave directions with no curvature): the caller's FISTA goes on from here
        val, g = _data_grad(pb.h @ v.T + b, pb.t, pb.loss)
        grad = torch.cat([(g.T @ pb.h).reshape(-1), g.sum(0) if pb.icpt else g.new_zeros(0)])
        z = torch.cat([v.reshape(-1), b if pb.icpt else b.new_zeros(0)])
        hess = _data_hessian(pb, z, free, pb.icpt)
        if pb.loss == "cross_entropy" and pb.icpt:  # the softmax's shift of every intercept is flat: give it curvature
            hess[-k:, -k:] += float(hess[-k:, -k:].diagonal().max().clamp_min(1e-12)) / k
        eye = torch.eye(len(z), dtype=z.dtype, device=z.device)
        pen0 = float(_penalty(v, pb.c, pb.p)) * pb.lam
        f0 = float(val) + pen0
        moved = False
        while mu <= 10 * lip:
            q = hess + mu * eye
            zs = quadratic_group_lasso(q, q @ z - grad, thr, k, m, pb.p, z)
            d = zs - z
            delta = float(grad @ d) + pb.lam * float(_penalty(_split(zs, k, m)[0], pb.c, pb.p)) - pen0
            vn, bn = _split(zs, k, m)
            bn = bn if pb.icpt else b
            fn = _objective(pb, vn, bn)
            if delta >= -1e-15 * max(1.0, abs(f0)):  # the objective is flat to float64 (separable data: the
                # weights still move, the gradient's optimality conditions, which the certificate reads, converge)
                moved = fn <= f0 + 1e-15 * max(1.0, abs(f0)) and flat < 8
                flat += moved
                break
            if fn <= f0 + 1e-4 * delta:
                mu, moved = max(mu / 10, mu_min), True
                break
            mu *= 10
        if not moved:
            break
        v, b = vn.clone(), bn.clone()
    assert best is not None
    return (*best, outer)
