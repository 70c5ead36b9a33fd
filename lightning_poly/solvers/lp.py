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


def maximize(
    c: np.ndarray,
    a_ub: np.ndarray,
    b_ub: np.ndarray,
    a_eq: np.ndarray | None = None,
    b_eq: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """``max c.x  s.t.  a_ub x <= b_ub, a_eq x = b_eq, x <= upper`` (free variables otherwise).

    Returns:
        ``(optimum, x)``.

    Raises:
        LPFailure: if the LP is infeasible, unbounded or fails, with HiGHS's status.

    Example:
        >>> val, x = maximize(np.array([1.0, 1.0]), np.eye(2), np.array([1.0, 2.0]))
        >>> round(val, 6), x.round(6).tolist()
        (3.0, [1.0, 2.0])
    """
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
