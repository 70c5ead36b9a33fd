r"""Linear regions of a ReLU MLP: activation patterns and H-representations, in batch.

A ReLU MLP cuts the box :math:`[-B, B]^d` into convex polytopes, one per activation pattern
(face-histogram paper, Preliminaries 1 and 4). Inside the region of pattern :math:`s`, every
pre-activation is affine in :math:`x`: with :math:`D_l = \mathrm{diag}(s_l > 0)`,

.. math::
    z_1(x) = W_1 x + b_1, \qquad z_{l+1}(x) = W_{l+1} D_l z_l(x) + b_{l+1} = M_{l+1} x + c_{l+1},

and the region is :math:`\{x : \sigma_z z(x) \ge 0 \ \forall z\} \cap [-B, B]^d` with
:math:`\sigma_z = +1` for active (:math:`z > 0`) and :math:`-1` for inactive neurons. We write it as
:math:`A x \le b` with one row per hidden neuron (all layers, in order) followed by the :math:`2d` box
rows :math:`x_i \le B`, :math:`-x_i \le B`.

Supported networks: see :func:`lightning_poly.nn.get_relu_network` (``Linear``/``ReLU`` MLPs, with or
without bias). Other activations, convolutions and skip connections are rejected with the layer named.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_finite, check_finite_layers, check_int, check_positive
from lightning_poly.geometry._rows import (
    box_rows,
    gate_map,
    identity_map,
    linear_map,
    point_depth,
    sign_rows,
    weight_bias,
)
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["Regions", "activation_patterns", "enumerate_regions", "region_hrep", "sample_box"]


def _layers(model: nn.Module, dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    lins = linear_layers(model)
    check_finite_layers("model", lins)
    return [weight_bias(lin, dtype) for lin in lins]


# One step each of the exact linearisation, shared by region_hrep and lightning_poly.geometry.pwl_regions
# (the same arithmetic in the same order, so that both give bit-identical rows on an MLP). ``m`` is the
# batch of local affine maps ``(R, n, d)`` of the layer's input and ``c`` their offsets ``(R, n)``.


@torch.no_grad()
def activation_patterns(model: nn.Module, x: torch.Tensor, chunk_size: int = 65536) -> torch.Tensor:
    """Boolean activation pattern (``z > 0``) of every hidden neuron for every point.

    Args:
        model: a ReLU MLP (see :func:`lightning_poly.nn.get_relu_network`).
        x: points ``(n, d)``.
        chunk_size: points per forward pass (bounds memory).

    Returns:
        ``(n, Γ)`` bool, hidden layers concatenated in order (Γ = total hidden neurons).

    Example:
        >>> net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0], [-1.0]])); _ = net[0].bias.zero_()
        >>> activation_patterns(net, torch.tensor([[2.0], [-3.0]])).tolist()
        [[True, False], [False, True]]
    """
    layers = _layers(model, torch.float64)
    if x.ndim != 2 or x.shape[1] != layers[0][0].shape[1]:
        raise ValueError(f"`x` must have shape (n, {layers[0][0].shape[1]}), got {tuple(x.shape)}")
    check_finite("x", x)
    check_int("chunk_size", chunk_size, minimum=1)
    out = []
    for xs in x.to(layers[0][0].device, torch.float64).split(chunk_size):
        h, pats = xs, []
        for w, b in layers[:-1]:
            z = h @ w.T + b
            pats.append(z > 0)
            h = torch.relu(z)
        out.append(torch.cat(pats, dim=1))
    return torch.cat(out) if out else torch.zeros(0, sum(w.shape[0] for w, _ in layers[:-1]), dtype=torch.bool)


@torch.no_grad()
def region_hrep(model: nn.Module, patterns: torch.Tensor, box: float | None = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""H-representation :math:`A x \le b` of the regions with the given activation patterns.

    Args:
        model: a ReLU MLP.
        patterns: ``(R, Γ)`` bool activation patterns (e.g. from :func:`activation_patterns`).
        box: half-width ``B`` of the box; its ``2d`` rows are appended. ``None``: no box rows.

    Returns:
        ``(A, b)`` in float64, shapes ``(R, Γ + 2d, d)`` and ``(R, Γ + 2d)``: rows ``0..Γ-1`` are the
        hidden neurons in order, then :math:`x_i \le B` and :math:`-x_i \le B`.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0]])); _ = net[0].bias.fill_(-0.5)
        >>> A, b = region_hrep(net, torch.tensor([[True]]), box=1.0)
        >>> A[0, 0].tolist(), float(b[0, 0])  # active: x1 - 0.5 >= 0  <=>  -x1 <= -0.5
        ([-1.0, -0.0], -0.5)
    """
    if box is not None:
        check_positive("box", box)
    layers = _layers(model, torch.float64)
    device = layers[0][0].device
    d = layers[0][0].shape[1]
    gamma = sum(w.shape[0] for w, _ in layers[:-1])
    if patterns.ndim != 2 or patterns.shape[1] != gamma:
        raise ValueError(
            f"`patterns` must have shape (R, {gamma}) (one column per hidden neuron), got {tuple(patterns.shape)}"
        )
    if patterns.dtype != torch.bool and not bool(((patterns == 0) | (patterns == 1)).all()):
        raise ValueError(
            f"`patterns` must be bool (or 0/1) activation patterns, got {patterns.dtype} with other values"
        )
    pats = patterns.to(device=device, dtype=torch.bool)
    r = pats.shape[0]
    rows_a, rows_b = [], []
    m, c = identity_map(r, d, torch.float64, device)  # current affine map of x
    start = 0
    for w, bias in layers[:-1]:
        n = w.shape[0]
        mz, cz = linear_map(w, bias, m, c)  # (R, n, d), (R, n)
        s = pats[:, start : start + n]
        a_s, b_s = sign_rows(s, mz, cz)
        rows_a.append(a_s)
        rows_b.append(b_s)
        m, c = gate_map(s, mz, cz)
        start += n
    if box is not None:
        a_box, b_box = box_rows(r, d, box, torch.float64, device)
        rows_a.append(a_box)
        rows_b.append(b_box)
    return torch.cat(rows_a, dim=1), torch.cat(rows_b, dim=1)


def sample_box(
    n: int, d: int, box: float = 1.0, seed: int = 0, device: torch.device | str | None = None
) -> torch.Tensor:
    """``n`` points uniform in ``[-box, box]^d`` from a seeded generator (identical on every rank).

    Args:
        n: number of points.
        d: dimension.
        box: half-width of the box.
        seed: seed of the points.
        device: where the points go (default the CPU).

    Example:
        >>> sample_box(4, 3, seed=1).shape
        torch.Size([4, 3])
    """
    check_int("n", n, minimum=1)
    check_int("d", d, minimum=1)
    check_positive("box", box)
    g = torch.Generator().manual_seed(int(seed))
    return ((torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1) * box).to(device or "cpu")


@dataclass
class Regions:
    """The distinct regions hit by a set of points.

    Attributes:
        patterns: ``(R, Γ)`` bool, one row per region (sorted lexicographically).
        counts: ``(R,)`` number of points in each region (a volume estimate for uniform points).
        inverse: ``(n,)`` region index of every point.
        points: ``(R, d)`` one point of each region: the one deepest inside (largest distance to
            the nearest hyperplane of its region, box included), a good interior point.
        depth: ``(R,)`` that distance (``<= 0``: the point lies on the boundary).
    """

    patterns: torch.Tensor
    counts: torch.Tensor
    inverse: torch.Tensor
    points: torch.Tensor
    depth: torch.Tensor

    def __len__(self) -> int:
        return int(self.patterns.shape[0])


@torch.no_grad()
def enumerate_regions(model: nn.Module, x: torch.Tensor, box: float = 1.0, chunk_size: int = 4096) -> Regions:
    """Deduplicate the activation patterns of the points ``x``: each region counted once.

    Args:
        model: a ReLU MLP.
        x: ``(n, d)`` points.
        box: half-width of the box (the depth of each region's point counts the box).
        chunk_size: points per batch.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> reg = enumerate_regions(net, sample_box(2000, 2, seed=0))
        >>> int(reg.counts.sum()), len(reg) <= 7
        (2000, True)
    """
    check_positive("box", box)
    check_int("chunk_size", chunk_size, minimum=1)
    pats = activation_patterns(model, x)
    uniq, inverse, counts = torch.unique(pats, dim=0, return_inverse=True, return_counts=True)
    # depth of every point in its own region: min over rows of (b - a.x)/|a|
    xd = x.to(pats.device, torch.float64)
    depth_pt = torch.empty(len(x), dtype=torch.float64, device=pats.device)
    for sl in torch.arange(len(x), device=pats.device).split(chunk_size):
        depth_pt[sl] = point_depth(*region_hrep(model, pats[sl], box), xd[sl])
    best = torch.full((len(uniq),), -torch.inf, dtype=torch.float64, device=pats.device)
    best.scatter_reduce_(0, inverse, depth_pt, reduce="amax")
    is_best = depth_pt == best[inverse]
    idx = torch.full((len(uniq),), len(x), dtype=torch.long, device=pats.device)
    idx.scatter_reduce_(
        0, inverse, torch.where(is_best, torch.arange(len(x), device=pats.device), len(x)), reduce="amin"
    )
    return Regions(uniq, counts, inverse, xd[idx], best)
