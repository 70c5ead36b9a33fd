"""Small dense LPs through HiGHS (highspy directly: ~10x less overhead than ``scipy.optimize.linprog``)."""

from __future__ import annotations

import highspy
import numpy as np

__all__ = ["LPFailure", "maximize"]

_INF = highspy.kHighsInf


class LPFailure(RuntimeError):
    """HiGHS did not return an optimal solution; the message carries its model status."""


class _Solver:
    def __init__(self) -> None:
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)


_SOLVER: _Solver | None = None


def _check_lp(
    c: np.ndarray,
    a_ub: np.ndarray,
    b_ub: np.ndarray,
    a_eq: np.ndarray | None,
    b_eq: np.ndarray | None,
    upper: np.ndarray | None,
) -> None:
    """Shapes and values of an LP, checked before HiGHS sees them (it would solve a mis-shaped LP silently)."""
    c, a_ub, b_ub = np.asarray(c), np.asarray(a_ub), np.asarray(b_ub)
    if c.ndim != 1:
        raise ValueError(f"`c` must be a vector (n,), got shape {c.shape}")
    n = c.shape[0]
    if a_ub.ndim != 2 or a_ub.shape[1] != n or b_ub.shape != a_ub.shape[:1]:
        raise ValueError(f"expected `a_ub` (m, {n}) and `b_ub` (m,) for `c` ({n},), got {a_ub.shape} and {b_ub.shape}")
    if (a_eq is None) != (b_eq is None):
        raise ValueError("`a_eq` and `b_eq` must be given together")
    if a_eq is not None and b_eq is not None:
        a_eq, b_eq = np.asarray(a_eq), np.asarray(b_eq)
        if a_eq.ndim != 2 or a_eq.shape[1] != n or b_eq.shape != a_eq.shape[:1]:
            raise ValueError(
                f"expected `a_eq` (k, {n}) and `b_eq` (k,) for `c` ({n},), got {a_eq.shape} and {b_eq.shape}"
            )
        if not (np.isfinite(a_eq).all() and np.isfinite(b_eq).all()):
            raise ValueError("`a_eq` and `b_eq` must be finite")
    if upper is not None and np.shape(upper) != (n,):
        raise ValueError(f"`upper` must have shape ({n},) like `c`, got {np.shape(upper)}")
    if not (np.isfinite(c).all() and np.isfinite(a_ub).all()):
        raise ValueError("`c` and `a_ub` must be finite")
    if np.isnan(b_ub).any() or (upper is not None and np.isnan(upper).any()):
        raise ValueError("`b_ub` and `upper` must not hold NaN (infinite bounds are allowed)")


def maximize(
    c: np.ndarray,
    a_ub: np.ndarray,
    b_ub: np.ndarray,
    a_eq: np.ndarray | None = None,
    b_eq: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """``max c.x  s.t.  a_ub x <= b_ub, a_eq x = b_eq, x <= upper`` (free variables otherwise).

    Args:
        c: ``(n,)`` objective.
        a_ub: ``(p, n)`` inequality rows.
        b_ub: ``(p,)`` their bounds.
        a_eq: ``(q, n)`` equality rows (optional).
        b_eq: ``(q,)`` their values.
        upper: ``(n,)`` upper bounds of the variables (optional).

    Returns:
        ``(optimum, x)``.

    Raises:
        LPFailure: if the LP is infeasible, unbounded or fails, with HiGHS's status.
        ValueError: if the arrays' shapes do not fit ``c`` or they hold NaN (infinity only in bounds).

    Example:
        >>> val, x = maximize(np.array([1.0, 1.0]), np.eye(2), np.array([1.0, 2.0]))
        >>> round(val, 6), x.round(6).tolist()
        (3.0, [1.0, 2.0])
    """
    _check_lp(c, a_ub, b_ub, a_eq, b_eq, upper)
    global _SOLVER
    if _SOLVER is None:
        _SOLVER = _Solver()
    h = _SOLVER.h
    n = c.shape[0]
    rows = [a_ub]
    lo = [np.full(a_ub.shape[0], -_INF)]
    hi = [b_ub]
    if a_eq is not None and b_eq is not None:
        rows.append(a_eq)
        lo.append(b_eq)
        hi.append(b_eq)
    mat = np.ascontiguousarray(np.vstack(rows), dtype=np.float64)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = mat.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=np.float64)
    lp.col_lower_ = np.full(n, -_INF)
    lp.col_upper_ = np.full(n, _INF) if upper is None else np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.concatenate(lo).astype(np.float64)
    lp.row_upper_ = np.concatenate(hi).astype(np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    nz = mat != 0
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
    lp.a_matrix_.value_ = mat[nz]
    h.clearModel()
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise LPFailure(f"HiGHS returned {h.modelStatusToString(status)} (expected Optimal)")
    x = np.array(h.getSolution().col_value)
    return float(h.getInfo().objective_function_value), x
