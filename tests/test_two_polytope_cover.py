"""The two-polytope cover recipe of Section 4.2 (``pipelines.two_polytope_cover``) on small known sets."""

from dataclasses import replace

import pytest
import torch

from lightning_poly.pipelines import SMOOTH_HEAD_TRAINING, refined_polytope, two_polytope_cover


def test_two_polytope_cover_reports_what_it_measured() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 10, generator=g)
    y = (x[:, :3].abs().max(1).values < 1.0).long()  # a cube in 3 of 10 dims: 6 faces suffice
    training = replace(SMOOTH_HEAD_TRAINING, width=12, epochs=300)
    res = two_polytope_cover(x, y, target=0.99, training=training, two=False)
    assert res.accuracy >= 0.99 and len(res.faces) == 1
    assert res.faces[0] <= res.after_drop[0] <= res.before_drop[0] <= 12  # dropping keeps the target
    assert res.cover.faces == res.faces and res.cover.accuracy(x, y) == res.accuracy
    assert res.faces[0] >= 5  # a cube needs 6 faces; at 99% one may go
    assert res.steps[0]["missed"] <= 6
    assert res.summary()["faces"] == res.faces and "cover" not in res.summary()
    # the cube minus a slab inside it: one convex polytope cannot, P - Q can
    hole = (x[:, 3].abs() < 0.3) & (y == 1)
    y2 = torch.where(hole, torch.zeros_like(y), y)
    two = two_polytope_cover(x, y2, 0.99, training, second_width=4, two=True, inside_weights=(10.0,))
    one = two_polytope_cover(x, y2, 0.99, training, two=False)
    assert two.signs == [1, -1] and two.accuracy > one.accuracy + 0.02 and one.signs == [1]
    # P alone misses the budget: its whole ladder runs and the rung with the fewest errors is kept
    kept, ladder = one.steps[0], one.steps[0]["ladder"]
    assert len(ladder) == 3 and kept["missed"] + kept["wrongly_inside"] == min(
        step["missed"] + step["wrongly_inside"] for step in ladder
    )
    # Q's ladder stops at the first refinement whose errors fit the budget, else keeps the one with fewest
    q = two.steps[1]
    errors = [step["missed"] + step["wrongly_inside"] for step in q["ladder"]]
    assert q["missed"] + q["wrongly_inside"] == (
        errors[-1] if errors[-1] <= 6 - two.steps[0]["missed"] else min(errors)
    )
    assert all(e > 6 - two.steps[0]["missed"] for e in errors[:-1])


def test_refined_polytope_ladder_keeps_the_rung_with_fewest_errors() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 6, generator=g)
    y = ((x[:, :2].abs().max(1).values < 0.8) ^ (torch.rand(400, generator=g) < 0.05)).long()  # noisy square
    ladder = (1.0, 0.3, 3.0)
    training = replace(SMOOTH_HEAD_TRAINING, width=8, epochs=60, batch_size=100)
    # an unreachable budget: every rung runs, and the faces kept are those with the fewest errors
    cover, info = refined_polytope(x, y, training, ladder, max_errors=-1, max_missed=len(y), unit_margin=True)
    errors = [r["missed"] + r["wrongly_inside"] for r in info["ladder"]]
    assert [r["inside_weight"] for r in info["ladder"]] == list(ladder)
    assert info["missed"] + info["wrongly_inside"] == min(errors)
    inside = cover.membership(x)[:, 0]  # the faces returned are the ones whose errors are reported
    assert int((inside != (y > 0)).sum()) == min(errors)
    # a budget the first rung meets: one rung only
    _, first = refined_polytope(x, y, training, ladder, max_missed=len(y))
    assert len(first["ladder"]) == 1
    with pytest.raises(ValueError, match="at least one weight"):
        refined_polytope(x, y, replace(SMOOTH_HEAD_TRAINING, width=8), inside_weights=())
