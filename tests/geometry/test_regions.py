import pytest
import torch
from torch import nn

from lightning_poly.geometry import activation_patterns, enumerate_regions, region_hrep, sample_box
from lightning_poly.nn import ReLUMLP


def _preacts(net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """All hidden pre-activations by a plain forward pass (independent of the library)."""
    outs, h = [], x
    for layer in net:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            outs.append(h)
    return torch.cat(outs[:-1], dim=1)


def test_patterns_and_hrep_match_forward_pass_and_jacobian() -> None:
    torch.manual_seed(1)
    net = ReLUMLP([3, 7, 5, 4, 1], bias_value=0.05).double()
    x = sample_box(300, 3, seed=2)
    pats = activation_patterns(net, x)
    z = _preacts(net.net, x)
    assert torch.equal(pats, z > 0)
    a, b = region_hrep(net, pats, box=1.0)
    assert a.shape == (300, 16 + 6, 3)
    # every point satisfies its own region's inequalities, and the neuron rows equal -sign * z(x)
    lhs = torch.einsum("rmd,rd->rm", a, x)
    assert bool((lhs <= b + 1e-10).all())
    sign = torch.where(pats, 1.0, -1.0).double()
    assert torch.allclose(b[:, :16] - lhs[:, :16], sign * z, atol=1e-10)
    # the rows' gradients equal the Jacobian of the pre-activations at each point (per-point loop)
    for i in range(0, 300, 60):
        jac = torch.autograd.functional.jacobian(lambda p: _preacts(net.net, p[None])[0], x[i])
        assert torch.allclose(a[i, :16], -sign[i, :, None] * jac, atol=1e-10)


def test_enumerate_regions_counts_and_interior_points() -> None:
    torch.manual_seed(0)
    net = ReLUMLP([2, 6, 1])
    x = sample_box(3000, 2, seed=0)
    reg = enumerate_regions(net, x)
    assert int(reg.counts.sum()) == 3000
    assert len(torch.unique(activation_patterns(net, x), dim=0)) == len(reg)
    assert torch.equal(activation_patterns(net, reg.points), reg.patterns)
    assert bool((reg.depth > 0).all())
    # 6 lines in general position cut the plane into at most 22 regions
    assert len(reg) <= 22


def test_unsupported_layers_are_named() -> None:
    with pytest.raises(TypeError, match="layer 1 of the ReLU network is Sigmoid"):
        activation_patterns(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 2\)"):
        activation_patterns(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), torch.zeros(4, 3))
