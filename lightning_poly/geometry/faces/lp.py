"""The exact LPs of a face count (HiGHS): the reference one-LP-per-row test, the LP over all rows that decides a
row another method left open, and a polytope's bounding box."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from lightning_poly.solvers.lp import IncrementalLP, LPFailure, maximize

__all__ = []


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


def lp_bounding_box(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
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
