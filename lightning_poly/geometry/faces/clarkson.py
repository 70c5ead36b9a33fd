"""Clarkson's output-sensitive facet test (1994): one LP over the known facets plus the row, and a ray towards
its optimum when the row is not redundant."""

from __future__ import annotations

import numpy as np

from lightning_poly.geometry.faces.lp import _full_lp_is_facet, lp_bounding_box
from lightning_poly.solvers.lp import IncrementalLP, LPFailure

__all__ = []


def _first_hit(a: np.ndarray, slack: np.ndarray, u: np.ndarray, tie_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For rays ``x0 + t u`` (rows of ``u``): index of the first row hit and whether it is unique."""
    rate = u @ a.T  # (k, m)
    t = np.where(rate > 1e-14, slack[None] / np.where(rate > 1e-14, rate, 1.0), np.inf)
    order = np.argsort(t, axis=1)[:, :2]
    t1 = np.take_along_axis(t, order[:, :1], 1)[:, 0]
    t2 = np.take_along_axis(t, order[:, 1:2], 1)[:, 0] if t.shape[1] > 1 else np.full(len(t), np.inf)
    unique = np.isfinite(t1) & (t2 - t1 > tie_tol * np.maximum(1.0, t1))
    return order[:, 0], unique


def clarkson_facets(
    a: np.ndarray, b: np.ndarray, x0: np.ndarray, tol: float, known: np.ndarray
) -> tuple[np.ndarray, int]:
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
    lo, hi, lps = lp_bounding_box(a, b)
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
