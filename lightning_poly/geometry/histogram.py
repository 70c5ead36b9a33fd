"""The face histogram of a ReLU network's linear regions: one function and its result object."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from lightning_poly._io import load_plain
from lightning_poly._validation import check_choice, check_finite, check_int, check_positive
from lightning_poly.geometry.bounds import applicable_mean_faces_bound, numerical_rank
from lightning_poly.geometry.faces import FACE_METHODS, FaceMethod, check_qhull_dim, count_faces
from lightning_poly.geometry.network_view import network_view
from lightning_poly.geometry.pwl_regions import (
    ROWS_CHUNK_BYTES,
    RegionCost,
    pwl_architecture,
    pwl_enumerate_regions,
    pwl_region_cost,
    pwl_regions,
)
from lightning_poly.geometry.regions import Regions, enumerate_regions, region_hrep, sample_box
from lightning_poly.geometry.whole_histogram import REGION_SOURCES, RegionSource, whole_complex_counts
from lightning_poly.nn.relu_network import linear_layers

__all__ = [
    "FaceHistogram",
    "RegionFaces",
    "count_region_faces",
    "face_histogram",
    "network_architecture",
]


@dataclass
class FaceHistogram:
    """Face counts of the linear regions found by a set of points (face-histogram paper).

    Attributes:
        counts: ``(R,)`` faces of each region with a proper interior.
        weights: ``(R,)`` points that fell in each region (a volume estimate for uniform points).
        exact: ``True`` if counts are exact, ``False`` for the hit-and-run estimate (lower bounds).
        input_dim, hidden_widths, zero_bias: the architecture.
        box: half-width of the input box.
        n_points: points used to find the regions.
        method: the counting method.
        rays: ``(R,)`` rays used per region (estimate only).
        n_degenerate: regions left out because their interior is empty.
        notes: degeneracies met while counting.
        seconds: wall time.
        box_counts: ``(R,)`` how many of each region's faces lie on the box (the rest are network
            faces, from neurons); the paper's histograms count both.
        n_uncounted: regions found but not counted because the time budget ran out (the histogram
            is then over a seeded random subset of the regions).
        network: ``"mlp"`` (a ReLU MLP) or ``"piecewise-linear"`` (any network of
            :func:`~lightning_poly.geometry.pwl_regions`, e.g. a CNN: ``hidden_widths`` are the units of its
            (leaky) ReLU layers, ``zero_bias`` whether every linear and convolutional layer lacks a bias).
        pool_rows: the max-pool inequalities of a piecewise-linear network (part of Γ).
        regions: ``"all"``: every region of the box, from the region complex (the unbiased histogram, the
            regions the bounds of Theorems 8-10 speak of; ``weights`` are then the points that fell in each
            region, 0 for regions no point found); ``"sampled"``: the regions found by the points.
        first_layer_rank: rank of an MLP's first weight matrix (:func:`~lightning_poly.geometry.numerical_rank`),
            which selects the low-rank bounds of Theorems 11-12; ``None``: not known (taken as full).
    """

    counts: torch.Tensor
    weights: torch.Tensor
    exact: bool
    input_dim: int
    hidden_widths: list[int]
    zero_bias: bool
    box: float
    n_points: int
    method: str
    rays: torch.Tensor | None = None
    n_degenerate: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    output_dim: int = 1
    box_counts: torch.Tensor | None = None
    n_uncounted: int = 0
    network: str = "mlp"
    pool_rows: int = 0
    regions: str = "sampled"
    first_layer_rank: int | None = None

    @property
    def gamma(self) -> int:
        """Γ, the network's inequalities, the largest possible number of faces from the network: the hidden
        neurons (units), plus the max-pool rows of a piecewise-linear network."""
        return int(sum(self.hidden_widths)) + self.pool_rows

    @property
    def n_regions(self) -> int:
        return int(self.counts.numel())

    @property
    def mean(self) -> float:
        """Mean faces over regions (each region once, as in the paper)."""
        return float(self.counts.double().mean()) if self.n_regions else float("nan")

    @property
    def weighted_mean(self) -> float:
        """Mean faces weighted by the points in each region (volume-weighted)."""
        w = self.weights.double()
        return float((self.counts.double() * w).sum() / w.sum()) if self.n_regions else float("nan")

    @property
    def network_counts(self) -> torch.Tensor:
        """``(R,)`` faces from neurons only (box faces left out): what the mean-faces bounds speak of."""
        return self.counts if self.box_counts is None else self.counts - self.box_counts

    @property
    def mean_network_faces(self) -> float:
        return float(self.network_counts.double().mean()) if self.n_regions else float("nan")

    @property
    def mean_box_faces(self) -> float:
        if self.box_counts is None or not self.n_regions:
            return float("nan")
        return float(self.box_counts.double().mean())

    @property
    def architecture(self) -> str:
        """``"d-n1-...-nL-k"``, output layer included (units per activation layer, and the max-pool rows, of a
        piecewise-linear network)."""
        pools = f" (+{self.pool_rows} max-pool rows)" if self.pool_rows else ""
        return "-".join(map(str, [self.input_dim, *self.hidden_widths, self.output_dim])) + pools

    @property
    def median(self) -> float:
        return float(self.counts.double().median()) if self.n_regions else float("nan")

    @property
    def max(self) -> int:
        return int(self.counts.max()) if self.n_regions else 0

    @property
    def simple_fraction(self) -> float:
        """Fraction of regions with fewer than Γ/2 faces (the paper's Preliminary 3)."""
        return float((self.counts < self.gamma / 2).double().mean()) if self.n_regions else float("nan")

    @property
    def bound(self) -> tuple[str, float] | None:
        """The mean-faces bound of Theorems 8-12 that applies to the architecture and the first layer's rank, if any
        (MLPs only)."""
        if self.network != "mlp":
            return None
        return applicable_mean_faces_bound(
            self.input_dim, self.hidden_widths, self.zero_bias, rank=self.first_layer_rank
        )

    @classmethod
    def from_counts(
        cls,
        model: nn.Module,
        region_counts: torch.Tensor,
        counts: torch.Tensor,
        ok: torch.Tensor,
        rays: torch.Tensor,
        box: float,
        method: str,
        n_points: int,
        seconds: float,
        notes: list[str] | None = None,
        box_counts: torch.Tensor | None = None,
        counted: torch.Tensor | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> FaceHistogram:
        """Assemble the result from per-region face counts: regions with ``ok`` false (empty interior)
        and regions not ``counted`` (time budget) are left out; ``input_shape``: a piecewise-linear
        network's point shape (``None``: a ReLU MLP)."""
        rank = None
        if input_shape is None:
            (d, widths, zero_bias), k, pools = network_architecture(model), linear_layers(model)[-1].out_features, 0
            rank = numerical_rank(linear_layers(model)[0].weight)
        else:
            d, widths, zero_bias, k, pools = pwl_architecture(model, input_shape)
        counted = torch.ones_like(ok) if counted is None else counted.bool()
        keep = ok & counted
        return cls(
            counts=counts[keep], weights=region_counts.cpu()[keep], exact=method != "estimate", input_dim=d,
            hidden_widths=widths, zero_bias=zero_bias, box=float(box), n_points=int(n_points), method=method,
            rays=rays[keep] if method == "estimate" else None, n_degenerate=int((~ok & counted).sum()),
            notes=list(notes or []), seconds=seconds, output_dim=k,
            box_counts=None if box_counts is None else box_counts[keep], n_uncounted=int((~counted).sum()),
            network="mlp" if input_shape is None else "piecewise-linear", pool_rows=pools, first_layer_rank=rank,
        )  # fmt: skip

    def histogram(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(faces, regions)``: each face count from 0 to the maximum and how many regions have it."""
        n = torch.bincount(self.counts.long(), minlength=self.max + 1)
        return torch.arange(len(n)), n

    def summary(self) -> dict[str, float | int | str | bool]:
        """Scalars for logging."""
        out: dict[str, Any] = {
            "regions": self.n_regions,
            "mean_faces": self.mean,
            "weighted_mean_faces": self.weighted_mean,
            "median_faces": self.median,
            "max_faces": self.max,
            "simple_fraction": self.simple_fraction,
            "gamma": self.gamma,
            "exact": self.exact,
            "degenerate_regions": self.n_degenerate,
            "uncounted_regions": self.n_uncounted,
            "mean_network_faces": self.mean_network_faces,
            "mean_box_faces": self.mean_box_faces,
            "seconds": self.seconds,
            "whole_complex": self.regions == "all",
        }
        if self.bound is not None:
            out["bound_name"], out["bound"] = self.bound
        return out

    def save(self, path: str | Path) -> None:
        """Save to a ``torch.save`` file (plain tensors and types only)."""
        torch.save(asdict(self), path)

    @classmethod
    def load(cls, path: str | Path) -> FaceHistogram:
        """Load what :meth:`save` wrote (``weights_only``: a file holding pickled objects is refused)."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        state = load_plain(path, "face histogram", required)
        return cls(**{k: v for k, v in state.items() if k in names})


def network_architecture(model: nn.Module) -> tuple[int, list[int], bool]:
    """``(input_dim, hidden_widths, zero_bias)`` of a ReLU MLP.

    Args:
        model: a ReLU MLP.
    """
    layers = linear_layers(model)
    zero_bias = all(lin.bias is None or bool((lin.bias == 0).all()) for lin in layers[:-1])
    return layers[0].in_features, [lin.out_features for lin in layers[:-1]], zero_bias


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
        whole = _whole(model, points, box, t0, max_seconds, max_regions, seed, shard, all_reduce_sum, notes)
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


def _whole(
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
    """``regions="all"``: the histogram of the whole complex, or ``None`` (the reason warned and in ``notes``)."""
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
