r"""Batched hit-and-run estimation of the facets of many polytopes at once (pure torch, any device).

Face-histogram paper, Preliminary 5 and Section V.C: from an interior point, shoot a random ray; the
first hyperplane it hits is a facet. We run ``chains`` independent hit-and-run walks per polytope
(after each ray the point moves to a uniform random point of the chord, so later rays start from
all over the polytope, which finds small facets far from the start) and record every facet hit.
A polytope stops when no new facet was found in its last ``patience`` rays (paper: 1000) or at the
ray budget. The result is a lower bound on the number of facets: a row is recorded only when the
point where the ray hits it is a certificate, i.e. every other row holds there with slack above
``margin`` (the exact methods' criterion), so a ray through a lower-dimensional face, or a tie
between two nearly equal rows, records nothing.
All polytopes and chains advance together as tensor operations; memory is ``O(R · chains · m)``
per step (chunk ``R`` to bound it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from lightning_poly._validation import check_int
from lightning_poly.geometry.faces.cleaning import check_polytopes

__all__ = ["RayEstimate", "certify_facets", "hit_and_run_facets"]


@dataclass
class RayEstimate:
    """Facets found by rays.

    Attributes:
        found: ``(R, m)`` bool, rows hit at least once (certain facets).
        rays: ``(R,)`` rays used per polytope.
        converged: ``(R,)`` stopped by ``patience`` (``False``: by the budget).
        points: ``(R, chains, d)`` where the walks ended (interior points spread over each polytope).
    """

    found: torch.Tensor
    rays: torch.Tensor
    converged: torch.Tensor
    points: torch.Tensor | None = None

    @property
    def counts(self) -> torch.Tensor:
        return self.found.sum(dim=1)


@torch.no_grad()
def hit_and_run_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    x0: torch.Tensor,
    keep: torch.Tensor | None = None,
    patience: int = 1000,
    max_rays: int = 100_000,
    chains: int = 64,
    seed: int = 0,
    margin: float = 1e-9,
    deadline: float | None = None,
) -> RayEstimate:
    """Hit-and-run facet detection for ``R`` polytopes ``{x : a_r x <= b_r}`` with interior points ``x0``.

    Args:
        a: ``(R, m, d)`` rows of the polytopes.
        b: ``(R, m)`` offsets.
        x0: ``(R, d)`` strictly interior points.
        keep: ``(R, m)`` rows to consider (e.g. duplicates and zero rows removed); default all.
        patience: stop a polytope after this many rays without a new facet (paper: K = 1000).
        max_rays: ray budget per polytope.
        chains: parallel walks per polytope (rays per step).
        seed: seed of the directions (a ``torch.Generator`` on ``a``'s device).
        margin: a hit counts only if every other row has slack above ``margin`` at the hit point
            (rows of unit norm: a distance).
        deadline: a ``time.perf_counter()`` value after which no new step starts (the polytopes still
            active then are not ``converged``: their counts are lower bounds from fewer rays); ``None``: none.

    Example:
        >>> sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]]])
        >>> est = hit_and_run_facets(sq, torch.tensor([[1.0, 1, 1, 1, 5]]), torch.zeros(1, 2), patience=200)
        >>> est.counts.tolist(), bool(est.converged[0])
        ([4], True)
    """
    check_int("patience", patience, minimum=1)
    check_int("max_rays", max_rays, minimum=1)
    check_int("chains", chains, minimum=1)
    check_polytopes(a, b, x0=x0, keep=keep)
    r, m, d = a.shape
    dev = a.device
    keep = torch.ones(r, m, dtype=torch.bool, device=dev) if keep is None else keep.to(dev)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    x = x0[:, None, :].expand(r, chains, d).clone()
    found = torch.zeros(r, m, dtype=torch.bool, device=dev)
    rays = torch.zeros(r, dtype=torch.long, device=dev)
    last_new = torch.zeros(r, dtype=torch.long, device=dev)
    active = torch.ones(r, dtype=torch.bool, device=dev)
    big = torch.finfo(a.dtype).max
    while bool(active.any()):
        if deadline is not None and time.perf_counter() >= deadline and bool((rays > 0).all()):
            break  # (every polytope has had one step of rays)
        idx = torch.nonzero(active).flatten()
        ai, bi, ki, xi = a[idx], b[idx], keep[idx], x[idx]
        u = torch.randn(len(idx), chains, d, generator=g, device=dev, dtype=a.dtype)
        u = u / u.norm(dim=2, keepdim=True)
        rate = torch.einsum("rmd,rcd->rcm", ai, u)
        slack = (bi[:, None, :] - torch.einsum("rmd,rcd->rcm", ai, xi)).clamp_min(0)
        valid = ki[:, None, :]
        t_fwd = torch.where(valid & (rate > 0), slack / rate.clamp_min(1e-300), big)
        t_bwd = torch.where(valid & (rate < 0), slack / (-rate).clamp_min(1e-300), big)
        tf, hit = t_fwd.min(dim=2)
        tb = t_bwd.min(dim=2).values
        # certificate at the hit point: every other kept row strictly inside by more than `margin`
        at_hit = torch.where(valid, slack - torch.where(tf < big, tf, 0.0)[..., None] * rate, big)
        at_hit.scatter_(2, hit[..., None], big)
        certain = (tf < big) & (at_hit.min(dim=2).values > margin)
        # several chains may hit one row: add, so an uncertain hit never overwrites a certain one
        new = torch.zeros(len(idx), m, dtype=torch.long, device=dev).scatter_add_(1, hit, certain.long()) > 0
        gained = (new & ~found[idx]).any(dim=1)
        found[idx] |= new
        rays[idx] += chains
        last_new[idx] = torch.where(gained, rays[idx], last_new[idx])
        # move every chain to a uniform point of its chord (slightly shrunk to stay interior)
        tau = (torch.rand(len(idx), chains, generator=g, device=dev, dtype=a.dtype) * (tf + tb) - tb) * (1 - 1e-6)
        tau = torch.where((tf < big) & (tb < big), tau, 0.0)
        x[idx] = xi + tau[..., None] * u
        done = (rays[idx] - last_new[idx] >= patience) | (rays[idx] >= max_rays)
        active[idx] = ~done
    converged = rays - last_new >= patience
    return RayEstimate(found, rays, converged, x)


@torch.no_grad()
def certify_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    x0: torch.Tensor,
    keep: torch.Tensor | None = None,
    iters: int = 2000,
    margin: float = 1e-7,
    relax: float = 1.99,
    chunk: int = 128,
    patience: int = 200,
) -> torch.Tensor:
    r"""Certify facets by finding, for every row :math:`i`, a point on its hyperplane inside the others.

    A point :math:`y` with :math:`a_i y = b_i` and :math:`a_j y \le b_j - \text{margin}` for all
    :math:`j \ne i` proves that row :math:`i` is a facet. We search for it in every row's hyperplane at
    once with the relaxation method of Agmon–Motzkin (project onto the most violated constraint within
    the hyperplane, over-relaxation factor ``relax``, close to 2 to move fast along narrow faces),
    started from the projection of ``x0``. Rows with no point found after ``iters`` steps, or once
    ``patience`` steps in a row certified no new row (the rest are mostly redundant rows, which no
    step can certify), are left undecided, so the result is a lower bound that never contains a
    redundant row: the final check asks for slack above ``margin / 2`` on every other row (far above
    the exact methods' ``tol``), so rounding cannot pass two nearly equal rows. Rows must have unit
    norm (see :func:`~lightning_poly.geometry.faces.clean_rows`).

    Args:
        a: ``(R, m, d)`` unit-norm rows.
        b: ``(R, m)`` offsets.
        x0: ``(R, d)`` interior points.
        keep: ``(R, m)`` rows to consider (default all).
        iters: most relaxation steps.
        margin: slack a certificate needs on every other row.
        relax: over-relaxation factor of the Agmon–Motzkin steps, in (0, 2).
        chunk: polytopes per batch.
        patience: stop after this many steps in a row that certified no new row.

    Returns:
        ``(R, m)`` bool, rows certified as facets.

    Example:
        >>> sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1], [0.6, 0.8]]], dtype=torch.float64)
        >>> certify_facets(sq, torch.tensor([[1.0, 1, 1, 1, 5]], dtype=torch.float64), torch.zeros(1, 2)).tolist()
        [[True, True, True, True, False]]
    """
    check_int("iters", iters, minimum=1)
    check_int("patience", patience, minimum=1)
    check_polytopes(a, b, x0=x0, keep=keep)
    r, m, d = a.shape
    keep = torch.ones(r, m, dtype=torch.bool, device=a.device) if keep is None else keep.to(a.device)
    eye = torch.eye(m, dtype=torch.bool, device=a.device)
    out = torch.zeros(r, m, dtype=torch.bool, device=a.device)
    for sl in torch.arange(r, device=a.device).split(chunk):
        ai, bi, ki, xi = a[sl], b[sl], keep[sl], x0[sl].to(a)
        y = xi[:, None, :] + (bi - torch.einsum("rmd,rd->rm", ai, xi))[..., None] * ai
        gram = torch.einsum("rid,rjd->rij", ai, ai)
        n2 = (1 - gram**2).clamp_min(1e-12)
        mask = ki[:, None, :] & ki[:, :, None] & ~eye
        ok = torch.zeros_like(ki)
        best, stale = -1, 0
        for _ in range(iters):
            v = torch.where(mask, torch.einsum("rid,rjd->rij", y, ai) - bi[:, None, :] + margin, -1.0)
            vmax, j = v.max(dim=2)
            ok = vmax <= 0
            if bool(ok[ki].all()):
                break
            count = int(ok.sum())
            best, stale = (count, 0) if count > best else (best, stale + 1)
            if stale >= patience:  # the rest are redundant rows or hard facets: left to the exact LPs
                break
            aj = torch.gather(ai, 1, j[..., None].expand(-1, -1, d))
            gij = torch.gather(gram, 2, j[..., None])[..., 0]
            step = relax * vmax.clamp_min(0) / torch.gather(n2, 2, j[..., None])[..., 0]
            y = y - step[..., None] * (aj - gij[..., None] * ai)
        # final exact check of the certificate (tight on i, strictly inside the others)
        v = torch.where(mask, torch.einsum("rid,rjd->rij", y, ai) - bi[:, None, :], -1.0)
        on_plane = (torch.einsum("rid,rid->ri", y, ai) - bi).abs() <= 1e-9
        out[sl] = ki & on_plane & (v.max(dim=2).values < -margin / 2)
    return out
