"""Backward face elimination with refits (fewer faces for one polytope at a bounded error)."""

import pytest
import torch

from lightning_poly.algorithms import eliminate_faces, face_removal_errors


def _errors(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, inside: torch.Tensor) -> int:
    """Independent count: a point is inside when it violates no face."""
    member = torch.stack([(x @ a[k] - b[k]) <= 0 for k in range(len(a))], 1).all(1)
    return int((member != inside).sum())


def test_face_removal_errors_match_a_loop_that_deletes_each_face() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 4, generator=g, dtype=torch.float64)
    a = torch.randn(7, 4, generator=g, dtype=torch.float64)
    b = torch.rand(7, generator=g, dtype=torch.float64) + 0.5
    inside = torch.rand(500, generator=g) < 0.4
    fast = face_removal_errors(a, b, x, inside)
    slow = [_errors(a[torch.arange(7) != f], b[torch.arange(7) != f], x, inside) for f in range(7)]
    assert fast.tolist() == slow
    assert len(set(slow)) > 1  # the data make the faces differ, so the comparison can fail


def _cube(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points in [-2, 2]^5 with a gap around the cube |x_i| <= 1 in the first 3 coordinates; the cube's
    6 faces plus 6 loose faces that cut only outside points (a start with 12 faces, 6 needed)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1500, 5, generator=g, dtype=torch.float64) * 4 - 2
    x = x[(x[:, :3].abs().max(1).values - 1).abs() > 0.15]
    inside = (x[:, :3].abs() <= 1).all(1)
    eye = torch.eye(5, dtype=torch.float64)[:3]
    loose = torch.randn(6, 3, generator=g, dtype=torch.float64)
    loose = torch.cat([loose / loose.norm(dim=1, keepdim=True), torch.zeros(6, 2, dtype=torch.float64)], 1)
    a = torch.cat([eye, -eye, loose]) * 8
    b = torch.cat([torch.ones(6, dtype=torch.float64), 3**0.5 * torch.ones(6, dtype=torch.float64) + 0.1]) * 8
    return a, b, x, inside


def test_elimination_keeps_the_six_faces_a_cube_needs() -> None:
    a, b, x, inside = _cube()
    assert _errors(a, b, x, inside) == 0
    a2, b2, rep = eliminate_faces(a, b, x, inside, max_errors=0)
    assert rep.faces_before == 12 and rep.faces_after == len(a2) == 6  # fewer cannot hold a cube
    assert rep.errors == _errors(a2, b2, x, inside) == 0
    assert "errors" in rep.reason and rep.rounds[-1]["errors_refit"] > 0  # the 7th drop failed, and said so
    # each of the cube's 6 directions is still the normal of one face
    normals = a2[:, :3] / a2[:, :3].norm(dim=1, keepdim=True)
    eye = torch.eye(3, dtype=torch.float64)
    dirs = torch.cat([eye, -eye])
    assert bool(((normals @ dirs.T) > 0.95).any(0).all())
    # the refits are deterministic: allowing exactly the errors that stopped this run keeps that drop
    budget = int(rep.rounds[-1]["errors_refit"])
    a3, b3, rep3 = eliminate_faces(a, b, x, inside, max_errors=budget)
    assert rep3.faces_after < 6 and rep3.errors == _errors(a3, b3, x, inside) <= budget


def test_bad_input_is_rejected_before_any_work() -> None:
    a, b, x, inside = _cube()
    with pytest.raises(ValueError, match="max_errors"):
        eliminate_faces(a, b, x, inside, max_errors=-1)
    with pytest.raises(ValueError, match=r"expected `a` \(m, d\)"):
        eliminate_faces(a, b[:3], x, inside, max_errors=0)
    with pytest.raises(ValueError, match="at most `max_errors`=0 errors, it has"):
        eliminate_faces(a, b - 9, x, inside, max_errors=0)


@pytest.mark.parametrize("seed", [11, 17])
def test_trying_the_next_cheapest_faces_goes_further_than_stopping_at_the_first_failure(seed: int) -> None:
    from lightning_poly.algorithms import polytope_errors, polytope_hinge_refit

    # a disk inside a 10-face polytope fitted from random directions (instances where the cheapest drop
    # fails after its refit and a dearer one succeeds, found by a search over seeds 0-59)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(300, 2, generator=g, dtype=torch.float64) * 4 - 2
    inside = x.norm(dim=1) < 1.0
    ang = torch.rand(10, generator=g, dtype=torch.float64) * 2 * torch.pi
    a0 = torch.stack([ang.cos(), ang.sin()], 1) * 3
    a, b, _ = polytope_hinge_refit(a0, torch.full((10,), 3.3, dtype=torch.float64), x, inside)
    budget = polytope_errors(a, b, x, inside) + 2
    a1, b1, one = eliminate_faces(a, b, x, inside, budget, tries=1)
    a3, b3, three = eliminate_faces(a, b, x, inside, budget, tries=3)
    assert three.faces_after < one.faces_after
    assert "1 cheapest" in one.reason and one.rounds[-1]["errors_refit"] > budget
    # some round of tries=3 kept a face after the cheapest one's refit failed
    failed_then_kept = any(
        r["errors_refit"] > budget and nxt["faces"] == r["faces"] and nxt["errors_refit"] <= budget
        for r, nxt in zip(three.rounds, three.rounds[1:])
    )
    assert failed_then_kept
    for aa, bb, rep in ((a1, b1, one), (a3, b3, three)):
        assert polytope_errors(aa, bb, x, inside) == rep.errors <= budget and len(aa) == rep.faces_after
