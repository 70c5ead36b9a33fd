"""polish_conv2d: filters polished on the layer's patches, against F.unfold, the layer itself and a per-filter loop."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_poly.algorithms import polish_conv2d, polish_conv2d_reference
from lightning_poly.algorithms.polishing.conv import _patches, _sample

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = [
    {},
    {"stride": 2},
    {"padding": 1},
    {"padding": "same", "dilation": 2},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": (1, 2), "stride": (2, 1), "padding_mode": "circular"},
    {"bias": False, "dilation": (1, 2)},
]


def _conv(seed: int = 0, **kw: Any) -> nn.Conv2d:
    torch.manual_seed(seed)
    return nn.Conv2d(2, 5, (3, 2), **kw).double()


def _images(n: int = 6, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 2, 7, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _unfolded(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``(n, out_h, out_w, C * kh * kw)``: every patch by F.unfold (the layer's padding applied first)."""
    pads = conv._reversed_padding_repeated_twice
    xp = F.pad(x, pads, mode="constant" if conv.padding_mode == "zeros" else conv.padding_mode)
    out = conv(x)
    cols = F.unfold(xp, conv.kernel_size, dilation=conv.dilation, stride=conv.stride)  # (n, K, L)
    return cols.transpose(1, 2).reshape(len(x), *out.shape[2:], -1)


def _augmented(t: torch.Tensor) -> torch.Tensor:
    return torch.cat([t, torch.ones(*t.shape[:-1], 1, dtype=t.dtype)], dim=-1)


def _filters(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    w = weight.detach().flatten(1).double()
    return w if bias is None else torch.cat([w, bias.detach().double()[:, None]], 1)


@pytest.mark.parametrize("kw", CONFIGS)
def test_patches_are_what_the_layer_reads(kw: dict[str, Any]) -> None:
    conv, x = _conv(**kw), _images()
    patches, pos = _patches(conv, x, 10**9, 0)
    full = _unfolded(conv, x)
    assert len(patches) == full[..., 0].numel()
    assert torch.equal(patches, full[pos[:, 0], pos[:, 1], pos[:, 2]])  # the gather is F.unfold's
    out = conv(x).detach()
    got = patches @ conv.weight.detach().flatten(1).T + (0 if conv.bias is None else conv.bias.detach())
    assert torch.allclose(got, out[pos[:, 0], :, pos[:, 1], pos[:, 2]], atol=1e-12)  # and the layer's output


@pytest.mark.parametrize("kw", CONFIGS)
def test_polished_filters_are_exact_normals_to_their_patches_with_norm_and_orientation_kept(kw: dict[str, Any]) -> None:
    conv, x = _conv(**kw), _images()
    res = polish_conv2d(conv, x, chunk_size=2)
    bias = conv.bias is not None
    k = conv.weight[0].numel() + bias
    assert res.rank == k and res.positions.shape == (5, k - 1, 3) and res.weight.shape == conv.weight.shape
    full = _unfolded(conv, x)
    chosen = full[res.positions[..., 0], res.positions[..., 1], res.positions[..., 2]]  # (out, r - 1, K)
    chosen = _augmented(chosen) if bias else chosen
    new, old = _filters(res.weight, res.bias), _filters(conv.weight, conv.bias)
    cos = (chosen @ new[:, :, None])[..., 0].abs() / (chosen.norm(dim=-1) * new.norm(dim=1, keepdim=True))
    assert float(cos.max()) < 1e-10  # exactly orthogonal to every chosen augmented patch
    assert torch.allclose(new.norm(dim=1), old.norm(dim=1), rtol=1e-12)  # norm kept
    assert bool(((new * old).sum(1) > 0).all()) and bool((res.cosine > 0).all())  # orientation kept
    # the chosen patches are the r - 1 distinct ones the old filter was most nearly orthogonal to (the dense
    # criterion; circular padding repeats patches, and a repeat adds no constraint)
    every = torch.unique(full.reshape(-1, full.shape[-1]), dim=0)
    every = _augmented(every) if bias else every
    smallest = torch.sort((every @ old.T).abs(), dim=0).values[: k - 1].T  # (out, r - 1)
    mine = torch.sort((chosen @ old[:, :, None])[..., 0].abs(), dim=1).values
    assert torch.allclose(mine, smallest, rtol=1e-12, atol=1e-15)
    # batched == the per-filter loop, and polishing a polished layer changes nothing
    ref = polish_conv2d_reference(conv, x)
    assert torch.equal(res.positions, ref.positions)
    assert torch.allclose(res.weight, ref.weight, atol=1e-12)
    assert (res.bias is None) == (ref.bias is None) and (
        res.bias is None or torch.allclose(res.bias, ref.bias, atol=1e-12)
    )
    with torch.no_grad():
        conv.weight.copy_(res.weight)
        if bias:
            conv.bias.copy_(res.bias)
    again = polish_conv2d(conv, x)
    assert torch.allclose(again.weight, res.weight, atol=1e-10)


def test_a_seeded_sample_of_patches_bounds_the_work() -> None:
    conv, x = _conv(), _images(20)
    total = 20 * 5 * 7
    res = polish_conv2d(conv, x, max_patches=300, seed=3)
    assert res.n_patches == 300 and polish_conv2d(conv, x).n_patches == total
    again = polish_conv2d(conv, x, max_patches=300, seed=3)
    assert torch.equal(res.positions, again.positions) and torch.equal(res.weight, again.weight)
    ref = polish_conv2d_reference(conv, x, max_patches=300, seed=3)
    assert torch.equal(res.positions, ref.positions) and torch.allclose(res.weight, ref.weight, atol=1e-12)
    for k, n in [(300, total), (600, total), (5, 10**7), (total, total)]:  # the three paths of the sampler
        s = _sample(n, k, 1)
        assert len(s) == min(k, n) and len(s.unique()) == len(s) and bool((s[1:] > s[:-1]).all())
        assert int(s.min()) >= 0 and int(s.max()) < n
    assert not torch.equal(_sample(total, 300, 1), _sample(total, 300, 2))
    # uniform: each of 10 patches is drawn about equally often over many seeds
    counts = torch.bincount(torch.cat([_sample(10, 3, s) for s in range(2000)]), minlength=10)
    assert float(counts.min()) > 0.8 * 600 and float(counts.max()) < 1.2 * 600


def test_float32_layers_and_low_rank_patches() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 4, 3)
    flat = torch.arange(8.0)[:, None, None, None].expand(8, 1, 5, 5) / 8  # constant images: patches c * 1
    res = polish_conv2d(conv, flat)
    assert res.rank == 2 and res.weight.dtype == torch.float32 and res.positions.shape == (4, 1, 3)
    new = _filters(res.weight, res.bias)
    c = flat[res.positions[:, 0, 0], 0, 0, 0].double()
    assert float((new[:, :-1].sum(1) * c + new[:, -1]).abs().max()) < 1e-6 * float(new.norm(dim=1).max())


def test_bad_layers_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"`conv` must have groups=1, got groups=2"):
        polish_conv2d(nn.Conv2d(2, 4, 3, groups=2), torch.zeros(2, 2, 5, 5))
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(n, 2, H, W\) for `conv`, got \(2, 5, 5\)"):
        polish_conv2d(nn.Conv2d(2, 4, 3), torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match=r"smaller than the layer's receptive field"):
        polish_conv2d(nn.Conv2d(1, 4, 3), torch.zeros(2, 1, 2, 2))
    with pytest.raises(ValueError, match=r"`inputs` must be finite"):
        polish_conv2d(nn.Conv2d(1, 4, 3), torch.full((2, 1, 4, 4), float("nan")))
