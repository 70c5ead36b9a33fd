r"""Linear regions of any piecewise-linear network (CNNs, residual blocks), found from the model itself.

The face-histogram paper estimates the faces of the regions of a LeNet-5 with ReLU on MNIST
(Section V.C, 784 inputs, 26,796 inequalities per region); that needs the region of a point of a
convolutional network, not only of an MLP (:func:`~lightning_poly.geometry.region_hrep`).
:func:`pwl_regions` traces the model with ``torch.fx`` and linearises it exactly at each point: every node
carries the local affine map :math:`v = J x + c` of the flattened input :math:`x`, through

* ``Linear``, ``Conv1d``/``Conv2d`` (any stride, padding, dilation, groups, padding mode, bias or not),
  ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``BatchNorm1d/2d`` in eval mode (running statistics),
  ``Dropout`` in eval mode, ``Flatten``/``Unflatten``/``Identity``, reshapes in ``forward`` (``view``,
  ``reshape``, ``flatten``), sums of branches (``x + f(x)``) and scaling by constants;
* ``ReLU`` and ``LeakyReLU`` (module or function): the sign of every unit :math:`z = J_z x + c_z` belongs
  to the region, one row :math:`-\sigma_z J_z x \le \sigma_z c_z` each (:math:`\sigma_z = +1` if
  :math:`z > 0`), and the map passes gated by 1 or the slope;
* ``MaxPool1d/2d``: the choice of every window belongs to the region, one row
  :math:`(J_q - J_{q^*}) x \le c_{q^*} - c_q` for each other entry :math:`q` of the window, and the chosen
  entry's map passes.

Anything else on the input's path (``Tanh``, ``GELU``, ``Softmax``, attention, train-mode ``BatchNorm`` or
``Dropout``, unknown layers or functions) is refused with the layer or function named. What the trace
cannot see (a hook, a side path in Python) is caught by comparing the model's own output with
:math:`J x + c` at the points.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from lightning_poly._validation import check_finite, check_int, check_positive
from lightning_poly.geometry._pwl_trace import PWLGraph
from lightning_poly.geometry._rows import box_rows, point_depth
from lightning_poly.geometry.regions import Regions

__all__ = [
    "PWLRegions",
    "RegionCost",
    "pwl_activation_patterns",
    "pwl_enumerate_regions",
    "pwl_region_cost",
    "pwl_regions",
]

ROWS_CHUNK_BYTES = 2**28  # the rows of one pass when `chunk_size` is None


@dataclass
class PWLRegions:
    """The regions of a piecewise-linear network at ``n`` points, and its affine map on each.

    Attributes:
        patterns: ``(n, Γ)`` bool, ``z > 0`` for every ReLU/LeakyReLU unit: the layers in graph order, each
            flattened row-major (channel, then position).
        pool_choices: ``(n, P)`` long, for every max-pool output (layers in graph order, row-major) the flat
            index in its channel's input map of the window's maximum (as ``return_indices`` gives it).
        a: ``(n, Γ + Q + 2d, d)`` float64 rows of :math:`A x \\le b`: row ``i < Γ`` is unit ``i``'s sign,
            then the ``Q`` max-pool rows (per output, the other entries of its window in order), then the
            box rows :math:`x_i \\le B`, :math:`-x_i \\le B` (none without a box).
        b: ``(n, Γ + Q + 2d)`` float64 right-hand sides.
        jacobian: ``(n, k, d)`` float64, the map :math:`J` of the flattened output on each region.
        offset: ``(n, k)`` float64, its offset :math:`c`: the network is :math:`J x + c` on the region.
        unit_layers: ``(graph node, units)`` of each (leaky) ReLU, in the order of the columns of ``patterns``.
        pool_layers: ``(graph node, rows)`` of each max pool, in the order of its rows in ``a``.
    """

    patterns: torch.Tensor
    pool_choices: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    jacobian: torch.Tensor
    offset: torch.Tensor
    unit_layers: list[tuple[str, int]]
    pool_layers: list[tuple[str, int]]

    def __len__(self) -> int:
        return int(self.patterns.shape[0])

    @property
    def n_units(self) -> int:
        """Γ, the ReLU/LeakyReLU units (the first Γ rows of ``a``)."""
        return int(self.patterns.shape[1])

    @property
    def n_pool_rows(self) -> int:
        """Q, the max-pool rows (after the unit rows)."""
        return sum(rows for _, rows in self.pool_layers)


def _check_points(graph: PWLGraph, x: torch.Tensor) -> None:
    """Refuse points that are not a finite batch the model's first layer takes, saying what it takes."""
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or not x.is_floating_point() or len(x) == 0:
        got = f"shape {tuple(x.shape)} ({x.dtype})" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"`x` must be a float batch of n >= 1 points (n, ...) as the model takes them, got {got}")
    name, first = graph.first_layer or ("", None)
    if isinstance(first, nn.Linear) and (x.ndim != 2 or x.shape[1] != first.in_features):
        raise ValueError(f"`x` must have shape (n, {first.in_features}), got {tuple(x.shape)}")
    if isinstance(first, nn.Conv1d | nn.Conv2d):
        spatial = first.weight.ndim - 2
        if x.ndim != spatial + 2 or x.shape[1] != first.in_channels:
            dims = ", ".join(["L"] if spatial == 1 else ["H", "W"])
            raise ValueError(
                f"`x` must have shape (n, {first.in_channels}, {dims}) for layer {name!r} ({type(first).__name__}), "
                f"got {tuple(x.shape)}"
            )
    check_finite("x", x)


def _check_weights(model: nn.Module) -> None:
    for pname, t in [*model.named_parameters(), *model.named_buffers()]:
        if t.is_floating_point():
            bad = int((~torch.isfinite(t.detach())).sum())
            if bad:
                raise ValueError(f"`model` must have finite weights, got {bad} NaN/inf entries in {pname!r}")


@torch.no_grad()
def pwl_regions(
    model: nn.Module,
    x: torch.Tensor,
    box: float | None = 1.0,
    chunk_size: int | None = None,
    rtol: float = 1e-4,
) -> PWLRegions:
    r"""The activation pattern, region :math:`A x \le b` and affine map :math:`J x + c` of a
    piecewise-linear network at each point (see the module docstring for the supported layers).

    The region of a point is the set of inputs with its pattern (and max-pool choices), a polytope in the
    flattened input space :math:`\mathbb{R}^d`, :math:`d` the product of a point's shape; on it the network
    is affine. The rows are float64, computed on the model's device (the points' device for a model without
    tensors), ``chunk_size`` points at a time: a chunk holds every unit's row, ``(Γ + Q) * d * 8`` bytes a
    point (Section V.C's LeNet: 26,796 rows of 784, 168 MB a point), and so does the result.

    On an MLP (``Linear`` and ``ReLU``; :class:`~lightning_poly.nn.ReLUMLP`) the steps are those of
    :func:`~lightning_poly.geometry.activation_patterns` and :func:`~lightning_poly.geometry.region_hrep`, in
    the same order with the same arithmetic (shared helpers), the rows in the same order: with all points in
    one chunk (``chunk_size >= n``) patterns and rows are bit-identical to ``region_hrep``'s; other chunkings
    agree to rounding (BLAS sums depend on the batch's shape).

    Args:
        model: the network, in eval mode where it matters (``BatchNorm``, ``Dropout``); ``torch.fx`` traces it.
        x: ``(n, *shape)`` points as the model takes them (e.g. ``(n, 1, 28, 28)``).
        box: half-width ``B`` of the box :math:`[-B, B]^d`; its ``2d`` rows come last. ``None``: no box rows.
        chunk_size: points per pass (bounds memory); ``None``: as many as keep a pass's rows within 256 MiB,
            measured on the first point.
        rtol: relative tolerance of the check that the model's own output equals :math:`J x + c` at the
            points, on the scale ``max |output| + 1``.

    Returns:
        :class:`PWLRegions`.

    Raises:
        ValueError: for a layer or function that is not piecewise linear or not supported (named with its
            type), a model that cannot be traced, a train-mode ``BatchNorm``/``Dropout``, non-finite weights,
            points of the wrong shape or not finite, and a forward that differs from its trace (a hook or a
            Python side path the trace does not see).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(
        ...     nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 1)
        ... ).eval()
        >>> reg = pwl_regions(net, torch.rand(3, 1, 4, 4))
        >>> reg.patterns.shape, reg.pool_choices.shape, reg.a.shape, reg.jacobian.shape
        (torch.Size([3, 32]), torch.Size([3, 8]), torch.Size([3, 88, 16]), torch.Size([3, 1, 16]))
        >>> x = torch.rand(2, 1, 4, 4)
        >>> pwl_regions(net, x, box=None).a.shape[1]  # 32 units, 2*2 windows of 4 in 2 channels: 3 rows each
        56
    """
    if box is not None:
        check_positive("box", box)
    if chunk_size is not None:
        check_int("chunk_size", chunk_size, minimum=1)
    graph, device, dtype = _prepare(model, x, rtol)
    if chunk_size is None:
        chunk_size = _points_per_pass(_chunk(model, graph, x[:1].to(device), dtype, rtol), box)
    parts = [_chunk(model, graph, xs.to(device), dtype, rtol) for xs in x.split(chunk_size)]
    a, b = torch.cat([p.a for p in parts]), torch.cat([p.b for p in parts])
    if box is not None:
        a_box, b_box = box_rows(len(a), a.shape[2], box, a.dtype, a.device)
        a, b = torch.cat([a, a_box], dim=1), torch.cat([b, b_box], dim=1)
    patterns, choices = torch.cat([p.patterns for p in parts]), torch.cat([p.pool_choices for p in parts])
    jac, off = torch.cat([p.jacobian for p in parts]), torch.cat([p.offset for p in parts])
    return PWLRegions(patterns, choices, a, b, jac, off, parts[0].unit_layers, parts[0].pool_layers)


@torch.no_grad()
def pwl_activation_patterns(
    model: nn.Module, x: torch.Tensor, chunk_size: int = 4096, rtol: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """The activation patterns and max-pool choices of a piecewise-linear network, without the rows.

    The values-only pass of :func:`pwl_regions` (no map carried: the memory of a forward pass), with the same
    refusals and the same check of the model's own output (against the trace's values). On an MLP the
    patterns equal :func:`~lightning_poly.geometry.activation_patterns`'.

    Args:
        model: the network (see :func:`pwl_regions`).
        x: ``(n, *shape)`` points as the model takes them.
        chunk_size: points per pass.
        rtol: relative tolerance of the check of the model's output.

    Returns:
        ``(patterns, pool_choices)``: ``(n, Γ)`` bool and ``(n, P)`` long, as in :class:`PWLRegions`.

    Example:
        >>> net = nn.Sequential(nn.Conv1d(1, 1, 2, bias=False), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten())
        >>> with torch.no_grad():
        ...     _ = net[0].weight.fill_(1.0)
        >>> pwl_activation_patterns(net, torch.tensor([[[1.0, -3.0, 1.0]]]))  # z = (-2, -2): both off, tied
        (tensor([[False, False]]), tensor([[0]]))
    """
    check_int("chunk_size", chunk_size, minimum=1)
    graph, device, dtype = _prepare(model, x, rtol)
    parts = [_chunk(model, graph, xs.to(device), dtype, rtol, maps=False) for xs in x.split(chunk_size)]
    return torch.cat([p.patterns for p in parts]), torch.cat([p.pool_choices for p in parts])


class RegionCost(NamedTuple):
    """What one region of a piecewise-linear network costs, measured by :func:`pwl_region_cost`.

    Attributes:
        values_seconds: the values-only pass of one point (its pattern: what finding a region costs).
        rows_seconds: the rows of one point's region (a pass carrying all ``d`` columns), extrapolated.
        rows: rows of a region, ``Γ + Q`` (and ``2d`` box rows with a box).
        dim: ``d``, the flattened input's size.
    """

    values_seconds: float
    rows_seconds: float
    rows: int
    dim: int

    @property
    def bytes(self) -> int:
        """The float64 rows of one region: ``rows * d * 8``."""
        return self.rows * self.dim * 8


@torch.no_grad()
def pwl_region_cost(model: nn.Module, x: torch.Tensor, box: float | None = 1.0, block: int = 4) -> RegionCost:
    """Measure, without computing a region, what one costs: a values-only pass and two passes carrying ``block``
    and ``4 * block`` of the ``d`` columns at the first point of ``x``, the rows' time extrapolated linearly to
    ``d`` columns (every map and row is linear in the columns, :meth:`~lightning_poly.geometry._pwl_trace.PWLGraph.run`).
    A face count's budget decides from it whether a region fits before spending the pass (ResNet-18 at 3x32x32:
    86,016 rows of 3,072, 2.1 GB, about 35 s a region on one CPU core).

    Args:
        model: the network (see :func:`pwl_regions`).
        x: ``(n, *shape)`` points; the first is measured.
        box: half-width of the box (``None``: no box rows).
        block: columns of the first measuring pass.

    Returns:
        :class:`RegionCost`.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 1)).eval()
        >>> cost = pwl_region_cost(net, torch.rand(1, 1, 4, 4))
        >>> cost.rows, cost.dim, cost.bytes  # 32 units and 2 * 16 box rows, in 16 dimensions
        (64, 16, 8192)
    """
    check_int("block", block, minimum=1)
    graph, device, _ = _prepare(model, x, 1e-4)
    x64 = x[:1].to(device, torch.float64)
    d = x64[0].numel()
    t = time.perf_counter()
    graph.run(x64, maps=False)
    values = time.perf_counter() - t
    times, rows = [], 0
    for k in (min(block, d), min(4 * block, d)):
        cols = torch.eye(d, dtype=torch.float64, device=device)[:, :k]
        t = time.perf_counter()
        _, rec = graph.run(x64, True, cols)
        times.append((k, time.perf_counter() - t))
        rows = sum(r[0].shape[1] for r in rec.unit_rows + rec.pool_rows)
    (k1, t1), (k2, t2) = times
    slope = max((t2 - t1) / (k2 - k1), 0.0) if k2 > k1 else t2 / k2
    rows_seconds = max(t2, t1 + slope * (d - k1))
    return RegionCost(values, rows_seconds, rows + (2 * d if box is not None else 0), d)


@torch.no_grad()
def pwl_enumerate_regions(
    model: nn.Module, x: torch.Tensor, box: float = 1.0, chunk_size: int = 4096, depth: bool = True
) -> Regions:
    """The distinct regions of a piecewise-linear network hit by the points ``x``, each counted once.

    The twin of :func:`~lightning_poly.geometry.enumerate_regions` for the networks of :func:`pwl_regions`: a
    region is a pattern together with its max-pool choices. Patterns come from the values-only pass; the
    rows only for one point per region (the first that falls in it), to measure its depth.

    Args:
        model: the network (see :func:`pwl_regions`).
        x: ``(n, *shape)`` points as the model takes them.
        box: half-width of the box (the depth of each region's point counts the box).
        chunk_size: points per values-only pass.
        depth: measure each region's point's depth (a pass with rows per region); ``False``: ``depth`` is NaN
            and only the values-only pass runs (what a face count needs: it computes the rows it counts).

    Returns:
        :class:`~lightning_poly.geometry.Regions` with ``patterns`` the unit patterns of each region (two regions
        may share one and differ in their max-pool choices), sorted by (pattern, choices), and ``points`` the
        regions' points flattened ``(R, d)``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv1d(1, 2, 2), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(4, 1))
        >>> reg = pwl_enumerate_regions(net.eval(), torch.rand(500, 1, 5) * 2 - 1)
        >>> int(reg.counts.sum()), bool((reg.depth > 0).all())
        (500, True)
    """
    check_positive("box", box)
    patterns, choices = pwl_activation_patterns(model, x, chunk_size)
    key = torch.cat([patterns.long(), choices], dim=1)
    _, inverse, counts = torch.unique(key, dim=0, return_inverse=True, return_counts=True)
    n = torch.arange(len(x), device=inverse.device)
    first = torch.full((len(counts),), len(x), device=inverse.device).scatter_reduce_(0, inverse, n, reduce="amin")
    points = x[first.to(x.device)]
    if not depth:
        nan = torch.full((len(points),), torch.nan, dtype=torch.float64, device=points.device)
        return Regions(patterns[first], counts, inverse, points.flatten(1).to(torch.float64), nan)
    step = _points_per_pass(pwl_regions(model, points[:1], None), box)
    depths = [point_depth(r.a, r.b, r.x) for r in _passes(model, points, box, step)]
    return Regions(patterns[first], counts, inverse, points.flatten(1).to(torch.float64), torch.cat(depths))


def _prepare(model: nn.Module, x: torch.Tensor, rtol: float) -> tuple[PWLGraph, torch.device, torch.dtype]:
    """Check the arguments, trace the model: the graph, the device of the work and the model's dtype."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be an nn.Module, got {type(model).__name__}")
    check_positive("rtol", rtol)
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else x.device if isinstance(x, torch.Tensor) else torch.device("cpu")
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)
    graph = PWLGraph(model, device)
    _check_points(graph, x)
    _check_weights(model)
    return graph, device, dtype


def pwl_architecture(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, list[int], bool, int, int]:
    """``(d, units of each activation layer, zero_bias, outputs, max-pool rows)`` of a piecewise-linear
    network, from one values-only pass at the origin (the counts do not need the columns); ``zero_bias``: no
    linear or convolutional layer has a bias."""
    zero = torch.zeros(1, *shape)
    graph, device, dtype = _prepare(model, zero, 1e-4)
    reg = _chunk(model, graph, zero.to(device), dtype, 1e-4, maps=False)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
    zero_bias = all(m.bias is None or not bool(m.bias.any()) for m in layers)
    return math.prod(shape), [units for _, units in reg.unit_layers], zero_bias, reg.offset.shape[1], reg.n_pool_rows


def _points_per_pass(one: PWLRegions, box: float | None) -> int:
    """Points whose rows (box rows included) fit in ``ROWS_CHUNK_BYTES``, from one point's pass."""
    d = one.a.shape[2]
    rows = one.a.shape[1] + (2 * d if box is not None else 0)
    return max(1, ROWS_CHUNK_BYTES // max(rows * d * 8, 1))


class _RowsOf(NamedTuple):
    x: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor


def _passes(model: nn.Module, x: torch.Tensor, box: float | None, step: int) -> Iterator[_RowsOf]:
    """The rows of the points ``x``, ``step`` points at a time (flattened float64 points with their rows)."""
    for xs in x.split(step):
        reg = pwl_regions(model, xs, box, chunk_size=step)
        yield _RowsOf(xs.flatten(1).to(reg.a), reg.a, reg.b)


def _chunk(
    model: nn.Module, graph: PWLGraph, xs: torch.Tensor, dtype: torch.dtype, rtol: float, maps: bool = True
) -> PWLRegions:
    """One pass: the model's own output, the linearised pass, their comparison, the rows concatenated.
    ``maps=False``: values and patterns only (no columns: ``a`` is ``(n, rows, 0)``)."""
    try:
        own = model(xs.to(dtype))
    except RuntimeError as err:
        raise ValueError(f"`x` (points of shape {tuple(xs.shape[1:])}) is not an input of the model: {err}") from err
    x64 = xs.to(torch.float64)
    out, rec = graph.run(x64, maps)
    n, d, k = len(xs), x64[0].numel() if maps else 0, out.c[0].numel()
    jac, off = out.j.reshape(n, k, d), out.c.reshape(n, k)
    if not isinstance(own, torch.Tensor) or own.numel() != off.numel():
        got = tuple(own.shape) if isinstance(own, torch.Tensor) else type(own).__name__
        raise ValueError(f"`model`'s forward returns {got}, but its trace returns {tuple(out.v.shape)}")
    pred = torch.einsum("rkd,rd->rk", jac, x64.reshape(n, -1)) + off if maps else off
    diff = float((own.reshape(n, -1).to(pred) - pred).abs().max())
    scale = float(own.abs().max()) + 1.0
    if not diff <= rtol * scale:
        raise ValueError(
            f"`model`'s forward differs from its traced piecewise-linear map J x + c by {diff:.3g} (more than "
            f"rtol * (max |output| + 1) = {rtol * scale:.3g}) on {n} points: the forward does something the "
            f"trace does not see (a hook, a Python side path) or that is not piecewise linear"
        )
    empty = x64.new_zeros(n, 0)
    rows = rec.unit_rows + rec.pool_rows
    a = torch.cat([r[0] for r in rows], dim=1) if rows else x64.new_zeros(n, 0, d)
    b = torch.cat([r[1] for r in rows], dim=1) if rows else empty
    patterns = torch.cat(rec.patterns, dim=1) if rec.patterns else empty.bool()
    choices = torch.cat(rec.choices, dim=1) if rec.choices else empty.long()
    return PWLRegions(patterns, choices, a, b, jac, off, rec.unit_layers, rec.pool_layers)
