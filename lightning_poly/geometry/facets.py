r"""Exact facet counts of polytopes :math:`\{x : A x \le b\}`: which inequalities are non-redundant.

The number of faces of a linear region is its number of non-redundant inequalities
(face-histogram paper, Preliminary 5). Three exact methods share one preprocessing and one result:

* ``"reference"`` — one LP per inequality with HiGHS through :func:`scipy.optimize.linprog`: row
  :math:`i` is a facet iff some point makes it tight while every other row holds strictly,
  :math:`\max\{t : a_i x = b_i,\ a_j x + t \le b_j\ (j \ne i),\ t \le 1\} > \text{tol}`.
  The oracle for the tests and the baseline of the benchmark.
* ``"qhull"`` — low dimension: from an interior point :math:`x_0`, polarity turns halfspace
  intersection into a convex hull: row :math:`i` is a facet iff the dual point
  :math:`a_i / (b_i - a_i x_0)` is a vertex of the dual points' convex hull (Qhull).
* ``"clarkson"`` — higher dimension, output-sensitive (Clarkson 1994): batched certificates and
  hit-and-run rays first certify most facets of all polytopes at once (tensor ops, see
  :mod:`~lightning_poly.geometry.hit_and_run`); a bounding box of each polytope (``2d`` LPs) discards
  the rows that cannot reach it; each remaining row is tested by one LP over the *known facets plus
  that row*, and when that LP says "not redundant", a ray towards its optimum finds a new facet.
  LPs are of size (#facets + 1) instead of #rows, and far fewer than one per row.

* ``"simplex"`` — higher dimension, all polytopes at once: the one-LP-per-row test of
  :math:`\max\{a_i x : a_j x \le b_j\ (j \ne i)\}` solved for every row of every polytope by a
  batched primal simplex method in torch (:mod:`~lightning_poly.geometry.simplex_facets`): walks start
  at simple vertices found by ray shots, stop at a witness point or an optimal basis, and every simple
  vertex they meet proves its ``d`` rows facets. A row whose maximum lies within
  ``max(1e-7, 100 tol)`` of :math:`b_i`, or that meets a degenerate vertex, is decided by the
  reference's exact LP instead; a polytope without a simple vertex found goes to ``clarkson``.

``method="auto"`` takes ``qhull`` for ``d <= 6`` (and ``clarkson`` if Qhull reports a precision
error), ``simplex`` above (measured in ``benchmarks/faces.py`` against pycddlib).

Preprocessing and degeneracy (tolerances are arguments; rows are normalised to unit :math:`\|a_i\|`
so ``tol`` is a distance):

* zero rows (dead neurons, :math:`\|a_i\| \le` ``zero_tol``) are redundant when :math:`b_i \ge 0`;
  with :math:`b_i < 0` the polytope is empty (status ``"infeasible"``);
* duplicate rows count once, the first is kept: rows :math:`(a_i, b_i)/\|a_i\|` closer than
  ``dup_tol`` times their size (at least 1), measured by direct differences so that identical rows
  are at distance exactly 0; scaled copies of a neuron, with either sign, give the same normalised
  row and merge too. Without the merge both copies look redundant to a one-LP-per-row test (each is
  implied by the other) and rounding can pass both through a certificate;
* certificates carry a margin: the batched certificates and rays of ``clarkson`` (and the
  estimator) record a row only at a point where every other row has slack above a margin, so two
  nearly equal rows are never both counted;
* parallel rows with different offsets need nothing special (the looser one is redundant);
* near-tangent hyperplanes: a row is a facet only if it can be made tight with slack ``> tol`` on
  all the others, i.e. the facet has inradius above ``tol`` in its hyperplane;
* a polytope whose largest inscribed ball has radius ``<= interior_tol`` has an empty interior
  (status ``"empty_interior"``, count 0, excluded from histograms);
* unbounded directions: region H-representations carry the box rows, so every polytope is bounded;
  an unbounded input is reported by the LP status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import torch
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, QhullError

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.geometry.hit_and_run import certify_facets, check_polytopes, hit_and_run_facets
from lightning_poly.geometry.simplex_facets import simplex_facets
from lightning_poly.solvers.lp import IncrementalLP, LPFailure, maximize

__all__ = ["FACET_METHODS", "FacetCounts", "FacetMethod", "clean_rows", "count_facets", "interior_points"]

FacetMethod = Literal["auto", "reference", "qhull", "clarkson", "simplex"]
FACET_METHODS: tuple[str, ...] = get_args(FacetMethod)  # the one list of exact methods, from the Literal
QHULL_MAX_DIM = 10  # Qhull on the dual points in more dimensions can run for hours
STATUS = ("ok", "empty_interior", "infeasible")


def check_qhull_dim(method: str, d: int) -> None:
    """Refuse ``method="qhull"`` above :data:`QHULL_MAX_DIM` dimensions, before any work is done."""
    if method == "qhull" and d > QHULL_MAX_DIM:
        raise ValueError(
            f"`method` 'qhull' counts in at most {QHULL_MAX_DIM} dimensions (a hull's size grows exponentially with "
            f"d), got d = {d}; use 'simplex' or 'auto'"
        )


@dataclass
class FacetCounts:
    """Facets of ``R`` polytopes.

    Attributes:
        counts: ``(R,)`` number of facets (0 where ``status != "ok"``).
        facets: ``(R, m)`` bool, which rows are facets (one row per duplicate group).
        status: ``(R,)`` index into :data:`STATUS` (``"ok"``, ``"empty_interior"``, ``"infeasible"``).
        method: ``(R,)`` method that produced each count (``"reference"``, ``"qhull"``, ``"clarkson"``).
        lps: total number of LPs solved (interior-point LPs included).
        notes: human-readable notes on degeneracies met (duplicates, zero rows, fallbacks).
    """

    counts: torch.Tensor
    facets: torch.Tensor
    status: torch.Tensor
    method: list[str]
    lps: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> torch.Tensor:
        """``(R,)`` bool: polytopes with a proper interior."""
        return self.status == 0


@torch.no_grad()
def clean_rows(
    a: torch.Tensor, b: torch.Tensor, zero_tol: float = 1e-12, dup_tol: float = 1e-9, chunk: int = 256
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, int]]:
    """Normalise rows, drop zero rows and duplicates (batched over polytopes).

    Args:
        a: ``(R, m, d)`` rows of ``R`` polytopes.
        b: ``(R, m)`` offsets.
        zero_tol: rows with a norm at most this are zero rows.
        dup_tol: normalised rows closer than this are duplicates.
        chunk: polytopes per batch of the duplicate search.

    Returns:
        ``(a_n, b_n, keep, infeasible, stats)``: unit-norm rows, ``(R, m)`` mask of the rows kept,
        ``(R,)`` polytopes proven empty by a zero row with ``b < 0``, and counts of what was dropped.

    Example:
        >>> a = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
        >>> b = torch.tensor([[1.0, 2.0, 0.5, 1.0]], dtype=torch.float64)
        >>> _, _, keep, bad, stats = clean_rows(a, b)
        >>> keep.tolist(), bad.tolist(), stats
        ([[True, False, False, True]], [False], {'zero_rows': 1, 'duplicates': 1})
    """
    check_polytopes(a, b)
    norm = a.norm(dim=2)
    zero = norm <= zero_tol
    infeasible = (zero & (b < -zero_tol)).any(dim=1)
    scale = torch.where(zero, 1.0, norm)
    a_n, b_n = a / scale[..., None], b / scale
    keep = ~zero
    v = torch.cat([a_n, b_n[..., None]], dim=2)
    dup = _later_duplicates(v, keep, dup_tol, chunk)
    keep &= ~dup
    dup_total = int(dup.sum())
    return a_n, b_n, keep, infeasible, {"zero_rows": int(zero.sum()), "duplicates": dup_total}


def _later_duplicates(v: torch.Tensor, nonzero: torch.Tensor, dup_tol: float, chunk: int) -> torch.Tensor:
    """``(R, m)``: row ``i`` has a nonzero row ``j < i`` with ``|v_i - v_j| <= dup_tol max(|v_i|, |v_j|, 1)``.

    Sort and sweep instead of all ``m^2`` distances: a random unit direction ``r`` gives every row the key
    ``v r``, and ``|v_i r - v_j r| <= |v_i - v_j|``, so every close pair lies within ``dup_tol`` times the
    largest size (plus the keys' rounding) of each other in key order. The sweep compares each row with
    the rows ``1, 2, ...`` places before it in key order while any such gap is that small (one step for
    rows in general position, the size of the largest group of copies otherwise) and decides each
    candidate pair by its direct difference (identical rows are at distance exactly 0, as the
    all-pairs search with direct differences decides them). ``O(m log m + m d)`` per polytope against
    ``O(m^2 d)``: 9,612 rows of 785 columns take milliseconds instead of a minute.
    """
    out = torch.zeros(v.shape[:2], dtype=torch.bool, device=v.device)
    r_, m, dp1 = v.shape
    if m < 2:
        return out
    direction = torch.randn(dp1, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(v)
    direction = direction / direction.norm()
    size = v.norm(dim=2).clamp_min(1.0)
    # the keys' rounding: |fl(v r) - v r| <= (d + 1) eps |v| |r| for each key, twice for a gap
    slack = 2 * (dp1 + 1) * torch.finfo(v.dtype).eps
    for sl in torch.arange(r_, device=v.device).split(chunk):
        vs, sz, nz = v[sl], size[sl], nonzero[sl]
        key = torch.where(nz, vs @ direction, torch.inf)  # zero rows sort last and never pair
        sk, order = key.sort(dim=1)
        s_sz = sz.gather(1, order)
        widest = ((dup_tol + slack) * sz.masked_fill(~nz, 0.0).amax(dim=1))[:, None]  # (n, 1)
        for k in range(1, m):
            gap = sk[:, k:] - sk[:, :-k]
            near = gap <= widest  # inf - inf is nan: never near
            if not bool(near.any()):
                break
            pair_tol = (dup_tol + slack) * torch.maximum(s_sz[:, k:], s_sz[:, :-k])
            rr, p = torch.nonzero(near & (gap <= pair_tol), as_tuple=True)
            if rr.numel() == 0:
                continue
            i, j = order[rr, p + k], order[rr, p]
            dist = (vs[rr, i] - vs[rr, j]).norm(dim=1)
            close = dist <= dup_tol * torch.maximum(sz[rr, i], sz[rr, j])
            later = torch.maximum(i, j)
            out[sl[rr[close]], later[close]] = True
    return out


def _chebyshev(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and radius of the largest ball in ``{a x <= b}`` (rows unit norm), radius capped at 1e3."""
    d = a.shape[1]
    a_ub = np.hstack([a, np.ones((a.shape[0], 1))])
    c = np.zeros(d + 1)
    c[-1] = 1.0
    upper = np.full(d + 1, np.inf)
    upper[-1] = 1e3
    val, x = maximize(c, a_ub, b, upper=upper)
    return x[:d], val


@torch.no_grad()
def interior_points(
    a_n: torch.Tensor,
    b_n: torch.Tensor,
    keep: torch.Tensor,
    candidates: torch.Tensor | None = None,
    interior_tol: float = 1e-9,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """An interior point of every polytope: the candidate if it is deep enough, else the Chebyshev centre.

    Args:
        a_n: ``(R, m, d)`` unit-norm rows (from :func:`clean_rows`).
        b_n: ``(R, m)`` their offsets.
        keep: ``(R, m)`` rows to consider.
        candidates: ``(R, d)`` points to try first (e.g. the points that found each region).
        interior_tol: a candidate deeper than this is kept.

    Returns:
        ``(x0, depth, n_lps)``: points ``(R, d)``, their distance to the nearest kept row, LPs solved.
    """
    if a_n.ndim != 3:
        raise ValueError(f"`a_n` must be (R, m, d) (a batch of constraint matrices), got shape {tuple(a_n.shape)}")
    r, m, d = a_n.shape
    for name, t, dims, shape in (("b_n", b_n, "(R, m)", (r, m)), ("keep", keep, "(R, m)", (r, m))) + (
        (("candidates", candidates, "(R, d)", (r, d)),) if candidates is not None else ()
    ):
        if tuple(t.shape) != shape:
            raise ValueError(f"`{name}` must be {dims} = {shape} for `a_n` {tuple(a_n.shape)}, got {tuple(t.shape)}")
    x0 = torch.zeros(r, d, dtype=a_n.dtype, device=a_n.device) if candidates is None else candidates.to(a_n)
    slack = b_n - torch.einsum("rmd,rd->rm", a_n, x0)
    depth = torch.where(keep, slack, torch.inf).min(dim=1).values
    need = torch.nonzero(depth <= max(interior_tol, 1e-7)).flatten().tolist()
    for i in need:
        rows = keep[i].cpu().numpy()
        try:
            xc, rad = _chebyshev(a_n[i][keep[i]].cpu().numpy(), b_n[i][keep[i]].cpu().numpy())
        except LPFailure:
            xc, rad = np.zeros(d), -np.inf
        if rows.any():
            x0[i] = torch.as_tensor(xc, dtype=a_n.dtype)
            depth[i] = rad
    return x0, depth, len(need)


# -- one polytope at a time (Qhull and LPs are not batchable); inputs are cleaned numpy arrays -----
def _reference(a: np.ndarray, b: np.ndarray, tol: float) -> tuple[np.ndarray, int]:
    m, d = a.shape
    facet = np.zeros(m, dtype=bool)
    for i in range(m):
        others = np.delete(np.arange(m), i)
        a_ub = np.hstack([a[others], np.ones((m - 1, 1))])
        a_eq = np.hstack([a[i], [0.0]])[None]
        c = np.zeros(d + 1)
        c[-1] = -1.0  # linprog minimises
        res = linprog(
            c, A_ub=a_ub, b_ub=b[others], A_eq=a_eq, b_eq=b[i : i + 1],
            bounds=[(None, None)] * d + [(None, 1.0)], method="highs",
        )  # fmt: skip
        facet[i] = res.status == 0 and -res.fun > tol
    return facet, m


def _qhull(a: np.ndarray, b: np.ndarray, x0: np.ndarray) -> np.ndarray:
    # Halfspace intersection by duality: the non-redundant halfspaces are the extreme points of the
    # dual points a_i / (b_i - a_i x0). (Qhull's own HalfspaceIntersection.dual_vertices fails on
    # non-simple vertices such as a cone's apex; the convex hull of the dual points does not.)
    dual = a / (b - a @ x0)[:, None]
    facet = np.zeros(a.shape[0], dtype=bool)
    facet[ConvexHull(dual).vertices] = True
    return facet


def _first_hit(a: np.ndarray, slack: np.ndarray, u: np.ndarray, tie_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For rays ``x0 + t u`` (rows of ``u``): index of the first row hit and whether it is unique."""
    rate = u @ a.T  # (k, m)
    t = np.where(rate > 1e-14, slack[None] / np.where(rate > 1e-14, rate, 1.0), np.inf)
    order = np.argsort(t, axis=1)[:, :2]
    t1 = np.take_along_axis(t, order[:, :1], 1)[:, 0]
    t2 = np.take_along_axis(t, order[:, 1:2], 1)[:, 0] if t.shape[1] > 1 else np.full(len(t), np.inf)
    unique = np.isfinite(t1) & (t2 - t1 > tie_tol * np.maximum(1.0, t1))
    return order[:, 0], unique


def _clarkson(a: np.ndarray, b: np.ndarray, x0: np.ndarray, tol: float, known: np.ndarray) -> tuple[np.ndarray, int]:
    """Clarkson's redundancy removal seeded with ``known`` (certain) facets; returns (facets, LPs).

    One HiGHS model holds the facets found so far and a candidate slot (:class:`IncrementalLP`): each
    row's LP replaces the candidate and starts from the last optimal basis instead of a new model.
    """
    m, d = a.shape
    slack = b - a @ x0
    facet = known.copy()
    decided = facet.copy()
    # bounding box of P itself (2d LPs): a row whose maximum over the box stays below its offset is
    # redundant; regions are small, so this removes most rows without an LP of their own
    lo, hi, lps = _bounding_box(a, b)
    reach = (np.where(a > 0, a * hi, 0.0) + np.where(a < 0, a * lo, 0.0)).sum(axis=1)
    decided |= reach <= b - tol
    lp = IncrementalLP(d)
    lp.add_rows(a[facet], b[facet])
    for i in range(m):
        while not decided[i]:
            lp.set_candidate(a[i], b[i] + 1.0)
            try:
                val, x = lp.maximize(a[i])
            except LPFailure:  # numerically hard: decide row i with the full LP
                facet[i] = decided[i] = _full_lp_is_facet(a, b, i, tol)
                decided[i] = True
                lps += 2
                break
            lps += 1
            if val <= b[i] + tol:
                decided[i] = True  # redundant w.r.t. a subset, hence w.r.t. all rows
                break
            hit, unique = _first_hit(a, slack, (x - x0)[None], 1e-9)
            j = int(hit[0])
            if not unique[0] or facet[j]:
                # the ray met a lower-dimensional face: decide row i with one full LP
                facet[i] = _full_lp_is_facet(a, b, i, tol)
                lps += 1
                decided[i] = True
            else:
                facet[j] = decided[j] = True
                lp.add_rows(a[j : j + 1], b[j : j + 1])
    return facet, lps


def _bounding_box(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    d = a.shape[1]
    lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
    lp = IncrementalLP(d)
    lp.add_rows(a, b)
    for k in range(d):
        e = np.zeros(d)
        e[k] = 1.0
        try:
            hi[k] = lp.maximize(e)[0]
            lo[k] = -lp.maximize(-e)[0]
        except LPFailure:  # unbounded along k: keep the infinite bound
            pass
    return lo, hi, 2 * d


def _full_lp_is_facet(a: np.ndarray, b: np.ndarray, i: int, tol: float) -> bool:
    m, d = a.shape
    others = np.delete(np.arange(m), i)
    a_ub = np.hstack([a[others], np.ones((m - 1, 1))])
    c = np.zeros(d + 1)
    c[-1] = 1.0
    upper = np.full(d + 1, np.inf)
    upper[-1] = 1.0
    try:
        val, _ = maximize(c, a_ub, b[others], a_eq=np.hstack([a[i], [0.0]])[None], b_eq=b[i : i + 1], upper=upper)
    except LPFailure:
        return False
    return val > tol


@torch.no_grad()
def count_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    method: FacetMethod = "auto",
    interior: torch.Tensor | None = None,
    tol: float = 1e-9,
    interior_tol: float = 1e-9,
    dup_tol: float = 1e-9,
    ray_patience: int = 200,
    seed: int = 0,
    certify: bool = True,
    simplex_memory: int = 2**28,
) -> FacetCounts:
    r"""Count the facets (non-redundant rows) of the polytopes :math:`\{x : a_r x \le b_r\}`.

    Args:
        a: ``(R, m, d)`` or ``(m, d)`` constraint matrices.
        b: ``(R, m)`` or ``(m,)`` right-hand sides.
        method: ``"auto"``, ``"reference"``, ``"qhull"``, ``"clarkson"`` or ``"simplex"`` (see the module
            docstring).
        interior: optional ``(R, d)`` candidate interior points (e.g. the samples that found the
            regions); used when at distance ``> 1e-7`` from every hyperplane, else replaced by the
            Chebyshev centre (one LP).
        tol: a row is a facet if it can be made tight with slack ``> tol`` on the others.
        interior_tol: polytopes with inradius ``<= interior_tol`` are reported ``"empty_interior"``.
        dup_tol: rows equal within this (after normalisation) count once.
        ray_patience: ``clarkson`` first certifies facets for all polytopes at once (batched
            certificates, then hit-and-run rays with this patience); LPs run only on the rest.
        seed: seed of those rays.
        certify: run those batched certificates and rays before the LPs of ``clarkson``. They pay off
            on many polytopes at once; for a few, the LPs alone are faster.
        simplex_memory: bytes of walk state of ``simplex`` per batch of polytopes (the batch is
            split to stay below it).

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]], dtype=torch.float64)
        >>> count_facets(sq, torch.tensor([1.0, 1, 1, 1, 5], dtype=torch.float64)).counts.tolist()
        [4]
    """
    check_choice("method", method, FACET_METHODS)
    check_positive("tol", tol)
    check_int("simplex_memory", simplex_memory, minimum=1)
    single = a.ndim == 2
    if single:
        a, b = a[None], b[None]
        interior = None if interior is None else interior[None]
    if a.ndim != 3 or b.shape != a.shape[:2]:
        raise ValueError(f"`a` must be (R, m, d) and `b` (R, m), got {tuple(a.shape)} and {tuple(b.shape)}")
    check_qhull_dim(method, a.shape[2])
    a64, b64 = a.detach().cpu().double(), b.detach().cpu().double()
    if not (torch.isfinite(a64).all() and torch.isfinite(b64).all()):
        raise ValueError("`a` and `b` must be finite")
    r, m, d = a64.shape
    a_n, b_n, keep, infeasible, stats = clean_rows(a64, b64, dup_tol=dup_tol)
    x0, depth, lps = interior_points(a_n, b_n, keep, interior, interior_tol)
    status = torch.zeros(r, dtype=torch.long)
    status[depth <= interior_tol] = 1
    status[infeasible] = 2
    facets = torch.zeros(r, m, dtype=torch.bool)
    methods: list[str] = []
    notes = [f"{v} {k.replace('_', ' ')} dropped" for k, v in stats.items() if v]
    fallbacks = fallbacks_simplex = 0
    known = torch.zeros(r, m, dtype=torch.bool)
    if certify and method == "clarkson":
        # certain facets for all polytopes at once (batched tensor ops): certificates + rays
        ok = status == 0
        if bool(ok.any()):
            idx = torch.nonzero(ok).flatten()
            known[idx] = certify_facets(a_n[idx], b_n[idx], x0[idx], keep[idx])
            known[idx] |= hit_and_run_facets(
                a_n[idx], b_n[idx], x0[idx], keep[idx], patience=ray_patience, seed=seed
            ).found
    a_np, b_np, keep_np, x0_np = a_n.numpy(), b_n.numpy(), keep.numpy(), x0.numpy()
    no_vertex = torch.zeros(r, dtype=torch.bool)
    if method == "simplex" or (method == "auto" and d > 6):
        # every row of every polytope at once; the rows it leaves open get one exact LP each, and polytopes
        # without a simple vertex go to Clarkson's LPs below
        ok = torch.nonzero(status == 0).flatten()
        per_region = 8 * m * (m + d * d + 3 * d)  # bytes of walk state per polytope
        for sl in ok.split(max(1, simplex_memory // per_region)):
            res = simplex_facets(a_n[sl], b_n[sl], x0[sl], keep[sl], margin=max(1e-7, 100 * tol), seed=seed)
            facets[sl] = res.facet
            no_vertex[sl] = ~res.vertex_found
            for k, j in torch.nonzero(res.open & res.vertex_found[:, None]).tolist():
                i = int(sl[k])
                rows = np.flatnonzero(keep_np[i])
                facets[i, j] = _full_lp_is_facet(a_np[i, rows], b_np[i, rows], int(np.searchsorted(rows, j)), tol)
                lps += 1
    for i in range(r):
        chosen = ("qhull" if d <= 6 else "simplex") if method == "auto" else method
        if status[i] != 0 or (chosen == "simplex" and not bool(no_vertex[i])):
            methods.append(chosen)
            continue
        if chosen == "simplex":  # no simple vertex found (degenerate polytope): Clarkson's LPs
            chosen, fallbacks_simplex = "clarkson", fallbacks_simplex + 1
        rows = np.flatnonzero(keep_np[i])
        ai, bi = a_np[i, rows], b_np[i, rows]
        if chosen == "reference":
            f, n = _reference(ai, bi, tol)
            lps += n
        elif chosen == "qhull":
            try:
                f = _qhull(ai, bi, x0_np[i])
            except QhullError:
                if method == "qhull":
                    raise
                chosen, fallbacks = "clarkson", fallbacks + 1
        if chosen == "clarkson":
            f, n = _clarkson(ai, bi, x0_np[i], tol, known[i, rows].numpy())
            lps += n
        facets[i, torch.as_tensor(rows)] = torch.as_tensor(f)
        methods.append(chosen)
    if fallbacks:
        notes.append(f"Qhull failed on {fallbacks} polytopes; counted by clarkson instead")
    if fallbacks_simplex:
        notes.append(f"no simple vertex found on {fallbacks_simplex} polytopes; counted by clarkson instead")
    n_empty = int((status == 1).sum())
    if n_empty:
        notes.append(f"{n_empty} polytopes have an empty interior (inradius <= {interior_tol}); count 0")
    counts = facets.sum(dim=1)
    return FacetCounts(counts, facets, status, methods, lps, notes)
