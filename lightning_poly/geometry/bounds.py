r"""Bounds of the face-histogram paper ("Deep ReLU Networks Have Surprisingly Simple Polytopes").

Simplex-count bounds (Theorems 1-4), mean-face bounds (Theorems 8-10) and their low-rank forms (Theorems 11-12)
as plain functions, plus :func:`applicable_mean_faces_bound`, which picks the theorem that applies to an architecture
(and to the rank of its first weight matrix, decided by :func:`numerical_rank`).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, factorial

import torch

from lightning_poly._validation import check_finite, check_int, check_positive

RANK_RTOL = 1e-5
"""Default relative tolerance of :func:`numerical_rank`: singular values at most ``RANK_RTOL`` times the largest count
as zero. Well above the round-off of an exactly low-rank matrix stored in float32 (about ``1e-7 * sqrt(n)`` of the
largest singular value), far below the smallest singular value of a Gaussian-initialised full-rank layer."""

__all__ = [
    "applicable_mean_faces_bound",
    "simplices_upper_bound",
    "simplices_lower_bound",
    "simplices_upper_bound_one_layer",
    "simplices_lower_bound_one_layer",
    "mean_faces_bound_one_layer",
    "mean_faces_bound_planar",
    "mean_faces_bound_zero_bias",
    "mean_faces_bound_low_rank_one_layer",
    "mean_faces_bound_low_rank_zero_bias",
    "numerical_rank",
    "RANK_RTOL",
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


def mean_faces_bound_low_rank_one_layer(n: int, d: int, rank: int) -> float:
    r"""Theorem 12: mean faces of a one-hidden-layer network whose weight matrix has rank :math:`d_0`, the ratio of
    Equation (12),

    .. math:: \frac{2n\sum_{i<d_0}\binom{n-1}{i} + 2d\sum_{i<d_0}\binom{n}{i}}{\sum_{i\le d_0}\binom{n}{i}}
        \le 2d_0 + \frac{2dd_0}{n-d_0+1} \quad \text{(Equation (13))},

    which is :math:`2d_0 + O(1/n)` and at most :math:`2d_0 + 1` once :math:`n > 2dd_0 + d_0`. ``rank = d`` gives
    Theorem 8. Like Theorems 8-10 it speaks of the faces the neurons make (a region's faces on the box of a large
    box are left out: with :math:`d_0 < d` every region is a cylinder that meets the box on at least
    :math:`2(d-d_0)` facets, which the proof's box term, :math:`2d\sum_{i<d_0}\binom{n}{i}`, cannot hold).

    Args:
        n: hidden width.
        d: input dimension.
        rank: rank :math:`d_0 \le d` of the weight matrix.

    Example:
        >>> round(mean_faces_bound_low_rank_one_layer(1000, 3, 2), 3)
        4.008
        >>> mean_faces_bound_low_rank_one_layer(22, 3, 3) == mean_faces_bound_one_layer(22, 3)
        True
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    _check_rank(rank, d)
    top = 2 * n * sum(comb(n - 1, i) for i in range(rank)) + 2 * d * sum(comb(n, i) for i in range(rank))
    return top / sum(comb(n, i) for i in range(rank + 1))


def mean_faces_bound_low_rank_zero_bias(d: int, rank: int) -> float:
    r"""Theorem 11: zero biases, first weight matrix of rank :math:`d_0 \ge 2`, large widths and box: mean faces
    :math:`\le 2d_0 + d - 1` (for widths above the theorem's unstated constant :math:`C_d`; the leading term is
    :math:`2d_0 + d - 2 + O(1/n)`). ``rank = d`` gives Theorem 10's :math:`3d - 1`. The proof's count,
    :math:`(4/(d_0-2)! + 2d/(d_0-1)!)\,n^{d_0-1}`, needs :math:`d_0 \ge 2`.

    Args:
        d: input dimension.
        rank: rank :math:`d_0`, ``2 <= rank <= d``.

    Example:
        >>> mean_faces_bound_low_rank_zero_bias(3, 2), mean_faces_bound_low_rank_zero_bias(3, 3)
        (6.0, 8.0)
    """
    check_int("d", d, minimum=2)
    _check_rank(rank, d, minimum=2)
    return float(2 * rank + d - 1)


def _check_rank(rank: int, d: int, minimum: int = 1) -> None:
    if isinstance(rank, bool) or not isinstance(rank, int) or not minimum <= rank <= d:
        raise ValueError(f"`rank` must be an integer in [{minimum}, d = {d}], got {rank!r}")


def numerical_rank(weight: torch.Tensor, *, rtol: float = RANK_RTOL) -> int:
    """The rank of a weight matrix: how many singular values exceed ``rtol`` times the largest (float64 SVD).

    Args:
        weight: ``(n, d)`` matrix (a layer's weight).
        rtol: relative tolerance (default :data:`RANK_RTOL`).

    Example:
        >>> u, v = torch.randn(20, 2), torch.randn(2, 3)
        >>> numerical_rank(u @ v), numerical_rank(torch.randn(20, 3))
        (2, 3)
    """
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ValueError(f"`weight` must be a 2-D tensor, got {getattr(weight, 'shape', type(weight).__name__)}")
    check_positive("rtol", rtol)
    sv = torch.linalg.svdvals(check_finite("weight", weight).detach().double().cpu())
    return int((sv > rtol * sv.max()).sum()) if len(sv) and float(sv.max()) > 0 else 0


def applicable_mean_faces_bound(
    d: int, widths: Sequence[int], zero_bias: bool, *, rank: int | None = None
) -> tuple[str, float] | None:
    """The mean-faces bound that applies to a network with input ``d``, hidden ``widths`` and a first weight matrix
    of rank ``rank`` (``None``: full rank ``d``; decide it with :func:`numerical_rank`).

    Order of preference, the tightest that applies first: for ``rank < d``, Theorem 12 (one hidden layer; the
    ratio of Equation (12), or ``2 d0 + 1`` once ``n > 2 d d0 + d0``) and Theorem 11 (zero biases, ``rank >= 2``:
    ``2 d0 + d - 1``); then Theorem 8 (one hidden layer; its exact ratio, or ``2d + 1`` once ``n > 2d² + d``),
    Theorem 10 (zero biases), Theorem 9 (``d = 2``). ``None`` if none applies. The theorems assume general
    position and a large box; they are stated for the whole arrangement and speak of the faces from neurons.

    Args:
        d: input dimension.
        widths: hidden widths.
        zero_bias: whether every hidden bias is zero.
        rank: rank of the first hidden layer's weight matrix, ``0 <= rank <= d`` (``None``: ``d``). A rank-0
            (all-zero) first layer makes no faces: ``("rank0", 0.0)``.

    Example:
        >>> applicable_mean_faces_bound(3, [40], zero_bias=False)
        ('theorem8', 7.0)
        >>> applicable_mean_faces_bound(3, [40], zero_bias=False, rank=2)
        ('theorem12', 5.0)
        >>> applicable_mean_faces_bound(3, [20, 20], zero_bias=True, rank=2)
        ('theorem11', 6.0)
        >>> applicable_mean_faces_bound(2, [20, 20], zero_bias=False)
        ('theorem9', 4.0)
        >>> applicable_mean_faces_bound(3, [20, 20], zero_bias=False) is None
        True
    """
    check_int("d", d, minimum=1)
    widths = list(widths)
    for i, w in enumerate(widths):
        check_int(f"widths[{i}]", w, minimum=1)
    if rank is not None:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= d:
            raise ValueError(f"`rank` must be an integer in [0, d = {d}] or None, got {rank!r}")
        if rank == 0:
            return ("rank0", 0.0)
        if rank < d and len(widths) == 1:
            n = widths[0]
            bound = float(2 * rank + 1) if n > 2 * d * rank + rank else mean_faces_bound_low_rank_one_layer(n, d, rank)
            return ("theorem12", bound)
        if rank < d and zero_bias and rank >= 2:
            return ("theorem11", mean_faces_bound_low_rank_zero_bias(d, rank))
    if len(widths) == 1:
        n = widths[0]
        return ("theorem8", float(2 * d + 1) if n > 2 * d * d + d else mean_faces_bound_one_layer(n, d))
    if zero_bias:
        return ("theorem10", mean_faces_bound_zero_bias(d))
    if d == 2:
        return ("theorem9", mean_faces_bound_planar())
    return None
