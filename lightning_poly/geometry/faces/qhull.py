"""Facets in low dimension by polarity and Qhull: row :math:`i` is a facet iff the dual point
:math:`a_i / (b_i - a_i x_0)` is a vertex of the dual points' convex hull."""

from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull

__all__ = ["QHULL_MAX_DIM", "check_qhull_dim"]


QHULL_MAX_DIM = 10  # Qhull on the dual points in more dimensions can run for hours


def check_qhull_dim(method: str, d: int) -> None:
    """Refuse ``method="qhull"`` above :data:`QHULL_MAX_DIM` dimensions, before any work is done."""
    if method == "qhull" and d > QHULL_MAX_DIM:
        raise ValueError(
            f"`method` 'qhull' counts in at most {QHULL_MAX_DIM} dimensions (a hull's size grows exponentially with "
            f"d), got d = {d}; use 'simplex' or 'auto'"
        )


def _qhull(a: np.ndarray, b: np.ndarray, x0: np.ndarray) -> np.ndarray:
    # Halfspace intersection by duality: the non-redundant halfspaces are the extreme points of the
    # dual points a_i / (b_i - a_i x0). (Qhull's own HalfspaceIntersection.dual_vertices fails on
    # non-simple vertices such as a cone's apex; the convex hull of the dual points does not.)
    dual = a / (b - a @ x0)[:, None]
    facet = np.zeros(a.shape[0], dtype=bool)
    facet[ConvexHull(dual).vertices] = True
    return facet
