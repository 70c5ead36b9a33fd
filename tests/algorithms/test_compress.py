import torch

from lightning_poly.algorithms.covers.compress import compress_, cover_condition_fraction, redundant_neurons
from lightning_poly.data import xor
from lightning_poly.nn.cover_net import CoverNetwork


def _reference_K(active: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """Per-pair loop of Algorithm 1's first step (with the dead-l reading)."""
    pieces, n, m = active.shape
    out = torch.zeros(pieces, m, dtype=torch.bool)
    for j in range(pieces):
        for k in range(m):
            for l in range(m):
                if k == l or not live[j, k] or not live[j, l] or not active[j, :, l].any():
                    continue
                if all(bool(active[j, i, k]) for i in range(n) if active[j, i, l]):
                    out[j, k] = True
    return out


def test_implication_test_matches_the_pairwise_loop() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        active = torch.rand(3, 12, 6, generator=g) < 0.5
        live = torch.rand(3, 6, generator=g) < 0.8
        assert torch.equal(
            redundant_neurons(active & live[:, None, :], live), _reference_K(active & live[:, None, :], live)
        )


def test_init_satisfies_8_and_export_matches() -> None:
    net = CoverNetwork(input_dim=2, pieces=3, width=5, seed=1)
    assert bool((net.v < -(net.w.pow(2).sum(-1) + net.b.pow(2)).sqrt()).all())
    assert not bool(net.sign_lost().any())
    x = torch.randn(20, 2)
    net.mask[0, 1] = False
    assert torch.allclose(net(x), net.export()(x), atol=1e-5)
    assert net.export()[0].out_features == 14


def test_compress_removes_one_neuron_per_piece_and_keeps_shapes() -> None:
    x, _ = xor(80, noise=0.05)
    net = CoverNetwork(input_dim=2, pieces=2, width=8, seed=0)
    shapes = [p.shape for p in net.parameters()]
    before = net.mask.sum().item()
    rep = compress_(net, x, lam_scale=2.0)
    assert [p.shape for p in net.parameters()] == shapes
    assert net.mask.sum().item() == before - int((rep.removed >= 0).sum())
    ok = []
    for j in range(2):  # per-piece loop: (9) holds at x when no live neuron is active or T_j(x) <= tol
        z = x @ net.w[j].T + net.b[j]
        active = ((z > 0) & net.mask[j]).any(1)
        t = net.lam + (torch.relu(z) * net.mask[j] * net.v[j]).sum(1)
        ok.append(~active | (t <= 1e-3))
    manual = float(torch.stack(ok, 1).float().mean())
    assert cover_condition_fraction(net, x) == manual
    # repeated calls never increase the live neurons and keep v < 0
    for _ in range(10):
        compress_(net, x)
    assert not bool(net.sign_lost().any())
    assert net.mask.sum().item() <= before - 2
