r"""Pulling triangulations of linear regions: the #simplices of Table I of the face-histogram paper.

Theorems 1-4 of "Deep ReLU Networks Have Surprisingly Simple Polytopes" bound the number of
:math:`d`-simplices in triangulations of all linear regions of a ReLU network (Preliminary 2: a
triangulation splits a polytope into simplices meeting in common faces); Table I checks the bounds on
3-n-1 networks by triangulating every region. We use the *pulling* triangulation: pick an apex
:math:`v` of the polytope :math:`P` (the vertex on most facets), triangulate every facet :math:`F` that
misses :math:`v`, and cone each of its simplices to :math:`v`. A polygon with :math:`k` vertices is
fanned into :math:`k - 2` triangles, so a 3-polytope gets

.. math::
    \#\text{simplices}(P) = \sum_{F \not\ni v} (|\mathrm{vert}\,F| - 2),

and a polygon gets one triangle per edge that misses :math:`v` (:math:`k - 2` in all).

:func:`pulling_triangulation` triangulates one polytope given its vertices and inequalities;
:func:`region_simplices` enumerates every region of a network inside the box
(:func:`~lightning_poly.geometry.exhaustive.all_regions`), finds its vertices (Qhull's halfspace
intersection from an interior point) and triangulates it. The triangulations tile the box, so their
total volume is :math:`(2B)^d` when every region was found: :attr:`RegionSimplices.volume` reports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch
from scipy.spatial import HalfspaceIntersection
from torch import nn

from lightning_poly._validation import check_choice, check_finite, check_int, check_points, check_positive
from lightning_poly.geometry.exhaustive import all_regions
from lightning_poly.geometry.faces import clean_rows, interior_points
from lightning_poly.geometry.regions import region_hrep
from lightning_poly.nn.relu_network import linear_layers

__all__ = [
    "APEXES",
    "RegionSimplices",
    "arrangement_box",
    "pulling_triangulation",
    "region_simplices",
    "region_simplices_by_apex",
]

DIMENSIONS = (2, 3)
Apex = Literal["most_facets", "fewest_simplices", "most_simplices"]
APEXES: tuple[str, ...] = get_args(Apex)


def _incidence(slack: np.ndarray, tol: float, d: int) -> np.ndarray:
    """``(V, F)`` vertex-facet incidence from the ``(V, m)`` slacks: one column per distinct facet.

    A row tight at ``d`` or more vertices is a facet (``d`` extreme points on a supporting hyperplane
    span it); a repeated inequality is the same facet.
    """
    on = np.abs(slack) <= tol
    return np.unique(on[:, on.sum(axis=0) >= d], axis=1)


def _fan(points: np.ndarray, normal: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles of the fan from the first vertex of a convex polygon in 3-space, in cyclic order."""
    centred = points - points.mean(axis=0)
    u = centred[np.argmax(np.linalg.norm(centred, axis=1))]
    u = u / np.linalg.norm(u)
    w = np.cross(normal, u)
    order = np.argsort(np.arctan2(centred @ w, centred @ u))
    return [(int(order[0]), int(order[i]), int(order[i + 1])) for i in range(1, len(order) - 1)]


def pulling_triangulation(
    vertices: torch.Tensor, a: torch.Tensor, b: torch.Tensor, tol: float = 1e-7, *, apex: Apex = "most_facets"
) -> torch.Tensor:
    r"""A pulling triangulation of the polygon or 3-polytope :math:`\{x : a x \le b\}` with the given vertices.

    The apex is the vertex on most facets (the first such); every facet that misses it is fanned from one of
    its vertices, and each of its triangles (edges in the plane) is coned to the apex (module docstring).
    Face-histogram paper, Preliminary 2 and Table I. A triangulation is not unique and neither is its number
    of simplices: pulling from :math:`v` gives :math:`\sum_F (|F| - 2) - \sum_{F \ni v} (|F| - 2)` simplices
    in 3-space (:math:`|F|`: the facet's vertices; one per edge missing :math:`v` in the plane), so on a simple
    polytope, where every vertex is on :math:`d` facets, the count depends on the sizes of the facets at the
    apex. ``apex="fewest_simplices"`` / ``"most_simplices"`` pull from the vertex that gives the fewest / most.

    Args:
        vertices: ``(V, d)`` the vertices of the polytope, each once (``d`` is 2 or 3).
        a: ``(m, d)`` rows of its inequalities (redundant and repeated rows are allowed).
        b: ``(m,)`` their offsets.
        tol: a vertex lies on a row when its distance to the row's hyperplane is at most ``tol`` (times
            ``max(1, |b|)``).
        apex: the vertex the triangulation pulls from: ``"most_facets"`` (the first on most facets),
            ``"fewest_simplices"`` or ``"most_simplices"`` (the one whose pulling triangulation has fewest / most).

    Returns:
        ``(S, d + 1)`` int64 indices into ``vertices``: one simplex per row.

    Raises:
        ValueError: for shapes that do not match, a dimension other than 2 or 3, fewer than ``d + 1``
            vertices, vertices in a lower-dimensional flat, a zero row, or a vertex outside the polytope.

    Example:
        >>> cube = torch.tensor([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)])
        >>> a = torch.cat([torch.eye(3), -torch.eye(3)])
        >>> len(pulling_triangulation(cube, a, torch.tensor([1.0, 1, 1, 0, 0, 0])))  # 3 facets miss the apex
        6
    """
    check_points("vertices", vertices)
    d = vertices.shape[1]
    if d not in DIMENSIONS:
        raise ValueError(f"`vertices` must be points in dimension {DIMENSIONS}, got dimension {d}")
    if len(vertices) < d + 1:
        raise ValueError(f"a {d}-polytope has at least {d + 1} vertices, got {len(vertices)}")
    check_points("a", a, d)
    if b.shape != (len(a),):
        raise ValueError(f"`b` must have shape ({len(a)},) to match `a`, got {tuple(b.shape)}")
    check_finite("b", b)
    check_positive("tol", tol)
    check_choice("apex", apex, APEXES)
    v, an, bn = (t.detach().cpu().double().numpy() for t in (vertices, a, b))
    norm = np.linalg.norm(an, axis=1)
    if bool((norm == 0).any()):
        raise ValueError(f"`a` must have no zero row, got {int((norm == 0).sum())}")
    an, bn = an / norm[:, None], bn / norm
    slack = v @ an.T - bn[None]  # signed distances to the hyperplanes
    scaled_tol = tol * max(1.0, float(np.abs(bn).max()))
    outside = (slack > scaled_tol).any(axis=1)
    if outside.any():
        raise ValueError(f"every vertex must satisfy `a x <= b`, got {int(outside.sum())} outside")
    if np.linalg.matrix_rank(v[1:] - v[:1]) < d:
        raise ValueError(f"`vertices` must span a {d}-polytope, got vertices in a lower-dimensional flat")
    on = _incidence(slack, scaled_tol, d)
    if apex == "most_facets":
        top = int(np.argmax(on.sum(axis=1)))
    else:  # the simplices a vertex saves: those its own facets would have given
        saved = on.astype(np.int64) @ (on.sum(axis=0) - (d - 1))
        top = int(np.argmax(saved) if apex == "fewest_simplices" else np.argmin(saved))
    simplices: list[list[int]] = []
    for f in np.flatnonzero(~on[top]):
        idx = np.flatnonzero(on[:, f])
        if d == 2:
            simplices.append([top, int(idx[0]), int(idx[1])])
            continue
        normal = np.cross(v[idx[1]] - v[idx[0]], v[idx[2]] - v[idx[0]])
        for i, j, k in _fan(v[idx], normal / np.linalg.norm(normal)):
            simplices.append([top, int(idx[i]), int(idx[j]), int(idx[k])])
    return torch.tensor(simplices, dtype=torch.int64).reshape(-1, d + 1)


def _volume(vertices: np.ndarray, simplices: torch.Tensor) -> float:
    """Total volume of the simplices (rows of vertex indices)."""
    if len(simplices) == 0:
        return 0.0
    corners = vertices[simplices.numpy()]  # (S, d + 1, d)
    edges = corners[:, 1:] - corners[:, :1]
    return float(np.abs(np.linalg.det(edges)).sum()) / math.factorial(vertices.shape[1])


@dataclass
class RegionSimplices:
    """What :func:`region_simplices` found.

    Attributes:
        patterns: ``(R, Γ)`` activation patterns of every region inside the box.
        simplices: ``(R,)`` simplices in each region's pulling triangulation (0 where not triangulated).
        empty_interior: ``(R,)`` regions whose inscribed ball is below ``interior_tol`` (not triangulated).
        volume: total volume of the simplices: :math:`(2B)^d` when they tile the box.
    """

    patterns: torch.Tensor
    simplices: torch.Tensor
    empty_interior: torch.Tensor
    volume: float

    @property
    def n_regions(self) -> int:
        """Regions found inside the box."""
        return len(self.patterns)

    @property
    def total(self) -> int:
        """Simplices over all regions: the #simplices of Theorems 1-4 and Table I."""
        return int(self.simplices.sum())


@torch.no_grad()
def arrangement_box(model: nn.Module, margin: float = 1.05) -> float:
    """The half-width of the smallest box ``[-B, B]^d`` that holds every vertex of the first layer's hyperplane
    arrangement, times ``margin``: Table I's box "large enough" (every vertex of a one-hidden-layer network's
    arrangement is the meeting point of ``d`` of its hyperplanes; parallel ``d``-subsets have none).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.copy_(torch.tensor([-3.0, 1.0]))
        >>> round(arrangement_box(net, margin=1.0), 6)  # x = 3, y = -1 meet at (3, -1)
        3.0
    """
    check_positive("margin", margin)
    first = linear_layers(model)[0]
    w = first.weight.detach().double().cpu()
    b = first.bias.detach().double().cpu() if first.bias is not None else torch.zeros(len(w), dtype=torch.float64)
    d = w.shape[1]
    subsets = torch.combinations(torch.arange(len(w)), d) if len(w) >= d else torch.zeros(0, d, dtype=torch.int64)
    if len(subsets) == 0:
        return margin
    ws, bs = w[subsets], -b[subsets]  # w x + b = 0 on each hyperplane
    ok = torch.linalg.matrix_rank(ws) == d
    if not bool(ok.any()):
        return margin
    vertices = torch.linalg.solve(ws[ok], bs[ok][..., None])[..., 0]
    return margin * max(1.0, float(vertices.abs().max()))


def region_simplices(
    model: nn.Module,
    box: float = 1.0,
    seed_points: int = 4000,
    seed: int = 0,
    tol: float = 1e-7,
    interior_tol: float = 1e-9,
    *,
    apex: Apex = "most_facets",
) -> RegionSimplices:
    """Pulling triangulations of every linear region of ``model`` inside ``[-box, box]^d`` (``d`` = 2 or 3).

    Face-histogram paper, Table I: the regions are enumerated exhaustively
    (:func:`~lightning_poly.geometry.exhaustive.all_regions`, seeded by ``seed_points`` uniform points),
    their vertices are Qhull's intersection of the region's halfspaces from an interior point, and each
    is triangulated by :func:`pulling_triangulation`. With the box large enough to hold every vertex
    of the arrangement and hyperplanes in general position, the total lies between Theorem 4's and
    Theorem 3's bounds (:func:`~lightning_poly.geometry.bounds.simplices_lower_bound_one_layer`,
    :func:`~lightning_poly.geometry.bounds.simplices_upper_bound_one_layer`).

    Args:
        model: a ReLU MLP with 2 or 3 inputs.
        box: half-width ``B`` of the box.
        seed_points: uniform points that seed the enumeration.
        seed: seed of those points.
        tol: vertex-on-facet tolerance of :func:`pulling_triangulation`.
        interior_tol: regions with a smaller inscribed ball are reported in ``empty_interior`` and not
            triangulated.
        apex: the vertex each region's pulling triangulation pulls from (:func:`pulling_triangulation`).

    Returns:
        The patterns, each region's simplex count, the degenerate regions and the total volume.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
        >>> res = region_simplices(net, box=1.0)  # the axes cut the square into 4 squares
        >>> res.n_regions, res.total, round(res.volume, 6)
        (4, 8, 4.0)
    """
    check_choice("apex", apex, APEXES)
    return region_simplices_by_apex(
        model, box, seed_points, seed, tol, interior_tol, apexes=(apex,)
    )[apex]  # fmt: skip


def region_simplices_by_apex(
    model: nn.Module,
    box: float = 1.0,
    seed_points: int = 4000,
    seed: int = 0,
    tol: float = 1e-7,
    interior_tol: float = 1e-9,
    *,
    apexes: Sequence[Apex] = APEXES,  # type: ignore[assignment]
) -> dict[str, RegionSimplices]:
    """:func:`region_simplices` for several apex rules at once: the regions are enumerated and their vertices
    found once, then each region is triangulated from each rule's apex (Table I's effect of the triangulation).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
        >>> {k: r.total for k, r in region_simplices_by_apex(net, apexes=("most_facets", "most_simplices")).items()}
        {'most_facets': 8, 'most_simplices': 8}
    """
    d = linear_layers(model)[0].in_features
    if d not in DIMENSIONS:
        raise ValueError(f"`model` must have {DIMENSIONS[0]} or {DIMENSIONS[1]} inputs to triangulate, got {d}")
    check_positive("box", box)
    check_int("seed_points", seed_points, minimum=1)
    check_positive("tol", tol)
    check_positive("interior_tol", interior_tol)
    if not apexes:
        raise ValueError(f"`apexes` must name at least one of {APEXES}, got none")
    for apex in apexes:
        check_choice("apexes", apex, APEXES)
    pats = all_regions(model, box=box, seed_points=seed_points, seed=seed)
    a, b = region_hrep(model, pats, box)
    a_n, b_n, keep, _, _ = clean_rows(a, b)
    x0, depth, _ = interior_points(a_n, b_n, keep, interior_tol=interior_tol)
    empty = (depth <= interior_tol).cpu()
    counts = {apex: torch.zeros(len(pats), dtype=torch.int64) for apex in apexes}
    volume = dict.fromkeys(apexes, 0.0)
    for r in torch.nonzero(~empty).flatten().tolist():
        ar, br = a_n[r][keep[r]].cpu(), b_n[r][keep[r]].cpu()
        hs = HalfspaceIntersection(torch.cat([ar, -br[:, None]], 1).numpy(), x0[r].cpu().numpy())
        verts = np.unique(np.round(hs.intersections, 9), axis=0)
        for apex in apexes:
            simplices = pulling_triangulation(torch.from_numpy(verts), ar, br, tol, apex=apex)
            counts[apex][r] = len(simplices)
            volume[apex] += _volume(verts, simplices)
    return {apex: RegionSimplices(pats, counts[apex], empty, volume[apex]) for apex in apexes}
