"""The batched region complex: the same regions and facets as the one-region-at-a-time walk (degenerate networks
included), an adjacency graph whose edges are shared (d-1)-faces, one neighbour across every facet inside the box,
budgets, validation, boundedness without a box; and exact counts of large regions against the one-LP-per-row
oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from lightning_poly.geometry import count_facets, region_hrep
from lightning_poly.geometry.complex import RegionComplex, region_complex
from lightning_poly.geometry.exhaustive import all_regions
from lightning_poly.geometry.faces import clean_rows, interior_points
from lightning_poly.geometry.faces.count import simplex_exact
from lightning_poly.nn import ReLUMLP
from tests.helpers.facet_oracle import degenerate_network, oracle_facets


def _walk(net: torch.nn.Module, box: float) -> tuple[torch.Tensor, torch.Tensor]:
    pats = all_regions(net, box=box, seed_points=300)
    a, b = region_hrep(net, pats, box)
    return pats, count_facets(a, b).facets


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(2, 3),
    widths=st.lists(st.integers(3, 7), min_size=1, max_size=2),
    copies=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 8), st.integers(0, 5)), max_size=3),
    dead=st.integers(0, 1),
    zero_bias=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_same_regions_and_facets_as_the_walk(
    d: int, widths: list[int], copies: list[tuple[int, int, int]], dead: int, zero_bias: bool, seed: int
) -> None:
    net = degenerate_network(d, widths, copies, dead, zero_bias, seed)
    cx = region_complex(net, box=1.0, seed_points=300, batch_size=7)  # small batches: several rounds
    pats, facets = _walk(net, 1.0)
    ok = cx.status == 0
    # the walk flips one bit across a facet of a one-layer network: with duplicated neurons it also lists
    # patterns without an interior (one copy flipped, not the other); the complex reads the pattern across
    walk_ok = count_facets(*region_hrep(net, pats, 1.0)).ok
    assert torch.equal(cx.patterns[ok], pats[walk_ok])
    assert torch.equal(cx.facets[ok], facets[walk_ok])
    assert cx.complete and not cx.reason


@pytest.mark.parametrize("widths", [[2, 12, 1], [2, 8, 6, 1], [3, 6, 5, 1]])
def test_same_as_the_walk_on_random_networks(widths: list[int]) -> None:
    torch.manual_seed(sum(widths))
    net = ReLUMLP(widths, init="xavier_normal", bias_value=0.1).double()
    cx = region_complex(net, box=1.0, batch_size=16)
    pats, facets = _walk(net, 1.0)
    assert torch.equal(cx.patterns, pats) and torch.equal(cx.facets, facets)
    assert bool((cx.status == 0).all())


def _shared_face_depth(cx: RegionComplex, i: int, j: int, k: int) -> float:
    """Largest slack, on every other row of both regions, of a point of row k's hyperplane (an LP): > 0 iff
    the closures of regions i and j share a (d-1)-face on that hyperplane."""
    a = torch.cat([cx.a[i], cx.a[j]]).numpy()
    b = torch.cat([cx.b[i], cx.b[j]]).numpy()
    norm = np.linalg.norm(a, axis=1)
    live = norm > 1e-12
    a, b = a[live] / norm[live, None], b[live] / norm[live]
    ak = cx.a[i, k].numpy() / np.linalg.norm(cx.a[i, k].numpy())
    bk = float(cx.b[i, k]) / np.linalg.norm(cx.a[i, k].numpy())
    on = np.abs(np.abs(a @ ak) - 1) < 1e-9  # rows parallel to the hyperplane
    on &= np.abs(np.abs(b) - abs(bk)) < 1e-9  # ... and on it
    a, b = a[~on], b[~on]
    d = a.shape[1]
    res = linprog(
        np.r_[np.zeros(d), -1.0], A_ub=np.hstack([a, np.ones((len(a), 1))]), b_ub=b,
        A_eq=np.r_[ak, 0.0][None], b_eq=[bk], bounds=[(None, None)] * d + [(None, 1.0)], method="highs",
    )  # fmt: skip
    return -res.fun if res.status == 0 else -np.inf


@pytest.mark.parametrize("widths", [[2, 10, 8, 1], [3, 8, 8, 1]])
def test_edges_are_shared_facets_and_every_inner_facet_has_one_neighbour(widths: list[int]) -> None:
    torch.manual_seed(1)
    net = ReLUMLP(widths, init="xavier_normal", bias_value=0.1).double()
    cx = region_complex(net, box=1.0)
    gamma = cx.n_neurons
    # every network facet has a neighbour, and the neighbour has a facet back to it
    net_facets = cx.facets[:, :gamma]
    assert bool((cx.neighbours[:, :gamma][net_facets] >= 0).all())
    assert bool((cx.neighbours[~cx.facets] == -1).all()) and bool((cx.neighbours[:, gamma:] == -1).all())
    back = {(int(r), int(cx.neighbours[r, k])) for r, k in torch.nonzero(cx.neighbours >= 0).tolist()}
    assert all((j, i) in back for i, j in back)
    # exactly one neighbour across each facet: the facet's points just across all lie in that neighbour
    g = torch.Generator().manual_seed(0)
    rr, kk = torch.nonzero(net_facets, as_tuple=True)
    sample = torch.randperm(len(rr), generator=g)[:40]
    for r, k in zip(rr[sample].tolist(), kk[sample].tolist()):
        j = int(cx.neighbours[r, k])
        assert _shared_face_depth(cx, r, j, k) > 1e-9
    edges = cx.edges
    assert len(edges) == len(back) // 2
    nx = pytest.importorskip("networkx")
    graph = cx.to_networkx()
    assert graph.number_of_nodes() == len(cx) and nx.is_connected(graph)


def test_budgets_stop_the_walk_and_say_so() -> None:
    torch.manual_seed(0)
    net = ReLUMLP([2, 12, 12, 1], init="xavier_normal", bias_value=0.1).double()
    cx = region_complex(net, max_regions=20, batch_size=8, seed_points=20)
    assert len(cx) == 20 and not cx.complete and "max_regions" in cx.reason
    assert int(cx.neighbours.max()) < 20
    seen: list[tuple[int, int]] = []
    region_complex(net, batch_size=16, progress=lambda done, found: seen.append((done, found)))
    assert seen and all(d <= f for d, f in seen) and seen[-1][0] == seen[-1][1]
    for box in (1.0, None):  # a budget spent before the first batch: no region, and said so
        empty = region_complex(net, box=box, max_seconds=1e-9)
        assert len(empty) == 0 and not empty.complete and "max_seconds" in empty.reason
        assert empty.a.shape[1:] == (24 + (4 if box else 0), 2) and empty.edges.shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"box": -1.0}, "box"),
        ({"max_regions": 0}, "max_regions"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_seconds": -2.0}, "max_seconds"),
        ({"tol": 0.0}, "tol"),
    ],
)
def test_options_are_validated(kwargs: dict, match: str) -> None:
    net = ReLUMLP([2, 4, 1]).double()
    with pytest.raises(ValueError, match=match):
        region_complex(net, **kwargs)


def test_volumes_need_low_dimension_and_sum_to_the_box() -> None:
    with pytest.raises(ValueError, match="d <= 6"):
        region_complex(ReLUMLP([7, 4, 1]).double(), volumes=True)
    torch.manual_seed(0)
    cx = region_complex(ReLUMLP([3, 6, 4, 1], bias_value=0.1).double(), volumes=True, centres=True)
    assert cx.volumes is not None and cx.radii is not None
    assert float(cx.volumes.sum()) == pytest.approx(8.0, rel=1e-9)
    assert bool((cx.radii > 0).all())


def test_without_a_box_cells_are_bounded_or_not() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)).double()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        net[0].weight.copy_(torch.randn(5, 2, generator=g, dtype=torch.float64))
        net[0].bias.copy_(torch.randn(5, generator=g, dtype=torch.float64))
    cx = region_complex(net, box=None, seed_points=20_000)
    # 5 lines in general position: 1 + 5 + 10 = 16 cells, (5-1)(5-2)/2 = 6 of them bounded, 2 * 5 unbounded
    assert len(cx) == 16 and cx.bounded is not None
    assert int(cx.bounded.sum()) == 6
    assert bool((cx.network_counts[~cx.bounded] >= 1).all())


def _large_polytopes(d: int, m: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` polytopes of ``m`` rows around the unit ball: most rows tangent to it (facets), a share pushed out
    (redundant or barely not), a few copied (duplicates)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, m, d, generator=g, dtype=torch.float64)
    a = a / a.norm(dim=2, keepdim=True)
    b = 1.0 + 0.6 * torch.rand(n, m, generator=g, dtype=torch.float64) ** 3
    a[:, -3:] = 2.0 * a[:, :3]  # scaled duplicates
    b[:, -3:] = 2.0 * b[:, :3]
    return a, b


@pytest.mark.parametrize(("d", "m"), [(8, 60), (8, 150), (16, 90)])
def test_large_regions_count_exactly_against_the_one_lp_per_row_oracle(d: int, m: int) -> None:
    n = 2 if m > 100 else 3
    a, b = _large_polytopes(d, m, n, seed=d + m)
    want = [oracle_facets(a[i].numpy(), b[i].numpy()) for i in range(len(a))]
    assert all(30 <= w <= 150 for w in want), want
    for method in ("auto", "simplex", "clarkson"):
        assert count_facets(a, b, method).counts.tolist() == want, method
    a_n, b_n, keep, _, _ = clean_rows(a, b)
    x0, _, _ = interior_points(a_n, b_n, keep)
    facets, no_vertex, _, point = simplex_exact(a_n, b_n, keep, x0, torch.ones(n, dtype=torch.bool), 1e-9, points=True)
    assert not bool(no_vertex.any()) and facets.sum(dim=1).tolist() == want
    # the facet points lie on their facets, strictly inside every other row
    assert point is not None
    rr, kk = torch.nonzero(facets & ~torch.isnan(point[..., 0]), as_tuple=True)
    c = point[rr, kk]
    slack = b_n[rr] - torch.einsum("nmd,nd->nm", a_n[rr], c)
    assert float(slack[torch.arange(len(rr)), kk].abs().max()) < 1e-9
    slack[torch.arange(len(rr)), kk] = torch.inf
    assert bool((torch.where(keep[rr], slack, torch.inf).amin(dim=1) > 0).all())
