r"""Facets of many polytopes at once by a batched primal simplex method in torch.

Row :math:`k` of :math:`P = \\{x : A x \\le b\\}` is a facet iff it is not implied by the others:
:math:`\\max\\{a_k^\top x : a_j^\top x \\le b_j\\ (j \ne k),\\ a_k^\top x \\le b_k + 1\\} > b_k`
(the one-LP-per-row test behind pycddlib's ``redundant_rows`` and Clarkson's method; the relaxed own
row keeps the LP bounded). This module solves that LP for *every* row of *every* polytope in one batch
of tensor operations, by the primal simplex method:

1. **First vertices** of each polytope (``starts`` of them), by ``d`` ray shots from an interior
   point, each in the null space of the rows already hit (:func:`first_vertices`).
2. **One simplex walk per row**, started at the first vertex with the largest objective: the basis
   inverse of every LP is updated by the Sherman-Morrison formula at each pivot (no factorisation in
   the loop), the leaving basis row is the most negative multiplier (Dantzig's rule), the entering row
   the ratio test over all rows. A walk stops as soon as its answer is certain: a feasible point with
   :math:`a_k^\top x > b_k +` ``margin`` proves the row a facet; optimal multipliers with value
   :math:`\\le b_k -` ``margin`` prove it redundant.
3. **Facets for free**: every vertex a walk meets inside :math:`P` with exactly ``d`` tight rows (a
   simple vertex) proves those ``d`` rows facets (the edge that keeps one of them tight and leaves the
   others enters its facet's relative interior), and the walks of those rows stop.
4. **Checks**: every redundancy is re-derived from a fresh solve of its final basis (multipliers
   :math:`\\lambda \\ge 0` bound the maximum by :math:`\\lambda^\top b_B`, weak duality), every witness
   from a fresh product with all rows, with half the margin.

Walks are packed into rows of 16 slots of one polytope each, and repacked when a fifth of the slots
are idle, so the work follows the live walks. Memory: ``O(R m (m + d^2))`` for ``R`` polytopes of
``m`` rows (``count_facets`` splits the batch by ``simplex_memory``).

Anything not decided with a margin — a zero step (a degenerate vertex: more than ``d`` rows tight), a
maximum within ``margin`` of :math:`b_k`, a walk longer than ``max_pivots``, a tiny pivot or an
ill-conditioned start basis — is left *open*: :func:`~lightning_poly.geometry.count_facets` decides
those rows with one exact HiGHS LP each (the reference criterion), so the count never rests on a
near-tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.geometry.faces.cleaning import check_polytopes

__all__ = ["SimplexFacets", "first_vertices", "simplex_facets"]


_FAR = 1e300  # slack of rows outside `keep`: never the nearest in a ratio test


@dataclass
class SimplexFacets:
    """Facets of ``R`` polytopes decided by :func:`simplex_facets`.

    Attributes:
        facet: ``(R, m)`` bool, rows proven facets.
        open: ``(R, m)`` bool, rows left undecided (to be decided by an exact LP).
        pivots: simplex pivots taken (the batch's longest walk).
        vertex_found: ``(R,)`` bool, polytopes whose first vertex was found (the others are all open).
        point: ``(R, m, d)`` with ``points=True``: for most facets a point of the facet's relative interior
            (tight on its row, slack on the others), NaN elsewhere; ``None`` otherwise. Points are
            candidates: a caller that relies on one re-checks its slacks.
        redundant: ``(R, m)`` rows proven redundant by a final basis (re-derived), ``None`` if not recorded.
        basis: ``(R, m, d)`` that basis (its multipliers for ``a_k`` are >= 0), e.g. for a certificate; also for
            the ``tie`` rows.
        tie: ``(R, m)`` open rows whose walk ended optimal with a maximum within ``margin`` of :math:`b_k` (a
            degenerate vertex: e.g. every hyperplane of a network without biases through the origin): their
            basis may prove them redundant exactly (:func:`~lightning_poly.geometry.faces.certified.exact_basis_redundant`).
    """

    facet: torch.Tensor
    open: torch.Tensor
    pivots: int
    vertex_found: torch.Tensor
    point: torch.Tensor | None = None
    redundant: torch.Tensor | None = None
    basis: torch.Tensor | None = None
    tie: torch.Tensor | None = None


def _record_points(
    point: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    keep: torch.Tensor,
    rr: torch.Tensor,
    v: torch.Tensor,
    basis: torch.Tensor,
    inv: torch.Tensor,
) -> None:
    """Points of facets from simple vertices, written into ``point`` ``(R, m, d)`` where it is still NaN.

    ``v`` ``(N, d)`` are simple vertices of the polytopes ``rr`` ``(N,)`` with tight rows ``basis`` ``(N, d)``
    and ``inv`` the inverse of those rows. For basis row ``i``: the direction that keeps row ``i`` tight and
    loosens the other basis rows at unit rate enters row ``i``'s facet; the point goes half way to the nearest
    other row along it (at most a unit step).
    """
    m, d = a.shape[1], a.shape[2]
    need = torch.isnan(point[rr[:, None].expand(-1, d), basis, 0])
    vi, col = torch.nonzero(need, as_tuple=True)
    if not len(vi):
        return
    reg, row = rr[vi], basis[vi, col]
    _, inv_key = torch.unique(reg * m + row, return_inverse=True)  # one point per (polytope, row)
    pos = torch.arange(len(vi), device=vi.device)
    first = torch.full((int(inv_key.max()) + 1,), len(vi), dtype=torch.long, device=vi.device)
    first.scatter_reduce_(0, inv_key, pos, reduce="amin")
    vi, col, reg, row = vi[first], col[first], reg[first], row[first]
    s = torch.full((len(vi), d), -1.0, dtype=a.dtype, device=a.device)
    s[torch.arange(len(vi), device=vi.device), col] = 0.0
    e = (inv[vi] @ s[..., None])[..., 0]  # a_B e = s
    ar = a[reg]
    rate = torch.einsum("pmd,pd->pm", ar, e)
    slack = b[reg] - torch.einsum("pmd,pd->pm", ar, v[vi])
    off = keep[reg].clone()
    off.scatter_(1, basis[vi], False)
    ok = off & (rate > 1e-12)
    ratio = torch.where(ok, slack.clamp_min(0) / torch.where(ok, rate, 1.0), torch.inf)
    step = (0.5 * ratio.amin(dim=1)).clamp_max(1.0)
    point[reg, row] = v[vi] + step[:, None] * e


@torch.no_grad()
def first_vertices(
    a: torch.Tensor,
    b: torch.Tensor,
    x0: torch.Tensor,
    keep: torch.Tensor,
    starts: int = 1,
    seed: int = 0,
    degeneracy_tol: float = 1e-9,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``starts`` simple vertices of every polytope: ``d`` ray shots from ``x0``, each in the null space of the rows hit.

    Args:
        a: ``(R, m, d)`` unit-norm rows.
        b: ``(R, m)`` offsets.
        x0: ``(R, d)`` interior points.
        keep: ``(R, m)`` rows to consider.
        starts: vertices per polytope (independent random rays).
        seed: seed of the ray directions.
        degeneracy_tol: a vertex counts only if every row off its basis has slack above this, and no two
            rows are hit within this of each other along a ray.

    Returns:
        ``(vertex, basis, found)``: ``(R, starts, d)`` points, ``(R, starts, d)`` indices of their tight
        rows, ``(R, starts)`` bool (``False`` where a tie, a zero step or a degenerate vertex was met;
        ``vertex`` is then meaningless).
    """
    check_int("starts", starts, minimum=1)
    check_polytopes(a, b, x0=x0, keep=keep)
    r, m, d = a.shape
    dev, dt = a.device, a.dtype
    g = torch.Generator(device=dev).manual_seed(int(seed))
    x = x0.to(a)[:, None, :].expand(r, starts, d).clone()
    basis = torch.zeros(r, starts, d, dtype=torch.long, device=dev)
    found = torch.ones(r, starts, dtype=torch.bool, device=dev)
    taken = (~keep)[:, None, :].expand(r, starts, m).clone()
    q = torch.zeros(r, starts, d, d, dtype=dt, device=dev)  # orthonormal basis of the rows hit so far
    at = a.mT
    big = torch.finfo(dt).max
    for t in range(d):
        u = torch.randn(r, starts, d, generator=g, dtype=dt, device=dev)
        for _ in range(2):  # Gram-Schmidt twice: the direction stays in the null space to rounding
            u = u - (q @ (q.mT @ u[..., None]))[..., 0]
        u = u / u.norm(dim=2, keepdim=True).clamp_min(1e-300)
        rate = torch.bmm(u, at)  # (R, V, m)
        slack = (b[:, None, :] - torch.bmm(x, at)).clamp_min(0)
        ok = ~taken & (rate > 1e-12)
        tt = torch.where(ok, slack / torch.where(ok, rate, 1.0), big)
        t1, hit = tt.min(dim=2)
        t2 = tt.scatter(2, hit[..., None], big).amin(dim=2)
        found &= (t1 < big) & (t2 - t1 > degeneracy_tol * (1 + t1)) & (t1 > degeneracy_tol)
        x = x + torch.where(found, t1, 0.0)[..., None] * u
        basis[..., t] = hit
        taken.scatter_(2, hit[..., None], True)
        row = torch.gather(a, 1, hit[..., None].expand(-1, -1, d))  # (R, V, d)
        for _ in range(2):
            row = row - (q @ (q.mT @ row[..., None]))[..., 0]
        q[..., t] = row / row.norm(dim=2, keepdim=True).clamp_min(1e-300)
    slack = b[:, None, :] - torch.bmm(x, at)
    off = keep[:, None, :].expand(r, starts, m).clone()
    off.scatter_(2, basis, False)
    found &= torch.where(off, slack, big).amin(dim=2) > degeneracy_tol
    return x, basis, found


def _pack(alive: torch.Tensor, reg: torch.Tensor, *state: torch.Tensor, width: int = 16) -> tuple[torch.Tensor, ...]:
    """Repack the live walks into rows of at most ``width`` slots, each row holding walks of one polytope.

    ``alive`` and ``reg`` are ``(P, L)`` (live slots, polytope of each slot; all slots of a row share it);
    every ``state`` tensor is ``(P, L, ...)``. Returns the repacked ``alive``, ``reg`` and states.
    """
    pr, pc = torch.nonzero(alive, as_tuple=True)  # row-major: the walks of one polytope stay together
    rid = reg[pr, pc]
    new_group = torch.ones_like(rid, dtype=torch.bool)
    new_group[1:] = rid[1:] != rid[:-1]
    group = torch.cumsum(new_group.long(), 0) - 1
    starts = torch.nonzero(new_group).flatten()
    rank = torch.arange(len(rid), device=rid.device) - starts[group]
    size = torch.diff(torch.cat([starts, starts.new_tensor([len(rid)])]))
    rows_per_group = (size + width - 1) // width
    offset = torch.cumsum(rows_per_group, 0) - rows_per_group
    row, col = offset[group] + rank // width, rank % width
    n_rows = int(rows_per_group.sum())
    packed_alive = torch.zeros(n_rows, width, dtype=torch.bool, device=alive.device)
    packed_alive[row, col] = True
    packed_reg = torch.zeros(n_rows, width, dtype=reg.dtype, device=reg.device)
    packed_reg[:] = rid[torch.searchsorted(row, torch.arange(n_rows, device=rid.device))][:, None]
    out = []
    for t in state:
        q = torch.zeros(n_rows, width, *t.shape[2:], dtype=t.dtype, device=t.device)
        q[row, col] = t[pr, pc]
        out.append(q)
    return (packed_alive, packed_reg, *out)


@torch.no_grad()
def simplex_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    x0: torch.Tensor,
    keep: torch.Tensor | None = None,
    margin: float = 1e-7,
    max_pivots: int = 200,
    starts: int = 8,
    seed: int = 0,
    points: bool = False,
) -> SimplexFacets:
    r"""Decide for every row of every polytope whether it is a facet (see the module docstring).

    Args:
        a: ``(R, m, d)`` unit-norm rows (from :func:`~lightning_poly.geometry.clean_rows`).
        b: ``(R, m)`` offsets.
        x0: ``(R, d)`` strictly interior points.
        keep: ``(R, m)`` rows to consider (duplicates and zero rows removed); default all.
        margin: a decision needs the row's maximum this far from :math:`b_k` (rows have unit norm: a
            distance); closer rows are left open.
        max_pivots: walks still running after this many pivots are left open.
        starts: vertices found per polytope (each by ``d`` ray shots); every walk starts at the one
            with the largest objective, which shortens the walks.
        seed: seed of the rays that find the first vertices.
        points: also return a point of most facets' relative interiors (from the simple vertices that proved
            them and from the witnesses), e.g. to step across a facet into the neighbouring region.

    Returns:
        :class:`SimplexFacets`.

    Example:
        >>> sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1], [0.6, 0.8]]], dtype=torch.float64)
        >>> res = simplex_facets(sq, torch.tensor([[1.0, 1, 1, 1, 5]], dtype=torch.float64), torch.zeros(1, 2))
        >>> res.facet.tolist(), res.open.any().item()
        ([[True, True, True, True, False]], False)
    """
    check_positive("margin", margin)
    check_int("max_pivots", max_pivots, minimum=1)
    check_int("starts", starts, minimum=1)
    check_polytopes(a, b, x0=x0, keep=keep)
    r, m, d = a.shape
    dev = a.device
    keep = torch.ones(r, m, dtype=torch.bool, device=dev) if keep is None else keep.to(dev)
    a, b = a.to(torch.float64), b.to(torch.float64)
    dt = a.dtype
    big = torch.finfo(dt).max
    # a pool of simple vertices per polytope; each walk starts at the one best for its objective
    verts, bases, ok = first_vertices(a, b, x0.to(a), keep, starts=starts, seed=seed)  # (R, V, d), (R, V, d), (R, V)
    safe = torch.where(ok[..., None], bases, torch.arange(d, device=dev))
    inv_pool, info = torch.linalg.inv_ex(
        torch.gather(a[:, None].expand(-1, starts, -1, -1), 2, safe[..., None].expand(-1, -1, -1, d))
    )
    conditioned = inv_pool.flatten(2).abs().amax(dim=2)
    ok &= (info == 0) & torch.isfinite(conditioned) & (conditioned < 1e8)  # an ill-conditioned basis is no start
    inv_pool = torch.where(ok[..., None, None], inv_pool, 0.0)
    found = ok.any(dim=1)
    facet = torch.zeros(r, m, dtype=torch.bool, device=dev)
    pr, pv = torch.nonzero(ok, as_tuple=True)
    facet[pr[:, None].expand(-1, d), bases[pr, pv]] = True  # a simple vertex's rows are facets
    point = torch.full((r, m, d), torch.nan, dtype=dt, device=dev) if points else None
    if point is not None and len(pr):
        _record_points(point, a, b, keep, pr, verts[pr, pv], bases[pr, pv], inv_pool[pr, pv])
    open_ = keep & ~found[:, None]
    redundant = torch.zeros(r, m, dtype=torch.bool, device=dev)
    final_basis = torch.zeros(r, m, d, dtype=torch.long, device=dev)  # of the walks that end optimal
    witness = torch.zeros(r, m, d, dtype=dt, device=dev)  # the points that prove facets
    by_witness = torch.zeros(r, m, dtype=torch.bool, device=dev)
    # one walk per (polytope, row k): row k's LP relaxes row k to b_k + 1
    alive = keep & found[:, None] & ~facet
    score = torch.where(ok[:, None, :], torch.einsum("rmd,rvd->rmv", a, verts), -torch.inf)
    start = score.argmax(dim=2)  # (R, m): the pool vertex with the largest a_k . v
    # every walk's first optimality test at its start, for all rows at once: most rows end here, and only the
    # others get a walk state (the slacks of every row are the largest part of it)
    start_inv = inv_pool[torch.arange(r, device=dev)[:, None], start]  # (R, m, d, d)
    lam0 = (a[..., None, :] @ start_inv)[..., 0, :]
    opt0 = alive & (lam0.amin(dim=2) >= -1e-12 * (1 + lam0.abs().amax(dim=2)))
    value0 = (torch.gather(verts, 1, start[..., None].expand(-1, -1, d)) * a).sum(dim=2)
    low0 = opt0 & (value0 <= b - margin)
    redundant |= low0
    final_basis[opt0] = torch.gather(bases, 1, start[..., None].expand(-1, -1, d))[opt0]
    tie = opt0 & ~low0  # optimal within the margin of b_k (a degenerate vertex): open, with its optimal basis
    open_ |= tie
    alive &= ~opt0
    rr, kk = torch.nonzero(alive, as_tuple=True)  # row-major: the walks of one polytope stay together
    st = start[rr, kk]
    # slacks of every walk's rows (row k relaxed by 1; rows not kept get a huge slack so no ratio test picks
    # them); basis rows are not tracked: their rate along an edge is 0 (or -1 for the row that leaves)
    slack_pool = torch.where(keep[:, None, :], b[:, None, :] - torch.einsum("rmd,rvd->rvm", a, verts), _FAR)
    slack = slack_pool[rr, st] + torch.nn.functional.one_hot(kk, m).to(dt)
    alive, reg, ks, v, basis, inv, slack = _pack(
        torch.ones(len(rr), 1, dtype=torch.bool, device=dev), rr[:, None], kk[:, None], verts[rr, st][:, None],
        bases[rr, st][:, None], inv_pool[rr, st][:, None], slack[:, None],
    )  # fmt: skip
    pivots = 0
    repack = True
    while alive.numel() and pivots < max_pivots:
        if repack:
            rid = reg[:, 0]  # every slot of a packed row belongs to one polytope
            ar, br = a[rid], b[rid]
            obj = torch.gather(ar, 1, ks[..., None].expand(-1, -1, d))  # (P, L, d): a_k
            bk = torch.gather(br, 1, ks)
            own_slot = ks[..., None]
        lam = (obj[..., None, :] @ inv)[..., 0, :]  # multipliers of each basis for objective a_k
        optimal = alive & (lam.amin(dim=2) >= -1e-12 * (1 + lam.abs().amax(dim=2)))
        value = (v * obj).sum(dim=2)
        low = optimal & (value <= bk - margin)
        redundant[reg[low], ks[low]] = True
        final_basis[reg[optimal], ks[optimal]] = basis[optimal]
        open_[reg[optimal & ~low], ks[optimal & ~low]] = True
        tie[reg[optimal & ~low], ks[optimal & ~low]] = True
        alive = alive & ~optimal
        # pivot: free a basis row with a negative multiplier, move along that edge
        p = lam.argmin(dim=2)  # Dantzig's rule (steepest edge took as many pivots here)
        e = -torch.gather(inv, 3, p[..., None, None].expand(-1, -1, d, 1))[..., 0]
        rate = torch.bmm(e, ar.mT)  # (P, L, m): a_i . e
        # (ties need no test of their own: a tie makes a degenerate vertex, whose next step is a zero
        # step, left open below; a walk through it stays correct, and `max_pivots` bounds any cycling)
        enorm = e.norm(dim=2)
        tt = (slack / rate).masked_fill_(rate <= 1e-12 * enorm[..., None], torch.inf)
        t1, enter = tt.min(dim=2)
        pivot = torch.gather(rate, 2, enter[..., None])[..., 0]
        degenerate = alive & ((t1 >= 1e100) | (t1 <= 1e-12) | (pivot <= 1e-9 * enorm))
        open_[reg[degenerate], ks[degenerate]] = True
        alive = alive & ~degenerate
        step = torch.where(alive, t1, 0.0)
        v = v + step[..., None] * e
        slack.addcmul_(step[..., None], rate, value=-1.0)
        # Sherman-Morrison: basis row p becomes row `enter`; 1 + u^T M e_p = -a_enter . e
        leave = torch.gather(basis, 2, p[..., None])[..., 0]
        u = torch.gather(ar, 1, enter[..., None].expand(-1, -1, d)) - torch.gather(
            ar, 1, leave[..., None].expand(-1, -1, d)
        )
        ut_m = (u[..., None, :] @ inv)[..., 0, :]
        scale = torch.where(alive, 1.0 / torch.where(alive, pivot, 1.0), 0.0)
        inv = inv - e[..., :, None] * ut_m[..., None, :] * scale[..., None, None]
        basis = torch.where(alive[..., None], basis.scatter(2, p[..., None], enter[..., None]), basis)
        value = (v * obj).sum(dim=2)
        # a point of the other rows above b_k: row k is a facet
        above = alive & (value > bk + margin)
        facet[reg[above], ks[above]] = True
        by_witness[reg[above], ks[above]] = True
        witness[reg[above], ks[above]] = v[above]
        alive = alive & ~above
        # free facets: a vertex of P where only its d basis rows are tight (slack of row k without relaxing)
        # (row k's own slack carries the relaxation + 1: its true slack must exceed the margin too)
        simple = alive & ((slack <= margin).sum(dim=2) == d) & (torch.gather(slack, 2, own_slot)[..., 0] > 1 + margin)
        hit = basis[simple]
        facet[reg[simple][:, None].expand(-1, d), hit] = True
        if point is not None and len(hit):
            _record_points(point, a, b, keep, reg[simple], v[simple], hit, inv[simple])
        alive = alive & ~facet[reg, ks]
        pivots += 1
        live = int(alive.sum())
        if live == 0:
            break
        repack = live < 0.8 * alive.numel()  # packing costs a copy of the state: only when a fifth is idle
        if repack:
            alive, reg, ks, v, basis, inv, slack = _pack(alive, reg, ks, v, basis, inv, slack)
    if alive.numel():
        open_[reg[alive], ks[alive]] = True  # walks longer than max_pivots
    # re-derive every redundancy and witness from scratch (no update error in what is returned). A basis B
    # with multipliers lam >= 0 for a_k bounds the maximum by lam . b_B = a_k . A_B^-1 b_B (weak duality: no
    # primal feasibility needed); a witness must satisfy every other row.
    rr, rk = torch.nonzero(redundant & ~facet, as_tuple=True)
    if len(rr):
        rows = a[rr[:, None], final_basis[rr, rk]]  # (n, d, d)
        lam = torch.linalg.solve(rows.mT, a[rr, rk])
        vert = torch.linalg.solve(rows, b[rr[:, None], final_basis[rr, rk]])
        good = (lam.amin(dim=1) >= -1e-9) & ((a[rr, rk] * vert).sum(dim=1) <= b[rr, rk] - margin / 2)
        open_[rr[~good], rk[~good]] = True
        redundant[rr[~good], rk[~good]] = False
    if bool(by_witness.any()):
        slack_w = b[:, None, :] - torch.bmm(witness, a.mT)  # (R, m, m): row j's slack at row k's witness
        slack_w = torch.where(keep[:, None, :] & ~torch.eye(m, dtype=torch.bool, device=dev), slack_w, big)
        own = (a * witness).sum(dim=2) - b
        good = (slack_w.amin(dim=2) >= -1e-9) & (own > margin / 2)
        bad = by_witness & ~good
        facet &= ~bad
        open_ |= bad
        if point is not None:  # where row k's witness is: the segment from x0 crosses row k inside its facet
            wr, wk = torch.nonzero(by_witness & good & torch.isnan(point[..., 0]), as_tuple=True)
            x = x0.to(a)[wr]
            ak = a[wr, wk]
            t = (b[wr, wk] - (ak * x).sum(dim=1)) / (own[wr, wk] + b[wr, wk] - (ak * x).sum(dim=1))
            point[wr, wk] = x + t[:, None] * (witness[wr, wk] - x)
    open_ &= keep & ~facet & ~redundant
    return SimplexFacets(facet & keep, open_, pivots, found, point, redundant & keep & ~facet, final_basis, tie & open_)
