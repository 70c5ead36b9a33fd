"""Refinement of a whole cover one polytope at a time (``polytope_targets``, ``refine_cover``)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lightning_poly.algorithms import polytope_targets, refine_cover
from lightning_poly.data import make_synthetic
from lightning_poly.data.synthetic import _regular_polygon
from lightning_poly.geometry import PolytopeBasisCover
from tests.algorithms.test_covers import _counts_by_loops, _random_cover


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 3))
def test_targets_match_forcing_each_point_in_and_out_of_the_polytope(seed: int, k: int) -> None:
    cover = _random_cover(seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(80, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (80,), generator=g)
    counts = _counts_by_loops(cover, x)
    member_k = [all(float(a @ p - b) <= cover.atol for a, b in zip(cover.a[k], cover.b[k])) for p in x]
    decides_ref, inside_ref, fixed_ref = [], [], 0
    for c, m, label in zip(counts, member_k, y.tolist()):
        others = c - cover.signs[k] * int(m)
        pred_in, pred_out = others + cover.signs[k] > 0, others > 0
        decides_ref.append(pred_in != pred_out)
        if pred_in != pred_out:
            inside_ref.append(pred_in == bool(label))
        else:
            fixed_ref += int(pred_out != bool(label))
    decides, inside, fixed = polytope_targets(cover, k, x, y)
    assert decides.tolist() == decides_ref and inside.tolist() == inside_ref and fixed == fixed_ref
    # the cover's errors split exactly into the fixed ones and polytope k's on the points it decides
    errors = int((cover.predict(x) != y).sum())
    assert errors == fixed + int((torch.tensor(member_k)[decides] != inside).sum())


def _hexagon_cover(shift: float) -> PolytopeBasisCover:
    """The true hexagon-minus-pentagon cover with every face pushed out by ``shift`` (a rough fit)."""
    faces = []
    for v in (_regular_polygon(6, 0.9), _regular_polygon(5, 0.4, phase=math.pi / 2)):
        e = torch.roll(v, -1, 0) - v
        n = torch.stack([e[:, 1], -e[:, 0]], 1)
        n = n / n.norm(dim=1, keepdim=True)  # outward for counter-clockwise vertices
        faces.append((n, (n * v).sum(1) + shift))
    return PolytopeBasisCover([faces[0][0], faces[1][0]], [faces[0][1], faces[1][1]], [1, -1])


def test_refine_cover_brings_a_rough_hexagon_cover_to_every_point_with_its_11_faces() -> None:
    x, y = make_synthetic("hexagon_with_hole", n_samples=1000, seed=0)
    x = x.double()
    exact = _hexagon_cover(0.0)
    assert exact.accuracy(x, y) == 1.0  # the data's own cover
    rough = _hexagon_cover(0.04)
    fine, report = refine_cover(rough, x, y, margin=0.03)
    assert report.errors_before > 5 and report.errors_after == 0 and report.reason == "no errors left"
    assert fine.accuracy(x, y) == 1.0 and fine.faces == [6, 5] and fine.signs == [1, -1]


def test_refine_cover_never_returns_a_worse_cover_and_validates() -> None:
    cover = _random_cover(3)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (200,), generator=g)  # random labels: no cover of 4 polytopes fits them
    refined, report = refine_cover(cover, x, y, passes=2, margin=0.1)
    assert report.errors_after <= report.errors_before == int((cover.predict(x) != y).sum())
    assert int((refined.predict(x) != y).sum()) == report.errors_after
    assert all(r["errors_after"] >= report.errors_after for r in report.refits if r["kept"])
    # each refit starts from the errors of the last kept one: a refit that raised the errors was not applied
    assert any(not r["kept"] for r in report.refits)  # this instance has such refits
    errors = report.errors_before
    for r in report.refits:
        assert r["errors_before"] == errors and r["kept"] == (r["errors_after"] <= errors)
        errors = r["errors_after"] if r["kept"] else errors
    assert errors == report.errors_after
    with pytest.raises(ValueError, match="passes"):
        refine_cover(cover, x, y, passes=0)
    with pytest.raises(ValueError, match="margin"):
        refine_cover(cover, x, y, margin=-1.0)
    with pytest.raises(ValueError, match="expected `x` \\(n, d\\) and `y` \\(n,\\)"):
        refine_cover(cover, x, y[:-1])
    with pytest.raises(ValueError, match="`k` must index"):
        polytope_targets(cover, 7, x, y)
