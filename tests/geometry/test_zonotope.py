"""Zonotope vertices and edges of activation patterns (zonotope paper, Section 3)."""

from __future__ import annotations

import pytest
import torch

from lightning_poly.geometry.zonotope import (
    Flip,
    cone_margin,
    flip_margins,
    general_position,
    is_vertex,
    random_vertex,
    unit_flips,
    unit_vertices,
    vertex_neighbors,
    zonotope_vertex_count,
)
from lightning_poly.nn.homogeneous import homogeneous_points


def _data(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("n", "d", "seed"), [(6, 2, 0), (7, 3, 1), (9, 2, 2), (8, 4, 3)])
def test_vertex_count_of_general_position_data_equals_covers_formula(n: int, d: int, seed: int) -> None:
    x = _data(n, d, seed)
    assert general_position(x).ok
    verts = unit_vertices(x)
    assert len(verts) == zonotope_vertex_count(n, d)
    assert bool(is_vertex(x, verts).all())  # every enumerated pattern has a cone with an interior


def test_neighbours_equal_one_lp_per_candidate_flip_and_adjacency_is_symmetric() -> None:
    x = _data(12, 3, 4)
    pattern, _ = random_vertex(x, m=3, seed=5)
    neighbours = vertex_neighbors(x, pattern)
    # reference: flip each example of each unit and ask one LP whether the result is still a vertex
    reference = [
        Flip(j, (i,))
        for j in range(3)
        for i in range(12)
        if float(cone_margin(x, Flip(j, (i,)).apply(pattern)[j])[0][0]) > 1e-9
    ]
    assert neighbours == reference
    for f in neighbours:  # the edge is seen from the other end too
        assert f in vertex_neighbors(x, f.apply(pattern))


def test_flip_margins_on_one_model_equal_one_lp_per_flipped_cone() -> None:
    x = _data(12, 3, 4)
    x[7] = x[3]  # a group of identical examples flips together
    pattern, _ = random_vertex(x, m=1, seed=2)
    groups = [(i,) for i in range(12) if i not in (3, 7)] + [(3, 7), tuple(range(12))]  # the last: the opposite cone
    margin, witness = flip_margins(x, pattern[0], groups)
    flipped = torch.stack([Flip(0, g).apply(pattern)[0] for g in groups])
    ref, _ = cone_margin(x, flipped)
    assert torch.allclose(margin, ref, atol=1e-12)
    deep = margin > 1e-9  # the flips that are edges: the witness is strictly inside the new cone
    assert torch.equal((witness[deep] @ homogeneous_points(x).T > 0), flipped[deep])
    with pytest.raises(ValueError, match=r"a group must hold example indices in 0..11, got \(12,\)"):
        flip_margins(x, pattern[0], [(12,)])
    with pytest.raises(ValueError, match=r"`pattern` must be one unit's pattern \(N,\)"):
        flip_margins(x, random_vertex(x, m=2, seed=2)[0], groups)


def test_identical_examples_flip_together_and_degenerate_data_is_reported() -> None:
    x = _data(8, 2, 6)
    x[5] = x[2]
    gp = general_position(x)
    assert not gp.ok and gp.duplicates == 1
    groups = [g for p in unit_vertices(x) for g in unit_flips(x, p[None])[0]]
    assert (2, 5) in groups  # the doubled hyperplane is crossed, with both copies at once
    assert all(2 not in g and 5 not in g for g in groups if g != (2, 5))
    collinear = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 1.0]])
    assert not general_position(collinear).ok


def test_bad_patterns_are_refused() -> None:
    x = _data(6, 2, 0)
    with pytest.raises(ValueError, match=r"`pattern` must be a bool tensor \(N,\) or \(m, N\) with N = 6"):
        is_vertex(x, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="`pattern` must be a bool tensor"):
        is_vertex(x, torch.ones(2, 6))
    one_d = torch.tensor([[-1.0], [0.0], [1.0]])
    with pytest.raises(ValueError, match=r"not a vertex of the zonotope: the cones of units \[0\]"):
        unit_flips(one_d, torch.tensor([[True, False, True]]))
    with pytest.raises(ValueError, match="`x` must be finite"):
        cone_margin(torch.tensor([[float("nan"), 0.0]]), torch.ones(1, 1, dtype=torch.bool))
