"""The region complex of a ReLU MLP drawn exactly: on a 2-D input every region's polygon coloured by its faces, with
the decision boundary; on a 3-D input slices of the complex, each region's cut coloured by its 3-D faces (no
Lightning import)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from torch import nn

from lightning_poly.geometry.complex import RegionComplex
from lightning_poly.plotting import plt

__all__ = ["complex_polygons", "complex_slice_polygons", "plot_region_complex", "plot_region_complex_slices"]


def _clip(poly: np.ndarray, a: np.ndarray, b: float) -> np.ndarray:
    """The convex polygon ``poly`` (vertices in order) cut by the half-plane ``a x <= b`` (Sutherland-Hodgman)."""
    if not len(poly):
        return poly
    s = poly @ a - b
    out = []
    for i in range(len(poly)):
        j = (i + 1) % len(poly)
        if s[i] <= 0:
            out.append(poly[i])
        if (s[i] < 0 < s[j]) or (s[j] < 0 < s[i]):
            t = s[i] / (s[i] - s[j])
            out.append(poly[i] + t * (poly[j] - poly[i]))
    return np.array(out).reshape(-1, 2)


def complex_polygons(cx: RegionComplex) -> list[np.ndarray]:
    """Each region's polygon (vertices in counter-clockwise order) of a complex of a 2-D input in a box.

    Args:
        cx: from :func:`~lightning_poly.geometry.region_complex` with a box, ``d = 2``.

    Raises:
        ValueError: for a complex that is not 2-D or has no box.

    Example:
        >>> from lightning_poly.geometry import region_complex
        >>> net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0]])); _ = net[0].bias.zero_()
        >>> [p.round(6).tolist() for p in complex_polygons(region_complex(net, box=1.0))]
        [[[-1.0, -1.0], [0.0, -1.0], [0.0, 1.0], [-1.0, 1.0]], [[0.0, -1.0], [1.0, -1.0], [1.0, 1.0], [0.0, 1.0]]]
    """
    if cx.a.shape[2] != 2 or cx.box is None:
        raise ValueError(
            f"`cx` must be the complex of a 2-D input in a box, got d = {cx.a.shape[2]} and box = {cx.box}"
        )
    w = float(cx.box)
    square = np.array([[-w, -w], [w, -w], [w, w], [-w, w]])
    a, b = cx.a.cpu().double().numpy(), cx.b.cpu().double().numpy()
    polys = []
    for i in range(len(cx)):
        p = square
        for k in range(a.shape[1]):
            p = _clip(p, a[i, k], b[i, k])
        polys.append(p)
    return polys


def complex_slice_polygons(cx: RegionComplex, level: float, axis: int = 2) -> list[tuple[int, np.ndarray]]:
    """The cut of every region of a 3-D complex by the plane ``x[axis] = level``: ``(region index, polygon)`` for the
    regions the plane meets in a set of positive area (vertices counter-clockwise in the other two coordinates, in
    increasing order). Each cut is exact: the region's H-representation with ``x[axis]`` fixed, clipped from the box.

    Args:
        cx: from :func:`~lightning_poly.geometry.region_complex` with a box, ``d = 3``.
        level: where the plane cuts ``axis``, inside the box.
        axis: the coordinate held fixed (0, 1 or 2).

    Raises:
        ValueError: for a complex that is not 3-D or has no box, an axis outside 0-2 or a level outside the box.

    Example:
        >>> from lightning_poly.geometry import region_complex
        >>> net = nn.Sequential(nn.Linear(3, 1), nn.ReLU(), nn.Linear(1, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0, 1.0]])); _ = net[0].bias.zero_()
        >>> [(i, p.round(6).tolist()) for i, p in complex_slice_polygons(region_complex(net, box=1.0), 0.5)]
        [(0, [[-1.0, -1.0], [-0.5, -1.0], [-0.5, 1.0], [-1.0, 1.0]]), (1, [[-0.5, -1.0], [1.0, -1.0], [1.0, 1.0], [-0.5, 1.0]])]
    """
    if cx.a.shape[2] != 3 or cx.box is None:
        raise ValueError(
            f"`cx` must be the complex of a 3-D input in a box, got d = {cx.a.shape[2]} and box = {cx.box}"
        )
    if axis not in (0, 1, 2):
        raise ValueError(f"`axis` must be one of 0, 1, 2, got {axis!r}")
    w = float(cx.box)
    if not -w <= float(level) <= w:
        raise ValueError(f"`level` must lie in the box [-{w:g}, {w:g}], got {level!r}")
    keep = [i for i in range(3) if i != axis]
    a, b = cx.a.cpu().double().numpy(), cx.b.cpu().double().numpy()
    a2, b2 = a[:, :, keep], b - a[:, :, axis] * float(level)
    square = np.array([[-w, -w], [w, -w], [w, w], [-w, w]])
    out = []
    for i in range(len(cx)):
        p = square
        for k in range(a.shape[1]):
            p = _clip(p, a2[i, k], b2[i, k])
        if len(p) >= 3 and _area(p) > 1e-12 * (2 * w) ** 2:
            out.append((i, p))
    return out


def _area(p: np.ndarray) -> float:
    """The shoelace area of a polygon."""
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def plot_region_complex_slices(
    cx: RegionComplex, levels: tuple[float, ...] | None = None, *, axis: int = 2, title: str = ""
) -> Figure:
    """Slices of a 3-D complex at ``levels`` of ``x[axis]``, one panel each: every region's cut coloured by the number
    of faces of the (3-D) region, on one colour scale; a region met by several slices has its colour in each.

    Args:
        cx: from :func:`~lightning_poly.geometry.region_complex` with a box, ``d = 3``.
        levels: where to cut (default: -1/2, 0 and 1/2 of the box's half-width).
        axis: the coordinate held fixed.
        title: the figure's title (default: regions and mean faces of the whole complex).

    Example:
        >>> from lightning_poly.geometry import region_complex
        >>> _ = torch.manual_seed(0)
        >>> fig = plot_region_complex_slices(region_complex(nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 1))))
        >>> len(fig.axes)  # three slices and the colour bar
        4
    """
    w = float(cx.box) if cx.box is not None else 1.0
    levels = tuple(levels) if levels is not None else (-w / 2, 0.0, w / 2)
    cuts = [complex_slice_polygons(cx, lev, axis) for lev in levels]
    counts = cx.counts.cpu().numpy()
    lo, hi = int(counts.min()), int(counts.max())
    cmap = plt.get_cmap("viridis", hi - lo + 1)
    fig, axes = plt.subplots(1, len(levels), figsize=(3.3 * len(levels) + 1.0, 3.6), squeeze=False, sharey=True)
    names = [n for i, n in enumerate(("x1", "x2", "x3")) if i != axis]
    coll = None
    for ax, lev, cut in zip(axes[0], levels, cuts):
        coll = PolyCollection([p for _, p in cut], array=counts[[i for i, _ in cut]], cmap=cmap, edgecolors="white",
                              linewidths=0.4)  # fmt: skip
        coll.set_clim(lo - 0.5, hi + 0.5)
        ax.add_collection(coll)
        ax.set_xlim(-w, w)
        ax.set_ylim(-w, w)
        ax.set_aspect("equal")
        ax.set_xlabel(names[0])
        ax.set_title(f"x{axis + 1} = {lev:g}: {len(cut)} regions met", fontsize=9)
    assert coll is not None
    axes[0][0].set_ylabel(names[1])
    bar = fig.colorbar(coll, ax=list(axes[0]), ticks=range(lo, hi + 1))
    bar.set_label("faces of the 3-D region")
    mean = float(counts.mean()) if len(counts) else float("nan")
    fig.suptitle(title or f"{len(cx)} regions in [-{w:g}, {w:g}]^3, mean faces {mean:.2f}", fontsize=10)
    return fig


@torch.no_grad()
def _boundary(model: nn.Module, polys: list[np.ndarray]) -> list[np.ndarray]:
    """The decision boundary inside each polygon: the network is affine there, so the zero set of the score
    (the logit, or the last minus the first output) is the segment between the sign changes along the edges."""
    verts = np.concatenate([p for p in polys if len(p)]) if polys else np.zeros((0, 2))
    p0 = next(iter(model.parameters()))
    out = model(torch.as_tensor(verts, dtype=p0.dtype, device=p0.device)).double().cpu()
    score = (out[:, 0] if out.shape[1] == 1 else out[:, -1] - out[:, 0]).numpy()
    segs, at = [], 0
    for p in polys:
        s = score[at : at + len(p)]
        at += len(p)
        ends = []
        for i in range(len(p)):
            j = (i + 1) % len(p)
            if s[i] == 0:
                ends.append(p[i])
            elif s[i] * s[j] < 0:
                ends.append(p[i] + s[i] / (s[i] - s[j]) * (p[j] - p[i]))
        if len(ends) >= 2:
            segs.append(np.array([ends[0], ends[-1]]))
    return segs


def plot_region_complex(
    cx: RegionComplex,
    model: nn.Module | None = None,
    *,
    title: str = "",
    points: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
) -> Figure:
    """Every region of a 2-D complex, coloured by its number of faces (box faces included), with the decision
    boundary of ``model`` drawn exactly (red) and optional labelled points.

    Args:
        cx: from :func:`~lightning_poly.geometry.region_complex` with a box, ``d = 2``.
        model: the ReLU MLP of ``cx`` (``None``: no decision boundary).
        title: the axes' title.
        points: ``(n, 2)`` points to scatter.
        labels: ``(n,)`` their classes (colours).

    Raises:
        ValueError: for a complex that is not 2-D or has no box.

    Example:
        >>> from lightning_poly.geometry import region_complex
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> fig = plot_region_complex(region_complex(net), net)
        >>> len(fig.axes)  # the complex and the colour bar
        2
    """
    polys = complex_polygons(cx)
    counts = cx.counts.cpu().numpy()
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    lo, hi = int(counts.min()), int(counts.max())
    cmap = plt.get_cmap("viridis", hi - lo + 1)
    coll = PolyCollection(polys, array=counts, cmap=cmap, edgecolors="white", linewidths=0.4)
    coll.set_clim(lo - 0.5, hi + 0.5)
    ax.add_collection(coll)
    bar = fig.colorbar(coll, ax=ax, ticks=range(lo, hi + 1))
    bar.set_label("faces of the region")
    if model is not None:
        ax.add_collection(LineCollection(_boundary(model, polys), colors="#e31a1c", linewidths=1.8))
        ax.plot([], [], color="#e31a1c", lw=1.8, label="decision boundary")
        ax.legend(loc="upper right", fontsize=7)
    if points is not None:
        pts = points.detach().double().cpu().numpy()
        c = None if labels is None else labels.detach().cpu().numpy()
        ax.scatter(pts[:, 0], pts[:, 1], c=c, s=10, cmap="coolwarm", edgecolors="k", linewidths=0.2)
    w = float(cx.box)  # type: ignore[arg-type]
    ax.set_xlim(-w, w)
    ax.set_ylim(-w, w)
    ax.set_aspect("equal")
    mean = float(counts.mean()) if len(counts) else float("nan")
    ax.set_title(title or f"{len(cx)} regions, mean faces {mean:.2f}")
    fig.tight_layout()
    return fig
