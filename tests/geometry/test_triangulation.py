"""Pulling triangulations: counts against Table I's theorems, volumes against Qhull's convex hull."""

from math import comb

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull

from lightning_poly.geometry.bounds import simplices_lower_bound_one_layer, simplices_upper_bound_one_layer
from lightning_poly.geometry.triangulation import pulling_triangulation, region_simplices
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
