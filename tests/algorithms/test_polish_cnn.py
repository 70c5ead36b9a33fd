"""polish_cnn: the first Conv2d polished, the layers after it fixed, the head refitted convexly (Figure 9a)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_poly.algorithms import cnn_layers, polish_cnn, polish_cnn_and_evaluate
from lightning_poly.solvers.refit import head_metrics, refit_last_layer, refit_objective

pytestmark = pytest.mark.usefixtures("one_thread")


def _four_layer_cnn(pool: bool = False) -> nn.Sequential:
    """The paper's shape, small: two 3x3 conv layers, then two dense layers, on 1x8x8 images."""
    torch.manual_seed(0)
    mid: list[nn.Module] = [nn.BatchNorm2d(4), nn.MaxPool2d(2)] if pool else []
    flat = 4 * (2 if pool else 4) ** 2 if not pool else 4 * 1 * 1
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), *mid, nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(flat, 16), nn.ReLU(), nn.Linear(16, 2),
    )  # fmt: skip


def _data(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    return x, (x[:, :, :4].mean(dim=(1, 2, 3)) > x[:, :, 4:].mean(dim=(1, 2, 3))).long()


def _trained(pool: bool = False, steps: int = 30) -> tuple[nn.Sequential, torch.Tensor, torch.Tensor]:
    net, (x, y) = _four_layer_cnn(pool), _data()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval(), x, y


def test_the_first_conv_is_polished_and_only_the_head_is_refitted() -> None:
    net, x, y = _trained()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    old_head = net[-1].weight.detach().clone(), net[-1].bias.detach().clone()
    rep = polish_cnn(net, x, y, loss="cross_entropy", l2=1e-4, refit_penalty="ridge")
    assert rep.layers == [0] and rep.names == ["0"] and rep.head == "7"
    # the reading: the polished layer and the head change, every layer between stays as it was
    changed = {k for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"0.weight", "0.bias", "7.weight", "7.bias"}
    # the first layer's filters are exact normals to their chosen augmented patches (of the images)
    res = rep.results[0]
    cols = F.unfold(x.double(), 3).transpose(1, 2).reshape(len(x), 6, 6, 9)
    p = cols[res.positions[..., 0], res.positions[..., 1], res.positions[..., 2]]
    pt = torch.cat([p, torch.ones(*p.shape[:-1], 1, dtype=p.dtype)], -1)
    wt = torch.cat([net[0].weight.detach().double().flatten(1), net[0].bias.detach().double()[:, None]], 1)
    assert float(((pt @ wt[:, :, None])[..., 0].abs() / (pt.norm(dim=-1) * wt.norm(dim=1, keepdim=True))).max()) < 1e-6
    # the head is the convex optimum on the new penultimate features (found independently here)
    with torch.no_grad():
        feats = net[:-1](x)
    fit = refit_last_layer(feats, y, "cross_entropy", 1e-4, n_outputs=2)
    assert torch.allclose(net[-1].weight.double(), fit.weight, atol=1e-5) and rep.grad_norm < 1e-6
    assert rep.objective_after == pytest.approx(fit.objective, rel=1e-6)
    old = float(refit_objective(feats.double(), y, old_head[0].double(), old_head[1].double(), "cross_entropy", 1e-4))
    assert rep.objective_after <= old  # no other head does better on these features, the old one included


def test_the_second_layer_is_not_a_convex_refit() -> None:
    # why the head is refitted and not "the second layer": with every other layer fixed, the loss in the
    # second conv layer's weights W lies above its chord between W and -W (at 0): it is not convex
    net, x, y = _trained()
    w2 = net[2].weight.detach().clone()

    def loss(w: torch.Tensor) -> float:
        with torch.no_grad():
            net[2].weight.copy_(w)
            return float(F.cross_entropy(net(x), y))

    assert loss(0 * w2) > (loss(w2) + loss(-w2)) / 2 + 0.1
    # the head's loss is convex: its midpoints never lie above the chord (seeded random lines)
    with torch.no_grad():
        feats = net[:-1](x)
    v = net[-1].weight.detach()
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        d = torch.randn(v.shape, generator=g) * 3
        f = [float(F.cross_entropy(feats @ (v + t * d).T + net[-1].bias, y)) for t in (-1.0, 0.0, 1.0)]
        assert f[1] <= (f[0] + f[2]) / 2 + 1e-12


def test_a_deeper_conv_behind_batch_norm_and_pooling_is_polished_on_its_own_inputs() -> None:
    net, x, y = _trained(pool=True)
    rep = polish_cnn(net, x, y, layers=[1], loss="cross_entropy", l2=1e-3, refit_penalty="ridge")
    assert rep.names == ["4"] and rep.results[0].rank == 4 * 9 + 1
    with torch.no_grad():
        h = net[:4](x).double()  # what reaches the second conv, in eval mode
    cols = F.unfold(h, 3).transpose(1, 2).reshape(len(x), 1, 1, 36)
    pos = rep.results[0].positions
    p = cols[pos[..., 0], pos[..., 1], pos[..., 2]]
    pt = torch.cat([p, torch.ones(*p.shape[:-1], 1, dtype=p.dtype)], -1)
    wt = torch.cat([net[4].weight.detach().double().flatten(1), net[4].bias.detach().double()[:, None]], 1)
    assert float(((pt @ wt[:, :, None])[..., 0].abs() / (pt.norm(dim=-1) * wt.norm(dim=1, keepdim=True))).max()) < 1e-6
    # scored by the model's own forward before and after (a polish need not help: the callback decides)
    before = head_metrics(net(x), y, "cross_entropy")
    ev = polish_cnn_and_evaluate(net, x, y, loss="cross_entropy", l2=1e-3, refit_penalty="ridge")
    assert ev.report.layers == [0] and ev.before == before
    assert ev.after == head_metrics(net(x), y, "cross_entropy")


class _TwiceHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.pool, self.head = nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head(torch.relu(self.pool(self.conv(x))).flatten(1)))


def test_what_polish_cnn_cannot_take_is_refused_by_name() -> None:
    x = torch.zeros(4, 1, 5, 5)
    tanh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(18, 1))
    with pytest.raises(ValueError, match=r"layer '1' \(Tanh\), which pwl_regions does not support"):
        cnn_layers(tanh)
    with pytest.raises(ValueError, match=r"applies no Conv2d to its input; polish an MLP with polish_network"):
        cnn_layers(nn.Sequential(nn.Flatten(), nn.Linear(25, 1)))
    relu_last = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(18, 1), nn.ReLU())
    with pytest.raises(ValueError, match=r"must return the output of a Linear layer .* layer '3' \(ReLU\)"):
        cnn_layers(relu_last)
    with pytest.raises(ValueError, match=r"calls layer 'head' 2 times; polishing needs each layer once"):
        cnn_layers(_TwiceHead())
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 1, H, W\)"):
        cnn_layers(relu_last, torch.zeros(4, 2, 5, 5))
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 2))
    with pytest.raises(ValueError, match=r"`layers` must be Conv2d layer indices in 0\.\.0, got 1"):
        polish_cnn(net, x, torch.tensor([0, 1, 0, 1]), layers=[1], loss="cross_entropy")
    with pytest.raises(ValueError, match=r"refit loss 'logistic' needs one output"):
        polish_cnn_and_evaluate(net, x, torch.tensor([0, 1, 0, 1]), loss="logistic")
