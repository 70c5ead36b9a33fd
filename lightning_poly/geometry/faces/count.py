"""The face count: one dispatcher over the methods (see the package docstring), their names listed once."""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import torch
from scipy.spatial import QhullError

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.geometry.faces.certified import exact_basis_redundant
from lightning_poly.geometry.faces.clarkson import clarkson_facets
from lightning_poly.geometry.faces.cleaning import clean_rows, interior_points
from lightning_poly.geometry.faces.estimate import estimate_facets
from lightning_poly.geometry.faces.lp import _full_lp_is_facet, _reference
from lightning_poly.geometry.faces.qhull import _qhull, check_qhull_dim
from lightning_poly.geometry.faces.rays import certify_facets, hit_and_run_facets
from lightning_poly.geometry.faces.result import STATUS, FacetCounts, polytope_status
from lightning_poly.geometry.faces.simplex import simplex_facets

__all__ = [
    "simplex_exact",
    "FACET_METHODS",
    "FACE_METHODS",
    "STATUS",
    "FaceMethod",
    "FacetCounts",
    "FacetMethod",
    "count_faces",
    "count_facets",
]


FacetMethod = Literal["auto", "reference", "qhull", "clarkson", "simplex"]


FACET_METHODS: tuple[str, ...] = get_args(FacetMethod)  # the one list of exact methods, from the Literal
FaceMethod = Literal[FacetMethod, "estimate"]
FACE_METHODS: tuple[str, ...] = get_args(FaceMethod)  # the exact methods and the estimator, from the Literal


@torch.no_grad()
def simplex_exact(
    a_n: torch.Tensor,
    b_n: torch.Tensor,
    keep: torch.Tensor,
    x0: torch.Tensor,
    ok: torch.Tensor,
    tol: float,
    seed: int = 0,
    memory: int = 2**28,
    points: bool = False,
    certificates: dict[str, torch.Tensor] | None = None,
    lp_open: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, int, torch.Tensor | None]:
    """The ``"simplex"`` method on cleaned rows (on their device): :func:`simplex_facets` in batches of at most
    ``memory`` bytes of walk state over the polytopes ``ok``, then one exact LP (HiGHS, on the CPU) per row it
    left open.

    Returns:
        ``(facets, no_vertex, lps, point)``: ``(R, m)`` bool, ``(R,)`` bool polytopes without a simple vertex
        (their rows undecided: the caller counts them another way), LPs solved, and with ``points`` the
        ``(R, m, d)`` facet points of :class:`~lightning_poly.geometry.faces.simplex.SimplexFacets` (else ``None``).
        A ``certificates`` dict receives ``"redundant"`` ``(R, m)`` and ``"basis"`` ``(R, m, d)``: the rows the
        walks proved redundant and their final bases (rows decided by an LP have none). With ``lp_open=False``
        the open rows get no LP: they are left ``False`` and listed in ``certificates["open"]``, for a caller that
        decides them in exact arithmetic (:func:`~lightning_poly.geometry.faces.certified.certify_facets`).
    """
    if not lp_open and certificates is None:
        raise ValueError("`lp_open=False` leaves the open rows to the caller: it needs `certificates`, got None")
    r, m, d = a_n.shape
    facets = torch.zeros(r, m, dtype=torch.bool, device=a_n.device)
    no_vertex = torch.zeros(r, dtype=torch.bool, device=a_n.device)
    point = torch.full((r, m, d), torch.nan, dtype=a_n.dtype, device=a_n.device) if points else None
    lps = 0
    if certificates is not None:
        certificates["redundant"] = torch.zeros(r, m, dtype=torch.bool, device=a_n.device)
        certificates["basis"] = torch.zeros(r, m, d, dtype=torch.long, device=a_n.device)
        certificates["tie"] = torch.zeros(r, m, dtype=torch.bool, device=a_n.device)
        certificates["open"] = torch.zeros(r, m, dtype=torch.bool, device=a_n.device)
    idx = torch.nonzero(ok).flatten()
    per_region = 8 * m * (m + d * d + 3 * d) * (2 if points else 1)  # bytes of walk state per polytope
    for sl in idx.split(max(1, memory // per_region)):
        res = simplex_facets(a_n[sl], b_n[sl], x0[sl], keep[sl], margin=max(1e-7, 100 * tol), seed=seed, points=points)
        facets[sl] = res.facet
        no_vertex[sl] = ~res.vertex_found
        if point is not None and res.point is not None:
            point[sl] = res.point
        if certificates is not None and res.redundant is not None and res.basis is not None:
            certificates["redundant"][sl], certificates["basis"][sl] = res.redundant, res.basis
            certificates["tie"][sl] = res.tie
            certificates["open"][sl] = res.open & res.vertex_found[:, None]
        if not lp_open:
            continue
        a_np, b_np, basis_np = a_n.cpu().numpy(), b_n.cpu().numpy(), res.basis.cpu().numpy()
        tie = res.tie.cpu().numpy()
        for k, j in torch.nonzero(res.open & res.vertex_found[:, None]).tolist():
            i = int(sl[k])
            if tie[k, j]:  # optimal at a degenerate vertex: its basis may prove the redundancy exactly, no LP
                rows_b = basis_np[k, j]
                if exact_basis_redundant(a_np[i, rows_b], b_np[i, rows_b], a_np[i, j], float(b_np[i, j])):
                    continue
            rows = torch.nonzero(keep[i]).flatten()
            ai, bi = a_n[i, rows].cpu().numpy(), b_n[i, rows].cpu().numpy()
            facets[i, j] = _full_lp_is_facet(ai, bi, int((rows < j).sum()), tol)
            lps += 1
    return facets, no_vertex, lps, point


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
    status = polytope_status(depth, infeasible, interior_tol)
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
        facets, no_vertex, n_lps, _ = simplex_exact(a_n, b_n, keep, x0, status == 0, tol, seed, simplex_memory)
        lps += n_lps
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
            f, n = clarkson_facets(ai, bi, x0_np[i], tol, known[i, rows].numpy())
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


def count_faces(
    a: torch.Tensor,
    b: torch.Tensor,
    method: FaceMethod = "auto",
    interior: torch.Tensor | None = None,
    *,
    seed: int = 0,
    patience: int = 1000,
    max_rays: int = 100_000,
    deadline: float | None = None,
) -> FacetCounts:
    r"""The faces of the polytopes :math:`\{x : a_r x \le b_r\}` by any method: an exact one of
    :func:`count_facets` (on the CPU) or ``"estimate"``, the rays' lower bounds of
    :func:`~lightning_poly.geometry.faces.estimate.estimate_facets` (on ``a``'s device).

    Args:
        a: ``(R, m, d)`` rows.
        b: ``(R, m)`` offsets.
        method: one of :data:`FACE_METHODS`.
        interior: ``(R, d)`` candidate interior points, or ``None``.
        seed: seed of the rays (both the estimator's and Clarkson's).
        patience: the estimator's stopping rule: rays without a new facet.
        max_rays: the estimator's most rays per polytope.
        deadline: a ``time.perf_counter()`` value at which the estimator's rays stop (exact methods ignore it).

    Example:
        >>> sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]]], dtype=torch.float64)
        >>> b = torch.tensor([[1.0, 1, 1, 1, 5]], dtype=torch.float64)
        >>> count_faces(sq, b).counts.tolist(), count_faces(sq, b, "estimate", patience=200).counts.tolist()
        ([4], [4])
    """
    check_choice("method", method, FACE_METHODS)
    if method == "estimate":
        return estimate_facets(a, b, interior, patience=patience, max_rays=max_rays, seed=seed, deadline=deadline)
    return count_facets(a, b, method=method, interior=interior, seed=seed)  # type: ignore[arg-type]
