r"""Polishing a convolutional layer: every filter becomes the exact normal to the patches it nearly touches.

A filter of a ``Conv2d`` layer is a neuron on the patches of its input: at each output position it computes
:math:`\tilde p^\top \tilde w` with :math:`\tilde p = (p, 1)` the augmented patch (``C * kh * kw`` values as
``F.unfold`` orders them) and :math:`\tilde w = (w, b)` the flattened filter and its bias. So the layer is
polished exactly as a dense one (:func:`~lightning_poly.algorithms.polish_layer`, wedge-products paper
Section 4.1 steps 1-3): the rows of the problem are the layer's patches, each filter picks the
:math:`r - 1` patches with the smallest :math:`|\tilde p^\top \tilde w|` (:math:`r \le C k_h k_w + 1` the rank
of the augmented patches) and becomes the unit normal to them, oriented like the old filter and given its
norm. The paper's remark (Section 4.1.1) that the rank of a CNN layer's problem is bounded by the filter's
size is what makes this cheap: 10 values a patch for a 3x3 filter on one channel.

Readings chosen:

* the patches are a seeded uniform sample of ``max_patches`` of all ``n * H_out * W_out`` patches (all of
  them when there are fewer): the full set of a data set is large (20,000 28x28 images: 13.5 million) and
  one filter needs only ``r - 1`` of them. Sampled patches are gathered by index, never unfolded in full,
  so memory is ``max_patches * C * kh * kw`` values; the gather equals ``F.unfold`` (tested). Only the
  sampled patches are read, so only they are checked to be finite (a pass over 20,000 images would cost
  more than the polish);
* padding follows the layer: ``padding_mode`` and string paddings (``"same"``) by the layer's own pad
  widths, so the patches are exactly what the layer sees (``patch @ w + b`` equals the layer's output);
* grouped convolutions (``groups > 1``) are refused: each group is a layer of its own on a slice of the
  channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lightning_poly._compat import conv_padding
from lightning_poly._validation import check_int
from lightning_poly.algorithms.polishing.layer import PolishResult, polish_layer, polish_layer_reference

__all__ = ["ConvPolishReport", "ConvPolishResult", "polish_conv2d", "polish_conv2d_reference"]


@dataclass
class ConvPolishResult:
    """Polished filters of a ``Conv2d`` layer.

    Attributes:
        weight: ``(out, C, kh, kw)`` new filters.
        bias: ``(out,)`` new biases (``None`` for a bias-free layer).
        positions: ``(out, r - 1, 3)`` the patches each filter is orthogonal to (its explanation), as
            ``(image, output row, output column)``: the patch the layer reads for that output.
        rank: ``r``, rank of the augmented patches (at most ``C * kh * kw + 1``).
        residual: ``(out,)`` largest :math:`|\\tilde p^\\top \\tilde w| / \\|\\tilde w\\|` over the chosen patches (≈ 0).
        cosine: ``(out,)`` cosine between each filter before and after (orientation kept: > 0).
        n_patches: patches the filters chose from (``max_patches`` or all of them).
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    positions: torch.Tensor
    rank: int
    residual: torch.Tensor
    cosine: torch.Tensor
    n_patches: int


@dataclass
class ConvPolishReport:
    """What :func:`~lightning_poly.algorithms.polish_cnn` did to a CNN.

    Attributes:
        layers: polished layer indices (among the network's ``Conv2d`` layers, in the order of its forward).
        names: their qualified names in the network.
        head: qualified name of the last ``Linear`` layer, the one refitted.
        results: one :class:`ConvPolishResult` per polished layer (explanations: ``results[i].positions``).
        objective_before: refit objective of the original network (its own head).
        objective_after: the same objective after polishing and the convex refit of the head.
        grad_norm: gradient norm (ridge) or minimum-norm subgradient (``"l1"``) of the refit at the solution (≈ 0).
        gap: the certified duality gap of the ``"l1"`` refit (NaN for ridge).
    """

    layers: list[int]
    names: list[str]
    head: str
    results: list[ConvPolishResult] = field(default_factory=list)
    objective_before: float = float("nan")
    objective_after: float = float("nan")
    grad_norm: float = float("nan")
    gap: float = float("nan")


def _check(conv: nn.Conv2d, inputs: torch.Tensor) -> None:
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"`conv` must be an nn.Conv2d, got {type(conv).__name__}")
    if conv.groups != 1:
        raise ValueError(
            f"`conv` must have groups=1, got groups={conv.groups}: each group is a layer of its own on "
            f"{conv.in_channels // conv.groups} of the {conv.in_channels} channels"
        )
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4 or inputs.shape[1] != conv.in_channels:
        got = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"`inputs` must have shape (n, {conv.in_channels}, H, W) for `conv`, got {got}")
    if not inputs.is_floating_point() or len(inputs) == 0:
        raise ValueError(f"`inputs` must be a float batch of n >= 1 images, got {inputs.dtype} with {len(inputs)}")


def _sample(total: int, k: int, seed: int) -> torch.Tensor:
    """``min(k, total)`` distinct indices in ``0..total-1``, uniform without replacement, sorted.

    Draws with replacement until ``k`` distinct ones are in hand, then keeps a uniform ``k`` of them: a
    permutation of ``total`` entries is avoided (0.8 s for 13.5 million on one thread).
    """
    if total <= k:
        return torch.arange(total)
    g = torch.Generator().manual_seed(seed)
    if 2 * k >= total:
        return torch.randperm(total, generator=g)[:k].sort().values
    picked = torch.empty(0, dtype=torch.long)
    while len(picked) < k:
        picked = torch.cat([picked, torch.randint(total, (k + k // 8 + 16,), generator=g)]).unique()
    return picked[torch.randperm(len(picked), generator=g)[:k]].sort().values


def _patches(conv: nn.Conv2d, inputs: torch.Tensor, max_patches: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's patches ``(P, C * kh * kw)`` (``F.unfold``'s order) at a seeded sample of ``P`` output
    positions, and those positions ``(P, 3)`` as ``(image, row, column)``; on the layer's device."""
    device = conv.weight.device
    x = inputs.detach().to(device)
    pads = conv_padding(conv)  # the layer's own widths, also for padding="same"
    if any(pads):
        x = F.pad(x, pads, mode="constant" if conv.padding_mode == "zeros" else conv.padding_mode)
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    out_h, out_w = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1, (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"`inputs` of size {tuple(inputs.shape[2:])} are smaller than the layer's receptive field")
    flat = _sample(len(x) * out_h * out_w, max_patches, seed).to(device)
    image, rest = flat // (out_h * out_w), flat % (out_h * out_w)
    row, col = rest // out_w, rest % out_w
    rows = row[:, None] * sh + torch.arange(kh, device=device) * dh  # (P, kh)
    cols = col[:, None] * sw + torch.arange(kw, device=device) * dw  # (P, kw)
    chan = torch.arange(x.shape[1], device=device)
    patches = x[image[:, None, None, None], chan[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]
    return patches.reshape(len(flat), -1), torch.stack([image, row, col], dim=1)


def _checked_patches(
    conv: nn.Conv2d, inputs: torch.Tensor, max_patches: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    _check(conv, inputs)
    check_int("max_patches", max_patches, minimum=2)
    check_int("seed", seed)
    return _patches(conv, inputs, max_patches, seed)


def _result(conv: nn.Conv2d, res: PolishResult, positions: torch.Tensor) -> ConvPolishResult:
    weight = res.weight.reshape(conv.weight.shape)
    return ConvPolishResult(
        weight, res.bias, positions[res.indices], res.rank, res.residual, res.cosine, len(positions)
    )


@torch.no_grad()
def polish_conv2d(
    conv: nn.Conv2d,
    inputs: torch.Tensor,
    max_patches: int = 100_000,
    seed: int = 0,
    chunk_size: int | None = None,
    rank_tol: float = 1e-6,
    null_tol: float = 1e-10,
) -> ConvPolishResult:
    """Polish every filter of a ``Conv2d`` layer at once on its patches (see the module docstring).

    The layer is not changed; write ``weight`` and ``bias`` of the result into it to apply the polish.

    Args:
        conv: the layer (``groups=1``).
        inputs: ``(n, C, H, W)`` what reaches the layer (the images for a first layer).
        max_patches: patches to choose from, a seeded uniform sample of all of them (memory
            ``max_patches * C * kh * kw`` values, and :func:`~lightning_poly.algorithms.polish_layer`'s).
        seed: seed of the sample.
        chunk_size: filters per batch of :func:`~lightning_poly.algorithms.polish_layer` (``None``: its default).
        rank_tol: relative singular-value threshold for the rank of the patches.
        null_tol: relative singular-value threshold for the null space of the chosen patches.

    Raises:
        TypeError: if ``conv`` is not an ``nn.Conv2d``.
        ValueError: for a grouped layer, inputs of the wrong shape or not finite, or patches of rank < 2.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> conv = nn.Conv2d(1, 4, 3)
        >>> res = polish_conv2d(conv, torch.randn(10, 1, 6, 6))
        >>> res.weight.shape, res.rank, tuple(res.positions.shape)  # each filter on r - 1 = 9 patches
        (torch.Size([4, 1, 3, 3]), 10, (4, 9, 3))
        >>> bool(res.residual.max() < 1e-12), bool(res.cosine.min() > 0)
        (True, True)
    """
    patches, positions = _checked_patches(conv, inputs, max_patches, seed)
    res = polish_layer(conv.weight.flatten(1), conv.bias, patches, chunk_size, rank_tol, null_tol)
    return _result(conv, res, positions)


@torch.no_grad()
def polish_conv2d_reference(
    conv: nn.Conv2d,
    inputs: torch.Tensor,
    max_patches: int = 100_000,
    seed: int = 0,
    rank_tol: float = 1e-6,
    null_tol: float = 1e-10,
) -> ConvPolishResult:
    """The same polishing with a loop over filters (test oracle and benchmark baseline): the same patches,
    then :func:`~lightning_poly.algorithms.polish_layer_reference` (a full sort and an SVD per filter).

    Args:
        conv: the layer (``groups=1``).
        inputs: ``(n, C, H, W)`` what reaches the layer.
        max_patches: patches to choose from (the same seeded sample as :func:`polish_conv2d`).
        seed: seed of the sample.
        rank_tol: relative singular-value threshold for the rank of the patches.
        null_tol: relative singular-value threshold for the null space of the chosen patches.
    """
    patches, positions = _checked_patches(conv, inputs, max_patches, seed)
    res = polish_layer_reference(conv.weight.flatten(1), conv.bias, patches, rank_tol, null_tol)
    return _result(conv, res, positions)
