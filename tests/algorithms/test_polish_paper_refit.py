"""The paper's polishing procedure (Section 4.1): unit neurons, the weighted-Lasso refit against cvxpy, balancing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lightning_poly.algorithms.polishing.layer import polish_layer
from lightning_poly.algorithms.polishing.mlp import layer_inputs, polish_network
from lightning_poly.solvers.lasso import weighted_lasso
from lightning_poly.solvers.refit import check_refit_penalty

cp = pytest.importorskip("cvxpy")


def _cvxpy_value(h: torch.Tensor, y: torch.Tensor, loss: str, k: int, lam: float, c: torch.Tensor, p: int) -> float:
    n, m = h.shape
    v, b = cp.Variable((k, m)), cp.Variable(k)
    u = h.double().numpy() @ v.T + np.ones((n, 1)) @ cp.reshape(b, (1, k), order="C")
    if loss == "squared":
        data = cp.sum_squares(u - y.double().numpy().reshape(n, k)) / n
    elif loss == "logistic":
        data = cp.sum(cp.logistic(u[:, 0]) - cp.multiply(y.double().numpy(), u[:, 0])) / n
    else:
        onehot = np.eye(k)[y.numpy()]
        data = cp.sum(cp.log_sum_exp(u, axis=1) - cp.sum(cp.multiply(onehot, u), axis=1)) / n
    norms = cp.sum(cp.abs(v), axis=0) if p == 1 else cp.norm(v, 2, axis=0)
    prob = cp.Problem(cp.Minimize(data + lam * cp.sum(cp.multiply(c.double().numpy(), norms))))
    prob.solve(solver="CLARABEL")
    return float(prob.value)


@pytest.mark.parametrize(
    ("loss", "k", "p"),
    [
        ("squared", 1, 2),
        ("squared", 3, 2),
        ("squared", 3, 1),
        ("logistic", 1, 1),
        ("cross_entropy", 3, 2),
        ("cross_entropy", 3, 1),
        ("cross_entropy", 2, 2),
    ],
)
def test_weighted_lasso_matches_cvxpy(loss: str, k: int, p: int) -> None:
    g = torch.Generator().manual_seed(0)
    n, m = 60, 12
    h = torch.relu(torch.randn(n, 3, generator=g) @ torch.randn(3, m, generator=g) + torch.randn(m, generator=g))
    c = torch.rand(m, generator=g) + 0.5
    if loss == "squared":
        y = torch.randn(n, k, generator=g) if k > 1 else torch.randn(n, generator=g)
    elif loss == "logistic":
        y = (torch.randn(n, generator=g) > 0).long()
    else:
        y = torch.randint(0, k, (n,), generator=g)
    res = weighted_lasso(h, y, loss, 0.01, c, p, n_outputs=k)  # type: ignore[arg-type]
    ref = _cvxpy_value(h, y, loss, k, 0.01, c, p)
    assert res.gap <= 1e-8 * max(1.0, abs(res.objective)) and res.dual <= res.objective
    assert res.objective == pytest.approx(ref, rel=1e-6)
    assert res.dual <= ref * (1 + 1e-7)  # the certificate is a lower bound of the optimum


@pytest.mark.parametrize(("loss", "k", "p"), [("logistic", 1, 1), ("cross_entropy", 3, 2), ("cross_entropy", 3, 1)])
def test_weighted_lasso_fista_and_prox_newton_agree_with_cvxpy(loss: str, k: int, p: int) -> None:
    """Both solvers of the classification losses (FISTA, the default's fallback; proximal Newton) reach cvxpy's
    optimum, from zeros and from a warm start, with and without an intercept."""
    g = torch.Generator().manual_seed(3)
    n, m = 80, 10
    h = torch.relu(torch.randn(n, 4, generator=g) @ torch.randn(4, m, generator=g) + 0.3)
    c = torch.rand(m, generator=g) + 0.5
    y = (torch.randn(n, generator=g) > 0).long() if loss == "logistic" else torch.randint(0, k, (n,), generator=g)
    ref = _cvxpy_value(h, y, loss, k, 0.003, c, p)
    warm = torch.randn(k, m, generator=g, dtype=torch.float64)
    for method in ("fista", "prox_newton"):
        for init in (None, warm):
            res = weighted_lasso(h, y, loss, 0.003, c, p, n_outputs=k, method=method, init=init)  # type: ignore[arg-type]
            assert res.gap <= 1e-8 * max(1.0, abs(res.objective))
            assert res.objective == pytest.approx(ref, rel=1e-6)
    nob = weighted_lasso(h, y, loss, 0.003, c, p, n_outputs=k, method="prox_newton", fit_intercept=False)  # type: ignore[arg-type]
    fis = weighted_lasso(h, y, loss, 0.003, c, p, n_outputs=k, method="fista", fit_intercept=False)  # type: ignore[arg-type]
    assert nob.bias.abs().max() == 0 and nob.objective == pytest.approx(fis.objective, rel=1e-7)


def test_prox_newton_certifies_an_ill_conditioned_head_at_a_small_penalty() -> None:
    """Figure 9a's hard case in miniature: nearly collinear ReLU features, two classes, beta = 1e-6. Proximal
    Newton reaches the certified 1e-8 gap; FISTA with the same budget of data passes does not get as low."""
    g = torch.Generator().manual_seed(4)
    n, m = 600, 60
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    w = torch.randn(5, m, generator=g, dtype=torch.float64)
    w = w + 0.02 * torch.randn(5, 1, generator=g, dtype=torch.float64)  # neurons nearly aligned: ill-conditioned Gram
    h = torch.relu(x @ w + 0.1)
    y = (x[:, 0] + 0.3 * torch.randn(n, generator=g, dtype=torch.float64) > 0).long()
    res = weighted_lasso(h, y, "cross_entropy", 1e-6, p=2, n_outputs=2, method="prox_newton")
    assert res.gap <= 1e-8 * max(1.0, abs(res.objective)) and res.dual <= res.objective
    with pytest.warns(RuntimeWarning, match="stopped after"):
        fista = weighted_lasso(h, y, "cross_entropy", 1e-6, p=2, n_outputs=2, method="fista", max_iter=500)
    assert res.objective <= fista.objective and fista.gap > res.gap


@pytest.mark.parametrize("method", ["prox_newton", "fista"])
def test_separable_logistic_head_at_a_small_penalty_stays_finite_and_certified(method: str) -> None:
    """Separable labels and beta = 1e-6: the optimum's weights are large (~1e3) and the sigmoid saturates, where a
    plain Newton step in the intercept is ~1e300. Proximal Newton still certifies the optimum; FISTA warm-started
    at it stays there (its intercept is found from the large weights, not from a blow-up)."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(120, 2, generator=g) * 2 - 1
    y = (x[:, 0] + x[:, 1] > 0).long()
    h = torch.relu(x @ torch.randn(2, 12, generator=g) + 0.2 * torch.randn(12, generator=g))
    c = torch.rand(12, generator=g) + 0.5
    ref = weighted_lasso(h, y, "logistic", 1e-6, c, method="prox_newton")
    assert ref.gap <= 1e-8 * max(1.0, ref.objective) and float(ref.weight.abs().max()) > 100
    res = ref if method == "prox_newton" else weighted_lasso(h, y, "logistic", 1e-6, c, method="fista", init=ref.weight)
    assert torch.isfinite(res.weight).all() and torch.isfinite(res.bias).all()
    assert res.gap <= 1e-8 * max(1.0, res.objective) and res.objective == pytest.approx(ref.objective, rel=1e-8)


def test_weighted_lasso_method_validation() -> None:
    h, y = torch.rand(5, 2), torch.tensor([0, 1, 0, 1, 1])
    with pytest.raises(ValueError, match="`method` must be one of"):
        weighted_lasso(h, y, "logistic", method="newton")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'prox_newton' is for the logistic and cross-entropy"):
        weighted_lasso(h, y.double(), "squared", method="prox_newton")


def test_polished_neurons_have_unit_norm() -> None:
    torch.manual_seed(0)
    x = torch.randn(80, 3)
    lin = nn.Linear(3, 10)
    for p in (1, 2):
        res = polish_layer(lin.weight, lin.bias, x, p=p)
        assert torch.allclose(res.weight.norm(p=p, dim=1), torch.ones(10), atol=1e-6)
    net = nn.Sequential(nn.Linear(3, 10), nn.ReLU(), nn.Linear(10, 1))
    polish_network(net, x, x[:, 0].abs(), rescale=False)
    assert torch.allclose(net[0].weight.norm(dim=1), torch.ones(10), atol=1e-6)


@pytest.mark.parametrize("p", [1, 2])
def test_polish_network_default_is_the_balanced_weighted_lasso(p: int) -> None:
    """After the refit and eq. (98), the network's value of problem (2) equals the refit's certified objective."""
    torch.manual_seed(1)
    x = torch.randn(100, 2)
    y = (x[:, 0] * x[:, 1] > 0).float()
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    beta = 1e-3
    rep = polish_network(net, x, y, weight_decay=beta, p=p)
    assert rep.refit_penalty == "l1" and rep.gap <= 1e-8 * max(1.0, rep.objective_after)
    with torch.no_grad():
        data = float(((net(x)[:, 0] - y) ** 2).mean())
        w1, w2 = net[0].weight.double(), net[2].weight.double()
        reg = beta / 2 * float((w1.norm(p=p, dim=1) ** 2).sum() + (w2.norm(p=p, dim=0) ** 2).sum())
    live = net[2].weight[0] != 0  # dead neurons keep ||w|| = 1 (no output weight: outside the optimum's support)
    dead_penalty = beta / 2 * float((~live).sum())
    assert data + reg - dead_penalty == pytest.approx(rep.objective_after, rel=1e-6)
    feats = layer_inputs(net, x, 1)
    assert torch.allclose(net[0].weight[live].norm(p=p, dim=1), net[2].weight[0, live].abs(), rtol=1e-4)
    assert feats.shape == (100, 16)


def test_refit_penalty_validation() -> None:
    with pytest.raises(ValueError, match=r"`refit_penalty` must be one of \('l1', 'ridge'\), got 'lasso'"):
        check_refit_penalty("lasso")
    with pytest.raises(ValueError, match="the 'l1' refit takes `weight_decay`"):
        polish_network(
            nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), torch.randn(5, 2), torch.randn(5), l2=1e-3
        )
    with pytest.raises(ValueError, match=r"`p` must be one of \(1, 2\), got 3"):
        check_refit_penalty("l1", p=3)
    for bad in (True, 2.0):
        with pytest.raises(ValueError, match=rf"`p` must be the integer 1 or 2, got {bad!r}"):
            check_refit_penalty("l1", p=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"belong to refit_penalty='l1'.*got weight_decay=0.001, p=2"):
        check_refit_penalty("ridge", weight_decay=1e-3)
    with pytest.raises(ValueError, match=r"belong to refit_penalty='l1'.*got weight_decay=None, p=1"):
        check_refit_penalty("ridge", p=1)
    assert check_refit_penalty("l1").weight == 1e-6 and check_refit_penalty("ridge", l2=1e-2).weight == 1e-2


@pytest.mark.parametrize(
    ("loss", "k", "p"), [("squared", 3, 2), ("squared", 2, 1), ("cross_entropy", 3, 2), ("cross_entropy", 3, 1)]
)
def test_restricted_newton_hessian_equals_autograds(loss: str, k: int, p: int) -> None:
    """The support solve's closed-form Hessian (data term plus the group norm's curvature) against autograd's."""
    from lightning_poly.solvers.lasso import _penalty, _Problem, _restricted_hessian

    g = torch.Generator().manual_seed(1)
    n, m = 30, 7
    h = torch.randn(n, m, generator=g, dtype=torch.float64)
    y = (
        torch.randn(n, k, generator=g, dtype=torch.float64)
        if loss == "squared"
        else torch.randint(0, k, (n,), generator=g)
    )
    c = torch.rand(m, generator=g, dtype=torch.float64) + 0.5
    pb = _Problem(h, y, loss, 0.05, c, p, k, True)  # type: ignore[arg-type]
    free = torch.ones(k, m, dtype=torch.bool)
    free[:, 2] = False  # a column off the support
    if p == 1:
        free[0, 4] = False
    bias_free = loss != "squared"
    v0 = torch.randn(k, m, generator=g, dtype=torch.float64)
    z = torch.cat([v0[free], torch.randn(k, generator=g, dtype=torch.float64)]) if bias_free else v0[free]

    def fun(zz: torch.Tensor) -> torch.Tensor:
        xs = zz[:-k] if bias_free else zz
        full = torch.zeros(k, m, dtype=zz.dtype).masked_scatter(free, xs)
        if loss == "squared":
            data = pb.tt - 2 * (pb.cross * full).sum() + (full @ pb.gram * full).sum()
        else:
            u = h @ full.T + zz[-k:]
            data = torch.nn.functional.cross_entropy(u, y)
        return data + pb.lam * _penalty(full, c, p)

    want = torch.autograd.functional.hessian(fun, z)
    got = _restricted_hessian(pb, z, free, bias_free)
    assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)
