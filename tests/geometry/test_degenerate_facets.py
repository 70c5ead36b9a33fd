"""Facet counts on degenerate networks: duplicated and scaled neurons, dead neurons, zero biases,
interior points on a hyperplane. Every exact method must equal an independent oracle (merge
duplicate rows first, then one LP per row), and the estimator must never exceed it."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightning_poly.geometry import count_facets, enumerate_regions, region_hrep, sample_box
from lightning_poly.geometry.faces import clean_rows
from lightning_poly.geometry.histogram import count_region_faces
from tests.helpers.facet_oracle import degenerate_network, oracle_facets


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    d=st.integers(2, 10),
    widths=st.lists(st.integers(3, 9), min_size=1, max_size=2),
    copies=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 8), st.integers(0, 5)), min_size=1, max_size=6),
    dead=st.integers(0, 2),
    zero_bias=st.booleans(),
    on_hyperplane=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_every_exact_method_equals_the_merging_oracle_and_the_estimator_stays_below(
    d: int,
    widths: list[int],
    copies: list[tuple[int, int, int]],
    dead: int,
    zero_bias: bool,
    on_hyperplane: bool,
    seed: int,
) -> None:
    net = degenerate_network(d, widths, copies, dead, zero_bias, seed)
    reg = enumerate_regions(net, sample_box(300, d, seed=seed))
    sel = torch.randperm(len(reg), generator=torch.Generator().manual_seed(seed))[:3]
    a, b = region_hrep(net, reg.patterns[sel])
    points = reg.points[sel].clone()
    if on_hyperplane:  # start from a point on the region's first non-zero neuron hyperplane
        for r in range(len(sel)):
            norms = a[r, : -2 * d].norm(dim=1)
            j = int(torch.nonzero(norms > 1e-12)[0]) if bool((norms > 1e-12).any()) else -1
            if j >= 0:
                row = a[r, j]
                points[r] = points[r] + (b[r, j] - row @ points[r]) / (row @ row) * row
    truth = torch.tensor([oracle_facets(a[r].numpy(), b[r].numpy()) for r in range(len(sel))])
    methods = ["reference", "clarkson", "simplex", "auto"] + (["qhull"] if d <= 6 else [])
    for method in methods:
        res = count_facets(a, b, method, interior=points)  # type: ignore[arg-type]
        assert bool(res.ok.all()), (method, res.notes)
        assert res.counts.tolist() == truth.tolist(), method
    sub = type(reg)(reg.patterns[sel], reg.counts[sel], reg.inverse, points, reg.depth[sel])
    est = count_region_faces(net, sub, method="estimate", patience=100, max_rays=5000)
    assert bool((est.counts <= truth).all()), (est.counts.tolist(), truth.tolist())


def test_bitwise_identical_rows_in_a_large_batch_are_merged() -> None:
    # the matrix-product distance formula leaves ~1e-8 between identical rows in a batch of 256
    g = torch.Generator().manual_seed(0)
    a = torch.randn(256, 40, 8, generator=g, dtype=torch.float64)
    b = torch.randn(256, 40, generator=g, dtype=torch.float64)
    a[:, 30:], b[:, 30:] = a[:, :10], b[:, :10]
    a[:, 20:25], b[:, 20:25] = 3.7 * a[:, :5], 3.7 * b[:, :5]  # positive multiples: the same halfspace
    _, _, keep, _, stats = clean_rows(a, b)
    assert not bool(keep[:, 30:].any()) and not bool(keep[:, 20:25].any())
    assert bool(keep[:, :20].all()) and bool(keep[:, 25:30].all())
    assert stats["duplicates"] == 256 * 15


@pytest.mark.parametrize("offset", [1e-10, 1e-6])
def test_nearly_equal_parallel_rows_are_one_facet(offset: float) -> None:
    # a square with its right side doubled at a tiny offset: merged (1e-10) or the looser one is redundant (1e-6)
    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 0]], dtype=torch.float64)
    b = torch.tensor([1.0, 1, 1, 1, 1 + offset], dtype=torch.float64)
    truth = oracle_facets(sq.numpy(), b.numpy())
    assert truth == 4
    for method in ("reference", "qhull", "clarkson", "simplex"):
        assert count_facets(sq, b, method).counts.tolist() == [truth], method  # type: ignore[arg-type]


def _all_pairs_duplicates(a: torch.Tensor, b: torch.Tensor, dup_tol: float = 1e-9) -> torch.Tensor:
    """The slow reference: every pair's direct distance; a nonzero row with a close earlier nonzero row goes."""
    norm = a.norm(dim=2)
    zero = norm <= 1e-12
    scale = torch.where(zero, 1.0, norm)
    v = torch.cat([a / scale[..., None], (b / scale)[..., None]], dim=2)
    dist = torch.cdist(v, v, compute_mode="donot_use_mm_for_euclid_dist")
    size = v.norm(dim=2).clamp_min(1.0)
    m = a.shape[1]
    close = (dist <= dup_tol * torch.maximum(size[:, :, None], size[:, None, :])) & torch.tril(
        torch.ones(m, m, dtype=torch.bool), diagonal=-1
    )
    close &= ~zero[:, None, :] & ~zero[:, :, None]
    return close.any(dim=2)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 60),
    d=st.integers(1, 9),
    groups=st.lists(
        st.tuples(st.integers(0, 59), st.integers(0, 59), st.sampled_from([0.0, 1e-12, 1e-10, 1e-8])), max_size=30
    ),
    zeros=st.lists(st.integers(0, 59), max_size=4),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
    seed=st.integers(0, 10_000),
)
def test_sorted_duplicate_search_equals_all_pairs(
    m: int, d: int, groups: list[tuple[int, int, float]], zeros: list[int], scale: float, seed: int
) -> None:
    # copies (exact, positive multiples, or moved by up to 1e-8: on both sides of the 1e-9 tolerance),
    # zero rows, and offsets far from 1: the sweep over sorted keys drops exactly the rows all pairs drop
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, m, d, generator=g, dtype=torch.float64)
    b = scale * torch.randn(3, m, generator=g, dtype=torch.float64)
    for src, dst, jitter in groups:
        src, dst = src % m, dst % m
        f = float(torch.rand((), generator=g)) * 5 + 0.1
        a[:, dst] = f * a[:, src] + jitter * torch.randn(3, d, generator=g, dtype=torch.float64)
        b[:, dst] = f * b[:, src]
    for z in zeros:
        a[:, z % m], b[:, z % m] = 0.0, 1.0
    _, _, keep, _, stats = clean_rows(a, b, chunk=2)
    ref = _all_pairs_duplicates(a, b)
    nonzero = a.norm(dim=2) > 1e-12
    assert torch.equal(keep, nonzero & ~ref)
    assert stats["duplicates"] == int((nonzero & ref).sum())


def test_duplicates_in_thousands_of_rows_and_a_large_group_of_copies() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(2, 3000, 30, generator=g, dtype=torch.float64)
    b = torch.randn(2, 3000, generator=g, dtype=torch.float64)
    a[:, 1000:1400], b[:, 1000:1400] = a[:, 7:8], b[:, 7:8]  # 400 copies of one row
    a[:, 2000:2100] = a[:, 100:200] * 2.5
    b[:, 2000:2100] = b[:, 100:200] * 2.5
    _, _, keep, _, stats = clean_rows(a, b)
    assert torch.equal(keep, ~_all_pairs_duplicates(a, b))
    assert stats["duplicates"] == 2 * 500
