r"""Certified facet decisions: a float64 error bound on every decision, exact rational arithmetic where it cannot
decide.

The data are the float64 rows ``a x <= b`` *as rational numbers* (every float64 is one). A float decision is kept
when its certificate holds with a margin above the rounding error of evaluating it:

* a **facet** :math:`k`: a witness :math:`w` with :math:`a_k w > b_k` and :math:`a_j w < b_j` for every other row
  (rows that are exact positive multiples of row :math:`k` aside: one hyperplane, one facet); each slack
  :math:`b_j - a_j w` is computed in float64 with error at most :math:`\gamma_{d+1}(|b_j| + |a_j||w|)`,
  :math:`\gamma_n = n u / (1 - n u)`, :math:`u = 2^{-53}` (Higham, *Accuracy and Stability*, Eq. (3.5));
* a **redundant** row :math:`k`: multipliers :math:`\lambda \ge 0` on a basis :math:`B` (the simplex's final
  basis); for every :math:`x` of the polytope, inside the box :math:`|x_i| \le X`,
  :math:`a_k x = \lambda^\top A_B x + r x \le \lambda^\top b_B + \|r\|_1 X` with :math:`r = a_k - A_B^\top\lambda`,
  so :math:`b_k - \lambda^\top b_B - \|r\|_1 X` above its error bound proves it;
* a **duplicate** row: an exact positive multiple of an earlier row (checked in rationals).

Every other row — no certificate, a margin within the error bound (a row within 1e-12 of another, a hyperplane
through a vertex), a row the float path decided by an LP — is decided again exactly by :func:`exact_is_redundant`:
Farkas' lemma, :math:`a_k x \le b_k` is implied by the other rows of a nonempty polytope iff some
:math:`\lambda \ge 0` has :math:`A^\top \lambda = a_k` and :math:`b^\top \lambda \le b_k`, solved by a two-phase
simplex method over :class:`fractions.Fraction` on the ``d`` equations (Bland's rule: no cycling).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

__all__ = ["certify_facets", "exact_basis_redundant", "exact_facets", "exact_is_redundant"]

_U = 2.0**-53


def _gamma(n: int) -> float:
    return n * _U / (1 - n * _U)


def _key(a: np.ndarray, b: float) -> tuple[Fraction, ...] | None:
    """The row ``(a, b)`` scaled exactly so that its first nonzero coefficient is +-1 (``None``: a zero row)."""
    nz = np.flatnonzero(a)
    if not len(nz):
        return None
    s = abs(Fraction(float(a[nz[0]])))
    return tuple(Fraction(float(v)) / s for v in (*a, b))


def _integers(values: np.ndarray) -> list[int]:
    """Float64 values times one power of two that makes all of them integers (exactly: each float is
    ``m 2^e``); a positive common factor changes no sign and no comparison between them."""
    ratios = [v.as_integer_ratio() for v in values.tolist()]
    shift = max((q.bit_length() - 1 for _, q in ratios), default=0)
    return [p << (shift - q.bit_length() + 1) for p, q in ratios]


def exact_is_redundant(a: np.ndarray, b: np.ndarray, ak: np.ndarray, bk: float) -> bool:
    r"""Exactly: is ``ak x <= bk`` implied by ``a x <= b`` (a nonempty polytope)? Farkas by rational simplex.

    The ``d`` equations :math:`A^\top \lambda = a_k` (each scaled by a power of two to integers) are solved by a
    two-phase simplex method with Bland's rule and fraction-free (Bareiss) pivots: every entry stays an integer,
    the division by the previous pivot exact.

    Args:
        a: ``(n, d)`` float64 rows (their exact rational values are used).
        b: ``(n,)`` offsets.
        ak, bk: the row tested.

    Example:
        >>> sq = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> exact_is_redundant(sq, np.ones(4), np.array([1.0, 1e-12]), 1.0)  # cuts a corner off: a facet
        False
        >>> exact_is_redundant(sq, np.ones(4), np.array([1.0, 1.0]), 2.0)  # through a vertex: redundant
        True
    """
    n, d = a.shape
    big = n + d  # columns: lambda (n), artificials (d); then the right-hand side
    rows = []
    for i in range(d):
        r = _integers(np.append(a[:, i], ak[i]))
        sign = -1 if r[-1] < 0 else 1
        rows.append([sign * v for v in r[:-1]] + [int(t == i) for t in range(d)] + [sign * r[-1]])
    basis = list(range(n, big))
    # phase 1: minimise the artificials; the objective row holds the reduced costs (times the denominator)
    obj = [-sum(r[j] for r in rows) for j in range(n)] + [0] * d + [-sum(r[-1] for r in rows)]
    den = _simplex(rows, basis, obj, 1, n + d, None)
    if obj[-1] != 0:
        return False  # the artificials cannot vanish: no multipliers reproduce a_k, so row k cuts the polytope
    for i, j in enumerate(basis):  # artificials left at level zero: pivot them out, or their equation is implied
        if j >= n:
            col = next((c for c in range(n) if rows[i][c] != 0), None)
            if col is not None:
                den = _pivot(rows, basis, [], den, i, col)
    keep = [i for i, j in enumerate(basis) if j < n]
    rows, basis = [rows[i] for i in keep], [basis[i] for i in keep]
    cost = _integers(np.append(b, bk))
    stop = cost.pop()
    obj = [cost[j] * den - sum(cost[bj] * r[j] for bj, r in zip(basis, rows)) for j in range(n)]
    obj += [0] * d + [-sum(cost[bj] * r[-1] for bj, r in zip(basis, rows))]
    return _simplex(rows, basis, obj, den, n, stop) == 0


def _pivot(rows: list[list[int]], basis: list[int], obj: list[int], den: int, r: int, c: int) -> int:
    """A fraction-free pivot on ``(r, c)``: the other rows (and the objective row) become
    ``(x p - x_c row_r) / den`` exactly; returns the new denominator ``p``."""
    p, pr = rows[r][c], rows[r]
    for t, row in enumerate(rows):
        if t != r:
            f = row[c]
            rows[t] = [(x * p - f * y) // den for x, y in zip(row, pr)]
    if obj:
        f = obj[c]
        obj[:] = [(x * p - f * y) // den for x, y in zip(obj, pr)]
    basis[r] = c
    return p


def _simplex(rows: list[list[int]], basis: list[int], obj: list[int], den: int, ncols: int, stop: int | None) -> int:
    """Minimise from a feasible basis (Bland's rule; entries over ``den``). Phase 1 (``stop=None``): to the
    optimum; returns ``den``. Phase 2: returns 0 as soon as the objective is at most ``stop`` (or decreases without
    bound), else ``den`` at the optimum (never 0)."""
    while True:
        sgn = 1 if den > 0 else -1
        if stop is not None and (-obj[-1] - stop * den) * sgn <= 0:
            return 0
        enter = next((c for c in range(ncols) if obj[c] * sgn < 0 and c not in basis), None)
        if enter is None:
            return den
        best = None
        for i, row in enumerate(rows):  # entries of one sign: ratios compare by cross products; Bland on ties
            if row[enter] * sgn <= 0:
                continue
            if best is None:
                best = i
                continue
            lhs, rhs = row[-1] * rows[best][enter], rows[best][-1] * row[enter]
            if lhs < rhs or (lhs == rhs and basis[i] < basis[best]):
                best = i
        if best is None:
            return 0 if stop is not None else den  # unbounded below (phase 2 only)
        den = _pivot(rows, basis, obj, den, best, enter)


def exact_basis_redundant(a_b: np.ndarray, b_b: np.ndarray, ak: np.ndarray, bk: float) -> bool:
    r"""Exactly: do the ``d`` rows ``a_b x <= b_b`` imply ``ak x <= bk`` by the multipliers of that basis, i.e. does
    :math:`A_B^\top \lambda = a_k` have a solution :math:`\lambda \ge 0` with :math:`\lambda^\top b_B \le b_k`?
    (``False`` also for a singular basis: undecided, not disproved.) Gaussian elimination in rationals, ``O(d^3)``:
    how a redundancy met at a degenerate vertex (a maximum exactly at :math:`b_k`) is decided without an LP.

    Example:
        >>> a_b = np.array([[1.0, 0], [0, 1]])
        >>> exact_basis_redundant(a_b, np.array([1.0, 1]), np.array([1.0, 1]), 2.0)  # through the vertex (1, 1)
        True
        >>> exact_basis_redundant(a_b, np.array([1.0, 1]), np.array([1.0, 1]), 2.0 - 2**-52)
        False
    """
    d = len(ak)
    m = [[Fraction(float(a_b[j, i])) for j in range(d)] + [Fraction(float(ak[i]))] for i in range(d)]
    for c in range(d):
        p = next((r for r in range(c, d) if m[r][c] != 0), None)
        if p is None:
            return False
        m[c], m[p] = m[p], m[c]
        for r in range(d):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    lam = [m[i][d] / m[i][i] for i in range(d)]
    return all(v >= 0 for v in lam) and sum(v * Fraction(float(t)) for v, t in zip(lam, b_b)) <= Fraction(float(bk))


def exact_facets(a: np.ndarray, b: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """The exact facets of ``{x : a x <= b}`` (a polytope with an interior), float64 data taken as rationals.

    A group of rows that are exact positive multiples of each other is one hyperplane: its first row may be a
    facet, the others never are (the float path's convention). Zero rows are never facets.

    Args:
        a: ``(m, d)`` rows.
        b: ``(m,)`` offsets.
        rows: which rows to decide (default all); the others are ``False``.

    Example:
        >>> sq = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1.0, 1e-12], [2.0, 0]])
        >>> exact_facets(sq, np.array([1.0, 1, 1, 1, 1, 2])).tolist()
        [True, True, True, True, True, False]
    """
    m = len(a)
    keys = [_key(a[j], float(b[j])) for j in range(m)]
    first: dict[tuple[Fraction, ...], int] = {}
    for j, k in enumerate(keys):
        if k is not None:
            first.setdefault(k, j)
    out = np.zeros(m, dtype=bool)
    for k in range(m) if rows is None else np.flatnonzero(rows):
        if keys[k] is None or first[keys[k]] != k:
            continue
        others = [j for j in range(m) if keys[j] is not None and keys[j] != keys[k]]
        out[k] = not exact_is_redundant(a[others], b[others], a[k], float(b[k]))
    return out


def _exact_duplicates(
    a: torch.Tensor, b: torch.Tensor, keep: torch.Tensor, nonzero: torch.Tensor, ok: torch.Tensor
) -> torch.Tensor:
    """``(R, m)``: nonzero rows left out as duplicates that are exact positive multiples of an earlier row."""
    out = torch.zeros_like(keep)
    todo = ok[:, None] & nonzero & ~keep
    if not bool(todo.any()):
        return out
    a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
    for i in torch.nonzero(todo.any(dim=1)).flatten().tolist():
        seen: set[tuple[Fraction, ...]] = set()
        rows = todo[i].tolist()
        last = max(j for j, t in enumerate(rows) if t)
        for j in range(last + 1):
            k = _key(a_np[i, j], float(b_np[i, j]))
            if rows[j] and k in seen:
                out[i, j] = True
            if k is not None:
                seen.add(k)
    return out


@torch.no_grad()
def certify_facets(
    a: torch.Tensor,
    b: torch.Tensor,
    facets: torch.Tensor,
    keep: torch.Tensor,
    witness: torch.Tensor,
    basis: torch.Tensor,
    redundant: torch.Tensor,
    box: float | None,
    ok: torch.Tensor,
    tie: torch.Tensor | None = None,
) -> tuple[torch.Tensor, int, int]:
    """Certify every row's decision of ``R`` polytopes; rows no certificate decides are decided exactly.

    Args:
        a: ``(R, m, d)`` float64 rows as given (not normalised: their rational values are the data).
        b: ``(R, m)`` offsets.
        facets: ``(R, m)`` the float decisions.
        keep: ``(R, m)`` rows the float path considered (duplicates and zero rows out).
        witness: ``(R, m, d)`` a point just across each facet (NaN where none).
        basis: ``(R, m, d)`` the simplex's final basis of each row it found redundant.
        redundant: ``(R, m)`` rows with such a basis.
        box: half-width of the box every polytope lies in (its rows among ``a``), or ``None``.
        ok: ``(R,)`` polytopes with an interior (the others are left as they are).
        tie: ``(R, m)`` rows whose ``basis`` is optimal with a maximum at about :math:`b_k` (degenerate): tried
            exactly on that basis (:func:`exact_basis_redundant`) before the rational simplex.

    Returns:
        ``(facets, certified, exact)``: the decisions, rows certified in float64, rows decided exactly.
    """
    r, m, d = a.shape
    a, b = a.double(), b.double()
    g = _gamma(d + 2)
    # facets: the witness across row k, strictly inside every other row (exact copies of row k aside)
    nonzero = (a != 0).any(dim=2)
    dup_ok = _exact_duplicates(a, b, keep, nonzero, ok)  # rows set aside as copies: exact copies of earlier rows
    fr, fk = torch.nonzero(facets & ~torch.isnan(witness).any(dim=2), as_tuple=True)
    w = witness[fr, fk]  # (F, d)
    slack = b[fr] - torch.einsum("fjd,fd->fj", a[fr], w)  # (F, m): every row's slack at the witness
    err = g * (b[fr].abs() + torch.einsum("fjd,fd->fj", a[fr].abs(), w.abs())) * 2
    idx = torch.arange(len(fr), device=a.device)
    own = -slack[idx, fk] > err[idx, fk]
    inside = (slack > err) | ~nonzero[fr] | dup_ok[fr]
    inside[idx, fk] = True
    facet_ok = torch.zeros_like(facets)
    facet_ok[fr, fk] = own & inside.all(dim=1)
    # redundancies: lambda >= 0 on the basis, the residual bounded by the box
    red_ok = torch.zeros_like(facets)
    rr, rk = torch.nonzero(redundant & keep & ~facets & ok[:, None], as_tuple=True)
    if len(rr) and box is not None:
        ab = a[rr[:, None], basis[rr, rk]]  # (n, d, d)
        bb = b[rr[:, None], basis[rr, rk]]
        ak, bk = a[rr, rk], b[rr, rk]
        lam, info = torch.linalg.solve_ex(ab.mT, ak)
        lam = torch.where(info[:, None] == 0, lam.nan_to_num(0.0).clamp_min(0.0), 0.0)
        res = ak - (lam[:, :, None] * ab).sum(dim=1)
        res_err = g * 2 * (ak.abs() + (lam[:, :, None] * ab.abs()).sum(dim=1))
        val = (lam * bb).sum(dim=1)
        val_err = g * 2 * (lam * bb.abs()).sum(dim=1)
        margin = bk - val - (res.abs() + res_err).sum(dim=1) * box
        red_ok[rr, rk] = margin > val_err + 4 * _U * (bk.abs() + val.abs() + (res.abs() + res_err).sum(dim=1) * box)
    certified = (facet_ok | red_ok | (dup_ok & ~facets)) & ok[:, None]
    # the rest, exactly: rows of polytopes with an interior not certified (zero rows included: exact zeros are not
    # facets, tiny ones may be)
    todo = ok[:, None] & ~certified & (nonzero | facets)
    out = facets.clone()
    n_exact = 0
    if bool(todo.any()):
        a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
        cand = todo & ~facets & keep & (redundant | (tie if tie is not None else redundant))
        basis_np = basis.cpu().numpy()
        for i, k in torch.nonzero(cand).tolist():  # a redundancy at a degenerate vertex: its basis, exactly
            rows = basis_np[i, k]
            if exact_basis_redundant(a_np[i, rows], b_np[i, rows], a_np[i, k], float(b_np[i, k])):
                todo[i, k] = False
                n_exact += 1
        # a redundant row is implied by the facets alone: Farkas over the float facets (far fewer rows than all;
        # any subset that implies it is a proof), near-copies of row k left out; the rest by every row
        unit = (
            np.concatenate([a_np, b_np[..., None]], axis=2)
            / np.maximum(np.linalg.norm(a_np, axis=2), 1e-300)[..., None]
        )
        fac = facets.cpu().numpy()
        for i, k in torch.nonzero(todo & ~facets & nonzero).tolist():
            sub = np.flatnonzero(fac[i] & (np.abs(unit[i] - unit[i, k]).sum(axis=1) > 1e-6))
            if len(sub) and exact_is_redundant(a_np[i, sub], b_np[i, sub], a_np[i, k], float(b_np[i, k])):
                todo[i, k] = False
                n_exact += 1
        for i in torch.nonzero(todo.any(dim=1)).flatten().tolist():
            rows = todo[i].cpu().numpy()
            decided = exact_facets(a_np[i], b_np[i], rows)
            out[i, torch.as_tensor(rows, device=out.device)] = torch.as_tensor(decided[rows], device=out.device)
            n_exact += int(rows.sum())
    return out, int(certified.sum()), n_exact
