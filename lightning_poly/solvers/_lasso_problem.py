"""The data of one weighted (group) Lasso (:mod:`lightning_poly.solvers.lasso`): losses, their conjugates and
Hessians, the exact intercept, the certificate, and the Newton solve restricted to a support."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from lightning_poly._validation import check_choice, check_positive
from lightning_poly.solvers.losses import SolverLoss


def _targets(y: torch.Tensor, loss: SolverLoss, n: int, k: int) -> torch.Tensor:
    if loss == "squared":
        return y.detach().double().reshape(n, k)
    if loss == "logistic":
        return (y.detach() > 0).double().reshape(n, 1)
    return F.one_hot(y.detach().long().reshape(n), k).double()


def _data_grad(u: torch.Tensor, t: torch.Tensor, loss: SolverLoss) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and its gradient ``(n, k)`` in the outputs ``u``."""
    n = len(u)
    if loss == "squared":
        r = u - t
        return (r**2).sum() / n, 2 * r / n
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(u, t, reduction="sum") / n, (torch.sigmoid(u) - t) / n
    lse = torch.logsumexp(u, dim=1)
    return (lse - (u * t).sum(1)).sum() / n, (torch.softmax(u, dim=1) - t) / n


def _conjugate_sum(theta: torch.Tensor, t: torch.Tensor, loss: SolverLoss) -> torch.Tensor:
    r""":math:`\sum_i f_i^*(\theta_i)` for :math:`f_i = \ell(\cdot, y_i)/n` (``theta`` in the domain)."""
    n = len(theta)
    if loss == "squared":
        return (theta * t).sum() + n / 4 * (theta**2).sum()
    a = n * theta + t
    if loss == "logistic":
        a = a.clamp(0, 1)
        return (torch.special.xlogy(a, a) + torch.special.xlogy(1 - a, 1 - a)).sum() / n
    a = a.clamp_min(0)
    return torch.special.xlogy(a, a).sum() / n


def _penalty(v: torch.Tensor, c: torch.Tensor, p: int) -> torch.Tensor:
    return (c * (v.abs().sum(0) if p == 1 else v.norm(dim=0))).sum()


def _prox(v: torch.Tensor, thr: torch.Tensor, p: int) -> torch.Tensor:
    if p == 1:
        return v.sign() * (v.abs() - thr).clamp_min(0)
    norms = v.norm(dim=0, keepdim=True)
    return v * (1 - thr / norms.clamp_min(1e-300)).clamp_min(0)


def _dual_norm(g: torch.Tensor, p: int) -> torch.Tensor:
    """Column-wise dual norm of a ``(k, m)`` matrix (∞ for p = 1, 2 for p = 2)."""
    return g.abs().amax(0) if p == 1 else g.norm(dim=0)


class _Problem:
    """The data of one weighted Lasso, with the intercept minimised exactly where it is needed."""

    def __init__(
        self,
        h: torch.Tensor,
        y: torch.Tensor,
        loss: SolverLoss,
        lam: float,
        c: torch.Tensor,
        p: int,
        k: int,
        icpt: bool,
    ) -> None:
        self.h, self.loss, self.lam, self.c, self.p, self.icpt = h, loss, lam, c, p, icpt
        self.n, self.m = h.shape
        self.k = k
        self.t = _targets(y, loss, self.n, k)
        if loss == "squared":  # Gram form: centre when there is an intercept
            self.mu_h = h.mean(0) if icpt else torch.zeros(self.m, dtype=h.dtype, device=h.device)
            self.mu_t = self.t.mean(0) if icpt else torch.zeros(k, dtype=h.dtype, device=h.device)
            hc, tc = h - self.mu_h, self.t - self.mu_t
            self.gram = hc.T @ hc / self.n
            self.cross = tc.T @ hc / self.n  # (k, m)
            self.tt = float((tc**2).sum()) / self.n

    @functools.cached_property
    def step(self) -> float:
        """FISTA's step: 1 / the Lipschitz constant of the smooth part (an eigenvalue: only the solvers need it)."""
        if self.loss == "squared":
            lip = 2 * float(torch.linalg.eigvalsh(self.gram)[-1])
        else:
            h = self.h
            ha = torch.cat([h, torch.ones(self.n, 1, dtype=h.dtype, device=h.device)], 1) if self.icpt else h
            curv = 0.25 if self.loss == "logistic" else 0.5
            lip = curv * float(torch.linalg.eigvalsh(ha.T @ ha)[-1]) / self.n
        return 1.0 / max(lip, 1e-300)

    # smooth part: value and gradients in (V, b)
    def smooth(self, v: torch.Tensor, b: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        if self.loss == "squared":
            gv = v @ self.gram
            val = self.tt - 2 * float((self.cross * v).sum()) + float((gv * v).sum())
            return val, 2 * (gv - self.cross), torch.zeros_like(b)
        val, g = _data_grad(self.h @ v.T + b, self.t, self.loss)
        return float(val), g.T @ self.h, g.sum(0) if self.icpt else torch.zeros_like(b)

    def best_bias(self, v: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The exact intercept for weights ``v`` (Newton steps in ``b`` for the logistic / cross-entropy)."""
        if not self.icpt:
            return torch.zeros(self.k, dtype=v.dtype, device=v.device)
        if self.loss == "squared":
            return self.mu_t - v @ self.mu_h
        z = self.h @ v.T
        f = float(_data_grad(z + b, self.t, self.loss)[0])
        for _ in range(100):
            u = z + b
            if self.loss == "logistic":
                s = torch.sigmoid(u)
                g, hess = (s - self.t).sum(0), (s * (1 - s)).sum(0)[:, None]
            else:
                s = torch.softmax(u, 1)
                g = (s - self.t).sum(0)
                hess = torch.diag(s.sum(0)) - s.T @ s + torch.ones(self.k, self.k, dtype=u.dtype, device=u.device)
            if float(g.abs().max()) <= 1e-13 * self.n:
                break
            if self.loss == "logistic":
                step = -g / hess[:, 0].clamp_min(1e-300)
            else:  # least squares: a class whose probabilities underflow to 0 everywhere leaves hess singular
                step = -torch.linalg.lstsq(hess, g[:, None]).solution[:, 0]
            # safeguarded: a saturated sigmoid/softmax has almost no curvature (the full step can be 1e300), so the
            # logits move by at most 20 a step (the functions saturate within 37) and the step backtracks to descent
            step = step * min(1.0, 20.0 / max(float(step.abs().max()), 1e-300))
            slope, a = float(g @ step) / self.n, 1.0
            while a > 1e-12:
                fn = float(_data_grad(z + b + a * step, self.t, self.loss)[0])
                if fn <= f + 1e-4 * a * slope:
                    break
                a /= 2
            if a <= 1e-12:
                break
            b, f = b + a * step, fn
        return b

    def objective(self, v: torch.Tensor, b: torch.Tensor) -> float:
        if self.loss == "squared" and self.icpt:  # the intercept is the exact one in the Gram form
            gv = v @ self.gram
            val = self.tt - 2 * float((self.cross * v).sum()) + float((gv * v).sum())
            return val + self.lam * float(_penalty(v, self.c, self.p))
        if self.loss == "squared":
            u = self.h @ v.T + b
            return float(((u - self.t) ** 2).sum()) / self.n + self.lam * float(_penalty(v, self.c, self.p))
        return float(_data_grad(self.h @ v.T + b, self.t, self.loss)[0]) + self.lam * float(_penalty(v, self.c, self.p))

    def certificate(self, v: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, float, float, float]:
        """``(b*, P, D, subgradient norm)`` at weights ``v`` with the exact intercept."""
        b = self.best_bias(v, b)
        if self.loss == "squared":  # in the Gram form: O(m^2 k), whatever n
            return (b, *self._squared_certificate(v))
        val, g = _data_grad(self.h @ v.T + b, self.t, self.loss)
        if self.icpt:
            g = g - g.mean(0) if self.loss == "squared" else g  # exact for squared; ~0 already otherwise
        corr = g.T @ self.h  # (k, m): the gradient in V
        dn = _dual_norm(corr, self.p)
        s = float(torch.clamp(self.lam * self.c / dn.clamp_min(1e-300), max=1.0).min()) if self.m else 1.0
        primal = float(val) + self.lam * float(_penalty(v, self.c, self.p))
        dual = -float(_conjugate_sum(s * g, self.t, self.loss))
        return b, primal, dual, float(_min_subgrad(corr, v, self.lam * self.c, self.p).norm())

    def _squared_certificate(self, v: torch.Tensor) -> tuple[float, float, float]:
        r"""``(P, D, subgradient norm)`` of the squared loss from the (centred) Gram matrix: with the residual
        :math:`r = H_c v - t_c` and :math:`\Theta = s\nabla F = 2 s r / n`, :math:`\sum_i f_i^*(\theta_i) =
        2s(\langle C, v\rangle - \|t_c\|^2/n) + s^2\|r\|^2/n` (:math:`C` = ``cross``)."""
        gv = v @ self.gram
        cv = float((self.cross * v).sum())
        data = self.tt - 2 * cv + float((gv * v).sum())
        corr = 2 * (gv - self.cross)
        dn = _dual_norm(corr, self.p)
        s = float(torch.clamp(self.lam * self.c / dn.clamp_min(1e-300), max=1.0).min()) if self.m else 1.0
        primal = data + self.lam * float(_penalty(v, self.c, self.p))
        dual = -(2 * s * (cv - self.tt) + s * s * data)
        return primal, dual, float(_min_subgrad(corr, v, self.lam * self.c, self.p).norm())


def _min_subgrad(g: torch.Tensor, v: torch.Tensor, thr: torch.Tensor, p: int) -> torch.Tensor:
    """The minimum-norm element of :math:`g + \\partial(\\sum_j thr_j \\|v_j\\|_p)`."""
    if p == 1:
        on = v != 0
        return torch.where(on, g + thr * v.sign(), (g.abs() - thr).clamp_min(0))
    norms = v.norm(dim=0, keepdim=True)
    on = norms > 0
    shrunk = g * (1 - thr / g.norm(dim=0, keepdim=True).clamp_min(1e-300)).clamp_min(0)
    return torch.where(on, g + thr * v / norms.clamp_min(1e-300), shrunk)


def _support_solve(pb: _Problem, v: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The optimum restricted to the support (and signs, p = 1) of ``v``, dropping the entries whose sign flips
    (an active-set loop); ``None`` if it does not settle."""
    for _ in range(8):
        got = _support_solve_once(pb, v, b)
        if got is None or isinstance(got, tuple):
            return got
        v = got  # the same support less the flipped entries
    return None


def _support_solve_once(
    pb: _Problem, v: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor | None:
    """One restricted solve: the solution, or ``v`` with its flipped entries zeroed, or ``None``."""
    free = v != 0 if pb.p == 1 else (v.norm(dim=0, keepdim=True) > 0).expand_as(v)
    if not bool(free.any()):
        return None
    sign = v.sign()
    thr = (pb.lam * pb.c).expand_as(v)
    if pb.loss == "squared" and pb.p == 1 and pb.k == 1:
        idx = free[0].nonzero()[:, 0]
        gss = pb.gram[idx][:, idx]
        rhs = pb.cross[0, idx] - thr[0, idx] * sign[0, idx] / 2
        sol = torch.linalg.lstsq(gss, rhs[:, None]).solution[:, 0] if len(idx) else rhs
        new = torch.zeros_like(v)
        new[0, idx] = sol
        if bool((new.sign()[free] != sign[free]).any()):
            return torch.where(new.sign() == sign, v, torch.zeros_like(v))
        return new, pb.best_bias(new, b)
    bias_free = pb.icpt and pb.loss != "squared"

    def fun(z: torch.Tensor) -> torch.Tensor:
        xs, bb = (z[: -pb.k], z[-pb.k :]) if bias_free else (z, b)
        full = torch.zeros_like(v).masked_scatter(free, xs)
        if pb.loss == "squared":
            gv = full @ pb.gram
            data = pb.tt - 2 * (pb.cross * full).sum() + (gv * full).sum()
        else:
            data = _data_grad(pb.h @ full.T + bb, pb.t, pb.loss)[0]
        if pb.p == 1:
            return data + (thr[free] * sign[free] * xs).sum()
        return data + (pb.lam * pb.c * full.pow(2).sum(0).clamp_min(1e-300).sqrt() * free[0]).sum()

    z = torch.cat([v[free], b]) if bias_free else v[free].clone()
    with torch.enable_grad():
        f = fun(z)
        for _ in range(60):
            zg = z.clone().requires_grad_(True)
            g = torch.autograd.grad(fun(zg), zg)[0]
            if float(g.abs().max()) <= 1e-14 * max(1.0, abs(float(f))):
                break
            hess = _restricted_hessian(pb, z, free, bias_free)
            hess = hess + 1e-14 * float(hess.diagonal().abs().max()) * torch.eye(len(z), dtype=z.dtype, device=z.device)
            chol, info = torch.linalg.cholesky_ex(hess)
            step = (
                torch.cholesky_solve(-g[:, None], chol)[:, 0]
                if int(info) == 0
                else torch.linalg.lstsq(hess, -g[:, None]).solution[:, 0]
            )
            if float(-(g @ step)) <= 1e-15 * max(1.0, abs(float(f))):  # the Newton decrement: converged
                break
            if pb.p == 2:  # a column the full step turns back through 0 leaves the support (the group's sign flip)
                xs, st = (z[: -pb.k], step[: -pb.k]) if bias_free else (z, step)
                cur = torch.zeros_like(v).masked_scatter(free, xs)
                nxt = cur + torch.zeros_like(v).masked_scatter(free, st)
                back = free[0] & ((cur * nxt).sum(0) < 0)
                if bool(back.any()):
                    return torch.where(back[None, :], torch.zeros_like(v), cur.detach())
            a = 1.0
            while a > 1e-10:
                fn = fun(z + a * step)
                if float(fn) <= float(f) + 1e-4 * a * float(g @ step):
                    break
                a /= 2
            if a <= 1e-10:
                break
            z, f = (z + a * step).detach(), fn.detach()
    x = z[: -pb.k] if bias_free else z
    bb = z[-pb.k :] if bias_free else b
    new = torch.zeros_like(v).masked_scatter(free, x.detach())
    if pb.p == 1 and bool((new.sign()[free] != sign[free]).any()):
        return torch.where(new.sign() == sign, v, torch.zeros_like(v))
    small = new.norm(dim=0) <= 1e-9 * float(new.norm().clamp_min(1e-300))
    if pb.p == 2 and bool(small[free[0]].any()):
        return torch.where(small[None, :], torch.zeros_like(v), v)
    return new, pb.best_bias(new, bb.detach())


def _restricted_hessian(pb: _Problem, z: torch.Tensor, free: torch.Tensor, bias_free: bool) -> torch.Tensor:
    r"""The Hessian of the restricted objective in ``z = [V[free], b]`` in closed form: the data term's
    (:func:`_data_hessian`) plus, for the group norm (``p = 2``), each column's
    :math:`\lambda c_j (I/\|v_j\| - v_j v_j^\top/\|v_j\|^3)` (the ``p = 1`` penalty is linear on the support).
    Autograd's Hessian of a thousand entries took minutes on a CNN's head."""
    hess = _data_hessian(pb, z, free, bias_free)
    if pb.p == 1:
        return hess
    cols = free.any(0).nonzero()[:, 0]
    v = torch.zeros_like(free, dtype=z.dtype).masked_scatter(free, z[: int(free.sum())])[:, cols]  # (k, mm)
    n_v = v.numel()
    hess[:n_v, :n_v] += _group_norm_hessian(v, pb.lam * pb.c[cols])  # p = 2: the free entries are whole columns
    return hess


def _group_norm_hessian(v: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    r"""The Hessian of :math:`\sum_j s_j \|v_j\|_2` in the entries of ``v`` ``(k, mm)`` (row-major, nonzero columns):
    the block diagonal of :math:`s_j (I/\|v_j\| - v_j v_j^\top/\|v_j\|^3)`."""
    k, mm = v.shape
    norm = v.norm(dim=0).clamp_min(1e-300)
    eye = torch.eye(k, dtype=v.dtype, device=v.device)
    diag = scale[None, None, :] * (eye[:, :, None] / norm - v[:, None, :] * v[None, :, :] / norm**3)  # (k, k, mm)
    blocks = torch.zeros(k, mm, k, mm, dtype=v.dtype, device=v.device)
    j = torch.arange(mm, device=v.device)
    blocks[:, j, :, j] = diag.permute(2, 0, 1)
    return blocks.reshape(k * mm, k * mm)


def _data_hessian(pb: _Problem, z: torch.Tensor, free: torch.Tensor, bias_free: bool) -> torch.Tensor:
    r"""The data term's Hessian in the free entries ``z = [V[free], b]`` (``b`` only when ``bias_free``), in closed
    form: twice the (centred) Gram matrix on each output for the squared loss, else
    :math:`\frac{1}{n}\sum_i (\mathrm{diag}(s_i) - s_i s_i^\top) \otimes \tilde h_i \tilde h_i^\top` over the
    columns some output uses (autograd's Hessian of a few hundred entries took tens of seconds)."""
    k = pb.k
    cols = free.any(0).nonzero()[:, 0]
    rows, js = free.nonzero(as_tuple=True)
    if pb.loss == "squared":  # 2 Gram on each output's entries (the intercept is eliminated in the Gram form)
        return 2 * pb.gram[js][:, js] * (rows[:, None] == rows[None, :])
    v = torch.zeros_like(free, dtype=z.dtype).masked_scatter(free, z[: int(free.sum())])
    b = z[-k:] if bias_free else pb.best_bias(v, torch.zeros(k, dtype=z.dtype, device=z.device))
    u = pb.h @ v.T + b
    hs = pb.h[:, cols]
    if bias_free:
        hs = torch.cat([hs, torch.ones(pb.n, 1, dtype=hs.dtype, device=hs.device)], 1)
    if pb.loss == "logistic":
        s = torch.sigmoid(u)
        w = (s * (1 - s))[:, :, None]  # (n, 1, 1)
    else:
        s = torch.softmax(u, 1)
        w = torch.diag_embed(s) - s[:, :, None] * s[:, None, :]  # (n, k, k)
    mm = hs.shape[1]
    full = torch.empty(k, mm, k, mm, dtype=z.dtype, device=z.device)
    for a in range(k):
        for c in range(a, k):
            blk = (hs * w[:, a, c, None]).T @ hs / pb.n
            full[a, :, c, :] = blk
            full[c, :, a, :] = blk.T
    # the free entries' positions in the (k, mm) layout, in masked_scatter's (row-major) order, then the biases
    pos = torch.full((pb.m,), -1, dtype=torch.long, device=z.device)
    pos[cols] = torch.arange(len(cols), device=z.device)
    idx = rows * mm + pos[js]
    if bias_free:
        idx = torch.cat([idx, torch.arange(k, device=z.device) * mm + mm - 1])
    return full.reshape(k * mm, k * mm)[idx][:, idx]


def _check(h: torch.Tensor, y: torch.Tensor, loss: str, lam: float, p: int, c: torch.Tensor | None) -> None:
    check_choice("loss", loss, ("squared", "logistic", "cross_entropy"))
    check_choice("p", p, (1, 2))
    check_positive("lam", lam)
    if h.ndim != 2 or len(h) != len(y):
        raise ValueError(f"`h` must be (n, m) with n = len(y) = {len(y)}, got {tuple(h.shape)}")
    if c is not None and (c.shape != (h.shape[1],) or not bool((c > 0).all()) or not bool(torch.isfinite(c).all())):
        raise ValueError(f"`col_weights` must be ({h.shape[1]},) finite and > 0, got shape {tuple(c.shape)}")
