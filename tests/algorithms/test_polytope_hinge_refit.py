"""Margin refinement of a polytope (squared-hinge convex polytope machine objective)."""

import cvxpy as cp
import numpy as np
import pytest
import torch

from lightning_poly.algorithms import polytope_hinge_loss, polytope_hinge_refit


def _data(seed: int, n: int = 600, d: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    inside = (x[:, :2].abs() < 0.8).all(1)  # a slab box in the first two coordinates, noisy labels
    flip = torch.rand(n, generator=g) < 0.03
    return x, inside ^ flip


@pytest.mark.parametrize(("working_set", "weight"), [(True, 1.0), (False, 1.0), (True, 10.0)])
def test_one_face_matches_the_convex_squared_hinge_optimum_from_cvxpy(working_set: bool, weight: float) -> None:
    """With one face the objective is convex (squared-hinge SVM): both solvers must reach cvxpy's optimum."""
    x, inside = _data(0)
    mu = 1e-3
    a0 = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    a, b, rep = polytope_hinge_refit(a0, torch.tensor([0.5], dtype=torch.float64), x, inside, l2=mu,
                                max_iter=2000, working_set=working_set, inside_weight=weight)  # fmt: skip
    w, c = cp.Variable(5), cp.Variable()
    xn, ins = x.numpy(), inside.numpy()
    obj = (
        weight * cp.sum_squares(cp.pos(1 + xn[ins] @ w - c)) / ins.sum()
        + cp.sum_squares(cp.pos(1 - (xn[~ins] @ w - c))) / (~ins).sum()
        + mu * cp.sum_squares(w)
    )
    best = cp.Problem(cp.Minimize(obj)).solve(solver=cp.CLARABEL)
    assert rep.loss_after == pytest.approx(best, rel=1e-5)
    assert float(polytope_hinge_loss(a, b, x[inside], x[~inside], mu, weight)) == pytest.approx(best, rel=1e-5)
    assert np.allclose(a[0].numpy(), w.value, atol=1e-3) and abs(float(b[0]) - float(c.value)) < 1e-3


def test_working_set_result_is_stationary_for_the_full_objective() -> None:
    x, inside = _data(1, n=3000)
    g = torch.Generator().manual_seed(1)
    a0, b0 = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    a, b, rep = polytope_hinge_refit(a0, b0, x, inside, l2=1e-3, max_iter=500, working_set=True, band=0.5)
    assert rep.active_max < len(x)  # it did shrink
    aa, bb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    polytope_hinge_loss(aa, bb, x[inside], x[~inside], 1e-3).backward()
    a0g, b0g = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    polytope_hinge_loss(a0g, b0g, x[inside], x[~inside], 1e-3).backward()
    grad_end = torch.cat([aa.grad.flatten(), bb.grad]).norm()
    grad_start = torch.cat([a0g.grad.flatten(), b0g.grad]).norm()
    assert grad_end < 1e-4 * grad_start
    assert rep.loss_after < rep.loss_before
    worst = (x @ a.T - b).max(1).values
    assert rep.outside_inside_points == int((inside & (worst > 0)).sum())
    assert rep.inside_outside_points == int((~inside & (worst <= 0)).sum())


def test_bad_input_fails_early() -> None:
    x, inside = _data(2, n=50)
    a, b = torch.ones(2, 5, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="expected `a`"):
        polytope_hinge_refit(a[:, :3], b, x, inside)
    with pytest.raises(ValueError, match="one entry per point"):
        polytope_hinge_refit(a, b, x, inside[:10])
    with pytest.raises(ValueError, match="all one kind"):
        polytope_hinge_refit(a, b, x, torch.ones(50, dtype=torch.bool))
    with pytest.raises(ValueError, match="finite"):
        polytope_hinge_refit(a * float("nan"), b, x, inside)
    with pytest.raises(ValueError, match="max_iter"):
        polytope_hinge_refit(a, b, x, inside, max_iter=0)
