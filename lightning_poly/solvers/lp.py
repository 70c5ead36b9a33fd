"""Small dense LPs through HiGHS (highspy directly: ~10x less overhead than ``scipy.optimize.linprog``)."""

from __future__ import annotations

import os
import sys

import highspy
import numpy as np

__all__ = ["IncrementalLP", "LPFailure", "maximize"]

_INF = highspy.kHighsInf


class LPFailure(RuntimeError):
    """HiGHS did not return an optimal solution; the message carries its model status."""


def _new_highs() -> highspy.Highs:
    """A silent HiGHS instance: its constructor writes a banner to the process's stdout (file descriptor 1,
    below Python's ``sys.stdout``), which a library must not do; the descriptor points to ``/dev/null`` while
    it runs."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (e.g. an embedded interpreter): construct as is
        h = highspy.Highs()
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


class _Solver:
    def __init__(self) -> None:
        self.h = _new_highs()
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
    set_rowwise(lp, mat)
    h.clearModel()
    h.passModel(lp)
    x = run_optimal(h)
    return float(h.getInfo().objective_function_value), x


def set_rowwise(lp: highspy.HighsLp, mat: np.ndarray) -> None:
    """Store the dense constraint matrix ``mat`` in ``lp`` row-wise, its nonzeros only."""
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    nz = mat != 0
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
    lp.a_matrix_.value_ = mat[nz]


def run_optimal(h: highspy.Highs, what: str = "") -> np.ndarray:
    """Run the model passed to ``h`` and return its primal solution; :class:`LPFailure` unless it is optimal."""
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise LPFailure(f"HiGHS returned {h.modelStatusToString(status)}{what} (expected Optimal)")
    return np.array(h.getSolution().col_value)


class IncrementalLP:
    """``max c.x  s.t.  a_k x <= b_k`` over rows added one at a time, plus one candidate row that is replaced
    between solves: one HiGHS model kept alive, so each solve starts from the last optimal basis (the
    inner loop of Clarkson's redundancy removal, which solves one LP per row of a polytope).

    Args:
        dim: number of (free) variables.

    Example:
        >>> lp = IncrementalLP(2)
        >>> lp.add_rows(np.eye(2), np.array([1.0, 2.0]))
        >>> lp.set_candidate(np.array([1.0, 1.0]), 2.5)
        >>> round(lp.maximize(np.array([1.0, 1.0]))[0], 6)
        2.5
        >>> lp.clear_candidate()
        >>> round(lp.maximize(np.array([1.0, 1.0]))[0], 6)
        3.0
    """

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"`dim` must be an integer >= 1, got {dim!r}")
        self.dim = dim
        self.h = _new_highs()
        for key, value in (("threads", 1), ("presolve", "off")):
            self.h.setOptionValue(key, value)
        lp = highspy.HighsLp()
        lp.num_col_ = dim
        lp.num_row_ = 1  # row 0: the candidate slot, inactive until set
        lp.col_cost_ = np.zeros(dim)
        lp.col_lower_ = np.full(dim, -_INF)
        lp.col_upper_ = np.full(dim, _INF)
        lp.row_lower_ = np.array([-_INF])
        lp.row_upper_ = np.array([_INF])
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array([0, dim], dtype=np.int32)
        lp.a_matrix_.index_ = np.arange(dim, dtype=np.int32)
        lp.a_matrix_.value_ = np.zeros(dim)
        self.h.passModel(lp)
        self._idx = np.arange(dim, dtype=np.int32)
        self.solves = 0

    def _row(self, a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=np.float64)
        if a.shape != (self.dim,) or not np.isfinite(a).all():
            raise ValueError(f"a row must be a finite vector ({self.dim},), got shape {a.shape}")
        return a

    def add_rows(self, a: np.ndarray, b: np.ndarray) -> None:
        """Add the rows ``a x <= b`` (``a``: ``(k, dim)``, ``b``: ``(k,)``) for good."""
        a = np.ascontiguousarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != self.dim or b.shape != a.shape[:1] or np.isnan(b).any():
            raise ValueError(f"expected `a` (k, {self.dim}) and `b` (k,) without NaN, got {a.shape} and {b.shape}")
        if not np.isfinite(a).all():
            raise ValueError("`a` must be finite")
        k = a.shape[0]
        if k:
            starts = np.arange(0, k * self.dim, self.dim, dtype=np.int32)
            self.h.addRows(k, np.full(k, -_INF), b, k * self.dim, starts, np.tile(self._idx, k), a.ravel())

    def set_candidate(self, a: np.ndarray, b: float) -> None:
        """Make the candidate row ``a x <= b`` (replacing the last one)."""
        a = self._row(a)
        self.h.changeRowBounds(0, -_INF, _INF)
        for j in range(self.dim):
            self.h.changeCoeff(0, j, float(a[j]))
        self.h.changeRowBounds(0, -_INF, float(b))

    def clear_candidate(self) -> None:
        """Drop the candidate row."""
        self.h.changeRowBounds(0, -_INF, _INF)

    def set_bounds(self, rows: np.ndarray, b: np.ndarray) -> None:
        """New right-hand sides ``b`` for the added rows ``rows`` (indices in the order they were added;
        ``inf`` switches a row off, its old value back on)."""
        for i, bi in zip(np.asarray(rows).tolist(), np.asarray(b, dtype=np.float64).tolist()):
            self.h.changeRowBounds(int(i) + 1, -_INF, bi if np.isfinite(bi) else _INF)

    def maximize(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        """``(optimum, x)`` of ``max c.x`` over the current rows.

        Raises:
            LPFailure: if the LP is infeasible, unbounded or fails, with HiGHS's status.
        """
        c = self._row(c)
        self.h.changeColsCost(self.dim, self._idx, c)
        self.h.run()
        self.solves += 1
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise LPFailure(f"HiGHS returned {self.h.modelStatusToString(status)} (expected Optimal)")
        return float(self.h.getInfo().objective_function_value), np.array(self.h.getSolution().col_value)
