import pytest
import torch

from lightning_poly.data import spiral
from lightning_poly.solvers.exact_l1 import l1_network_optimum
from lightning_poly.solvers.wedge_lasso import local_dispersion, two_layer_objective, wedge_dictionary, wedge_lasso


def test_dictionary_neurons_pass_through_their_points() -> None:
    x, _ = spiral(12, seed=1)
    u, c, tuples = wedge_dictionary(x)
    distinct_pairs = sum(1 for i in range(12) for j in range(i + 1, 12) if not torch.equal(x[i], x[j]))
    assert distinct_pairs == 65  # both arms start at the origin: that pair spans no line
    assert u.shape == (2 * distinct_pairs, 2) and torch.allclose(u.norm(dim=1), torch.ones(len(u), dtype=torch.float64))
    on = (x.double()[tuples] @ u[:, :, None])[..., 0] + c[:, None]
    assert float(on.abs().max()) < 1e-12  # distance to the affine hull of its two points is zero there
    ub, cb, tb = wedge_dictionary(torch.randn(6, 3), bias=False)
    assert torch.equal(cb, torch.zeros_like(cb)) and tb.shape == (2 * 15, 2)


def test_lasso_network_objective_and_refusal() -> None:
    x, y = spiral(16, seed=0, signed=True)
    res = wedge_lasso(x, y.double(), beta=1e-3)
    assert two_layer_objective(res.network(), x, y.double(), 1e-3) == pytest.approx(res.objective, rel=1e-4)
    with pytest.raises(ValueError, match="would have 240 columns"):
        wedge_lasso(x, y.double(), beta=1e-3, max_columns=100)
    with pytest.raises(ValueError, match="`beta` must be a finite number > 0"):
        wedge_lasso(x, y.double(), beta=0.0)


@pytest.mark.parametrize("beta", [1e-4, 1e-3, 1e-2])
def test_p2_upper_bound_lies_between_the_certified_p1_bounds(beta: float) -> None:
    """J >= MSE + (2 beta / sqrt d) sum ||w||_1 |v| and J <= J_1 for every network, so the exact p = 1 programs
    (Theorem 16) bound the p = 2 optimum: its wedge-Lasso value is an upper bound that must lie above the certified
    lower bound and may not exceed the p = 1 optimum (a feasible J_1 network is a feasible J network)."""
    x, y = spiral(20, seed=2, signed=True)
    x, y = x.double(), y.double()
    res = wedge_lasso(x, y, beta=beta)
    lower = l1_network_optimum(x, y, beta=2 * beta / 2**0.5).dual
    upper = l1_network_optimum(x, y, beta=2 * beta)
    assert lower <= res.objective <= upper.objective + 1e-6
    assert two_layer_objective(upper.network, x, y, beta, p=1) == pytest.approx(upper.objective, rel=1e-6)
    if res.lower_bound is not None:  # Theorem 3's epsilon-bound, where the data are dispersed enough
        assert res.lower_bound <= res.objective


def test_local_dispersion_of_a_regular_fan() -> None:
    """Points on a circle around an anchor far from the rest: the anchor's gaps set epsilon (Definition 2)."""
    angles = torch.arange(6, dtype=torch.float64) * torch.pi / 6
    x = torch.cat([torch.zeros(1, 2, dtype=torch.float64), torch.stack([angles.cos(), angles.sin()], 1)])
    assert local_dispersion(x) >= 1 / 6 - 1e-12
    with pytest.raises(ValueError, match=r"`x` must be \(n, 2\) with n >= 3"):
        local_dispersion(torch.zeros(2, 2))
