"""Face histograms of a CNN through pwl_regions: the estimator's counts against one LP per inequality."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_poly.geometry import count_facets, face_histogram, pwl_enumerate_regions, pwl_regions, sample_box

pytestmark = pytest.mark.usefixtures("one_thread")


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 1)).eval()


def test_face_histogram_of_a_cnn_gives_lower_bounds_of_the_exact_faces() -> None:
    net = _cnn()
    hist = face_histogram(net, n_points=6, input_shape=(1, 6, 6), patience=100, max_rays=5000)
    assert hist.network == "piecewise-linear" and hist.method == "estimate" and not hist.exact and hist.bound is None
    assert (hist.input_dim, hist.hidden_widths, hist.pool_rows, hist.gamma) == (36, [32], 24, 56)
    assert hist.architecture == "36-32-1 (+24 max-pool rows)"
    # the same regions, their rows at each region's point, one LP per inequality
    regions = pwl_enumerate_regions(net, sample_box(6, 36, seed=0).reshape(-1, 1, 6, 6))
    rows = pwl_regions(net, regions.points.reshape(-1, 1, 6, 6))
    exact = count_facets(rows.a, rows.b, method="reference", interior=regions.points).facets.sum(dim=1)
    assert torch.equal(hist.weights, regions.counts) and hist.n_regions == len(regions)
    assert bool((hist.counts <= exact).all()) and int(hist.counts.sum()) >= 0.95 * int(exact.sum())
    # points given as the model takes them: their shape is the input shape
    again = face_histogram(net, points=sample_box(6, 36, seed=0).reshape(-1, 1, 6, 6), patience=100, max_rays=5000)
    assert torch.equal(again.counts, hist.counts)


def test_a_cnn_needs_a_point_shape_and_a_piecewise_linear_network() -> None:
    net = _cnn()
    with pytest.raises(TypeError, match=r"Conv2d.*a network that is not a ReLU MLP .* needs `input_shape`"):
        face_histogram(net, n_points=4)
    with pytest.raises(ValueError, match=r"`model` holds layer '1' \(Tanh\)"):
        face_histogram(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh()), n_points=4, input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match=r"`points` must have shape \(n, 1, 6, 6\) with n >= 1, got \(4, 1, 5, 5\)"):
        face_histogram(net, points=torch.zeros(4, 1, 5, 5), input_shape=(1, 6, 6))


def test_above_the_certificate_budget_the_rays_alone_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # a LeNet region's certificates cost hours; above CERTIFY_MAX_WORK the counts are the rays' own facets
    from lightning_poly.geometry.faces import clean_rows, estimate, hit_and_run_facets, interior_points

    net = _cnn()
    points = sample_box(6, 36, seed=0).reshape(-1, 1, 6, 6)
    with_certificates = face_histogram(net, points=points, patience=100, max_rays=300)
    monkeypatch.setattr(estimate, "CERTIFY_MAX_WORK", 0)
    rays_only = face_histogram(net, points=points, patience=100, max_rays=300)
    regions = pwl_enumerate_regions(net, points)
    rows = pwl_regions(net, regions.points.reshape(-1, 1, 6, 6), box=1.0)
    a_n, b_n, keep, _, _ = clean_rows(rows.a, rows.b)
    x0, _, _ = interior_points(a_n, b_n, keep, regions.points.to(a_n))
    est = hit_and_run_facets(a_n, b_n, x0, keep, patience=100, max_rays=300, seed=0)
    assert torch.equal(rays_only.counts, est.counts)
    assert bool((rays_only.counts <= with_certificates.counts).all())


@pytest.mark.parametrize("method", ["simplex", "reference"])
def test_exact_methods_count_a_small_cnns_regions_exactly(method: str) -> None:
    # "exact methods where the dimension allows": the same rows, counted exactly, equal one LP per inequality
    net = _cnn()
    hist = face_histogram(net, n_points=6, input_shape=(1, 6, 6), method=method)
    assert hist.exact and hist.method == method
    regions = pwl_enumerate_regions(net, sample_box(6, 36, seed=0).reshape(-1, 1, 6, 6))
    rows = pwl_regions(net, regions.points.reshape(-1, 1, 6, 6))
    exact = count_facets(rows.a, rows.b, method="reference", interior=regions.points)
    assert torch.equal(hist.counts, exact.facets.sum(dim=1)[exact.ok])
    auto = face_histogram(net, n_points=6, input_shape=(1, 6, 6))
    assert auto.method == "estimate" and bool((auto.counts <= hist.counts).all())


def test_region_cost_names_the_rows_pl_regions_computes() -> None:
    from lightning_poly.geometry.pwl_regions import pwl_region_cost

    net = _cnn()
    x = sample_box(3, 36, seed=0).reshape(-1, 1, 6, 6).float()
    for box in (1.0, None):
        cost = pwl_region_cost(net, x, box)
        a = pwl_regions(net, x[:1], box).a
        assert (cost.rows, cost.dim, cost.bytes) == (a.shape[1], a.shape[2], a.shape[1] * a.shape[2] * 8)
        assert cost.rows_seconds > 0 and cost.values_seconds > 0


def test_a_budget_too_small_for_one_region_counts_none_and_says_why() -> None:
    net = _cnn()
    size = 128 * 36 * 8  # 32 unit rows, 24 max-pool rows and 72 box rows of 36 columns
    with pytest.warns(
        UserWarning, match=r"no region counted: one region of this network has 128 rows of 36 .* max_memory"
    ):
        hist = face_histogram(net, n_points=50, input_shape=(1, 6, 6), max_memory=6 * size - 1)
    assert (hist.n_regions, hist.n_uncounted, hist.n_points) == (0, 0, 0) and "max_memory" in hist.notes[0]
    with pytest.warns(UserWarning, match=r"no region counted: .* more than the .* s left of the time budget"):
        hist = face_histogram(net, n_points=50, input_shape=(1, 6, 6), max_seconds=1e-6)
    assert hist.n_regions == 0 and hist.n_points == 0
    # a bound that holds three copies of the rows counts as before
    ok = face_histogram(net, n_points=50, input_shape=(1, 6, 6), max_memory=6 * size, patience=50)
    assert ok.n_regions > 0 and ok.notes == [] and ok.n_points == 50


def test_the_points_searched_fit_the_budget_after_one_region() -> None:
    import time

    from lightning_poly.geometry.histogram import _points_within_budget
    from lightning_poly.geometry.pwl_regions import RegionCost

    cost = RegionCost(values_seconds=0.01, rows_seconds=1.0, rows=100, dim=10)
    n, note = _points_within_budget(cost, 1000, time.perf_counter(), 11.0, None)
    assert 490 <= n <= 500 and f"{n} of the 1000 points" in note and "10 ms a point" in note
    assert _points_within_budget(cost, 100, time.perf_counter(), 11.0, None) == (100, "")
    assert _points_within_budget(cost, 100, time.perf_counter(), None, 6 * 8000) == (100, "")
    assert _points_within_budget(cost, 100, time.perf_counter(), None, 6 * 8000 - 1)[0] == 0


def test_rays_stop_at_the_deadline_after_one_step() -> None:
    import time

    from lightning_poly.geometry import hit_and_run_facets

    sq = torch.tensor([[[1.0, 0], [-1, 0], [0, 1], [0, -1]]] * 2, dtype=torch.float64)
    b = torch.ones(2, 4, dtype=torch.float64)
    x0 = torch.zeros(2, 2, dtype=torch.float64)
    est = hit_and_run_facets(sq, b, x0, patience=10_000, chains=8, deadline=time.perf_counter())
    assert est.rays.tolist() == [8, 8] and not bool(est.converged.any())
    full = hit_and_run_facets(sq, b, x0, patience=200, chains=8)
    assert full.counts.tolist() == [4, 4] and bool(full.converged.all())
