"""Regions cut by a 2-D plane, coloured by face count (face-histogram paper, Figure 10)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_int, check_positive
from lightning_poly.geometry.histogram import FaceMethod, count_region_faces
from lightning_poly.geometry.regions import Regions, enumerate_regions
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["CrossSection", "cross_section"]


@dataclass
class CrossSection:
    """A grid on the plane ``origin + s u + t v`` with the region and face count of every grid point.

    Attributes:
        s, t: ``(res,)`` plane coordinates.
        region: ``(res, res)`` region index of every grid point (row ``i`` is ``t[i]``).
        faces: ``(res, res)`` faces of the d-dimensional region each grid point lies in (-1: degenerate).
    """

    s: torch.Tensor
    t: torch.Tensor
    region: torch.Tensor
    faces: torch.Tensor


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
) -> CrossSection:
    """Face counts of the regions met by a 2-D plane through ``origin`` along ``u`` and ``v``.

    Defaults: the plane of the first two coordinates through the origin. Grid points outside the box
    are clipped to it (the regions are those of the box).

    Args:
        model: a ReLU MLP.
        origin: a point of the plane (default the origin).
        u: first direction of the plane (default the first coordinate axis).
        v: second direction (default the second axis).
        extent: the plane is drawn over ``[-extent, extent]^2`` in ``(u, v)`` coordinates.
        resolution: grid points per side.
        box: half-width of the box that bounds every region.
        method: face-counting method (see :func:`~lightning_poly.geometry.face_histogram`).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> cs = cross_section(net, resolution=40)
        >>> cs.faces.shape, bool((cs.faces >= 3).all())
        (torch.Size([40, 40]), True)
    """
    check_int("resolution", resolution, minimum=2)
    check_positive("extent", extent)
    d = linear_layers(model)[0].in_features
    origin = torch.zeros(d, dtype=torch.float64) if origin is None else origin.double().flatten()
    u = torch.eye(d, dtype=torch.float64)[0] if u is None else u.double().flatten()
    v = torch.eye(d, dtype=torch.float64)[min(1, d - 1)] if v is None else v.double().flatten()
    if origin.numel() != d or u.numel() != d or v.numel() != d:
        raise ValueError(f"`origin`, `u` and `v` must have {d} entries, got {origin.numel()}, {u.numel()}, {v.numel()}")
    s = torch.linspace(-extent, extent, resolution, dtype=torch.float64)
    ss, tt = torch.meshgrid(s, s, indexing="xy")
    pts = (origin + ss.reshape(-1, 1) * u + tt.reshape(-1, 1) * v).clamp(-box, box)
    regions: Regions = enumerate_regions(model, pts, box)
    counts, ok = count_region_faces(model, regions, box, method)[:2]
    faces = torch.where(ok, counts, -1)[regions.inverse.cpu()]
    return CrossSection(
        s, s.clone(), regions.inverse.cpu().reshape(resolution, resolution), faces.reshape(resolution, resolution)
    )
