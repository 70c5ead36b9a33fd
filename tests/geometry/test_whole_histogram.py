"""Face histograms of every region of the box (``regions="all"``), from the region complex."""

from __future__ import annotations

from math import comb

import pytest
import torch
from torch import nn

from lightning_poly.geometry import face_histogram, region_complex
from lightning_poly.geometry.bounds import mean_faces_bound_one_layer

pytestmark = pytest.mark.usefixtures("one_thread")


def _net(d: int, widths: list[int], seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, w in enumerate(widths):
        layers += [nn.Linear(d if i == 0 else widths[i - 1], w), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1)).double()


def test_every_region_of_the_box_is_the_complex_with_point_weights() -> None:
    net = _net(2, [12, 8])
    hist = face_histogram(net, n_points=3000, regions="all")
    cx = region_complex(net, box=1.0)
    ok = cx.status == 0
    assert hist.regions == "all" and hist.exact and hist.summary()["whole_complex"] is True
    assert torch.equal(hist.counts, cx.counts[ok]) and torch.equal(hist.box_counts, cx.box_counts[ok])  # type: ignore[arg-type]
    assert int(hist.weights.sum()) + sum("boundaries" in n for n in hist.notes) >= 2999
    sampled = face_histogram(net, n_points=3000)
    assert sampled.regions == "sampled" and sampled.n_regions <= hist.n_regions
    # every sampled region is one of the complex's, with the same faces and the same points
    assert sorted(zip(sampled.counts.tolist(), sampled.weights.tolist())) == sorted(
        (c, w) for c, w in zip(hist.counts.tolist(), hist.weights.tolist()) if w > 0
    )


@pytest.mark.parametrize(("d", "n"), [(2, 9), (3, 7)])
def test_one_layer_arrangement_in_a_large_box_has_the_counts_of_general_position(d: int, n: int) -> None:
    # n hyperplanes in general position: sum_{i<=d} C(n, i) regions and 2n sum_{i<d} C(n-1, i) facet
    # incidences; Theorem 8 bounds the mean of all faces (box faces included) over every region
    hist = face_histogram(_net(d, [n], seed=1), n_points=200, box=1e3, regions="all")
    assert hist.n_regions == sum(comb(n, i) for i in range(d + 1))
    assert int(hist.network_counts.sum()) == 2 * n * sum(comb(n - 1, i) for i in range(d))
    assert hist.mean <= mean_faces_bound_one_layer(n, d)


def test_a_complex_over_the_budget_falls_back_to_the_sampled_regions_and_says_why() -> None:
    net = _net(2, [12, 8])
    with pytest.warns(UserWarning, match=r"regions='all' fell back .* more than 5 regions \(`max_regions`\)"):
        hist = face_histogram(net, n_points=500, regions="all", max_regions=5)
    ref = face_histogram(net, n_points=500)
    assert hist.regions == "sampled" and torch.equal(hist.counts, ref.counts)
    assert any("max_regions" in n for n in hist.notes)


def test_processes_use_the_complex_only_if_every_one_completed() -> None:
    net = _net(2, [6])
    one = face_histogram(net, n_points=300, regions="all")
    both = face_histogram(net, n_points=300, regions="all", shard=(0, 2), all_reduce_sum=lambda t: t)
    assert both.regions == "all" and torch.equal(both.counts, one.counts)

    def other_failed(t: torch.Tensor) -> torch.Tensor:
        return t + torch.tensor([0, 1]) if t.ndim == 1 else t  # the flags: process 1 did not complete

    with pytest.warns(UserWarning, match="did not fit the budget on 1 of the 2 processes"):
        h = face_histogram(net, n_points=300, regions="all", shard=(0, 2), all_reduce_sum=other_failed)
    assert h.regions == "sampled"


def test_regions_option_is_validated() -> None:
    net = _net(2, [4])
    with pytest.raises(ValueError, match=r"`regions` must be one of .*'sampled'.*'all'.*got 'every'"):
        face_histogram(net, regions="every")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`max_regions`"):
        face_histogram(net, regions="all", max_regions=0)
    cnn = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="`regions` can be 'all' only for a ReLU MLP"):
        face_histogram(cnn, input_shape=(1, 4, 4), n_points=4, regions="all")
