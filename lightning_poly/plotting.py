"""Matplotlib figures shared by callbacks and examples (no Lightning import)."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from lightning_poly._validation import check_finite, check_int, check_positive
from lightning_poly.geometry.cross_section import CrossSection
from lightning_poly.nn.outputs import module_outputs

__all__ = ["grid_2d", "plot_cover", "plot_cross_section", "plot_decision_regions", "plot_model_decision_regions"]


def grid_2d(
    x: torch.Tensor, resolution: int = 200, margin: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A ``resolution x resolution`` grid covering the 2-D points ``x`` plus a relative margin.

    Args:
        x: ``(n, 2)`` points.
        resolution: grid points per side.
        margin: relative margin around the points.

    Returns:
        ``(xx, yy, points)`` with ``points`` of shape ``(resolution**2, 2)``.

    Example:
        >>> xx, yy, p = grid_2d(torch.tensor([[0., 0.], [1., 1.]]), resolution=3)
        >>> p.shape
        torch.Size([9, 2])
    """
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"`x` must have shape (n, 2) with n >= 1 for a 2-D plot, got {tuple(x.shape)}")
    check_finite("x", x)
    check_int("resolution", resolution, minimum=2)
    check_positive("margin", margin, strict=False)
    lo, hi = x.min(dim=0).values, x.max(dim=0).values
    pad = (hi - lo).clamp_min(1e-6) * margin
    lo, hi = lo - pad, hi + pad
    xx, yy = torch.meshgrid(
        torch.linspace(float(lo[0]), float(hi[0]), resolution),
        torch.linspace(float(lo[1]), float(hi[1]), resolution),
        indexing="xy",
    )
    return xx, yy, torch.stack([xx.flatten(), yy.flatten()], dim=1)


def _check_labels(x: torch.Tensor, y: torch.Tensor) -> None:
    if y.shape != x.shape[:1]:
        raise ValueError(
            f"`y` must have one label per point of `x`, got {tuple(y.shape)} for `x` of shape {tuple(x.shape)}"
        )


@torch.no_grad()
def plot_decision_regions(
    score: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    title: str = "",
    resolution: int = 200,
) -> Figure:
    """Decision regions of a binary scorer (class 1 where ``score > 0``) with the data on top.

    Args:
        score: maps ``(N, 2)`` points to ``(N,)`` scores.
        x: ``(n, 2)`` points.
        y: their labels.
        title: the figure title.
        resolution: grid points per side.

    Example:
        >>> fig = plot_decision_regions(lambda p: p[:, 0], torch.randn(20, 2), torch.arange(20) % 2)
        >>> len(fig.axes)
        1
    """
    _check_labels(x, y)
    xx, yy, pts = grid_2d(x.detach().cpu().float(), resolution)
    s = score(pts)
    if not isinstance(s, torch.Tensor) or s.numel() != len(pts):
        got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
        raise ValueError(f"`score` must return one value per point ({len(pts)} grid points), got {got}")
    s = s.reshape(-1).float().cpu().reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xx.numpy(), yy.numpy(), (s > 0).float().numpy(), levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
    ax.contour(xx.numpy(), yy.numpy(), s.numpy(), levels=[0.0], colors="k", linewidths=1.0)
    yy_ = (y.detach().cpu() > 0).numpy()
    xc = x.detach().cpu().numpy()
    ax.scatter(xc[~yy_, 0], xc[~yy_, 1], s=6, c="#08519c", label="class 0")
    ax.scatter(xc[yy_, 0], xc[yy_, 1], s=6, c="#d94801", label="class 1")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    return fig


def plot_model_decision_regions(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, title: str = "", resolution: int = 200
) -> Figure:
    """:func:`plot_decision_regions` of a binary classifier's own forward (in eval mode).

    The score is the model's logit for one output, the last minus the first logit for several
    (class 1 where it is > 0).

    Args:
        model: a binary classifier on 2-D inputs.
        x: ``(n, 2)`` points.
        y: their labels.
        title: the figure title.
        resolution: grid points per side.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> fig = plot_model_decision_regions(net, torch.randn(20, 2), torch.arange(20) % 2, resolution=10)
        >>> len(fig.axes)
        1
    """

    def score(p: torch.Tensor) -> torch.Tensor:
        out = module_outputs(model, p).reshape(len(p), -1)
        return out[:, 0] if out.shape[1] == 1 else out[:, -1] - out[:, 0]

    return plot_decision_regions(score, x, y, title, resolution)


_BOUND_LABELS = {
    "theorem8": "Theorem 8 bound (one hidden layer)",
    "theorem9": "Theorem 9 bound (d = 2)",
    "theorem10": "Theorem 10 bound (zero biases)",
}


def plot_face_histogram(
    counts: torch.Tensor,
    title: str = "",
    bound: tuple[str, float] | None = None,
    network_counts: torch.Tensor | None = None,
    *,
    whole: bool = False,
) -> Figure:
    """Bar chart of the number of regions per face count, with the mean and an optional bound.

    The bars count every face of a region inside the box (the paper's histograms). The mean-faces bounds of
    Theorems 8-10 bound the mean over *every* region of the arrangement in a large box (Theorem 8's ratio counts
    the box's faces too), so the mean is labelled with what it is: over every region of the box (``whole``, from
    the region complex: the quantity the bound bounds) or over the sampled regions (large regions favoured:
    not the bounded quantity, only an estimate of it). ``network_counts`` (faces from neurons only) draws their
    mean too.

    Example:
        >>> fig = plot_face_histogram(torch.tensor([4, 4, 5, 6]), bound=("theorem9", 4.0), network_counts=torch.tensor([3, 4, 4, 4]))
        >>> len(fig.axes)
        1
    """
    c = counts.long().cpu()
    n = torch.bincount(c, minlength=int(c.max()) + 1 if c.numel() else 1)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    which = "every region of the box" if whole else "sampled regions"
    ax.bar(torch.arange(len(n)).numpy(), n.numpy(), color="#9ecae1", width=0.8, label=f"{which} (all faces in the box)")
    if c.numel():
        m = float(c.double().mean())
        what = "the quantity the bound bounds" if whole else "large regions favoured"
        ax.axvline(m, color="k", ls="--", lw=1, label=f"mean faces, {which}: {m:.2f} ({what})")
    if network_counts is not None and network_counts.numel():
        m = float(network_counts.double().mean())
        ax.axvline(m, color="#31a354", ls="-.", lw=2, label=f"mean network faces (box faces left out) {m:.2f}")
    if bound is not None:
        label = _BOUND_LABELS.get(bound[0], bound[0])
        ax.axvline(bound[1], color="#d94801", lw=1.5, label=f"{label}: {bound[1]:.2f} (mean over every region)")
    ax.set_xlabel("number of faces")
    ax.set_ylabel("number of regions")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


_COUNT_LABELS = {
    "section": "edges of the region's polygon in the plane",
    "region": "faces of the region (d dimensions)",
}


def _boundary_segments(section: CrossSection) -> list[list[tuple[float, float]]]:
    """Segments between neighbouring grid points of different regions (the pixels' common sides)."""
    s, t, region = section.s.double(), section.t.double(), section.region
    ds, dt = float(s[1] - s[0]) / 2, float(t[1] - t[0]) / 2
    segs = []
    for i, j in torch.nonzero(region[:, 1:] != region[:, :-1]).tolist():  # between columns j and j + 1
        x = float(s[j] + s[j + 1]) / 2
        segs.append([(x, float(t[i]) - dt), (x, float(t[i]) + dt)])
    for i, j in torch.nonzero(region[1:, :] != region[:-1, :]).tolist():  # between rows i and i + 1
        y = float(t[i] + t[i + 1]) / 2
        segs.append([(float(s[j]) - ds, y), (float(s[j]) + ds, y)])
    return segs


def plot_cross_section(section: CrossSection, title: str = "") -> Figure:
    """The regions of a 2-D cross-section, coloured by face count, boundaries in black (paper Figure 10).

    Each grid point is coloured by the face count of its region (one colour per count; degenerate regions
    grey), or by its region (a cycle of 20 colours) when ``section`` has no counts; the sides between grid
    points of different regions are drawn black, and the anchor (``s = t = 0``) is marked.

    Args:
        section: a :class:`~lightning_poly.geometry.CrossSection`.
        title: the figure title (the number of regions and the mean count are added).

    Raises:
        TypeError: if ``section`` is not a ``CrossSection``.

    Example:
        >>> from lightning_poly.geometry import cross_section
        >>> net = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 1))
        >>> len(plot_cross_section(cross_section(net, resolution=20)).axes)  # the plane and the colour bar
        2
    """
    if not isinstance(section, CrossSection):
        raise TypeError(f"`section` must be a CrossSection (from geometry.cross_section), got {type(section).__name__}")
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap

    s, t = section.s.numpy(), section.t.numpy()
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    summary = f"{section.n_regions} regions"
    if section.faces is not None:
        faces = section.faces.numpy()
        seen = faces[faces >= 0]
        lo, hi = (int(seen.min()), int(seen.max())) if seen.size else (0, 1)
        cmap = plt.get_cmap("viridis", hi - lo + 1).with_extremes(bad="0.75")
        masked = np.ma.masked_less(faces, 0)
        im = ax.pcolormesh(s, t, masked, cmap=cmap, vmin=lo - 0.5, vmax=hi + 0.5, shading="nearest")
        ticks = range(lo, hi + 1, max(1, (hi - lo + 1) // 10))
        label = _COUNT_LABELS.get(section.count, "faces") + ("" if section.exact else " (estimated, lower bounds)")
        fig.colorbar(im, ax=ax, ticks=list(ticks), label=label)
        if section.mean_faces is not None:
            summary += f", mean {section.mean_faces:.2f}"
    else:
        shuffled = torch.randperm(max(section.n_regions, 1), generator=torch.Generator().manual_seed(0))
        colours = (shuffled[section.region] % 20).numpy()
        ax.pcolormesh(s, t, colours, cmap=ListedColormap(plt.get_cmap("tab20").colors), vmin=-0.5, vmax=19.5,
                      shading="nearest")  # fmt: skip
    ax.add_collection(LineCollection(_boundary_segments(section), colors="k", linewidths=0.6))
    ax.plot([0.0], [0.0], marker="+", color="white", markersize=10, markeredgewidth=2)
    ax.set_xlabel("s (along u)")
    ax.set_ylabel("t (along v)")
    ax.set_aspect("equal")
    ax.set_title(f"{title}: {summary}" if title else summary, fontsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def plot_cover(cover: object, x: torch.Tensor, y: torch.Tensor, title: str = "", max_panels: int = 8) -> Figure:
    """A polytope-basis cover on 2-D data (polytope-basis-covers paper, Figures 4 and 10).

    Panel 1: the cover's decision regions (class 1 where #P - #Q > 0), every face line (the
    activation boundaries) and the data. Then one panel per polytope (P orange, Q blue), up to
    ``max_panels``.

    Args:
        cover: a :class:`~lightning_poly.geometry.PolytopeBasisCover`.
        x: ``(n, 2)`` points.
        y: their labels.
        title: the figure title.
        max_panels: most polytopes drawn.

    Example:
        >>> from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> c = PolytopeBasisCover([sq], [torch.ones(4)], [1])
        >>> len(plot_cover(c, torch.randn(30, 2), torch.arange(30) % 2).axes)
        2
    """
    if getattr(cover, "dim", None) not in (None, 2):
        raise ValueError(f"`cover` must be a 2-D cover to plot, got a cover in dimension {cover.dim}")  # type: ignore[attr-defined]
    _check_labels(x, y)
    xc = x.detach().cpu().double()
    xx, yy, pts = grid_2d(xc.float(), 250)
    pts = pts.double()
    member = cover.membership(pts)  # type: ignore[attr-defined]
    counts = (member.long() * torch.tensor(cover.signs, dtype=torch.long)).sum(1)  # type: ignore[attr-defined]
    k = min(len(cover.signs), max_panels)  # type: ignore[attr-defined]
    fig, axes = plt.subplots(1, k + 1, figsize=(3.2 * (k + 1), 3.4), squeeze=False)
    axes = axes[0]
    lab = (y.detach().cpu() > 0).numpy()
    xn = xc.numpy()
    lo, hi = pts.min(0).values.numpy(), pts.max(0).values.numpy()

    def scatter(ax: plt.Axes) -> None:
        ax.scatter(xn[~lab, 0], xn[~lab, 1], s=3, c="#08519c")
        ax.scatter(xn[lab, 0], xn[lab, 1], s=3, c="#d94801")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])

    def lines(ax: plt.Axes, a: torch.Tensor, b: torch.Tensor, color: str) -> None:
        t = torch.linspace(-1, 1, 2, dtype=torch.float64) * float(abs(torch.tensor([*lo, *hi])).max() * 4 + 1)
        for ai, bi in zip(a, b):
            p0 = ai * bi  # closest point of the line a^T x = b to the origin (|a| = 1)
            direction = torch.stack([-ai[1], ai[0]])
            seg = p0[None] + t[:, None] * direction[None]
            ax.plot(seg[:, 0].numpy(), seg[:, 1].numpy(), color=color, lw=0.6, alpha=0.7)

    ax = axes[0]
    ax.contourf(
        xx.numpy(),
        yy.numpy(),
        (counts > 0).reshape(xx.shape).numpy().astype(float),
        levels=[-0.5, 0.5, 1.5],
        colors=["#c6dbef", "#fdd0a2"],
    )
    for a, b in zip(cover.a, cover.b):  # type: ignore[attr-defined]
        lines(ax, a, b, "0.4")
    scatter(ax)
    faces = sum(cover.faces)  # type: ignore[attr-defined]
    ax.set_title(title or f"cover: {len(cover.signs)} polytopes, {faces} faces", fontsize=8)  # type: ignore[attr-defined]
    for i in range(k):
        ax = axes[i + 1]
        s = cover.signs[i]  # type: ignore[attr-defined]
        ax.contourf(
            xx.numpy(),
            yy.numpy(),
            member[:, i].reshape(xx.shape).numpy().astype(float),
            levels=[0.5, 1.5],
            colors=["#fdae6b" if s > 0 else "#9ecae1"],
        )
        lines(ax, cover.a[i], cover.b[i], "#a63603" if s > 0 else "#08306b")  # type: ignore[attr-defined]
        scatter(ax)
        ax.set_title(f"{'P' if s > 0 else 'Q'}{i}: {cover.faces[i]} faces", fontsize=8)  # type: ignore[attr-defined]
    fig.tight_layout()
    return fig
