r"""Width bounds of feasible architectures (polytope-basis-covers paper, Proposition 3.1, Theorems 3.5, 3.6).

An architecture ``d -> d_1 -> ... -> d_k -> 1`` is *feasible* on :math:`X = X^+ \cup X^-` when some
network of it separates the two classes.

Readings chosen:

* Theorem 3.5's second bound (2) sums :math:`k_j \frac{j+2}{d-j} + \frac{j+2}{j+1}` over
  :math:`j \le d/2`. The term :math:`\frac{j+2}{j+1}` comes from rounding up the number of covering
  :math:`d`-simplices (proof, (23)), which is 0 when there is no :math:`j`-facet; we sum over the
  dimensions that have facets (:math:`k_j > 0`). The first bound's inner sum is
  :math:`\lfloor \sum_{j \le \lfloor (d-1)/2 \rfloor} k_j / 2 \rfloor` (main text (2); (22) in the proof).
* Theorem 3.6 counts Betti numbers :math:`\beta_0..\beta_d` of the cover and faces :math:`m` of the
  prismatic polytopes; widths are returned as integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lightning_poly._validation import check_int

__all__ = [
    "polytope_width_lower_bound",
    "polytope_widths_feasible",
    "complex_first_width_bound",
    "betti_architecture",
    "betti_widths_feasible",
]


def polytope_width_lower_bound(m: int, d: int) -> int:
    """Right-hand side of Proposition 3.1 for a convex polytope with ``m`` faces in :math:`\\mathbb{R}^d`.

    Args:
        m: faces of the polytope.
        d: dimension.

    Example:
        >>> [polytope_width_lower_bound(m, 2) for m in (3, 4, 5, 6, 8)]
        [3, 3, 3, 3, 4]
    """
    check_int("m", m, minimum=1)
    check_int("d", d, minimum=1)
    if m >= 2 * d + 1:
        return math.ceil(m / 2) + (d - 2)
    if m in (2 * d - 1, 2 * d):
        return 2 * d - 1
    return d + 1


def polytope_widths_feasible(widths: Sequence[int], m: int, d: int) -> bool:
    """Whether ``d -> widths -> 1`` passes Proposition 3.1's necessary condition
    :math:`d_1 \\prod_{j \\ge 2} (2 d_j + 1) \\ge` :func:`polytope_width_lower_bound`.

    Args:
        widths: hidden widths ``d_1, d_2, ...``.
        m: faces of the polytope.
        d: dimension.

    Example:
        >>> polytope_widths_feasible([2], m=3, d=2), polytope_widths_feasible([3], m=3, d=2)
        (False, True)
    """
    widths = [check_int("widths[i]", int(w), minimum=1) for w in widths]
    if not widths:
        raise ValueError("`widths` must list at least one hidden width, got []")
    prod = widths[0] * math.prod(2 * w + 1 for w in widths[1:])
    return prod >= polytope_width_lower_bound(m, d)


def complex_first_width_bound(facets_by_dim: dict[int, int], d: int) -> int:
    """Theorem 3.5's bound (2) on the first width of ``d -> d_1 -> k -> 1`` for a simplicial complex.

    Args:
        facets_by_dim: ``{j: k_j}`` number of ``j``-dimensional facets (``j <= d``).
        d: ambient dimension.

    Example:
        >>> complex_first_width_bound({2: 2}, d=2)  # two triangles in the plane (Section 4.1): 2 -> 6 -> 2 -> 1
        6
    """
    check_int("d", d, minimum=1)
    if not facets_by_dim or any(not 0 <= j <= d or k < 0 for j, k in facets_by_dim.items()):
        raise ValueError(f"`facets_by_dim` must map dimensions 0..{d} to counts >= 0, got {facets_by_dim}")
    k = sum(facets_by_dim.values())
    low = sum(facets_by_dim.get(j, 0) for j in range((d - 1) // 2 + 1))
    first = k * (d + 1) - (d - 1) * (low // 2)
    inner = sum(kj * (j + 2) / (d - j) + (j + 2) / (j + 1) for j, kj in facets_by_dim.items() if kj and j <= d / 2)
    inner += sum(kj for j, kj in facets_by_dim.items() if j > d / 2)
    second = (d + 1) * math.floor(inner + 1e-12)
    return min(first, second)


def betti_architecture(d: int, m: int, betti: Sequence[int]) -> tuple[int, int, int, int]:
    """Theorem 3.6's feasible architecture (3): ``(d, d_1, sum beta_k, 1)``.

    Args:
        d: dimension.
        m: most faces of the prismatic polytopes.
        betti: the Betti numbers :math:`\\beta_0, \\dots` of the class-1 set.

    Example:
        >>> betti_architecture(2, 6, [1, 1])  # hexagon with a hole
        (2, 12, 2, 1)
    """
    check_int("d", d, minimum=1)
    check_int("m", m, minimum=1)
    b = [check_int("betti[i]", int(v), minimum=0) for v in betti]
    if not b or b[0] < 1 or len(b) > d + 1:
        raise ValueError(f"`betti` must be beta_0 >= 1, ..., beta_{d} (at most {d + 1} values), got {list(betti)}")
    b = b + [0] * (d + 1 - len(b))
    d1 = m + 2 * (b[0] - 1) + sum((m - 2 * (d - k - 1)) * b[k] for k in range(1, d + 1))
    return (d, d1, sum(b), 1)


def betti_widths_feasible(widths: Sequence[int], betti: Sequence[int]) -> bool:
    """Theorem 3.6's necessary condition (4): :math:`\\sum_{i} \\prod_{j \\ge i} d_j \\ge 2 \\sum_k \\beta_k - 2`.

    Args:
        widths: hidden widths ``d_1, d_2, ...``.
        betti: the Betti numbers :math:`\\beta_0, \\dots` of the class-1 set.

    Example:
        >>> betti_widths_feasible([4], [10]), betti_widths_feasible([18], [10])
        (False, True)
    """
    w = [check_int("widths[i]", int(v), minimum=1) for v in widths]
    if not w:
        raise ValueError("`widths` must list at least one hidden width, got []")
    b = [check_int("betti[i]", int(v), minimum=0) for v in betti]
    total = sum(math.prod(w[i:]) for i in range(len(w)))
    return total >= 2 * sum(b) - 2
