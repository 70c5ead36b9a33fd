"""The face estimator (face-histogram paper, Preliminary 5 and Section V.C): hit-and-run rays from an interior
point, each first hit a facet, plus the batched certificates where they are affordable. Lower bounds: every row
counted is certified with a margin, no redundant row is ever counted."""

from __future__ import annotations

import time

import torch

from lightning_poly._validation import check_int
from lightning_poly.geometry.faces.cleaning import clean_rows, interior_points
from lightning_poly.geometry.faces.rays import certify_facets, hit_and_run_facets
from lightning_poly.geometry.faces.result import FacetCounts, polytope_status

__all__ = ["CERTIFY_MAX_WORK", "estimate_facets"]

# Multiply-adds of one Agmon-Motzkin step of `certify_facets` (m^2 d for m rows in d dimensions) up to which the
# estimator adds its certificates to the rays' facets: 2,000 steps at this size take under a minute on one CPU
# core; a LeNet region (6,476 rows, d = 784: 3.3e10 a step) would take hours, and there the rays alone count.
CERTIFY_MAX_WORK = 2**26


@torch.no_grad()
def estimate_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    interior: torch.Tensor | None = None,
    *,
    patience: int = 1000,
    max_rays: int = 100_000,
    seed: int = 0,
    deadline: float | None = None,
) -> FacetCounts:
    """Lower bounds on the facets of the polytopes :math:`\\{x : a_r x \\le b_r\\}`, on ``a``'s device.

    The rows are cleaned (:func:`~lightning_poly.geometry.faces.cleaning.clean_rows`), each polytope gets an
    interior point (``interior`` where it is deep enough, else its Chebyshev centre), then
    :func:`~lightning_poly.geometry.faces.rays.hit_and_run_facets` shoots rays until ``patience`` rays find
    nothing new (paper: 1,000) or ``max_rays``, and :func:`~lightning_poly.geometry.faces.rays.certify_facets`
    adds its certificates where a step costs at most :data:`CERTIFY_MAX_WORK` multiply-adds.

    Args:
        a: ``(R, m, d)`` rows.
        b: ``(R, m)`` offsets.
        interior: ``(R, d)`` candidate interior points, or ``None``.
        patience: rays without a new facet before a polytope stops.
        max_rays: most rays per polytope.
        seed: seed of the rays.
        deadline: a ``time.perf_counter()`` value after which the rays stop and no certificate starts.

    Returns:
        :class:`~lightning_poly.geometry.faces.result.FacetCounts` with ``method`` ``"estimate"`` and the ``rays``
        used per polytope; polytopes with an empty interior or proven empty have status 1 or 2 and no facets.

    Example:
        >>> sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]]], dtype=torch.float64)
        >>> estimate_facets(sq, torch.tensor([[1.0, 1, 1, 1, 5]], dtype=torch.float64), patience=200).counts.tolist()
        [4]
    """
    check_int("patience", patience, minimum=1)
    check_int("max_rays", max_rays, minimum=1)
    a_n, b_n, keep, infeasible, _ = clean_rows(a, b)
    # on the rows' device: a candidate deep enough is checked there, only a Chebyshev LP takes its polytope's rows
    # to the CPU (a copy of all the rows would cost their size again: 1.9 GiB for a ResNet-18 region)
    x0, depth, lps = interior_points(a_n, b_n, keep, interior)
    est = hit_and_run_facets(a_n, b_n, x0, keep, patience=patience, max_rays=max_rays, seed=seed, deadline=deadline)
    found = est.found
    in_time = deadline is None or time.perf_counter() < deadline
    if in_time and len(keep) and int(keep.sum(dim=1).max()) ** 2 * a_n.shape[2] <= CERTIFY_MAX_WORK:
        found = found | certify_facets(a_n, b_n, x0, keep)
    status = polytope_status(depth, infeasible, 1e-9)
    found = found.cpu() & (status == 0)[:, None]
    return FacetCounts(found.sum(dim=1), found, status, ["estimate"] * len(a_n), lps, [], est.rays.cpu())
