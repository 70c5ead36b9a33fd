r"""Bounds of the face-histogram paper ("Deep ReLU Networks Have Surprisingly Simple Polytopes").

Simplex-count bounds (Theorems 1-4) and mean-face bounds (Theorems 8-10) as plain functions, plus
:func:`applicable_mean_faces_bound`, which picks the theorem that applies to an architecture.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, factorial

from lightning_poly._validation import check_int

__all__ = [
    "applicable_mean_faces_bound",
    "simplices_upper_bound",
    "simplices_lower_bound",
    "simplices_upper_bound_one_layer",
    "simplices_lower_bound_one_layer",
    "mean_faces_bound_one_layer",
    "mean_faces_bound_planar",
    "mean_faces_bound_zero_bias",
]


def simplices_upper_bound_one_layer(n: int, d: int) -> int:
    r"""Theorem 3 (= Theorem 1 for L = 1): :math:`2n\sum_{i<d}\binom{n-1}{i} + 2d\sum_{i<d}\binom{n}{i}`.

    Example (Table I, 3-7-1 ... 3-10-1):
        >>> [simplices_upper_bound_one_layer(n, 3) for n in (7, 8, 9, 10)]
        [482, 686, 942, 1256]

    Args:
        n: hidden width.
        d: input dimension.
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    return 2 * n * sum(comb(n - 1, i) for i in range(d)) + 2 * d * sum(comb(n, i) for i in range(d))


def simplices_lower_bound_one_layer(n: int, d: int) -> float:
    r"""Theorem 4 (= Theorem 2 for L = 1): :math:`\frac{2n}{d+1}\sum_{i<d}\binom{n-1}{i}`.

    Example (Table I):
        >>> [round(simplices_lower_bound_one_layer(n, 3)) for n in (7, 8, 9, 10)]
        [77, 116, 166, 230]

    Args:
        n: hidden width.
        d: input dimension.
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    return 2 * n / (d + 1) * sum(comb(n - 1, i) for i in range(d))


def simplices_upper_bound(n: int, d: int, depth: int) -> float:
    r"""Theorem 1, leading term for L hidden layers of width n: :math:`\frac{2n^{dL}}{(d-1)!(d!)^{L-1}}`.

    For ``depth = 1`` the exact one-layer bound of Theorem 3 is returned.

    Args:
        n: hidden width.
        d: input dimension.
        depth: number of hidden layers ``L``.

    Example:
        >>> simplices_upper_bound(7, 3, 1)
        482
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    check_int("depth", depth, minimum=1)
    if depth == 1:
        return simplices_upper_bound_one_layer(n, d)
    return 2 * n ** (d * depth) / (factorial(d - 1) * factorial(d) ** (depth - 1))


def simplices_lower_bound(n: int, d: int, depth: int) -> float:
    r"""Theorem 2, leading term: :math:`\frac{n^{dL}}{d^{d(L-1)} d!}` (Theorem 4 for ``depth = 1``).

    Args:
        n: hidden width.
        d: input dimension.
        depth: number of hidden layers ``L``.

    Example:
        >>> round(simplices_lower_bound(10, 3, 1))
        230
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    check_int("depth", depth, minimum=1)
    if depth == 1:
        return simplices_lower_bound_one_layer(n, d)
    return n ** (d * depth) / (d ** (d * (depth - 1)) * factorial(d))


def mean_faces_bound_one_layer(n: int, d: int) -> float:
    r"""Theorem 8: mean faces of a one-hidden-layer network, the ratio of Equation (11).

    :math:`\frac{2n\sum_{i<d}\binom{n-1}{i} + 2d\sum_{i<d}\binom{n}{i}}{\sum_{i\le d}\binom{n}{i}}`,
    which is :math:`2d + O(1/n)` and at most :math:`2d + 1` once :math:`n > 2d^2 + d`.

    Args:
        n: hidden width.
        d: input dimension.

    Example:
        >>> round(mean_faces_bound_one_layer(1000, 3), 3)
        6.012
        >>> mean_faces_bound_one_layer(22, 3) <= 7
        True
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    return simplices_upper_bound_one_layer(n, d) / sum(comb(n, i) for i in range(d + 1))


def mean_faces_bound_planar() -> float:
    """Theorem 9: for d = 2 and large widths and box, mean faces <= 2d = 4.

    Example:
        >>> mean_faces_bound_planar()
        4.0
    """
    return 4.0


def mean_faces_bound_zero_bias(d: int) -> float:
    """Theorem 10: zero biases, large width and box: mean faces <= 3d - 1.

    Args:
        d: input dimension.

    Example:
        >>> mean_faces_bound_zero_bias(3)
        8.0
    """
    check_int("d", d, minimum=1)
    return float(3 * d - 1)


def applicable_mean_faces_bound(d: int, widths: Sequence[int], zero_bias: bool) -> tuple[str, float] | None:
    """The mean-faces bound that applies to a network with input ``d`` and hidden ``widths``.

    Order of preference: Theorem 8 (one hidden layer; its exact ratio, or ``2d + 1`` once
    ``n > 2d² + d``), Theorem 10 (zero biases), Theorem 9 (``d = 2``). ``None`` if none applies.
    The theorems assume general position and a large box; they are stated for the whole arrangement.

    Args:
        d: input dimension.
        widths: hidden widths.
        zero_bias: whether every hidden bias is zero.

    Example:
        >>> applicable_mean_faces_bound(3, [40], zero_bias=False)
        ('theorem8', 7.0)
        >>> applicable_mean_faces_bound(2, [20, 20], zero_bias=False)
        ('theorem9', 4.0)
        >>> applicable_mean_faces_bound(3, [20, 20], zero_bias=False) is None
        True
    """
    check_int("d", d, minimum=1)
    widths = list(widths)
    for i, w in enumerate(widths):
        check_int(f"widths[{i}]", w, minimum=1)
    if len(widths) == 1:
        n = widths[0]
        return ("theorem8", float(2 * d + 1) if n > 2 * d * d + d else mean_faces_bound_one_layer(n, d))
    if zero_bias:
        return ("theorem10", mean_faces_bound_zero_bias(d))
    if d == 2:
        return ("theorem9", mean_faces_bound_planar())
    return None
