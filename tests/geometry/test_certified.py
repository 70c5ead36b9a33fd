"""Certified facet decisions: near-degenerate polytopes and networks against an exact rational oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from lightning_poly.geometry import count_facets, region_complex
from lightning_poly.geometry.faces.certified import exact_facets, exact_is_redundant
from tests.helpers.facet_oracle import degenerate_network, polygon_facets

pytestmark = pytest.mark.usefixtures("one_thread")


SQUARE = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])


@pytest.mark.parametrize(
    ("row", "offset", "facet"),
    [
        ([1.0, 1e-12], 1.0, True),  # within 1e-12 of the duplicate x <= 1: cuts a corner off, both facets
        ([1.0, 0.0], 1.0 + 1e-13, False),  # parallel, 1e-13 beyond
        ([1.0, 0.0], 1.0 - 1e-13, True),  # parallel, 1e-13 inside: it replaces x <= 1
        ([1.0, 1.0], 2.0, False),  # through a vertex only
        ([1.0, 1.0], 2.0 - 2**-50, True),  # within 1e-15 of that vertex, inside: a tiny facet
        ([2.0, 0.0], 2.0, False),  # an exact copy of x <= 1: one hyperplane, one facet
    ],
)
def test_near_degenerate_rows_are_decided_exactly(row: list[float], offset: float, facet: bool) -> None:
    a, b = np.vstack([SQUARE, row]), np.array([1.0, 1, 1, 1, offset])
    got = exact_facets(a, b)
    assert got.tolist() == polygon_facets(a, b)
    assert bool(got[4]) is facet and exact_is_redundant(a[:4], b[:4], a[4], b[4]) is (not facet or row == [2.0, 0.0])


def test_a_tolerance_would_merge_what_exact_arithmetic_tells_apart() -> None:
    a = torch.tensor(np.vstack([SQUARE, [1.0, 1e-12]]))[None]
    b = torch.tensor([[1.0, 1, 1, 1, 1]], dtype=torch.float64)
    assert int(count_facets(a, b).counts[0]) == 4  # dup_tol merges the two rows
    assert int(exact_facets(a[0].numpy(), b[0].numpy()).sum()) == 5


def _near_degenerate_net(seed: int, n: int) -> nn.Sequential:
    """Random lines, one within 1e-12 of a copy of line 0, one within ~1e-13 of the meeting point of lines 1, 2."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, 2, generator=g, dtype=torch.float64)
    c = (torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * 0.8
    x = torch.linalg.solve(w[1:3], -c[1:3])  # where lines 1 and 2 meet
    w3 = torch.randn(2, generator=g, dtype=torch.float64)
    w = torch.cat([w, (w[0] + 1e-12 * torch.randn(2, generator=g, dtype=torch.float64))[None], w3[None]])
    c = torch.cat([c, c[:1] + 1e-12, (-(w3 @ x) + 1e-13)[None]])
    net = nn.Sequential(nn.Linear(2, n + 2), nn.ReLU(), nn.Linear(n + 2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(w)
        net[0].bias.copy_(c)
    return net


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(3, 6))
def test_the_complex_of_near_degenerate_networks_matches_the_exact_oracle(seed: int, n: int) -> None:
    cx = region_complex(_near_degenerate_net(seed, n), box=1.0, certify=True)
    assert cx.certified
    a, b = cx.a.numpy(), cx.b.numpy()
    for i in torch.nonzero(cx.status == 0).flatten().tolist():
        assert cx.facets[i].tolist() == polygon_facets(a[i], b[i]), i


def test_certification_corrects_the_tolerance_and_costs_little_in_general_position() -> None:
    net = _near_degenerate_net(1, 5)
    exact, loose = region_complex(net, box=1.0, certify=True), region_complex(net, box=1.0)
    assert exact.exact_rows > 0 and not loose.certified
    assert not torch.equal(exact.facets, loose.facets)  # the near-copy of line 0 is a facet the tolerance merged
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(2, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    cx = region_complex(plain, box=1.0, certify=True)
    assert cx.exact_rows == 0 and cx.certified_rows == cx.a.shape[0] * cx.a.shape[1]
    assert torch.equal(cx.facets, region_complex(plain, box=1.0).facets)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(3, 5), min_size=1, max_size=2),
    copies=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 8), st.integers(0, 5)), max_size=2),
    zero_bias=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_the_complex_of_degenerate_networks_matches_the_exact_oracle(
    widths: list[int], copies: list[tuple[int, int, int]], zero_bias: bool, seed: int
) -> None:
    # duplicated neurons, dead neurons, zero biases (every line through the origin): rows that are multiples of
    # each other up to rounding are decided on their float64 values, exactly
    net = degenerate_network(2, widths, copies, 0, zero_bias, seed)
    cx = region_complex(net, box=1.0, seed_points=200, certify=True)
    a, b = cx.a.numpy(), cx.b.numpy()
    for i in torch.nonzero(cx.status == 0).flatten().tolist():
        assert cx.facets[i].tolist() == polygon_facets(a[i], b[i]), i
