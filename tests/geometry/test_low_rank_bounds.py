"""Theorems 11-12 (low-rank first layers): the selection picks them, and they hold on sampled histograms."""

import pytest
import torch
from torch import nn

from lightning_poly.geometry import applicable_mean_faces_bound, face_histogram, numerical_rank
from lightning_poly.geometry.bounds import mean_faces_bound_low_rank_one_layer, mean_faces_bound_one_layer


def _low_rank_mlp(d: int, widths: list[int], rank: int, *, bias: bool, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    dims = [d, *widths]
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(dims[-1], 1)).double()
    with torch.no_grad():  # first weight = U V with V of rank `rank`
        net[0].weight.copy_(
            torch.randn(widths[0], rank, dtype=torch.float64) @ torch.randn(rank, d, dtype=torch.float64)
        )
        if bias:
            net[0].bias.uniform_(-0.5, 0.5)
    return net


def test_numerical_rank_and_its_tolerance() -> None:
    w = torch.randn(30, 2) @ torch.randn(2, 5)  # float32: round-off ~1e-7 of the largest singular value
    assert numerical_rank(w) == 2
    assert numerical_rank(w, rtol=1e-12) > 2  # below float32 round-off the noise counts
    assert numerical_rank(torch.zeros(4, 3)) == 0
    with pytest.raises(ValueError, match="`weight` must be a 2-D tensor"):
        numerical_rank(torch.zeros(3))
    with pytest.raises(ValueError, match="`rtol` must be a finite number > 0, got 0"):
        numerical_rank(w, rtol=0)


def test_the_selection_picks_theorems_11_and_12_for_low_rank_weights() -> None:
    assert applicable_mean_faces_bound(3, [40], zero_bias=False, rank=2) == ("theorem12", 5.0)  # n > 2 d d0 + d0
    name, b = applicable_mean_faces_bound(3, [10], zero_bias=False, rank=2)
    assert name == "theorem12" and b == mean_faces_bound_low_rank_one_layer(10, 3, 2) < mean_faces_bound_one_layer(
        10, 3
    )
    assert applicable_mean_faces_bound(3, [20, 20], zero_bias=True, rank=2) == ("theorem11", 6.0)
    assert applicable_mean_faces_bound(3, [20, 20], zero_bias=True, rank=3) == ("theorem10", 8.0)
    assert applicable_mean_faces_bound(3, [20, 20], zero_bias=True, rank=1) == ("theorem10", 8.0)  # Thm 11: d0 >= 2
    assert applicable_mean_faces_bound(3, [20, 20], zero_bias=False, rank=2) is None
    assert applicable_mean_faces_bound(3, [20], zero_bias=False, rank=3) == applicable_mean_faces_bound(3, [20], False)
    with pytest.raises(ValueError, match=r"`rank` must be an integer in \[0, d = 3\] or None, got 4"):
        applicable_mean_faces_bound(3, [20], zero_bias=False, rank=4)
    with pytest.raises(ValueError, match=r"`rank` must be an integer in \[1, d = 3\], got 0"):
        mean_faces_bound_low_rank_one_layer(10, 3, 0)


def test_theorem_12_holds_on_a_sampled_histogram_of_a_rank_2_layer() -> None:
    net = _low_rank_mlp(3, [20], 2, bias=True, seed=0)
    h = face_histogram(net, n_points=3000, box=3.0)
    assert h.first_layer_rank == 2
    name, bound = h.bound  # type: ignore[misc]
    assert (name, bound) == ("theorem12", 5.0)
    # the bound speaks of the faces from neurons; the regions are cylinders over a line arrangement in the plane
    assert h.n_regions > 50 and h.mean_network_faces <= bound
    assert h.mean_network_faces <= 4 + 0.5  # 2 d0 + O(1/n), well below Theorem 8's 2d + 1 = 7


def test_theorem_11_holds_on_a_sampled_histogram_of_a_zero_bias_rank_2_network() -> None:
    net = _low_rank_mlp(3, [12, 12], 2, bias=False, seed=1)
    h = face_histogram(net, n_points=2000, box=1.0)
    assert h.zero_bias and h.first_layer_rank == 2
    assert h.bound == ("theorem11", 6.0)
    assert h.n_regions > 10 and h.mean_network_faces <= 6.0
