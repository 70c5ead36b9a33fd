r"""Multi-class covers (polytope-basis-covers paper, Remark 4.1).

One binary cover per class :math:`c` (class :math:`c` against the rest) combined into one network
``d -> sum of faces -> sum of polytopes -> C`` whose output :math:`c` is
:math:`\#\{P^c \ni x\} - \#\{Q^c \ni x\} - 1/2` on the data. The combined classifier predicts the class
with the largest count (ties: the smallest index); the network's argmax then equals it on every point
used to build it. A cover of the *complement* :math:`\{c\}^c` serves class :math:`c` through
:func:`complement` (the whole space as a P with 0 faces, the complement's polytopes with flipped
signs); Remark 4.1 picks, per class, whichever of the two has fewer faces.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightning_poly.geometry.polytope_cover import PolytopeBasisCover

__all__ = ["complement", "multiclass_architecture", "multiclass_counts", "multiclass_network", "multiclass_predict"]


def _check_covers(covers: Sequence[PolytopeBasisCover]) -> None:
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
    if not isinstance(cover, PolytopeBasisCover):
        raise TypeError(f"`cover` must be a PolytopeBasisCover, got {type(cover).__name__}")
    d = cover.dim or 1
    whole = (torch.zeros(0, d, dtype=torch.float64), torch.zeros(0, dtype=torch.float64))
    return PolytopeBasisCover(
        [whole[0], *cover.a], [whole[1], *cover.b], [1, *[-s for s in cover.signs]], cover.atol,
        {**cover.meta, "complement": True},
    )  # fmt: skip


def multiclass_counts(covers: Sequence[PolytopeBasisCover], x: torch.Tensor) -> torch.Tensor:
    """``(n, C)`` counts of every class cover."""
    _check_covers(covers)
    return torch.stack([c.counts(x) for c in covers], dim=1)


def multiclass_predict(covers: Sequence[PolytopeBasisCover], x: torch.Tensor) -> torch.Tensor:
    """``(n,)`` the class whose cover counts highest (ties: smallest index)."""
    return multiclass_counts(covers, x).argmax(dim=1)


def multiclass_architecture(covers: Sequence[PolytopeBasisCover]) -> tuple[int, int, int, int]:
    """``(d, total faces, polytopes with faces, C)``; 0-face polytopes are constants (output biases)."""
    _check_covers(covers)
    faces = sum(sum(c.faces) for c in covers)
    polys = sum(sum(1 for f in c.faces if f) for c in covers)
    return (int(covers[0].dim or 0), faces, polys, len(covers))


@torch.no_grad()
def multiclass_network(covers: Sequence[PolytopeBasisCover], x: torch.Tensor | None = None) -> nn.Sequential:
    """Remark 4.1's network: the per-class Theorem 3.4 networks side by side (block-sparse weights).

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> inside = PolytopeBasisCover([sq], [torch.ones(4)], [1])
        >>> net = multiclass_network([complement(inside), inside])
        >>> net(torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)).argmax(1).tolist()
        [1, 0]
    """
    _check_covers(covers)
    nets = [c.to_network(x) for c in covers]
    d = nets[0][0].in_features
    h = [n[0].out_features for n in nets]
    k = [n[2].out_features for n in nets]
    out = nn.Sequential(
        nn.Linear(d, sum(h)), nn.ReLU(), nn.Linear(sum(h), sum(k)), nn.ReLU(), nn.Linear(sum(k), len(nets))
    )
    out = out.double()
    for layer in (out[0], out[2], out[4]):
        layer.weight.zero_()
        layer.bias.zero_()
    ho = ko = 0
    for c, n in enumerate(nets):
        out[0].weight[ho : ho + h[c]] = n[0].weight
        out[0].bias[ho : ho + h[c]] = n[0].bias
        out[2].weight[ko : ko + k[c], ho : ho + h[c]] = n[2].weight
        out[2].bias[ko : ko + k[c]] = n[2].bias
        out[4].weight[c, ko : ko + k[c]] = n[4].weight[0]
        out[4].bias[c] = n[4].bias[0]
        ho, ko = ho + h[c], ko + k[c]
    return out
