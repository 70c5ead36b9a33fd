import math

import pytest
import torch

from lightning_poly.data import alternating_circle, spiral
from lightning_poly.geometry.cones import (
    cones_2d,
    data_gates,
    gaussian_gates,
    ntk_gram,
    ntk_gram_finite,
    smallest_eigenvalue,
)
from lightning_poly.nn.gated import GatedReLU
from lightning_poly.nn.homogeneous import augment
from lightning_poly.solvers.gated_lasso import duality_gap, gated_lasso_admm, gated_lasso_cvxpy, gated_lasso_fista
from lightning_poly.solvers.ntk_margin import ntk_margin


def test_ntk_gram_closed_form_matches_monte_carlo() -> None:
    x, _ = spiral(10, seed=0)
    x = x.double() + 0.05
    v = gaussian_gates(200_000, 2, seed=1)
    assert torch.allclose(ntk_gram_finite(x, v), ntk_gram(x), atol=3e-3)


def test_theorem_4_2_one_gate_per_cone_with_its_measure() -> None:
    for n in (8, 12, 15):
        # the alternating-circle points in float64, radii varied so that H has full structure
        k = torch.arange(1, n + 1, dtype=torch.float64)
        x = torch.stack([torch.cos(2 * k * math.pi / n), torch.sin(2 * k * math.pi / n)], 1)
        x = x * torch.linspace(0.5, 1.5, n, dtype=torch.float64)[:, None]
        assert torch.allclose(x.float() / x.norm(dim=1, keepdim=True).float(), alternating_circle(n)[0], atol=1e-6)
        gates, measure = cones_2d(x)
        assert len(gates) <= 4 * n  # Lemma 3.2 with d = 2
        assert math.isclose(float(measure.sum()), 1.0, abs_tol=1e-12)
        h, hdis = ntk_gram(x), ntk_gram_finite(x, gates, measure)
        assert float((h - hdis).abs().max()) < 1e-12
        assert smallest_eigenvalue(h) == pytest.approx(smallest_eigenvalue(hdis), abs=1e-12)


def test_alternating_circle_margin_is_theta_one_over_n() -> None:
    products = []
    for n in (8, 16, 32):
        x, y = (t.double() for t in alternating_circle(n, signed=True))
        gates, measure = cones_2d(x)
        gamma, _ = ntk_margin(x, y, gates, measure)
        products.append(n * gamma)
    assert all(1.0 <= p <= 1.1 for p in products)  # gamma_X = Theta(1/n), here ~ 1/n
    assert products[0] > products[1] > products[2]


def test_gated_network_and_bad_gates() -> None:
    x = torch.randn(6, 2, dtype=torch.float64)
    v = data_gates(torch.randn(20, 3, dtype=torch.float64), 4)
    net = GatedReLU(v.float(), out_features=2, bias=True).double()
    with torch.no_grad():
        net.weight.normal_()
    xt = augment(x, True)
    manual = torch.tensor(
        [
            [sum(float(xt[i] @ net.weight[k, j]) * float(xt[i] @ v[j] > 0) for j in range(4)) for k in range(2)]
            for i in range(6)
        ],
        dtype=torch.float64,
    )  # per-sample, per-neuron loop
    assert torch.allclose(net(x).detach(), manual, atol=1e-5)
    with pytest.raises(ValueError, match=r"rows \[1\] are all zero"):
        GatedReLU(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"`gates` must have shape \(m, d\)"):
        GatedReLU(torch.zeros(3))
    with pytest.raises(ValueError, match="inputs must have 2 features"):
        GatedReLU(torch.ones(2, 3))(torch.zeros(4, 5))


def test_fista_reaches_the_cvxpy_optimum_and_the_certificate_goes_to_zero() -> None:
    g = torch.Generator().manual_seed(0)
    x = augment(torch.randn(80, 4, generator=g, dtype=torch.float64), True)
    y = torch.relu(x @ torch.randn(5, generator=g, dtype=torch.float64)) + 0.1 * torch.randn(
        80, generator=g, dtype=torch.float64
    )
    mask = (x @ gaussian_gates(12, 5, seed=3).T > 0).double()
    ref = gated_lasso_cvxpy(x, mask, y, lam=0.02)
    gaps = [gated_lasso_fista(x, mask, y, 0.02, rel_gap=tol).rel_gap for tol in (1e-2, 1e-4, 1e-7)]
    assert gaps[0] <= 1e-2 and gaps[1] <= 1e-4 and gaps[2] <= 1e-7
    sol = gated_lasso_fista(x, mask, y, 0.02, rel_gap=1e-9)
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6)
    p, d = duality_gap(x, mask, y, ref.weight, 0.02)
    assert d <= sol.objective + 1e-12 and p >= sol.objective - 1e-7


def test_admm_matches_cvxpy_and_bad_solver_is_named() -> None:
    g = torch.Generator().manual_seed(2)
    x = augment(torch.randn(120, 5, generator=g, dtype=torch.float64), True)
    y = torch.relu(x @ torch.randn(6, generator=g, dtype=torch.float64))
    mask = (x @ gaussian_gates(30, 6, seed=4).T > 0).double()
    ref = gated_lasso_cvxpy(x, mask, y, lam=0.05)
    sol = gated_lasso_admm(x, mask, y, lam=0.05, rel_gap=1e-8)
    assert sol.rel_gap <= 1e-8
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6)
    # the sparse iterate: groups the optimum switches off are exactly zero
    off = sol.weight.norm(dim=1) == 0
    assert int(off.sum()) >= 1
    assert float(ref.weight.norm(dim=1)[off].max()) < 1e-5
    with pytest.raises(RuntimeError, match="is not installed"):
        gated_lasso_cvxpy(x, mask, y, lam=1e-3, solver="MOSEK")


def test_conversions_keep_predictions() -> None:
    from torch import nn

    from lightning_poly.nn.convert import gated_to_relu, relu_to_gated

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 9), nn.ReLU(), nn.Linear(9, 2)).double()
    x = torch.randn(50, 3, dtype=torch.float64)
    gated = relu_to_gated(net).double()
    assert torch.allclose(gated(x), net(x), atol=1e-10)  # exact for all x (Theorem 3.1)
    back = gated_to_relu(gated, x).double()
    assert back[0].out_features == 2 * 2 * gated.n_gates
    assert torch.allclose(back(x), net(x), atol=1e-8)  # exact on the training points
    from lightning_poly.modules import mlp_module_from_sequential

    module = mlp_module_from_sequential(back).double()
    assert torch.allclose(module(x), net(x), atol=1e-8)  # exported to the suite's plain MLP module
    with pytest.raises(ValueError, match="lie on a gate's hyperplane"):
        gated_to_relu(GatedReLU(torch.tensor([[1.0, 0.0, 0.0]]), bias=True), torch.tensor([[0.0, 5.0]]))


def test_margin_socp_on_the_cube_and_bad_labels() -> None:
    from lightning_poly.data import cube_parity
    from lightning_poly.solvers.ntk_margin import ntk_margin

    x, y = cube_parity(signed=True)
    x = x.double()
    # Theorem 7.3: gates orthogonal to data points (cones of measure zero) classify all 8 points
    gates = data_gates(x, 64, seed=0)
    gamma, w = ntk_margin(x, y.double(), gates)
    assert gamma > 0
    assert bool((w.norm(dim=1) <= 1 + 1e-6).all())
    act = (x @ gates.T > 0).double() / len(gates)
    assert float((y.double() * (act * (x @ w.T)).sum(1)).min()) == pytest.approx(gamma, abs=1e-6)
    with pytest.raises(ValueError, match=r"labels for the margin must be in \{-1, \+1\}"):
        ntk_margin(x, (y > 0).double(), gates)


@pytest.mark.parametrize("eps", [0.2, 0.1])
def test_margin_estimate_within_eps_of_the_exact_socp(eps: float) -> None:
    from lightning_poly.algorithms.ntk_margin_descent import ntk_margin_by_descent
    from lightning_poly.solvers.ntk_margin import ntk_margin

    k = torch.arange(1, 9, dtype=torch.float64)
    x = torch.stack([torch.cos(2 * k * math.pi / 8), torch.sin(2 * k * math.pi / 8)], 1)  # alternating circle
    y = torch.tensor([(-1.0) ** i for i in range(1, 9)], dtype=torch.float64)
    gates, measure = cones_2d(x)
    exact, _ = ntk_margin(x, y, gates, measure)
    est = ntk_margin_by_descent(x, y, gates, measure, eps=eps)
    assert (1 - eps) * exact <= est.gamma <= exact * (1 + 1e-6)
    lo, hi = est.interval
    assert lo <= exact * (1 + 1e-6) and exact <= hi * (1 + 1e-6)
    with pytest.raises(ValueError, match="labels for the margin"):
        ntk_margin_by_descent(x, (y > 0).double(), gates)


def test_convex_relu_solution_maps_to_a_relu_network_with_the_same_objective() -> None:
    from lightning_poly.solvers.convex_relu import convex_relu_cvxpy, patterns_from_gates, to_relu_network

    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 2, generator=g, dtype=torch.float64)
    y = torch.sign(x[:, 0] * x[:, 1])
    d, gates = patterns_from_gates(x, gaussian_gates(60, 3, seed=2))
    assert len(torch.unique(d.T, dim=0)) == d.shape[1] == len(gates)
    lam = 1e-3
    sol = convex_relu_cvxpy(x, y, d, lam)
    net = to_relu_network(sol)
    xt = augment(x, True)
    convex_pred = (d.double() * (xt @ (sol.u - sol.u_neg).T)).sum(1)
    assert torch.allclose(net(x)[:, 0], convex_pred, atol=1e-5)  # cone constraints make them equal
    w, a = net[0], net[2].weight[0]
    nonconvex = 0.5 * ((net(x)[:, 0] - y) ** 2).mean() + lam / 2 * (
        w.weight.pow(2).sum() + w.bias.pow(2).sum() + a.pow(2).sum()
    )
    assert float(nonconvex) == pytest.approx(sol.objective, rel=1e-4)


def test_convex_relu_module_holds_the_solution() -> None:
    from lightning_poly.nn.convex_relu import ConvexReLU
    from lightning_poly.solvers.convex_relu import convex_relu_cvxpy, patterns_from_gates, to_relu_network

    g = torch.Generator().manual_seed(6)
    x = torch.randn(30, 2, generator=g, dtype=torch.float64)
    y = torch.sign(x[:, 0])
    d, gates = patterns_from_gates(x, gaussian_gates(40, 3, seed=1))
    sol = convex_relu_cvxpy(x, y, d, 1e-3)
    net = ConvexReLU(gates)
    with torch.no_grad():
        net.u.copy_(sol.u)
        net.u_neg.copy_(sol.u_neg)
    assert float(net.cone_violation(x)) < 1e-6
    assert torch.allclose(net(x), to_relu_network(sol)(x)[:, 0], atol=1e-5)
    with pytest.raises(ValueError, match="non-zero rows"):
        ConvexReLU(torch.zeros(2, 3))
