import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lightning_poly.algorithms import (
    balance_,
    equalising_scales,
    neuron_sample_cosines,
    polish_layer,
    polish_layer_reference,
    polish_network,
)
from lightning_poly.solvers.refit import refit_last_layer


def _check_orthogonal(res, w_old, b_old, x):  # type: ignore[no-untyped-def]
    xt = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], 1) if res.bias is not None else x.double()
    wt = (
        torch.cat([res.weight.double(), res.bias.double()[:, None]], 1) if res.bias is not None else res.weight.double()
    )
    wo = torch.cat([w_old.double(), b_old.double()[:, None]], 1) if b_old is not None else w_old.double()
    for j in range(len(wt)):
        ip = xt[res.indices[j]] @ wt[j] / wt[j].norm()
        assert float(ip.abs().max()) < 1e-6, j
        assert float(wt[j] @ wo[j]) > 0  # orientation kept
    assert res.indices.shape == (len(wt), res.rank - 1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(8, 60), d=st.integers(2, 6), m=st.integers(1, 12), bias=st.booleans(), seed=st.integers(0, 999))
def test_batched_equals_per_neuron_reference_and_neurons_are_exact(
    n: int, d: int, m: int, bias: bool, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    w = torch.randn(m, d, generator=g, dtype=torch.float64)
    b = torch.randn(m, generator=g, dtype=torch.float64) if bias else None
    res = polish_layer(w, b, x, chunk_size=5)
    ref = polish_layer_reference(w, b, x)
    assert torch.equal(res.indices, ref.indices)
    assert torch.allclose(res.weight, ref.weight, atol=1e-9)
    if bias:
        assert torch.allclose(res.bias, ref.bias, atol=1e-9)
    _check_orthogonal(res, w, b, x)
    # norms are kept, and polishing an exact layer changes nothing
    assert torch.allclose(res.weight.norm(dim=1) if b is None else torch.cat([res.weight, res.bias[:, None]], 1).norm(dim=1),
                          w.norm(dim=1) if b is None else torch.cat([w, b[:, None]], 1).norm(dim=1), atol=1e-9)  # fmt: skip
    again = polish_layer(res.weight, res.bias, x)
    assert torch.allclose(again.weight, res.weight, atol=1e-8)


@pytest.mark.parametrize("bias", [True, False])
def test_neuron_sample_cosines_match_a_per_entry_loop_and_vanish_on_each_explanation(bias: bool) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(30, 4, generator=g)
    w = torch.randn(6, 4, generator=g)
    b = torch.randn(6, generator=g) if bias else None
    cos = neuron_sample_cosines(w, b, x)
    aug = (lambda t, c: torch.cat([t.double(), c.double()], 1)) if bias else (lambda t, c: t.double())
    xt, wt = aug(x, torch.ones(30, 1)), aug(w, b[:, None] if b is not None else None)
    loop = torch.tensor(
        [[abs(float(xt[i] @ wt[j])) / float(xt[i].norm() * wt[j].norm()) for j in range(6)] for i in range(30)]
    )
    assert cos.shape == (30, 6) and torch.allclose(cos, loop.double(), atol=1e-12)
    res = polish_layer(w, b, x)
    after = neuron_sample_cosines(res.weight, res.bias, x)
    explained = after.gather(0, res.indices.T)  # (r - 1, m): each neuron's chosen samples
    assert float(explained.max()) < 1e-6 and float(cos.gather(0, res.indices.T).min()) > 1e-6
    assert torch.equal(neuron_sample_cosines(torch.zeros(2, 4), None, x), torch.zeros(30, 2))  # zero neurons


def test_rank_deficient_inputs_lemma23_and_duplicates() -> None:
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 6, generator=g, dtype=torch.float64)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64) @ basis  # rank 3 in R^6
    x = torch.cat([x, x[:10]])  # duplicates
    w = torch.randn(7, 6, generator=g, dtype=torch.float64)
    res = polish_layer(w, None, x)
    assert res.rank == 3
    assert len(set(res.indices.flatten().tolist())) <= 40  # duplicates never chosen
    _check_orthogonal(res, w, None, x)
    # no component outside the row space of the data
    q, _ = torch.linalg.qr(basis.T)
    outside = res.weight - (res.weight @ q) @ q.T
    assert float(outside.abs().max()) < 1e-9
    assert torch.allclose(res.weight, polish_layer_reference(w, None, x).weight, atol=1e-9)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(n, 3\)"):
        polish_layer(torch.zeros(2, 3), None, torch.zeros(5, 4))
    with pytest.raises(ValueError, match="rank >= 2"):
        polish_layer(torch.ones(2, 2), torch.zeros(2), torch.ones(5, 2))
    with pytest.raises(ValueError, match="must be finite"):
        polish_layer(torch.ones(2, 2), None, torch.tensor([[float("nan"), 1.0], [1.0, 2.0]]))


def test_refit_reaches_the_convex_optimum_of_cvxpy() -> None:
    g = torch.Generator().manual_seed(1)
    h = torch.relu(torch.randn(60, 5, generator=g, dtype=torch.float64))
    lab = (torch.randn(60, generator=g) > 0).long()
    l2 = 1e-2
    H, yy = h.numpy(), lab.numpy()
    for loss in ("squared", "logistic", "cross_entropy"):
        res = refit_last_layer(
            h, lab.double() if loss == "squared" else lab, loss, l2, n_outputs=3 if loss == "cross_entropy" else None
        )
        assert res.grad_norm < 1e-6
        k = 3 if loss == "cross_entropy" else 1
        W, c = cp.Variable((5, k)), cp.Variable(k)
        out = H @ W + np.ones((60, 1)) @ c[None, :]
        if loss == "squared":
            data = cp.sum_squares(out[:, 0] - yy) / 60
        elif loss == "logistic":
            data = cp.sum(cp.logistic(out[:, 0]) - cp.multiply(yy, out[:, 0])) / 60
        else:
            data = cp.sum(cp.log_sum_exp(out, axis=1) - cp.sum(cp.multiply(np.eye(3)[yy], out), axis=1)) / 60
        prob = cp.Problem(cp.Minimize(data + l2 * cp.sum_squares(W)))
        prob.solve(solver=cp.CLARABEL)
        assert res.objective == pytest.approx(prob.value, rel=1e-5, abs=1e-7), loss


def test_rescaling_keeps_the_function_two_and_three_layers() -> None:
    torch.manual_seed(0)
    for widths in ([3, 7, 1], [3, 6, 5, 2]):
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        net = nn.Sequential(*layers[:-1]).double()
        x = torch.randn(30, 3, dtype=torch.float64)
        before = net(x)
        balance_(net)
        assert torch.allclose(net(x), before, atol=1e-10)
    n1, n2, n3 = torch.tensor([2.0, 1.0]), torch.tensor([0.5, 3.0]), torch.tensor([4.0, 9.0])
    a1, a2, a3 = equalising_scales(n1, n2, n3)
    assert torch.allclose(a1 * a2 * a3, torch.ones(2))
    assert torch.allclose(a1 * n1, a2 * n2) and torch.allclose(a2 * n2, a3 * n3)


def test_polish_network_explains_neurons_and_refit_is_optimal() -> None:
    torch.manual_seed(0)
    x = torch.randn(80, 2, dtype=torch.float64)
    y = (x[:, 0] * x[:, 1] > 0).double()
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)).double()
    rep = polish_network(net, x, y, loss="squared", l2=1e-6, refit_penalty="ridge")
    assert rep.grad_norm < 1e-8
    assert rep.results[0].indices.shape == (16, 2)
    # the refitted last layer cannot be improved by another refit
    again = refit_last_layer(torch.relu(net[0](x)), y, "squared", 1e-6)
    assert again.objective <= rep.objective_after * (1 + 1e-6)


def test_full_rank_certificate_never_certifies_a_rank_deficient_sample_and_agrees_with_the_svd() -> None:
    """The sample certificate that lets polish_layer skip the Gram matrix: whenever it says full rank, the SVD of
    the whole matrix agrees at the same relative threshold; rank-deficient and nearly deficient inputs are not
    certified (the caller then computes the rank as before)."""
    from lightning_poly.algorithms.polishing.layer import _full_rank_certified

    g = torch.Generator().manual_seed(0)
    cases = []
    for n, d in ((500, 5), (2000, 20), (90, 20)):
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        cases.append(x)
        low = x.clone()
        low[:, -1] = low[:, 0] - 2 * low[:, 1]  # exactly rank d - 1
        cases.append(low)
        near = x.clone()
        near[:, -1] = near[:, 0] + 1e-9 * near[:, -1]  # sigma_min / sigma_max ~ 1e-9 < rank_tol
        cases.append(near)
        scaled = x * torch.logspace(0, 8, d, dtype=torch.float64)  # badly scaled columns, still full rank
        cases.append(scaled)
    certified = 0
    for x in cases:
        s = torch.linalg.svdvals(x)
        full = bool((s > 1e-6 * s[0]).all())
        if _full_rank_certified(x, 1e-6):
            certified += 1
            assert full
    assert certified >= 3  # the generic Gaussian inputs with n >= 4 d
