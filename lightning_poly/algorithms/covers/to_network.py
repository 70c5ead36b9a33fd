r"""ReLU networks built from polytope-basis covers (polytope-basis-covers paper, Theorem 3.4, Remark 4.1).

Theorem 3.4's construction (proof in Appendix E.2 via Proposition 3.1): one first-layer neuron per
face, one second-layer neuron per polytope,

.. math:: T_i(x) = 1 - M \sum_{k \in C_i} \sigma(a_k^\top x - b_k - \text{atol}),\qquad
          N(x) = -\tfrac12 + \sum_i s_i\,\sigma(T_i(x)),

so :math:`\sigma(T_i) = 1` on :math:`C_i` and :math:`0` at distance :math:`\ge 1/M` outside it. The
indicator is discontinuous and no continuous network equals it everywhere; our reading of
"feasible" is the paper's: exact outside an :math:`\varepsilon`-band, and :math:`M` is chosen from the
data so the band contains none of the given points (then :func:`network_from_cover` classifies every given
point exactly as the cover does).

:func:`multiclass_cover_network` puts one such network per class side by side (Remark 4.1), and
:func:`minimal_cover_network` is the compressing algorithm's end product: the cover pruned
(:func:`~lightning_poly.algorithms.prune_cover`), its network, and that network's accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_points, check_positive
from lightning_poly.algorithms.covers.extract import extract_cover
from lightning_poly.algorithms.covers.prune import nonredundant_cover_faces, prune_cover
from lightning_poly.geometry.multiclass_cover import check_covers
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover, check_cover
from lightning_poly.nn.cover_net import CoverNetwork

__all__ = ["MinimalNetworkReport", "network_from_cover", "minimal_cover_network", "multiclass_cover_network"]


@torch.no_grad()
def _steepness(cover: PolytopeBasisCover, x: torch.Tensor | None, resolution: float) -> float:
    """The constant :math:`M`: ``2 / resolution``, or smaller gaps found in ``x`` (the smallest distance beyond
    ``atol`` of a point outside a polytope), so that no point of ``x`` lies in a band."""
    if x is None or not len(cover):
        return 2.0 / resolution
    s = cover.outside_distance(x) - cover.atol
    outside = s[s > 0]
    gap = float(outside.min()) if len(outside) else resolution
    return 2.0 / min(gap, resolution)


@torch.no_grad()
def network_from_cover(
    cover: PolytopeBasisCover, x: torch.Tensor | None = None, resolution: float = 1e-3
) -> nn.Sequential:
    """Theorem 3.4's network ``d -> total faces -> polytopes -> 1`` built from the cover alone.

    ``N(x) > 0`` exactly where the cover says class 1, for every point at distance ``>= resolution``
    outside each polytope it is not in, and for every point of ``x`` when ``x`` is given. The network
    is float64 (the steepness :math:`M` can be large); ``.float()`` it for speed when the gaps allow.

    Args:
        cover: the cover (at least one polytope).
        x: points the network must classify exactly as the cover (``None``: only the resolution).
        resolution: the width :math:`1/M` of the band outside each polytope where the network may differ.

    Returns:
        The float64 network.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> net = network_from_cover(PolytopeBasisCover([sq], [torch.ones(4)], [1]))
        >>> (net(torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)) > 0).flatten().tolist()
        [True, False]
    """
    check_cover(cover)
    check_positive("resolution", resolution)
    if not len(cover):
        raise ValueError("the cover has no polytopes; there is no network to build")
    a, b, owner = cover.stacked_faces()
    m_total, k = len(a), len(cover)
    big = _steepness(cover, None if x is None else x.detach().cpu(), resolution)
    h = max(m_total, 1)
    net = nn.Sequential(nn.Linear(int(cover.dim or 0), h), nn.ReLU(), nn.Linear(h, k), nn.ReLU(), nn.Linear(k, 1))
    net = net.double()
    net[0].weight.zero_()
    net[0].bias.zero_()
    net[2].weight.zero_()
    if m_total:
        net[0].weight[:m_total] = a
        net[0].bias[:m_total] = -b - cover.atol
        net[2].weight[owner, torch.arange(m_total)] = -big
    net[2].bias.fill_(1.0)
    net[4].weight[0] = torch.tensor(cover.signs, dtype=torch.float64)
    net[4].bias.fill_(-0.5)
    return net


@torch.no_grad()
def multiclass_cover_network(covers: Sequence[PolytopeBasisCover], x: torch.Tensor | None = None) -> nn.Sequential:
    """Remark 4.1's network: the per-class Theorem 3.4 networks side by side (block-sparse weights).

    Output :math:`c` is :math:`\\#\\{P^c \\ni x\\} - \\#\\{Q^c \\ni x\\} - 1/2` on the data, so its argmax is
    :func:`~lightning_poly.geometry.multiclass_predict` on every point of ``x``.

    Args:
        covers: one binary cover per class (class :math:`c` against the rest).
        x: points every class network must classify exactly as its cover (see :func:`network_from_cover`).

    Returns:
        The float64 network ``d -> sum of faces -> sum of polytopes -> C``.

    Example:
        >>> from lightning_poly.geometry import complement
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> inside = PolytopeBasisCover([sq], [torch.ones(4)], [1])
        >>> net = multiclass_cover_network([complement(inside), inside])
        >>> net(torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)).argmax(1).tolist()
        [1, 0]
    """
    check_covers(covers)
    nets = [network_from_cover(c, x) for c in covers]
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


@dataclass
class MinimalNetworkReport:
    """What :func:`minimal_cover_network` found.

    Attributes:
        cover: the pruned cover.
        network: its Theorem 3.4 network (``None`` when the pruned cover has no polytope).
        accuracy: the network's accuracy on the data (``nan`` without a network).
        nonredundant_faces: per polytope of the unpruned cover, its faces that are facets inside the data's
            box (``None`` unless counted).
        seconds: wall time.
    """

    cover: PolytopeBasisCover
    network: nn.Sequential | None
    accuracy: float
    nonredundant_faces: list[int] | None
    seconds: float

    @property
    def architecture(self) -> str:
        """Theorem 3.4's architecture of the pruned cover, e.g. ``"2-4-1-1"``."""
        return "-".join(map(str, self.cover.architecture()))


@torch.no_grad()
def minimal_cover_network(
    model: PolytopeBasisCover | CoverNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    exact_faces: bool = True,
    tol: float = 1e-4,
) -> MinimalNetworkReport:
    """The end of the compressing algorithm (Algorithm 2): the smallest network of Theorem 3.4 that keeps
    every prediction of a cover on the data, and its accuracy.

    A :class:`~lightning_poly.nn.CoverNetwork` is first read as its cover (Theorem 3.7,
    :func:`~lightning_poly.algorithms.extract_cover`). The cover is pruned on ``x``
    (:func:`~lightning_poly.algorithms.prune_cover`: no prediction on ``x`` changes), and the pruned
    cover's network (:func:`network_from_cover`) is evaluated on ``(x, y)``.

    Args:
        model: a cover, or a cover network (condition (7) should hold, e.g. after
            :func:`~lightning_poly.algorithms.finalise_`).
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``).
        exact_faces: also count the non-redundant faces in the data's box and drop the redundant ones before
            the data-driven pruning (exact LPs; cheap for small ``d``).
        tol: tolerance of condition (7) when ``model`` is a cover network.

    Returns:
        The report.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]])
        >>> cover = PolytopeBasisCover([sq], [torch.tensor([1.0, 1, 1, 1, 5])], [1])
        >>> x = torch.rand(200, 2) * 4 - 2
        >>> rep = minimal_cover_network(cover, x, cover.predict(x))
        >>> rep.architecture, rep.accuracy, rep.nonredundant_faces
        ('2-4-1-1', 1.0, [4])
    """
    start = time.perf_counter()
    cover = extract_cover(model, x, y, tol) if isinstance(model, CoverNetwork) else model
    check_cover(cover)
    check_points("x", x, cover.dim)
    xc, lab = x.detach().cpu().double(), cover.binary_labels(x.detach().cpu(), y.detach().cpu())
    counted = nonredundant_cover_faces(cover, xc) if exact_faces and len(cover) and len(xc) else None
    pruned = prune_cover(cover, xc, faces=exact_faces)
    network, accuracy = None, float("nan")
    if len(pruned):
        network = network_from_cover(pruned, xc)
        accuracy = float(((network(xc).squeeze(1) > 0).long() == lab).double().mean())
    return MinimalNetworkReport(pruned, network, accuracy, counted, time.perf_counter() - start)
