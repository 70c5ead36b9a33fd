"""The face histogram of a ReLU network's linear regions: :func:`face_histogram` and the sampled path (regions found
by points, counted exactly or estimated). The result object is
:class:`~lightning_poly.geometry.face_histogram_result.FaceHistogram`; the whole-arrangement path
(``regions="all"``) is :mod:`~lightning_poly.geometry.whole_histogram`."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from lightning_poly._validation import check_choice, check_finite, check_int, check_positive
from lightning_poly.geometry.face_histogram_result import FaceHistogram, network_architecture
from lightning_poly.geometry.faces import FACE_METHODS, FaceMethod, check_qhull_dim, count_faces
from lightning_poly.geometry.network_view import network_view
from lightning_poly.geometry.pwl_regions import (
    ROWS_CHUNK_BYTES,
    RegionCost,
    pwl_enumerate_regions,
    pwl_region_cost,
    pwl_regions,
)
from lightning_poly.geometry.regions import Regions, enumerate_regions, region_hrep, sample_box
from lightning_poly.geometry.whole_histogram import REGION_SOURCES, RegionSource, whole_face_histogram

__all__ = [
    "FaceHistogram",
    "RegionFaces",
    "count_region_faces",
    "face_histogram",
    "network_architecture",
]


class RegionFaces(NamedTuple):
    """Per-region results of :func:`count_region_faces` (one entry per requested region)."""

    counts: torch.Tensor
    ok: torch.Tensor
    rays: torch.Tensor
    notes: list[str]
    box: torch.Tensor
    counted: torch.Tensor


@torch.no_grad()
def count_region_faces(
    model: nn.Module,
    regions: Regions,
    *,
    box: float = 1.0,
    method: FaceMethod = "auto",
    indices: torch.Tensor | None = None,
    patience: int = 1000,
    max_rays: int = 100_000,
    seed: int = 0,
    chunk: int = 512,
    max_seconds: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    input_shape: tuple[int, ...] | None = None,
    cost: RegionCost | None = None,
) -> RegionFaces:
    """Faces of the regions ``regions[indices]`` (all by default), chunked to bound memory.

    Args:
        model: the ReLU MLP whose regions these are.
        regions: from :func:`~lightning_poly.geometry.enumerate_regions`.
        box: half-width of the box that bounds every region.
        method: an exact method of :func:`~lightning_poly.geometry.count_facets` or ``"estimate"``.
        indices: which regions (default all).
        patience: stopping rule of the estimator: rays without a new face.
        max_rays: most rays per region of the estimator.
        seed: seed of the rays and of the counting order.
        chunk: most regions per batch.
        max_seconds: time budget: regions are counted in a seeded random order, in batches sized
            from the measured time per region, until the budget is spent; the rest are reported as
            not ``counted`` (so what is counted is a random subset, not the first regions found). A
            piecewise-linear network's batch starts only if its rows' measured cost (``cost``) fits in what is
            left, the first one included, and the estimator's rays stop at the budget (lower bounds).
        on_progress: called as ``on_progress(done, total)`` after each batch.
        input_shape: a point's shape for a network that is not a ReLU MLP (e.g. ``(1, 28, 28)`` for a CNN,
            with ``regions`` from :func:`~lightning_poly.geometry.pwl_enumerate_regions`): its rows come from
            :func:`~lightning_poly.geometry.pwl_regions` at each region's point (counted by the estimator or,
            where the dimension allows, an exact method), batches capped to 256 MiB of rows. ``None``: a ReLU
            MLP, rows from the patterns.
        cost: a piecewise-linear network's :func:`~lightning_poly.geometry.pwl_region_cost` (measured here when
            ``None``).

    Returns:
        :class:`RegionFaces`: ``counts`` and ``rays`` per region (``rays`` is 0 for exact methods),
        ``ok`` false for regions with an empty interior, ``box`` the faces on the box,
        ``counted`` false where the budget ran out.
    """
    check_choice("method", method, FACE_METHODS)
    check_int("chunk", chunk, minimum=1)
    check_int("patience", patience, minimum=1)
    check_int("max_rays", max_rays, minimum=1)
    if max_seconds is not None:
        check_positive("max_seconds", max_seconds)
    if not isinstance(regions, Regions):
        raise TypeError(f"`regions` must be the Regions of enumerate_regions, got {type(regions).__name__}")
    if indices is not None and (
        indices.ndim != 1
        or indices.is_floating_point()
        or (len(indices) and not 0 <= int(indices.min()) <= int(indices.max()) < len(regions))
    ):
        raise ValueError(f"`indices` must be region indices in 0..{len(regions) - 1}, got {indices.tolist()}")
    idx = torch.arange(len(regions)) if indices is None else indices.cpu()
    n = len(idx)
    counts = torch.zeros(n, dtype=torch.long)
    ok = torch.ones(n, dtype=torch.bool)
    rays = torch.zeros(n, dtype=torch.long)
    box_faces = torch.zeros(n, dtype=torch.long)
    counted = torch.zeros(n, dtype=torch.bool)
    notes: list[str] = []
    d = regions.points.shape[1]

    def rows(sl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if input_shape is None:
            return region_hrep(model, regions.patterns[sl.to(regions.patterns.device)], box)
        reg = pwl_regions(model, regions.points[sl.to(regions.points.device)].reshape(-1, *input_shape), box, len(sl))
        return reg.a, reg.b

    t0 = time.perf_counter()
    deadline = None if max_seconds is None else t0 + max_seconds
    if input_shape is not None and n:  # a batch's rows within 256 MiB (a LeNet region: 168 MB)
        if cost is None:
            cost = pwl_region_cost(model, regions.points[:1].reshape(-1, *input_shape), box)
        chunk = min(chunk, max(1, ROWS_CHUNK_BYTES // max(cost.bytes, 1)))
    order = (
        torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if max_seconds is not None else torch.arange(n)
    )
    # with a budget, a first batch of one region measures the cost before larger batches are sized from it
    done, size = 0, chunk if max_seconds is None else 1
    while done < n:
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0 and done:
                break
            if cost is not None and min(size, n - done) * cost.rows_seconds > left:  # its rows would not fit
                break
        pos = order[done : done + size]
        sl = idx[pos]
        a, b = rows(sl)
        pts = regions.points[sl.to(regions.points.device)].to(a)
        res = count_faces(
            a, b, method, pts, seed=seed, patience=patience, max_rays=max_rays, deadline=deadline
        )  # (the estimator on the rows' device, an exact method on the CPU)
        found, ok[pos] = res.facets.cpu(), res.ok.cpu()
        if res.rays is not None:
            rays[pos] = res.rays
        notes += res.notes
        counts[pos] = found.sum(dim=1)
        box_faces[pos] = found[:, -2 * d :].sum(dim=1) if box is not None else 0
        counted[pos] = True
        done += len(pos)
        if on_progress is not None:
            on_progress(done, n)
        if max_seconds is not None:  # size the next batch to about a quarter of what is left
            per_region = (time.perf_counter() - t0) / done
            left = max_seconds - (time.perf_counter() - t0)
            size = int(min(chunk, max(1, left / 4 / max(per_region, 1e-9))))
    return RegionFaces(counts, ok, rays, notes, box_faces, counted)


@torch.no_grad()
def face_histogram(
    model: nn.Module,
    points: torch.Tensor | None = None,
    *,
    n_points: int = 8000,
    box: float = 1.0,
    method: FaceMethod = "auto",
    seed: int = 0,
    patience: int = 1000,
    max_rays: int = 100_000,
    max_seconds: float | None = None,
    shard: tuple[int, int] = (0, 1),
    all_reduce_sum: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    input_shape: tuple[int, ...] | None = None,
    max_memory: int | None = None,
    regions: RegionSource = "sampled",
    max_regions: int = 100_000,
) -> FaceHistogram:
    """Histogram of the number of faces of the linear regions of a ReLU network.

    Regions are found by sampling (paper's protocol: 8,000 points uniform in ``[-1, 1]^3``) or given
    by ``points`` (e.g. the training data); each region counts once, weighted by its points.

    A network that is not a ReLU MLP (a CNN such as Section V.C's LeNet-5, any network of
    :func:`~lightning_poly.geometry.pwl_regions`) takes the piecewise-linear path: regions by
    :func:`~lightning_poly.geometry.pwl_enumerate_regions` (a region is a pattern with its max-pool choices),
    faces by the estimator (``"auto"`` means ``"estimate"``: a region of an image network has thousands of
    rows in hundreds of dimensions) or by an exact method named in ``method`` (small inputs: exact counts of
    the same rows), the box ``[-B, B]^d`` over the flattened input; ``input_shape`` gives a point's shape
    unless ``points`` do.

    Several processes share the counting with ``shard=(rank, world)``: each finds the same regions
    from the same points, counts the faces of every ``world``-th region from ``rank`` on, and
    ``all_reduce_sum`` (a sum over the processes, e.g. ``torch.distributed.all_reduce``; reached by
    every process) gathers the counts, so every process returns the whole histogram.

    Args:
        model: a ReLU MLP (see :func:`lightning_poly.nn.get_relu_network`).
        points: ``(n, d)`` points; default ``n_points`` uniform in the box from ``seed``.
        n_points: number of uniform points when ``points`` is ``None``.
        box: half-width ``B`` of the box ``[-B, B]^d`` that bounds every region.
        method: an exact method of :func:`~lightning_poly.geometry.count_facets` or ``"estimate"``
            (batched hit-and-run, with facet certificates where a step costs at most ``CERTIFY_MAX_WORK``
            multiply-adds: a lower bound per region).
        seed: seed of the points and of the rays.
        patience: stopping rule of the estimator (paper: no new face in 1,000 rays).
        max_rays: most rays per region of the estimator.
        max_seconds: time budget of the whole call (see :func:`count_region_faces` for how the counting keeps it);
            ``None``: no budget. A piecewise-linear network's regions are measured first
            (:func:`~lightning_poly.geometry.pwl_region_cost`): when one region's rows do not fit in the budget
            none is counted, and the points searched for regions are as many as half of what is left after one
            region allows (both with a warning that names the cost; the histogram's ``n_points`` and ``notes``
            say what was done).
        max_memory: bytes a piecewise-linear network's region may take: its float64 rows six times over (the
            copies the rows, their cleaning and the rays hold at the peak: 10.5 GiB of peak memory for ResNet-18's
            1.9 GiB of rows); a network whose regions need more is not counted (with a warning naming the size).
            ``None``: no bound.
        shard: ``(rank, world)``: the share of the regions this process counts.
        all_reduce_sum: sums a ``(5, R)`` integer tensor over the processes; needed when ``world > 1``.
        on_progress: called as ``on_progress(done, total)`` with this process's regions counted so far.
        input_shape: a point's shape (e.g. ``(1, 28, 28)``) for a network that is not a ReLU MLP, when
            ``points`` is ``None``; ignored for a ReLU MLP.
        regions: ``"sampled"``: the regions the points fall in (large regions are favoured); ``"all"``: every
            region of the box, from :func:`~lightning_poly.geometry.region_complex` (exact counts whatever
            ``method``; the points only weight the regions), when it is enumerated completely within
            ``max_regions`` regions and half of ``max_seconds``; otherwise the sampled path, with a warning
            that says why (and the reason in ``notes``). ReLU MLPs only. With several processes each
            enumerates the same complex and all use it only if all completed (one ``all_reduce_sum``).
        max_regions: most regions of the complex with ``regions="all"``.

    Raises:
        ValueError: for points of the wrong shape or outside the box, a shard of ``world > 1``
            without ``all_reduce_sum``, ``regions="all"`` for a network that is not a ReLU MLP, and (piecewise-linear path) an exact method or a layer that is
            not piecewise linear (named).
        TypeError: for a network that is not a ReLU MLP, given neither ``input_shape`` nor ``points``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 30), nn.ReLU(), nn.Linear(30, 1))
        >>> h = face_histogram(net, n_points=2000)
        >>> h.exact, h.n_regions > 50, 2 < h.mean < 6
        (True, True, True)
    """
    t0 = time.perf_counter()  # the budget holds for the whole call
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    if points is not None and not isinstance(points, torch.Tensor):
        raise TypeError(f"`points` must be a torch.Tensor, got {type(points).__name__}")
    check_positive("box", box)
    check_choice("method", method, FACE_METHODS)
    rank, world = shard
    check_int("shard[1]", world, minimum=1)
    if not 0 <= check_int("shard[0]", rank, minimum=0) < world:
        raise ValueError(f"`shard` must be (rank, world) with 0 <= rank < world, got {shard}")
    if world > 1 and all_reduce_sum is None:
        raise ValueError(f"`all_reduce_sum` must gather the counts of the {world} processes of `shard`, got None")
    check_choice("regions", regions, REGION_SOURCES)
    check_int("max_regions", max_regions, minimum=1)
    view = network_view(model, input_shape, points, needs="`input_shape`, a point's shape, or `points`")
    shape = None if view.mlp else view.input_shape
    if regions == "all" and shape is not None:
        raise ValueError(
            "`regions` can be 'all' only for a ReLU MLP (the region complex enumerates MLP patterns), got 'all' "
            "for a piecewise-linear network; use regions='sampled'"
        )
    if shape is not None and method == "auto":
        method = "estimate"
    d = network_architecture(model)[0] if shape is None else math.prod(shape)
    check_qhull_dim(method, d)
    want = (d,) if shape is None else shape
    device = next(model.parameters()).device
    if points is None:
        check_int("n_points", n_points, minimum=1)
        points = sample_box(n_points, d, box, seed, device=device)
    elif points.ndim < 2 or tuple(points.shape[1:]) not in ((d,), want) or len(points) == 0:
        want_s = ", ".join(map(str, want))
        raise ValueError(f"`points` must have shape (n, {want_s}) with n >= 1, got {tuple(points.shape)}")
    elif bool((check_finite("points", points).abs() > box).any()):
        out = int((points.abs() > box).flatten(1).any(1).sum())
        raise ValueError(f"`points` must lie in the box [-{box}, {box}]^{d}; {out} do not")
    cost, notes = None, []
    if regions == "all":
        whole = whole_face_histogram(
            model, points, box, t0, max_seconds, max_regions, seed, shard, all_reduce_sum, notes
        )
        if whole is not None:
            return whole
    if shape is None:
        found = enumerate_regions(model, points.to(device), box)
    else:
        pts = points.reshape(-1, *shape).to(device)
        cost = pwl_region_cost(model, pts[:1], box)
        n_use, note = _points_within_budget(cost, len(pts), t0, max_seconds, max_memory)
        if world > 1:  # every rank takes the same decision (timings differ between ranks): the smallest
            share = torch.zeros(world, dtype=torch.long)
            share[rank] = n_use
            n_use = int(all_reduce_sum(share.to(device)).min())  # type: ignore[misc]
        if note:
            warnings.warn(note, stacklevel=3)
            notes.append(note)
        points = pts[:n_use]
        found = pwl_enumerate_regions(model, points, box, depth=False) if n_use else _no_regions(shape, device)
    mine = None if world == 1 else torch.arange(rank, len(found), world)
    left = None if max_seconds is None else max(max_seconds - (time.perf_counter() - t0), 1e-9)
    res = count_region_faces(
        model,
        found,
        box=box,
        method=method,
        indices=mine,
        patience=patience,
        max_rays=max_rays,
        seed=seed,
        max_seconds=left,
        on_progress=on_progress,
        input_shape=shape,
        cost=cost,
    )
    if mine is not None and all_reduce_sum is not None:  # every process reaches this collective
        packed = torch.zeros(5, len(found), dtype=torch.long)
        packed[0, mine], packed[1, mine], packed[2, mine] = res.counts, res.ok.long(), res.rays
        packed[3, mine], packed[4, mine] = res.box, res.counted.long()
        packed = all_reduce_sum(packed.to(device)).cpu()
        res = RegionFaces(packed[0], packed[1].bool(), packed[2], res.notes, packed[3], packed[4].bool())
    return FaceHistogram.from_counts(
        model, found.counts, res.counts, res.ok, res.rays, box, method, len(points), time.perf_counter() - t0,
        notes + res.notes, res.box, res.counted, shape,
    )  # fmt: skip


# copies of a region's rows that counting it holds at its peak (rows and box rows joined, cleaned rows, the rays'
# gathered batch); measured: ResNet-18 at 3x32x32, 1.9 GiB of rows, 10.5 GiB peak resident memory
_COPIES = 6


def _points_within_budget(
    cost: RegionCost, n: int, t0: float, max_seconds: float | None, max_memory: int | None
) -> tuple[int, str]:
    """How many of ``n`` points a piecewise-linear face count searches for regions, and why fewer (``""``: all).

    None when one region's rows exceed ``max_memory`` (six copies) or the time left; else at most as many as
    half the time left after one region's rows allows (the values-only pass of a point costs
    ``cost.values_seconds``), so that the regions found can be counted.
    """
    one = (
        f"one region of this network has {cost.rows:,} rows of {cost.dim:,} ({_size(cost.bytes)} in float64) and "
        f"its rows take about {cost.rows_seconds:.2g} s"
    )
    if max_memory is not None and _COPIES * cost.bytes > max_memory:
        return 0, (
            f"face_histogram: no region counted: {one}; counting holds about {_COPIES} copies of its rows, "
            f"{_size(_COPIES * cost.bytes)}, above max_memory={_size(max_memory)}"
        )
    if max_seconds is None:
        return n, ""
    left = max_seconds - (time.perf_counter() - t0)
    if cost.rows_seconds > left:
        return 0, (
            f"face_histogram: no region counted: {one}, more than the {max(left, 0):.1f} s left of the time "
            f"budget; a budget above about {cost.rows_seconds * 1.5 + max_seconds - left:.0f} s counts one"
        )
    afford = int((left - cost.rows_seconds) / 2 / max(cost.values_seconds, 1e-9))
    if afford >= n:
        return n, ""
    afford = max(afford, 1)
    return afford, (
        f"face_histogram: {afford} of the {n} points searched for regions, to leave time to count them within the "
        f"{left:.1f} s left of the time budget ({cost.values_seconds * 1000:.0f} ms a point; {one})"
    )


def _size(nbytes: float) -> str:
    """Bytes as GiB or MiB."""
    return f"{nbytes / 2**30:.2f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.2f} MiB"


def _no_regions(shape: tuple[int, ...], device: torch.device) -> Regions:
    """No region found (none searched)."""
    d = math.prod(shape)
    empty = torch.zeros(0, dtype=torch.long, device=device)
    return Regions(
        torch.zeros(0, 0, dtype=torch.bool, device=device), empty, empty,
        torch.zeros(0, d, dtype=torch.float64, device=device), torch.zeros(0, dtype=torch.float64, device=device),
    )  # fmt: skip
