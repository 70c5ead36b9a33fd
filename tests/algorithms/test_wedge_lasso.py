import pytest
import torch

from lightning_poly.data import spiral
from lightning_poly.solvers.wedge_lasso import two_layer_objective, wedge_dictionary, wedge_lasso


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
