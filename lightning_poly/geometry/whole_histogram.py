"""Face counts of *every* region of a ReLU MLP in its box, from the region complex (``regions="all"``).

Sampled histograms find regions by the points that fall in them, so they favour large regions; the
mean-faces bounds of Theorems 8-10 speak of every region of the arrangement. In low dimension the whole
complex (:func:`~lightning_poly.geometry.region_complex`) is affordable and gives the unbiased histogram;
:func:`whole_complex_counts` computes it within a budget and says why when it does not fit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
from torch import nn

from lightning_poly.geometry.complex import pattern_keys, region_complex
from lightning_poly.geometry.face_histogram_result import FaceHistogram
from lightning_poly.geometry.regions import activation_patterns

__all__ = ["REGION_SOURCES", "RegionSource", "WholeCounts", "whole_complex_counts", "whole_face_histogram"]

RegionSource = Literal["sampled", "all"]
REGION_SOURCES: tuple[str, ...] = ("sampled", "all")


class WholeCounts(NamedTuple):
    """Per-region results of :func:`whole_complex_counts`, regions sorted by pattern.

    Attributes:
        counts: ``(R,)`` faces of each region (network and box faces).
        ok: ``(R,)`` regions with a proper interior (the others have no facets).
        box: ``(R,)`` faces on the box.
        weights: ``(R,)`` points that fell in each region (0 for regions no point found).
        lost: points whose pattern is no region of the complex (on a boundary).
    """

    counts: torch.Tensor
    ok: torch.Tensor
    box: torch.Tensor
    weights: torch.Tensor
    lost: int


@torch.no_grad()
def whole_complex_counts(
    model: nn.Module,
    points: torch.Tensor,
    box: float,
    *,
    max_seconds: float | None,
    max_regions: int,
    seed: int = 0,
) -> tuple[WholeCounts | None, str]:
    """Faces of every region of ``model`` in ``[-box, box]^d``, or ``None`` and why not.

    Args:
        model: a ReLU MLP.
        points: ``(n, d)`` points in the box; each region's weight is how many fall in it.
        box: half-width of the box.
        max_seconds: time budget of the enumeration (``None``: none).
        max_regions: most regions; a complex with more is not used.
        seed: seed of the points that start the enumeration.

    Returns:
        ``(counts, "")`` when the complex was enumerated completely, else ``(None, reason)``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 1))
        >>> res, why = whole_complex_counts(net, torch.zeros(1, 2), 1.0, max_seconds=None, max_regions=1000)
        >>> why, int(res.weights.sum()), len(res.counts) >= 1
        ('', 1, True)
        >>> whole_complex_counts(net, torch.zeros(1, 2), 1.0, max_seconds=None, max_regions=1)[1][:35]
        'the region complex has more than 1 '
    """
    cx = region_complex(model, box=box, seed=seed, max_regions=max_regions, max_seconds=max_seconds)
    if not cx.complete:
        if "max_regions" in cx.reason:
            return None, f"the region complex has more than {max_regions:,} regions (`max_regions`)"
        return None, (
            f"the region complex was not enumerated within {max_seconds:.3g} s (half the time budget): "
            f"{len(cx):,} regions done, more left"
        )
    index = {k: i for i, k in enumerate(pattern_keys(cx.patterns))}
    weights = torch.zeros(len(cx), dtype=torch.long)
    lost = 0
    pats = activation_patterns(model, points.to(cx.a.device, cx.a.dtype))
    for k in pattern_keys(pats):
        i = index.get(k)
        if i is None:
            lost += 1
        else:
            weights[i] += 1
    ok = (cx.status == 0).cpu()
    return WholeCounts(cx.counts.cpu(), ok, cx.box_counts.cpu(), weights, lost), ""


def whole_face_histogram(
    model: nn.Module,
    points: torch.Tensor,
    box: float,
    t0: float,
    max_seconds: float | None,
    max_regions: int,
    seed: int,
    shard: tuple[int, int],
    all_reduce_sum: Callable[[torch.Tensor], torch.Tensor] | None,
    notes: list[str],
) -> FaceHistogram | None:
    """``regions="all"`` of :func:`~lightning_poly.geometry.face_histogram`: the histogram of the whole complex, or
    ``None`` (the reason warned and appended to ``notes``); every process of a sharded call reaches the same
    collective and all use the complex, or none."""
    left = None if max_seconds is None else max(max_seconds / 2 - (time.perf_counter() - t0), 1e-3)
    res, why = whole_complex_counts(model, points, box, max_seconds=left, max_regions=max_regions, seed=seed)
    rank, world = shard
    if world > 1 and all_reduce_sum is not None:  # every process reaches it: all use the complex, or none
        failed = torch.zeros(world, dtype=torch.long)
        failed[rank] = int(res is None)
        device = next(model.parameters()).device
        n_failed = int(all_reduce_sum(failed.to(device)).sum())
        if n_failed and res is not None:
            res, why = None, f"the region complex did not fit the budget on {n_failed} of the {world} processes"
    if res is None:
        note = f"face_histogram: regions='all' fell back to the sampled regions: {why}"
        warnings.warn(note, stacklevel=3)
        notes.append(note)
        return None
    if res.lost:
        notes.append(f"{res.lost} points lie on region boundaries (their pattern is no region's); not weighted")
    rays = torch.zeros_like(res.counts)
    hist = FaceHistogram.from_counts(
        model, res.weights, res.counts, res.ok, rays, box, "simplex", len(points), time.perf_counter() - t0,
        notes, res.box,
    )  # fmt: skip
    hist.regions = "all"
    return hist
