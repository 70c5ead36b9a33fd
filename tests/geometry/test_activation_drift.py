"""activation_drift on a CNN: the patterns of every (leaky) ReLU unit, max-pool choices apart, the NTK."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_poly.geometry import activation_drift, activation_patterns, network_patterns, pwl_activation_patterns
from lightning_poly.geometry.ntk_empirical import empirical_ntk

pytestmark = pytest.mark.usefixtures("one_thread")


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.LeakyReLU(0.1), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(27, 8), nn.ReLU(), nn.Linear(8, 2),
    ).eval()  # fmt: skip


def test_the_drift_of_a_cnn_counts_unit_signs_and_pool_choices_apart() -> None:
    net, x = _cnn(), torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    start = network_patterns(net, x)
    assert isinstance(start, tuple) and [t.shape for t in start] == [torch.Size([40, 3 * 36 + 8]), (40, 27)]
    with torch.no_grad():  # new filters: other signs and other window maxima
        net[0].weight.add_(0.3 * torch.randn(net[0].weight.shape, generator=torch.Generator().manual_seed(2)))
    middle = pwl_activation_patterns(net, x)
    with torch.no_grad():
        net[5].weight.mul_(-1.0)
    drift = activation_drift(net, x, start, middle, ntk_points=16)
    end, end_choices = pwl_activation_patterns(net, x)
    assert torch.equal(drift.patterns, end) and torch.equal(drift.pool_choices, end_choices)  # type: ignore[arg-type]
    assert drift.changed_since_start == float((end != start[0]).double().mean()) > 0
    assert drift.changed_since_last == float((end != middle[0]).double().mean()) > 0
    assert drift.pool_changed_since_start == float((end_choices != start[1]).double().mean()) > 0
    assert drift.pool_changed_since_last == 0.0  # only the head changed since `middle`
    h = empirical_ntk(net, x[:16])
    assert drift.ntk_lambda_min == pytest.approx(float(torch.linalg.eigvalsh(h).min()))
    assert set(drift.scalars()) == {
        "changed_since_start", "changed_since_last", "ntk_lambda_min", "pool_changed_since_start",
        "pool_changed_since_last",
    }  # fmt: skip
    # the unit patterns alone: no max-pool drift against them
    alone = activation_drift(net, x, start[0], ntk_points=0)
    assert alone.changed_since_start == drift.changed_since_start and alone.pool_changed_since_start is None


def test_a_relu_mlp_keeps_its_patterns_and_the_traced_path_agrees() -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.randn(30, 3)
    start = network_patterns(mlp, x)
    assert torch.equal(start, activation_patterns(mlp, x))  # type: ignore[arg-type]
    assert torch.equal(start, pwl_activation_patterns(mlp, x)[0])  # type: ignore[arg-type]
    drift = activation_drift(mlp, x, start, ntk_points=0)
    assert drift.pool_choices is None and set(drift.scalars()) == {"changed_since_start", "changed_since_last"}


def test_patterns_of_other_points_or_units_are_refused() -> None:
    net, x = _cnn(), torch.rand(6, 1, 8, 8)
    pats, choices = network_patterns(net, x)  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"`reference` must hold the \(6, 27\) max-pool choices of the same points"):
        activation_drift(net, x, (pats, choices[:, :3]), ntk_points=0)
    with pytest.raises(
        ValueError, match=r"`previous` must hold the \(6, 116\) activation patterns of the same points, got \(5"
    ):
        activation_drift(net, x, (pats, choices), pats[:5], ntk_points=0)
    mlp = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"`reference` must hold none \(a ReLU MLP has no max pool\)"):
        activation_drift(mlp, torch.randn(4, 2), (torch.zeros(4, 3, dtype=torch.bool), choices[:4]), ntk_points=0)
    with pytest.raises(ValueError, match=r"'2' \(Tanh\)"):
        activation_drift(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Tanh()), x, pats, ntk_points=0)
