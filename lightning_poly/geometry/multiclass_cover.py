r"""Multi-class covers (polytope-basis-covers paper, Remark 4.1).

One binary cover per class :math:`c` (class :math:`c` against the rest). The combined classifier
predicts the class with the largest count (ties: the smallest index); Remark 4.1's network
``d -> sum of faces -> sum of polytopes -> C``
(:func:`~lightning_poly.algorithms.multiclass_cover_network`) has that argmax on every point used
to build it. A cover of the *complement* :math:`\{c\}^c` serves class :math:`c` through
:func:`complement` (the whole space as a P with 0 faces, the complement's polytopes with flipped
signs); Remark 4.1 picks, per class, whichever of the two has fewer faces.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lightning_poly.geometry.polytope_cover import PolytopeBasisCover, check_cover

__all__ = ["complement", "multiclass_architecture", "multiclass_counts", "multiclass_predict"]


def check_covers(covers: Sequence[PolytopeBasisCover]) -> None:
    """Refuse an empty list, objects other than covers, and covers of different input dimensions."""
    if not covers:
        raise ValueError("`covers` must hold one cover per class, got none")
    kinds = sorted({type(c).__name__ for c in covers if not isinstance(c, PolytopeBasisCover)})
    if kinds:
        raise TypeError(f"`covers` must be PolytopeBasisCover objects, got {kinds}")
    dims = {c.dim for c in covers if c.dim is not None}
    if len(dims) > 1:
        raise ValueError(f"`covers` must share one input dimension, got dimensions {[c.dim for c in covers]}")


def complement(cover: PolytopeBasisCover) -> PolytopeBasisCover:
    """A cover of the other class: count' = 1 - count, i.e. class 1 where ``cover`` says class 0.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> c = complement(PolytopeBasisCover([sq], [torch.ones(4)], [1]))
        >>> c.predict(torch.tensor([[0.0, 0.0], [3.0, 0.0]])).tolist(), c.faces
        ([0, 1], [0, 4])
    """
    check_cover(cover)
    d = cover.dim or 1
    whole = (torch.zeros(0, d, dtype=torch.float64), torch.zeros(0, dtype=torch.float64))
    return PolytopeBasisCover(
        [whole[0], *cover.a], [whole[1], *cover.b], [1, *[-s for s in cover.signs]], cover.atol,
        {**cover.meta, "complement": True},
    )  # fmt: skip


def multiclass_counts(covers: Sequence[PolytopeBasisCover], x: torch.Tensor) -> torch.Tensor:
    """``(n, C)`` counts of every class cover."""
    check_covers(covers)
    return torch.stack([c.counts(x) for c in covers], dim=1)


def multiclass_predict(covers: Sequence[PolytopeBasisCover], x: torch.Tensor) -> torch.Tensor:
    """``(n,)`` the class whose cover counts highest (ties: smallest index)."""
    return multiclass_counts(covers, x).argmax(dim=1)


def multiclass_architecture(covers: Sequence[PolytopeBasisCover]) -> tuple[int, int, int, int]:
    """``(d, total faces, polytopes with faces, C)``; 0-face polytopes are constants (output biases)."""
    check_covers(covers)
    faces = sum(sum(c.faces) for c in covers)
    polys = sum(sum(1 for f in c.faces if f) for c in covers)
    return (int(covers[0].dim or 0), faces, polys, len(covers))
