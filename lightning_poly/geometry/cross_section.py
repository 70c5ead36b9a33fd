r"""Regions cut by a 2-D plane through an input, coloured by face count (face-histogram paper, Figure 10).

The plane :math:`x_0 + s u + t v` runs through an input :math:`x_0` (an image, for a CNN) along two
directions; every pixel :math:`(s, t)` of a grid on :math:`[-e, e]^2` gets the region of its point: its
activation pattern (with the max-pool choices of a CNN). Faces are counted in one of two senses:

* ``"section"`` (Figure 10's reading: "almost all the polytopes are triangles or quadrilaterals"): the edges
  of the polygon a region cuts from the plane window, exact. The network composed with the plane map
  :math:`(s, t) \mapsto x_0 + s u + t v` is itself piecewise linear in two inputs, so
  :func:`~lightning_poly.geometry.pwl_regions` of that composition gives each region's rows in the plane
  directly (``Γ + Q + 4`` rows of 2 columns, whatever the input's size) and Qhull counts them.
* ``"region"``: the faces of the whole :math:`d`-dimensional region in the box :math:`[-B, B]^d`: exact for a
  ReLU MLP (:func:`~lightning_poly.geometry.count_region_faces`' methods), estimated (hit-and-run, lower
  bounds) for other networks; costly in high dimension (a small CNN on 8x8 images: about 2 s a region).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.utils import skip_init

from lightning_poly._validation import check_choice, check_finite, check_int, check_positive
from lightning_poly.geometry.faces import FACE_METHODS, FaceMethod, count_facets
from lightning_poly.geometry.histogram import count_region_faces
from lightning_poly.geometry.network_view import is_relu_mlp, network_view
from lightning_poly.geometry.pwl_regions import pwl_enumerate_regions, pwl_regions
from lightning_poly.geometry.regions import Regions, enumerate_regions
from lightning_poly.nn.outputs import module_device
from lightning_poly.nn.relu_network import get_relu_network

__all__ = ["CrossSection", "SectionCount", "cross_section"]

SectionCount = Literal["section", "region", "none"]


@dataclass
class CrossSection:
    """A grid on the plane ``origin + s u + t v`` with the region and face count of every grid point.

    Attributes:
        s, t: ``(res,)`` plane coordinates.
        region: ``(res, res)`` region index of every grid point (row ``i`` is ``t[i]``).
        faces: ``(res, res)`` face count of the region of each grid point (-1: degenerate), in the sense of
            ``count``; ``None`` for ``count="none"``.
        count: ``"section"`` (edges of the region's polygon in the plane window), ``"region"`` (faces of the
            d-dimensional region in the box) or ``"none"``.
        exact: whether the counts are exact (``False``: hit-and-run lower bounds).
        origin, u, v: the plane, flattened ``(d,)`` float64 (as the network saw them, in its dtype).
    """

    s: torch.Tensor
    t: torch.Tensor
    region: torch.Tensor
    faces: torch.Tensor | None
    count: str = "region"
    exact: bool = True
    origin: torch.Tensor | None = None
    u: torch.Tensor | None = None
    v: torch.Tensor | None = None

    @property
    def n_regions(self) -> int:
        """Regions met by the grid."""
        return int(self.region.max()) + 1 if self.region.numel() else 0

    @property
    def region_faces(self) -> torch.Tensor | None:
        """``(R,)`` the face count of each region (-1: degenerate), ``None`` without counts."""
        if self.faces is None:
            return None
        out = torch.full((self.n_regions,), -1, dtype=torch.long)
        return out.scatter_(0, self.region.flatten(), self.faces.flatten())

    @property
    def mean_faces(self) -> float | None:
        """Mean face count over the regions met (each once, degenerate ones left out)."""
        per = self.region_faces
        return None if per is None or not bool((per >= 0).any()) else float(per[per >= 0].double().mean())


def _plane(
    d: int, origin: torch.Tensor | None, u: torch.Tensor | None, v: torch.Tensor | None, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The anchor and directions, flattened float64: defaults the origin and seeded random unit directions
    (``v`` orthogonal to ``u``; the coordinate axes at ``d = 2``)."""
    if d < 2:
        raise ValueError(f"a cross-section needs a plane in the input space: inputs of 2 or more values, got {d}")
    given = {"origin": origin, "u": u, "v": v}
    for name, t in given.items():
        if t is not None and (not isinstance(t, torch.Tensor) or t.numel() != d):
            got = f"{t.numel()} entries" if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"`{name}` must be a point of the model's input ({d} entries), got {got}")
        if t is not None:
            check_finite(name, t)
    o = torch.zeros(d, dtype=torch.float64) if origin is None else origin.detach().cpu().double().flatten()
    g = torch.Generator().manual_seed(int(seed))
    eye = torch.eye(d, dtype=torch.float64)
    if u is None:
        u_ = eye[0] if d == 2 else torch.randn(d, generator=g, dtype=torch.float64)
        u_ = u_ / u_.norm()
    else:
        u_ = u.detach().cpu().double().flatten()
    if v is None:
        v_ = eye[1] if d == 2 and u is None else torch.randn(d, generator=g, dtype=torch.float64)
        v_ = v_ - (v_ @ u_) / (u_ @ u_) * u_
        v_ = v_ / v_.norm()
    else:
        v_ = v.detach().cpu().double().flatten()
    area = float((u_ @ u_) * (v_ @ v_) - (u_ @ v_) ** 2)
    if not area > 1e-12 * float((u_ @ u_) * (v_ @ v_)):
        raise ValueError(f"`u` and `v` must span a plane (two independent directions), got |u x v|^2 = {area:.3g}")
    return o, u_, v_


def _plane_network(
    model: nn.Module, origin: torch.Tensor, u: torch.Tensor, v: torch.Tensor, shape: tuple[int, ...]
) -> nn.Sequential:
    """``(s, t) -> model(origin + s u + t v)`` as one network of two inputs (a ``Linear(2, d)``, the reshape
    to ``shape``, the model), in the model's dtype and on its device: piecewise linear when the model is."""
    params = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    dtype = params[0].dtype if params else torch.float32
    # no initialisation: it would draw from the global random state (and change a training run)
    lin = skip_init(nn.Linear, 2, math.prod(shape), device=module_device(model), dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.stack([u, v], dim=1))
        lin.bias.copy_(origin)
    return nn.Sequential(lin, nn.Unflatten(1, shape), model)


@torch.no_grad()
def cross_section(
    model: nn.Module,
    origin: torch.Tensor | None = None,
    u: torch.Tensor | None = None,
    v: torch.Tensor | None = None,
    extent: float = 1.0,
    resolution: int = 200,
    box: float = 1.0,
    method: FaceMethod = "auto",
    count: SectionCount = "section",
    input_shape: tuple[int, ...] | None = None,
    seed: int = 0,
) -> CrossSection:
    """The regions met by a 2-D plane through ``origin`` along ``u`` and ``v``, and their face counts.

    Works on a ReLU MLP and on any network that :func:`~lightning_poly.geometry.pwl_regions` traces (a CNN: then
    ``origin`` is an input as the model takes it, e.g. an image ``(1, 28, 28)``, or ``input_shape`` gives its
    shape). A grid point's region is its activation pattern (and max-pool choices). With ``count="region"``
    grid points outside the box are clipped to it (the regions are those of the box); the other counts take
    the plane as it is.

    What a call costs: the activation patterns of the ``resolution**2`` grid points (a float64 forward), the
    rows of one point per region met (2 columns) and, for ``"section"``, one 2-D Qhull per region. Measured
    at one thread (``docs/results.md``): a small CNN on 8x8 images, 200 x 200 grid, 331 regions in about 1 s;
    the LeNet-style CNN of ``benchmarks/cnn_faces.py``, 100 x 100 grid over ``[-0.1, 0.1]^2``, 496 regions in
    11 s, 8.8 s of them the patterns. ``"region"`` estimates every region's faces in ``d`` dimensions (see the
    module docstring).

    Args:
        model: a ReLU MLP or a piecewise-linear network (in eval mode where it matters).
        origin: the point the plane runs through (default the origin of the input space).
        u: first direction of the plane (default: a seeded random unit direction; the first axis at ``d = 2``).
        v: second direction (default: a seeded random unit direction orthogonal to ``u``; the second axis at
            ``d = 2``).
        extent: the plane is drawn over ``[-extent, extent]^2`` in ``(u, v)`` coordinates (the window that
            also bounds each polygon of ``"section"``).
        resolution: grid points per side.
        box: half-width of the box that bounds every region of ``"region"``.
        method: face-counting method of ``"region"`` (see :func:`~lightning_poly.geometry.face_histogram`;
            ``"auto"`` or ``"estimate"`` for a network that is not a ReLU MLP).
        count: ``"section"`` (edges of each region's polygon in the window, exact), ``"region"`` (faces of the
            d-dimensional region in the box) or ``"none"`` (regions only).
        input_shape: a point's shape for a network that is not a ReLU MLP, when ``origin`` does not give it.
        seed: seed of the default directions.

    Returns:
        :class:`CrossSection`.

    Raises:
        ValueError: for a plane that is not one (points of the wrong size, parallel directions), a network
            that ``pwl_regions`` refuses (the layer named), and an exact ``method`` for a network that is not a
            ReLU MLP.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> cs = cross_section(net, resolution=40)
        >>> cs.faces.shape, bool((cs.faces >= 3).all())
        (torch.Size([40, 40]), True)
        >>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 1))
        >>> image = torch.rand(1, 6, 6)
        >>> cs = cross_section(cnn.eval(), image, extent=0.5, resolution=30)
        >>> cs.region.shape, cs.count, cs.exact, cs.n_regions > 1, cs.mean_faces >= 3
        (torch.Size([30, 30]), 'section', True, True, True)
    """
    check_int("resolution", resolution, minimum=2)
    check_positive("extent", extent)
    check_positive("box", box)
    check_choice("count", count, ("section", "region", "none"))
    check_choice("method", method, FACE_METHODS)
    mlp = is_relu_mlp(model)
    if not mlp and count == "region" and method not in ("auto", "estimate"):
        raise ValueError(
            f"`method` must be 'auto' or 'estimate' for the regions of a network that is not a ReLU MLP (their "
            f"faces are estimated), got {method!r}"
        )
    one = origin[None] if isinstance(origin, torch.Tensor) and origin.ndim >= 1 else None
    needs = "`origin`, a point of the shape it takes (e.g. an image (1, 28, 28)), or `input_shape`"
    shape = network_view(model, input_shape, one, needs=needs).input_shape
    o, u_, v_ = _plane(math.prod(shape), origin, u, v, seed)
    s = torch.linspace(-extent, extent, resolution, dtype=torch.float64)
    ss, tt = torch.meshgrid(s, s, indexing="xy")
    st = torch.stack([ss.flatten(), tt.flatten()], dim=1)
    net = get_relu_network(model) if mlp else model
    plane = _plane_network(net, o, u_, v_, shape)
    o, u_, v_ = plane[0].bias.double().cpu(), *plane[0].weight.double().cpu().T
    if count == "region":
        region, per_region, exact = _region_faces(model, mlp, shape, (o + st @ torch.stack([u_, v_])), box, method)
    else:
        region, per_region = _section_faces(plane, st, extent, count == "section")
        exact = True
    faces = None if per_region is None else per_region[region].reshape(resolution, resolution)
    return CrossSection(s, s.clone(), region.reshape(resolution, resolution), faces, count, exact, o, u_, v_)


def _section_faces(
    plane: nn.Module, st: torch.Tensor, extent: float, counted: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Region of every plane point, and the edges of each region's polygon in ``[-extent, extent]^2``."""
    regions = pwl_enumerate_regions(plane, st, box=extent)
    if not counted:
        return regions.inverse.cpu(), None
    counts = [_polygon_edges(plane, pts, extent) for pts in regions.points.split(_REGIONS_PER_PASS)]
    return regions.inverse.cpu(), torch.cat(counts)


_REGIONS_PER_PASS = 256  # plane regions whose rows one pass holds (a LeNet's 8,048 rows of 2: 33 MB)


def _polygon_edges(plane: nn.Module, pts: torch.Tensor, extent: float) -> torch.Tensor:
    """The edges (-1: degenerate) of the polygons of the regions of the plane points ``pts`` ``(R, 2)``.

    A row whose line misses the window's interior (:math:`b \\ge e \\|a\\|_1`: it holds on all of
    :math:`[-e, e]^2`) is no edge of a polygon inside the window: only the rows that cross it, and the window's
    own four, go to Qhull (a LeNet's 8,048 rows per region come down to the few dozen its polygon's lines
    are among), in batches whose duplicate search stays within 256 MiB.
    """
    rows = pwl_regions(plane, pts, box=extent, chunk_size=len(pts))
    a, b = rows.a.cpu(), rows.b.cpu()
    crosses = b < extent * a.abs().sum(dim=2)
    crosses[:, -4:] = True  # the window's rows (the box rows of the plane's two inputs)
    k = int(crosses.sum(dim=1).max())
    first = torch.argsort((~crosses).to(torch.int8), dim=1, stable=True)[:, :k]  # the crossing rows first
    a_k, b_k = a.gather(1, first[..., None].expand(-1, -1, 2)), b.gather(1, first)
    pad = ~crosses.gather(1, first)  # beyond a region's own crossing rows: 0 x <= 1, dropped as zero rows
    a_k[pad], b_k[pad] = 0.0, 1.0
    out = []
    for sl in torch.arange(len(pts)).split(max(1, 2**28 // (8 * k * k))):
        res = count_facets(a_k[sl], b_k[sl], interior=pts[sl].cpu())  # d = 2: Qhull
        out.append(torch.where(res.ok, res.counts, -1))
    return torch.cat(out)


def _region_faces(
    model: nn.Module, mlp: bool, shape: tuple[int, ...], pts: torch.Tensor, box: float, method: FaceMethod
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Region of every point (clipped to the box) and the faces of each d-dimensional region in the box."""
    pts = pts.clamp(-box, box).to(module_device(model))
    if mlp:
        regions: Regions = enumerate_regions(model, pts, box)
        res = count_region_faces(model, regions, box=box, method=method)
        exact = method != "estimate"
    else:
        regions = pwl_enumerate_regions(model, pts.reshape(-1, *shape), box)
        res = count_region_faces(model, regions, box=box, method="estimate", input_shape=shape)
        exact = False
    return regions.inverse.cpu(), torch.where(res.ok, res.counts, -1), exact
