import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from lightning_poly.geometry import (
    count_facets,
    enumerate_regions,
    face_histogram,
    region_hrep,
    sample_box,
)
from lightning_poly.geometry.faces import (
    certify_facets,
    clean_rows,
    first_vertices,
    hit_and_run_facets,
    interior_points,
    simplex_facets,
)
from lightning_poly.nn import ReLUMLP


def _regions_hrep(net: nn.Module, d: int, n: int, seed: int, k: int):  # type: ignore[no-untyped-def]
    reg = enumerate_regions(net, sample_box(n, d, seed=seed))
    sel = torch.arange(min(k, len(reg)))
    a, b = region_hrep(net, reg.patterns[sel])
    return a, b, reg.points[sel]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(2, 6),
    widths=st.lists(st.integers(2, 6), min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
)
def test_exact_methods_equal_reference_on_random_networks(d: int, widths: list[int], seed: int) -> None:
    torch.manual_seed(seed)
    net = ReLUMLP([d, *widths, 1], init="xavier_normal", bias_value=None)
    with torch.no_grad():
        for m in net.net:
            if isinstance(m, nn.Linear):
                m.bias.normal_(0, 0.3)
    a, b, pts = _regions_hrep(net, d, 400, seed, 4)
    ref = count_facets(a, b, "reference", interior=pts)
    for method in ("qhull", "clarkson", "simplex", "auto"):
        res = count_facets(a, b, method, interior=pts)  # type: ignore[arg-type]
        assert torch.equal(res.counts, ref.counts), method
        assert torch.equal(res.facets, ref.facets), method


def _cone_network(n: int, slope: float = 4.0) -> nn.Sequential:
    """Paper, Section IV: n first-layer hyperplanes through one vertex v = (0, 0, -0.5)."""
    theta = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    w = torch.stack([-slope * torch.cos(theta), -slope * torch.sin(theta), torch.ones(n, dtype=torch.float64)], 1)
    v = torch.tensor([0.0, 0.0, -0.5], dtype=torch.float64)
    net = nn.Sequential(nn.Linear(3, n), nn.ReLU(), nn.Linear(n, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(w)
        net[0].bias.copy_(-(w @ v))
    return net


@pytest.mark.parametrize("n", [5, 9, 16])
@pytest.mark.parametrize("method", ["reference", "qhull", "clarkson", "simplex"])
def test_cone_with_all_hyperplanes_through_one_vertex(n: int, method: str) -> None:
    net = _cone_network(n)
    a, b = region_hrep(net, torch.ones(1, n, dtype=torch.bool))
    res = count_facets(a, b, method, interior=torch.tensor([[0.0, 0.0, 0.5]], dtype=torch.float64))  # type: ignore[arg-type]
    # n cone facets plus the top face x3 <= 1 of the box
    assert res.counts.tolist() == [n + 1]
    assert res.facets[0, :n].all() and res.facets[0, n + 2]  # row n + 2 is x3 <= 1


@pytest.mark.parametrize("n", [3, 7, 20])
@pytest.mark.parametrize("method", ["reference", "qhull", "clarkson", "simplex"])
def test_polygon_with_as_many_faces_as_neurons(n: int, method: str) -> None:
    theta = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    u = torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    net = nn.Sequential(nn.Linear(2, n), nn.ReLU(), nn.Linear(n, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(-u)
        net[0].bias.fill_(0.5)  # active inside the polygon of inradius 0.5
    a, b = region_hrep(net, torch.ones(1, n, dtype=torch.bool))
    res = count_facets(a, b, method)  # type: ignore[arg-type]
    assert res.counts.tolist() == [n]  # Γ = n faces: the maximum of Preliminary 3


def test_duplicates_dead_neurons_and_empty_interior() -> None:
    # second-layer neuron 0 copies first-layer neuron 0 (a duplicate hyperplane); neuron 1 is dead
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.2], [-0.3, 1.0], [0.5, 0.5]]))
        net[0].bias.copy_(torch.tensor([0.1, 0.2, -0.1]))
        net[2].weight.copy_(torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
        net[2].bias.copy_(torch.tensor([0.0, 1.0]))
    x = sample_box(2000, 2, seed=0)
    reg = enumerate_regions(net, x)
    a, b = region_hrep(net, reg.patterns)
    ref = count_facets(a, b, "reference", interior=reg.points)
    fast = count_facets(a, b, "qhull", interior=reg.points)
    assert torch.equal(ref.counts, fast.counts)
    assert any("duplicates" in n for n in fast.notes) and any("zero rows" in n for n in fast.notes)
    # the same regions cut by the first layer alone have the same faces
    first = nn.Sequential(net[0], nn.ReLU(), nn.Linear(3, 1).double())
    a1, b1 = region_hrep(first, reg.patterns[:, :3])
    assert torch.equal(count_facets(a1, b1, "qhull", interior=reg.points).counts, fast.counts)
    # a slab of width zero has an empty interior: reported, count 0
    slab = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    res = count_facets(slab, torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64))
    assert res.status.tolist() == [1] and res.counts.tolist() == [0]
    assert any("empty interior" in n for n in res.notes)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="`method` must be one of"):
        count_facets(torch.eye(2), torch.ones(2), "lrs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be finite"):
        count_facets(torch.tensor([[float("nan"), 0.0]]), torch.ones(1))


def test_estimator_is_a_lower_bound_that_finds_almost_everything_in_3d() -> None:
    torch.manual_seed(0)
    net = ReLUMLP([3, 30, 20, 1], bias_value=0.01)
    a, b, pts = _regions_hrep(net, 3, 2000, 0, 60)
    exact = count_facets(a, b, "qhull", interior=pts)
    a_n, b_n, keep, _, _ = clean_rows(a, b)
    est = hit_and_run_facets(a_n, b_n, pts, keep, patience=1000)
    cert = certify_facets(a_n, b_n, pts, keep)
    for found in (est.found, cert):
        assert not bool((found & ~exact.facets).any())  # never a redundant row
    both = est.found | cert
    assert float(both.sum() / exact.counts.sum()) >= 0.99
    assert bool(est.converged.all()) and bool((est.rays >= 1000).all())


def test_theorem8_bound_on_all_regions_and_sampling_bias() -> None:
    from lightning_poly.geometry.exhaustive import all_regions
    from lightning_poly.geometry.regions import activation_patterns

    for d, n in ((2, 20), (3, 25)):
        torch.manual_seed(d)
        net = ReLUMLP([d, n, 1], init="xavier_uniform", bias_value=0.01)
        pats = all_regions(net, box=1.0)
        # every sampled region is among the enumerated ones
        sampled = torch.unique(activation_patterns(net, sample_box(5000, d, seed=9)), dim=0)
        assert {tuple(p) for p in sampled.tolist()} <= {tuple(p) for p in pats.tolist()}
        a, b = region_hrep(net, pats)
        res = count_facets(a, b)
        mean = float(res.counts[res.ok].double().mean())
        h = face_histogram(net, n_points=8000)
        assert h.bound is not None and h.bound[0] == "theorem8"
        assert n > 2 * d * d + d and h.bound[1] == 2 * d + 1
        assert mean <= 2 * d + 1, (d, n, mean)
        # sampling over-represents large regions, which have more faces
        assert h.mean >= mean - 1e-9


def test_cross_section_colours_each_pixel_with_its_regions_face_count() -> None:
    from lightning_poly.geometry.cross_section import cross_section
    from lightning_poly.geometry.regions import activation_patterns

    torch.manual_seed(0)
    net = ReLUMLP([3, 10, 6, 1], bias_value=0.05).double()
    eye = torch.eye(3, dtype=torch.float64)
    cs = cross_section(net, u=eye[0], v=eye[1], resolution=30, count="region")
    ss, tt = torch.meshgrid(cs.s, cs.t, indexing="xy")
    pts = torch.stack([ss.flatten(), tt.flatten(), torch.zeros(900, dtype=torch.float64)], 1)
    pats = activation_patterns(net, pts)
    for i in (0, 123, 456, 899):
        a, b = region_hrep(net, pats[i : i + 1])
        assert int(count_facets(a, b, "reference").counts[0]) == int(cs.faces.flatten()[i])
    # pixels in the same region share the region index and the count
    same = (pats[:, None, :] == pats[None, :, :]).all(-1)
    assert torch.equal(same, cs.region.flatten()[:, None] == cs.region.flatten()[None, :])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(7, 12),
    widths=st.lists(st.integers(6, 16), min_size=1, max_size=2),
    seed=st.integers(0, 10_000),
)
def test_simplex_equals_reference_in_higher_dimension(d: int, widths: list[int], seed: int) -> None:
    torch.manual_seed(seed)
    net = ReLUMLP([d, *widths, 1], init="xavier_uniform", bias_value=None)
    with torch.no_grad():
        for m in net.net:
            if isinstance(m, nn.Linear):
                m.bias.normal_(0, 0.1)
    a, b, pts = _regions_hrep(net, d, 300, seed, 6)
    ref = count_facets(a, b, "reference", interior=pts)
    for method in ("simplex", "auto"):
        res = count_facets(a, b, method, interior=pts)  # type: ignore[arg-type]
        assert torch.equal(res.facets, ref.facets), method
        assert set(res.method) <= {"simplex", "clarkson"}


def test_simplex_walks_decide_with_certificates_and_leave_near_ties_open() -> None:
    torch.manual_seed(3)
    net = ReLUMLP([8, 20, 20, 1], init="xavier_uniform", bias_value=0.01).double()
    a, b, pts = _regions_hrep(net, 8, 200, 0, 10)
    a_n, b_n, keep, _, _ = clean_rows(a, b)
    x0, _, _ = interior_points(a_n, b_n, keep, pts)
    res = simplex_facets(a_n, b_n, x0, keep)
    ref = count_facets(a, b, "reference", interior=pts).facets
    decided = keep & ~res.open
    assert bool(res.vertex_found.all()) and not bool(res.open.any())  # generic polytopes: every row decided
    assert torch.equal(res.facet[decided], ref[decided])
    # the first vertices are simple vertices: d tight rows, all others strictly inside
    v, basis, found = (t[:, 0] for t in first_vertices(a_n, b_n, x0, keep))
    slack = b_n - torch.einsum("rmd,rd->rm", a_n, v)
    assert bool(found.all())
    assert float(torch.gather(slack, 1, basis).abs().max()) < 1e-9
    off = keep.clone().scatter_(1, basis, False)
    assert bool((slack[off] > 1e-9).all())
    # a row made to touch the polytope at a vertex only (weakly redundant) is left open, not guessed
    r0 = 0
    vtx = v[r0]
    # a positive combination of the vertex's basis rows, through the vertex: its maximum over P is there
    lam = torch.rand(8, dtype=torch.float64) + 0.1
    rows_b = a_n[r0, basis[r0]]
    normal = (lam[:, None] * rows_b).sum(0)
    normal = normal / normal.norm()
    a2 = torch.cat([a_n[r0], normal[None]])[None]
    b2 = torch.cat([b_n[r0], (normal @ vtx)[None]])[None]
    keep2 = torch.cat([keep[r0], torch.tensor([True])])[None]
    res2 = simplex_facets(a2, b2, x0[r0 : r0 + 1], keep2)
    assert bool(res2.open[0, -1]) or not bool(res2.facet[0, -1])
    exact = count_facets(a2[0], b2[0], "simplex", interior=x0[r0])
    assert not bool(exact.facets[0, -1])  # the exact LP decides it: a vertex is no facet


def test_simplex_in_memory_bounded_batches_gives_the_same_counts() -> None:
    torch.manual_seed(4)
    net = ReLUMLP([7, 16, 16, 1], init="xavier_uniform", bias_value=0.01).double()
    a, b, pts = _regions_hrep(net, 7, 200, 1, 12)
    whole = count_facets(a, b, "simplex", interior=pts)
    pieces = count_facets(a, b, "simplex", interior=pts, simplex_memory=1)  # one polytope per batch
    assert torch.equal(whole.facets, pieces.facets)


def test_one_dispatcher_counts_by_every_method() -> None:
    # count_faces: the exact methods as count_facets gives them, the estimator a subset of the exact facets
    from lightning_poly.geometry import FACE_METHODS, count_faces

    torch.manual_seed(0)
    a, b, pts = _regions_hrep(ReLUMLP([3, 8, 8, 1]), 3, 300, 0, 12)
    exact = count_facets(a, b, method="reference", interior=pts)
    for method in FACE_METHODS:
        res = count_faces(a, b, method, pts, patience=300)
        assert torch.equal(res.ok, exact.ok), method
        if method == "estimate":
            assert bool((res.facets <= exact.facets).all()) and res.rays is not None and bool((res.rays > 0).all())
            assert int(res.counts.sum()) >= 0.95 * int(exact.counts.sum())
        else:
            assert torch.equal(res.facets, exact.facets) and res.rays is None, method
