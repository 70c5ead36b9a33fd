r"""Section IV's networks with complicated polytopes (face-histogram paper): test cases for a face counter.

* :func:`average_faces_cone` (Equations (1)-(3), Figure 2): regions whose *average* number of faces approaches the
  number of faces of a cone;
* :func:`maximum_faces_polygon` (Equations (4)-(7), Figure 3): one region with as many faces as the network has
  neurons, :math:`\Gamma`.

Both return a plain float64 ``nn.Sequential`` ReLU MLP (``Linear, ReLU, ..., Linear``) and the facts a test checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_int, check_positive

__all__ = ["ConeConstruction", "PolygonConstruction", "average_faces_cone", "maximum_faces_polygon"]


@dataclass
class ConeConstruction:
    """:func:`average_faces_cone`'s network and facts.

    Attributes:
        network: the two-hidden-layer ReLU MLP of Equation (3) (widths ``n + 1`` and ``m``, one output).
        slice_points: ``(m - 1, d)`` one interior point of each bounded slice of the cone (between two cuts).
        slice_faces: faces of each such slice, ``n + 2``: the cone's ``n`` facets and its two cuts.
        box: a box half-width ``B`` that holds every bounded slice.
    """

    network: nn.Sequential
    slice_points: torch.Tensor
    slice_faces: int
    box: float


@dataclass
class PolygonConstruction:
    """:func:`maximum_faces_polygon`'s network and facts.

    Attributes:
        network: the two-hidden-layer ReLU MLP (widths ``n`` and ``k``, one output).
        point: ``(2,)`` a point inside the polygon whose faces come from all ``n + k`` neurons.
        gamma: ``n + k``, the number of neurons and of that polygon's faces.
        box: a box half-width that holds the polygon.
    """

    network: nn.Sequential
    point: torch.Tensor
    gamma: int
    box: float


def _mlp(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i, (w, b) in enumerate(layers):
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        mods += [lin] if i == len(layers) - 1 else [lin, nn.ReLU()]
    return nn.Sequential(*mods)


def _cone_normals(n: int, k: int, seed: int) -> torch.Tensor:
    """``(n, k)`` unit vectors that positively span :math:`\\mathbb R^k`: equally spaced on the circle for ``k = 2``,
    else a regular simplex's ``k + 1`` vertices and ``n - k - 1`` seeded random directions."""
    if k == 2:
        ang = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
        return torch.stack([ang.cos(), ang.sin()], 1)
    e = torch.eye(k + 1, dtype=torch.float64) - 1.0 / (k + 1)  # centred simplex vertices, in the sum-zero subspace
    basis = torch.linalg.qr(e[:, :k])[0]  # orthonormal basis of that subspace
    c = e @ basis
    extra = torch.randn(n - k - 1, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    c = torch.cat([c, extra])
    return c / c.norm(dim=1, keepdim=True)


def average_faces_cone(
    d: int, n: int, m: int, *, mu: float = 1e4, slope: float = 4.0, seed: int = 0
) -> ConeConstruction:
    r"""Equations (1)-(3) (Figure 2): a cone with ``n`` facets cut ``m`` times by the second layer.

    Our reading of Equation (3): the first layer's ``n`` hyperplanes meet at one vertex (the origin) and bound the
    cone :math:`K = \{x : h_j(x) = t\,c_j^\top x_{<d} - x_d \le 0,\ j \le n\}` with ``n`` facets (:math:`t` = ``slope``,
    :math:`c_j` unit vectors that positively span :math:`\mathbb R^{d-1}`), so these ``n`` neurons are inactive in
    :math:`K` (the paper's :math:`\Omega = \cap_j h_j^+` with its sign convention); one more first-layer neuron,
    :math:`z_0 = \sigma(x_d)`, is active in :math:`K` (the paper's :math:`z_d`, the neuron whose level sets cut
    :math:`\Omega`). The second layer's ``m`` neurons (Equation (2) for ``m = 1``)

    .. math:: y_i = \sigma\Big(-\mu \sum_{j\le n} z_j - z_0 + b_i\Big), \qquad b_i = i\,\frac{B}{m + 1},

    equal :math:`\sigma(b_i - x_d)` in :math:`K` and cut it at the heights :math:`x_d = b_i`; outside :math:`K` the
    large :math:`\mu` (``mu``) switches them off except in slivers of width :math:`O(b_i/\mu)` along
    :math:`\partial K` (the paper's limit :math:`\mu \to \infty` removes them). Each bounded slice has ``n + 2``
    faces (the cone's ``n`` and its two cuts), so the mean over regions tends to ``n + 2`` as ``m`` grows: the
    paper's :math:`(n m + c_1)/(c_2 + m) \approx n`, counting the cone's faces of each slice.

    Args:
        d: input dimension, ``>= 3`` (a cone of ``d = 2`` has two facets).
        n: facets of the cone, ``>= d``.
        m: cuts (second-layer neurons), ``>= 2``.
        mu: the weight :math:`\mu` of the cone neurons in the second layer.
        slope: :math:`t`, the cone's narrowness: the cross-section at height :math:`x_d` has inradius
            :math:`x_d / t` (circumradius at most :math:`(d-1)\,x_d/t`); every bounded slice lies in the box
            ``[-1, 1]^d`` when that is below 1.
        seed: seed of the facet normals beyond a simplex's (``d >= 4``).

    Example:
        >>> c = average_faces_cone(3, 5, 4)
        >>> c.slice_faces, tuple(c.slice_points.shape), [l.out_features for l in c.network if hasattr(l, "weight")]
        (7, (3, 3), [6, 4, 1])
    """
    check_int("d", d, minimum=3)
    check_int("n", n, minimum=d)
    check_int("m", m, minimum=2)
    check_positive("mu", mu)
    check_positive("slope", slope)
    c = _cone_normals(n, d - 1, seed)
    w1 = torch.cat([torch.cat([slope * c, -torch.ones(n, 1, dtype=torch.float64)], 1),
                    torch.eye(d, dtype=torch.float64)[-1:]])  # fmt: skip
    box = 1.0
    levels = box * torch.arange(1, m + 1, dtype=torch.float64) / (m + 1)
    w2 = torch.cat([torch.full((m, n), -mu, dtype=torch.float64), -torch.ones(m, 1, dtype=torch.float64)], 1)
    net = _mlp([(w1, torch.zeros(n + 1, dtype=torch.float64)), (w2, levels), (torch.ones(1, m, dtype=torch.float64),
                                                                               torch.zeros(1, dtype=torch.float64))])  # fmt: skip
    mid = (levels[:-1] + levels[1:]) / 2  # centre of the cone's axis between two cuts
    points = torch.zeros(m - 1, d, dtype=torch.float64)
    points[:, -1] = mid
    # the slices stay in the box: the cross-section at height h lies within radius h / (t cos) of the axis
    return ConeConstruction(net, points, n + 2, box)


def maximum_faces_polygon(n: int, k: int, *, depth: float = 0.25, radius: float = 0.5) -> PolygonConstruction:
    r"""Equations (4)-(7) (Figure 3): one region whose faces come from all :math:`\Gamma = n + k` neurons.

    The first layer's ``n`` neurons :math:`z_j = \sigma(h_j(x))`, :math:`h_j(x) = p^{(j)\top} x + r^{(j)}` with
    :math:`p^{(j)} = -u_j`, :math:`r^{(j)} = R` (``radius``), :math:`u_j` equally spaced unit vectors, bound the
    regular ``n``-gon :math:`\Omega = \cap_j h_j^+` where all are active (Equation (4)). Each of the ``k <= n``
    second-layer neurons cuts one vertex of :math:`\Omega`: two points on the two neighbouring edges, at the fraction
    ``depth`` of each edge from the vertex, give the line :math:`t_1 x + t_2 y + s = 0` of Equation (5) (signed to be
    positive on the polygon's centre); the neuron takes only the two edges' neurons :math:`z_a, z_b`,
    :math:`y = \sigma(\alpha z_a + \beta z_b + \gamma)` (Equation (6)), with :math:`(\alpha, \beta, \gamma)` solving
    Equation (7)'s system, so that :math:`y` is exactly that line inside :math:`\Omega`. The region where every
    neuron is active is :math:`\Omega` with ``k`` vertices cut off: ``n + k`` faces, one per neuron.

    Args:
        n: sides of the polygon (first-layer width), ``>= 3``.
        k: vertices cut (second-layer width), ``1 <= k <= n``.
        depth: fraction of each neighbouring edge cut off, in ``(0, 0.5)`` (cuts of adjacent vertices must not meet).
        radius: the polygon's inradius :math:`R`.

    Example:
        >>> p = maximum_faces_polygon(5, 5)
        >>> p.gamma, p.point.tolist()
        (10, [0.0, 0.0])
    """
    check_int("n", n, minimum=3)
    check_int("k", k, minimum=1)
    if k > n:
        raise ValueError(f"`k` must be an integer in [1, n = {n}] (one cut per vertex), got {k}")
    if not (isinstance(depth, int | float) and 0 < depth < 0.5):
        raise ValueError(f"`depth` must lie in (0, 0.5), got {depth!r}")
    check_positive("radius", radius)
    ang = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    u = torch.stack([ang.cos(), ang.sin()], 1)
    p, r = -u, torch.full((n,), float(radius), dtype=torch.float64)  # h_j(x) = p_j . x + r_j >= 0 inside
    vang = ang + math.pi / n  # vertex j joins edges j and j + 1
    vert = radius / math.cos(math.pi / n) * torch.stack([vang.cos(), vang.sin()], 1)
    w2, b2 = torch.zeros(k, n, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    for i in range(k):
        a, b = i, (i + 1) % n
        q1 = vert[i] + depth * (vert[(i - 1) % n] - vert[i])  # on edge a (between vertices i - 1 and i)
        q2 = vert[i] + depth * (vert[(i + 1) % n] - vert[i])  # on edge b (between vertices i and i + 1)
        t = torch.stack([q2[1] - q1[1], q1[0] - q2[0]])  # normal of the line through q1, q2 (Equation (5))
        s = -float(t @ q1)
        if s < 0:  # positive on the centre
            t, s = -t, -s
        lhs = torch.tensor([[p[a, 0], p[b, 0], 0.0], [p[a, 1], p[b, 1], 0.0], [r[a], r[b], 1.0]], dtype=torch.float64)
        alpha, beta, gamma = torch.linalg.solve(lhs, torch.cat([t, torch.tensor([s], dtype=torch.float64)]))  # (7)
        w2[i, a], w2[i, b], b2[i] = alpha, beta, gamma
    net = _mlp([(p, r), (w2, b2), (torch.ones(1, k, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))])
    box = 2.0 * radius / math.cos(math.pi / n)
    return PolygonConstruction(net, torch.zeros(2, dtype=torch.float64), n + k, box)
