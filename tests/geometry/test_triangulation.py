"""Pulling triangulations: counts against Table I's theorems, volumes against Qhull's convex hull."""

from math import comb

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull

from lightning_poly.geometry.bounds import simplices_lower_bound_one_layer, simplices_upper_bound_one_layer
from lightning_poly.geometry.triangulation import pulling_triangulation, region_simplices, region_simplices_by_apex
from lightning_poly.nn import ReLUMLP


def _volumes(vertices: torch.Tensor, simplices: torch.Tensor) -> np.ndarray:
    corners = vertices.double().numpy()[simplices.numpy()]
    d = vertices.shape[1]
    return np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1])) / (2 if d == 2 else 6)


def _hull(points: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Vertices, inequalities (one per hull facet: triangles of a facet repeat its row) and volume."""
    hull = ConvexHull(points)
    eq = torch.as_tensor(hull.equations)
    return torch.as_tensor(points[hull.vertices]), eq[:, :-1], -eq[:, -1], float(hull.volume)


def test_table1_enumerates_every_region_and_respects_theorems_3_and_4() -> None:
    for n in (5, 7):
        torch.manual_seed(0)
        net = ReLUMLP([3, n, 1], init="xavier_uniform").double()
        with torch.no_grad():
            net.net[0].bias.uniform_(-0.5, 0.5)
        res = region_simplices(net, box=1000.0, seed_points=4000)  # all vertices inside
        assert res.n_regions == sum(comb(n, i) for i in range(4))  # general position
        assert simplices_lower_bound_one_layer(n, 3) <= res.total <= simplices_upper_bound_one_layer(n, 3)
        assert res.volume == pytest.approx(2000.0**3, rel=1e-9)  # the triangulations tile the box
        assert not res.empty_interior.any() and int((res.simplices > 0).sum()) == res.n_regions


def test_pulling_triangulation_of_a_cube_has_six_tetrahedra() -> None:
    verts = torch.tensor([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=torch.float64)
    a = torch.cat([torch.eye(3), -torch.eye(3)]).double()
    b = torch.tensor([1.0, 1, 1, 0, 0, 0], dtype=torch.float64)
    simplices = pulling_triangulation(verts, a, b)
    assert len(simplices) == 6
    assert _volumes(verts, simplices).sum() == pytest.approx(1.0)
    loose = torch.ones(1, 3, dtype=torch.float64)
    redundant = pulling_triangulation(
        verts, torch.cat([a, 2 * a[:1], loose]), torch.cat([b, 2 * b[:1], b.new_tensor([5.0])])
    )
    assert torch.equal(redundant, simplices)  # a scaled copy and a loose row change nothing


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 30), d=st.sampled_from([2, 3]))
def test_pulling_triangulation_tiles_the_convex_hull_of_random_points(seed: int, n: int, d: int) -> None:
    points = np.random.default_rng(seed).standard_normal((n, d))
    verts, a, b, volume = _hull(points)
    simplices = pulling_triangulation(verts, a, b)
    vols = _volumes(verts, simplices)
    assert vols.sum() == pytest.approx(volume, rel=1e-9)  # the simplices fill the hull ...
    assert (vols > 0).all()  # ... none is flat
    if d == 2:
        assert len(simplices) == len(verts) - 2  # a polygon's fan
    else:  # a triangulated 3-polytope: Euler gives F = 2V - 4 triangles; the apex's star is cut away
        assert len(verts) - 3 <= len(simplices) <= 2 * len(verts) - 7


def test_region_simplices_in_the_plane_counts_the_fans_of_every_region() -> None:
    torch.manual_seed(1)
    net = ReLUMLP([2, 4, 1]).double()
    with torch.no_grad():
        net.net[0].bias.uniform_(-0.3, 0.3)
    res = region_simplices(net, box=50.0)
    assert res.n_regions == 1 + 4 + comb(4, 2)  # 4 lines in general position
    assert res.volume == pytest.approx(100.0**2, rel=1e-9)


def test_the_apex_changes_the_count_but_both_triangulations_tile_the_box() -> None:
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1)).double()
    most = region_simplices(net, box=2.0, seed_points=2000)
    fewest = region_simplices(net, box=2.0, seed_points=2000, apex="fewest_simplices")
    most_of_all = region_simplices(net, box=2.0, seed_points=2000, apex="most_simplices")
    assert torch.equal(most.patterns, fewest.patterns) and torch.equal(most.patterns, most_of_all.patterns)
    for res in (most, fewest, most_of_all):
        assert res.volume == pytest.approx(4.0**3)  # each triangulation tiles the box
    assert bool((fewest.simplices <= most.simplices).all()) and bool((most.simplices <= most_of_all.simplices).all())
    assert fewest.total < most_of_all.total  # the count is the triangulation's, not the region's
    together = region_simplices_by_apex(net, box=2.0, seed_points=2000)  # one enumeration, every apex
    for apex, alone in (("most_facets", most), ("fewest_simplices", fewest), ("most_simplices", most_of_all)):
        assert torch.equal(together[apex].simplices, alone.simplices) and together[apex].volume == alone.volume
    with pytest.raises(ValueError, match="apex"):
        region_simplices(net, apex="middle")  # type: ignore[arg-type]


def test_pulling_counts_on_a_cut_cube_follow_the_facets_at_the_apex() -> None:
    # the unit cube cut by x + y + z <= 2.5: 3 squares, 3 pentagons, 1 triangle, sum of (|F| - 2) = 16
    corners = [[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0) if x + y + z < 3]
    v = torch.tensor([*corners, [1, 1, 0.5], [1, 0.5, 1], [0.5, 1, 1]], dtype=torch.float64)
    a = torch.cat([torch.eye(3), -torch.eye(3), torch.ones(1, 3)]).double()
    b = torch.tensor([1.0, 1, 1, 0, 0, 0, 2.5], dtype=torch.float64)
    counts = {apex: pulling_triangulation(v, a, b, apex=apex) for apex in ("fewest_simplices", "most_simplices")}
    # fewest: a vertex on two pentagons and a square saves 3 + 3 + 2; most: the origin, on three squares, saves 6
    assert {k: len(s) for k, s in counts.items()} == {"fewest_simplices": 8, "most_simplices": 10}
    for s in counts.values():
        assert _volumes(v, s).sum() == pytest.approx(1 - 0.5**3 / 6)
