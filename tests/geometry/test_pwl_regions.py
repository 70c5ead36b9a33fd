"""pwl_regions against references: autograd Jacobians, the network on its own region, region_hrep on MLPs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_poly.geometry import (
    activation_patterns,
    enumerate_regions,
    pwl_activation_patterns,
    pwl_enumerate_regions,
    pwl_regions,
    region_hrep,
    sample_box,
)
from lightning_poly.nn import ReLUMLP

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU)
POOLS = (nn.MaxPool1d, nn.MaxPool2d)


pytestmark = pytest.mark.usefixtures("one_thread")


class Residual(nn.Module):
    """``x + act(bn(conv(x)))``: a residual block."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(ch)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.bn(self.conv(x)))


class SmallCNN(nn.Module):
    """Conv2d with stride/padding/groups/dilation, BatchNorm2d, MaxPool2d (overlapping, padded), a residual
    block, AvgPool2d, LeakyReLU, a reshape in forward and Linear layers: input ``(n, 2, 7, 7)``."""

    def __init__(self, pool: nn.Module | None = None) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            pool if pool is not None else nn.MaxPool2d(3, stride=2, padding=1),  # 7x7 -> 4x4
            Residual(4),
            nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),  # -> 2x2
            nn.LeakyReLU(0.2),
            nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),  # -> 3x3
            nn.Dropout(0.5),
        )
        self.fc = nn.Linear(54, 5)
        self.act = nn.ReLU()
        self.head = nn.Linear(5, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        h = h.view(h.size(0), -1)
        return self.head(self.act(self.fc(h)))


class Conv1dNet(nn.Module):
    """Conv1d, BatchNorm1d, MaxPool1d with ceil mode, AvgPool1d, AdaptiveAvgPool1d, functional leaky ReLU,
    scaling and a constant shift: input ``(n, 3, 9)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1, padding_mode="reflect")
        self.bn = nn.BatchNorm1d(4)
        self.pool = nn.MaxPool1d(2, ceil_mode=True)  # 9 -> 5
        self.avg = nn.AvgPool1d(2, stride=1)  # -> 4
        self.adapt = nn.AdaptiveAvgPool1d(3)
        self.fc = nn.Linear(12, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.bn(self.conv(x)), 0.3)
        h = self.adapt(self.avg(self.pool(h))) * 2.0 - 0.5
        return self.fc(torch.flatten(h, 1))


class UserLinear(nn.Linear):
    """A user's subclass of ``nn.Linear``: torch.fx traces through it to ``F.linear`` on its parameters."""


class FunctionalNet(nn.Module):
    """Functions in forward: relu (function and method), leaky_relu, a constant buffer added, Unflatten, a
    reshape by ``x.shape[0]``, ``torch.add`` with ``alpha``, negation, division, ``contiguous``: input ``(n, 6)``."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = UserLinear(6, 8)
        self.unflat = nn.Unflatten(1, (2, 4))
        self.conv = nn.Conv1d(2, 2, 3, padding=1)
        self.fc = nn.Linear(8, 2)
        self.register_buffer("shift", torch.randn(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.lin(x)) + self.shift
        g = torch.add(self.conv(self.unflat(h)).reshape(x.shape[0], -1), h, alpha=0.5)
        g = F.leaky_relu(-g / 3.0 + h.relu() * 0.25, negative_slope=0.05)
        return self.fc(g.contiguous())


def _randomise_batch_norms(net: nn.Module) -> nn.Module:
    """Non-trivial running statistics and affine parameters, then eval mode."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.3)
    return net.eval()


NETS = {  # name: (a seeded network in float64, eval mode, and the shape of a point)
    "cnn": (lambda: _randomise_batch_norms(SmallCNN()), (2, 7, 7)),
    "cnn-pool2": (lambda: _randomise_batch_norms(SmallCNN(nn.MaxPool2d(2, padding=1))), (2, 7, 7)),
    "conv1d": (lambda: _randomise_batch_norms(Conv1dNet()), (3, 9)),
    "adaptive": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 3, 2, stride=2, bias=False),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((2, 3)),
            nn.Flatten(),
            nn.Linear(18, 2),
        ),
        (1, 6, 6),
    ),
    "functional": (FunctionalNet, (6,)),
}
POOLED = ["cnn", "cnn-pool2", "conv1d"]


@functools.cache
def _net(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(0)
    make, shape = NETS[name]
    return make().eval().double(), shape


def _points(name: str, n: int, seed: int) -> tuple[nn.Module, tuple[int, ...], torch.Tensor, int]:
    """The network ``name``, a point's shape, ``n`` seeded points uniform in ``[-1, 1]^d`` and ``d``."""
    net, shape = _net(name)
    x = torch.rand(n, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return net, shape, x, x[0].numel()


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> bool:
    """Equal up to float64 rounding: absolute, with no relative slack (a float32 constant would show)."""
    return torch.allclose(a, b, rtol=0.0, atol=atol)


def _jacobian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.functional.jacobian(f, x, vectorize=True)


def _capture(net: nn.Module, x: torch.Tensor, kinds: tuple[type, ...]) -> list[torch.Tensor]:
    """The inputs of every module of ``kinds`` in call order, by forward pre-hooks (independent of the trace)."""
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_pre_hook(lambda m, inp: seen.append(inp[0])) for m in net.modules() if isinstance(m, kinds)
    ]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


@pytest.mark.parametrize("name", NETS)
def test_rows_and_map_match_autograd_and_the_network(name: str) -> None:
    net, shape, x, d = _points(name, 12, seed=1)
    reg = pwl_regions(net, x, box=1.0, chunk_size=5)
    n_units = reg.n_units
    assert reg.a.shape == (12, n_units + reg.n_pool_rows + 2 * d, d)
    # the affine map is the network's value and autograd Jacobian at every point
    out = net(x).reshape(12, -1)
    assert _close(torch.einsum("rkd,rd->rk", reg.jacobian, x.reshape(12, d)) + reg.offset, out)
    for i in range(0, 12, 4):
        jac = _jacobian(lambda p: net(p.reshape(1, *shape)).reshape(-1), x[i].reshape(d))
        assert _close(reg.jacobian[i], jac)

    # the unit rows are -sign * (gradient, value) of each pre-activation, captured by hooks; every point satisfies its rows
    def pre(p: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.reshape(len(p), -1) for z in _capture(net, p.reshape(-1, *shape), ACTIVATIONS)], 1)

    if name not in ("conv1d", "functional"):  # (their activations are function calls, not modules hooks see)
        z = pre(x)
        assert torch.equal(reg.patterns, z > 0)
        sign = torch.where(reg.patterns, 1.0, -1.0).double()
        slack = reg.b - torch.einsum("rmd,rd->rm", reg.a, x.reshape(12, d))
        assert _close(slack[:, :n_units], sign * z)
        for i in range(0, 12, 4):
            jac = _jacobian(lambda p: pre(p[None])[0], x[i].reshape(d))
            assert _close(reg.a[i, :n_units], -sign[i, :, None] * jac)
    assert bool((torch.einsum("rmd,rd->rm", reg.a, x.reshape(12, d)) <= reg.b + 1e-12).all())


def _windows(pool: nn.Module, size: tuple[int, ...], out: tuple[int, ...]) -> torch.Tensor:
    """``(L, K)`` flat input index of each window entry (``-1``: padding), by ``F.unfold`` of an index map
    (padded on the right for a ceil-mode pool's last windows)."""
    params = (pool.kernel_size, pool.stride, pool.padding, pool.dilation)
    if isinstance(pool, nn.MaxPool1d):  # as a 2d pool over (1, L): no padding on the first axis
        pairs = [(1, params[0]), (1, params[1]), (0, params[2]), (1, params[3])]
    else:
        pairs = [(v, v) if isinstance(v, int) else v for v in params]
    (k, s, p, dl), size, out = pairs, (1,) * (2 - len(size)) + size, (1,) * (2 - len(out)) + out
    index = torch.arange(size[0] * size[1], dtype=torch.float64).reshape(1, 1, *size) + 1
    extra = [(o - 1) * st + dd * (kk - 1) + 1 - (n + 2 * pp) for o, st, dd, kk, n, pp in zip(out, s, dl, k, size, p)]
    index = F.pad(index, (0, max(extra[1], 0), 0, max(extra[0], 0)))
    cols = F.unfold(index, k, dilation=dl, padding=p, stride=s)[0]  # (K, L), 0 in the padding
    return cols.T.long() - 1


@pytest.mark.parametrize("name", NETS)
def test_patterns_and_regions_without_rows_match_pl_regions(name: str) -> None:
    net, shape, x, d = _points(name, 40, seed=6)
    reg = pwl_regions(net, x, chunk_size=9)
    patterns, choices = pwl_activation_patterns(net, x, chunk_size=9)
    assert torch.equal(patterns, reg.patterns) and torch.equal(choices, reg.pool_choices)
    regions = pwl_enumerate_regions(net, x, chunk_size=9)
    assert int(regions.counts.sum()) == 40 and torch.equal(regions.patterns[regions.inverse], reg.patterns)
    first = [int((regions.inverse == r).nonzero()[0]) for r in range(len(regions))]
    assert torch.equal(regions.points, x.reshape(40, d)[first])
    slack = (reg.b - torch.einsum("rmd,rd->rm", reg.a, x.reshape(40, d))) / reg.a.norm(dim=2)
    slack = slack.nan_to_num(nan=torch.inf)  # zero rows 0 <= 0 (max-pool ties of dead units) bound nothing
    assert _close(regions.depth, slack.min(dim=1).values[first])


@pytest.mark.parametrize("name", POOLED)
def test_max_pool_rows_compare_each_window_with_its_maximum(name: str) -> None:
    net, shape, x, d = _points(name, 6, seed=2)
    reg = pwl_regions(net, x, box=None)
    pool = next(m for m in net.modules() if isinstance(m, POOLS))
    (inp,) = _capture(net, x, POOLS)
    ch, size = inp.shape[1], tuple(inp.shape[2:])
    win = _windows(pool, size, tuple(pool(inp).shape[2:]))
    flat = inp.reshape(6, ch, -1)
    jac = torch.stack(
        [
            _jacobian(lambda p: _capture(net, p.reshape(1, *shape), POOLS)[0].reshape(ch, -1), x[i].reshape(d))
            for i in range(6)
        ]
    )  # (6, ch, in, d)
    rows_a, rows_b = [], []
    for i in range(6):
        a_i, b_i = [], []
        choices = reg.pool_choices[i].reshape(ch, len(win))
        for c in range(ch):
            for w, best in zip(win, choices[c], strict=True):
                valid = w[w >= 0]
                assert best in valid and flat[i, c, best] == flat[i, c, valid].max()  # ties: any maximum
                for q in valid[valid != best]:
                    a_i.append(jac[i, c, q] - jac[i, c, best])
                    b_i.append(flat[i, c, best] - flat[i, c, q] + (jac[i, c, q] - jac[i, c, best]) @ x[i].reshape(d))
        rows_a.append(torch.stack(a_i))
        rows_b.append(torch.stack(b_i))
    start = reg.n_units
    assert reg.n_pool_rows == len(rows_a[0])
    assert _close(reg.a[:, start:], torch.stack(rows_a))
    assert _close(reg.b[:, start:], torch.stack(rows_b))


def _hit_and_run(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, steps: int, gen: torch.Generator) -> torch.Tensor:
    """``steps`` points of a hit-and-run walk in ``{y : a y <= b}`` from ``x``, each drawn from the middle 80%
    of its chord (away from the facets, so that no unit or pool choice is on the edge)."""
    out, y = [], x.clone()
    for _ in range(steps):
        u = torch.randn(len(x), generator=gen, dtype=torch.float64)
        u = u / u.norm()
        au, slack = a @ u, b - a @ y
        hi = (slack[au > 1e-12] / au[au > 1e-12]).min()
        lo = (slack[au < -1e-12] / au[au < -1e-12]).max()
        y = y + (lo + (hi - lo) * (0.1 + 0.8 * torch.rand((), generator=gen, dtype=torch.float64))) * u
        out.append(y)
    return torch.stack(out)


@pytest.mark.parametrize("name", NETS)
def test_inside_its_region_the_network_is_its_affine_map(name: str) -> None:
    net, shape, x, d = _points(name, 3, seed=3)
    gen = torch.Generator().manual_seed(3)
    reg = pwl_regions(net, x)
    for i in range(3):
        walk = _hit_and_run(reg.a[i], reg.b[i], x[i].reshape(d), 8, gen)
        assert bool((walk @ reg.a[i].T <= reg.b[i] + 1e-12).all())
        assert float((walk - x[i].reshape(d)).norm(dim=1).max()) > 1e-3  # the walk leaves the point
        there = pwl_regions(net, walk.reshape(-1, *shape))
        assert _close(net(walk.reshape(-1, *shape)).reshape(len(walk), -1), walk @ reg.jacobian[i].T + reg.offset[i])
        assert bool((there.patterns == reg.patterns[i]).all()) and bool(
            (there.pool_choices == reg.pool_choices[i]).all()
        )
        assert _close(there.a, reg.a[i].expand_as(there.a)) and _close(there.b, reg.b[i].expand_as(there.b))


MLPS = {
    "sequential": lambda: nn.Sequential(nn.Linear(3, 7), nn.ReLU(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2)),
    "no-bias": lambda: nn.Sequential(nn.Linear(3, 6, bias=False), nn.ReLU(), nn.Linear(6, 1, bias=False)),
    "flatten-identity": lambda: nn.Sequential(nn.Flatten(), nn.Linear(3, 5), nn.ReLU(), nn.Identity(), nn.Linear(5, 1)),
    "ReLUMLP": lambda: ReLUMLP([3, 8, 6, 4, 1], bias_value=0.05),
    "ReLUMLP-double": lambda: ReLUMLP([3, 5, 5, 2]).double(),
}


@pytest.mark.parametrize("make", MLPS.values(), ids=MLPS.keys())
def test_mlp_patterns_and_rows_are_bit_identical_to_region_hrep(make: Callable[[], nn.Module]) -> None:
    torch.manual_seed(4)
    net = make()
    x = sample_box(150, 3, seed=4)
    pats = activation_patterns(net, x)
    for box in (1.0, 2.5, None):
        reg = pwl_regions(net, x, box=box, chunk_size=150)
        a, b = region_hrep(net, pats, box=box)
        assert torch.equal(reg.patterns, pats) and torch.equal(reg.a, a) and torch.equal(reg.b, b)
        assert reg.pool_choices.shape == (150, 0) and reg.n_pool_rows == 0
    assert torch.equal(pwl_regions(net, x).a, region_hrep(net, pats)[0])  # the default chunk holds them all
    assert torch.equal(pwl_activation_patterns(net, x, chunk_size=40)[0], pats)
    reg, ref = pwl_enumerate_regions(net, x), enumerate_regions(net, x)
    assert torch.equal(reg.patterns, ref.patterns) and torch.equal(reg.counts, ref.counts)
    assert torch.equal(reg.inverse, ref.inverse) and bool((reg.depth > 0).all())
    chunked = pwl_regions(net, x, chunk_size=7)  # other chunkings: the same up to rounding
    assert torch.equal(chunked.patterns, pats) and _close(chunked.a, region_hrep(net, pats)[0], 1e-12)


class TanhInForward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(x))


class Squared(TanhInForward):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x)
        return h * h


class Branches(TanhInForward):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) if x.sum() > 0 else -self.lin(x)


class TwoInputs(TanhInForward):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.lin(x) + y


def _cnn_with(layer: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3), layer, nn.Flatten(), nn.Linear(18, 1)).eval()


def _nested_tanh() -> nn.Module:
    net = SmallCNN().eval()
    net.features[4].act = nn.Tanh()
    return net


REFUSED = [
    pytest.param(
        lambda: _cnn_with(nn.Tanh()), r"holds layer '1' \(Tanh\), which pwl_regions does not support", id="tanh"
    ),
    pytest.param(lambda: _cnn_with(nn.GELU()), r"holds layer '1' \(GELU\)", id="gelu"),
    pytest.param(lambda: _nested_tanh(), r"holds layer 'features.4.act' \(Tanh\)", id="nested-tanh"),
    pytest.param(lambda: _cnn_with(nn.Sigmoid()), r"holds layer '1' \(Sigmoid\)", id="sigmoid"),
    pytest.param(lambda: _cnn_with(nn.Softmax(dim=1)), r"holds layer '1' \(Softmax\)", id="softmax"),
    pytest.param(
        lambda: _cnn_with(nn.BatchNorm2d(2)).train(),
        r"holds layer '1' \(BatchNorm2d\) in train mode",
        id="batch-norm-train",
    ),
    pytest.param(
        lambda: _cnn_with(nn.Dropout(0.1)).train(), r"holds layer '1' \(Dropout\) in train mode", id="dropout-train"
    ),
    pytest.param(
        lambda: _cnn_with(nn.BatchNorm2d(2, track_running_stats=False)),
        r"layer '1' \(BatchNorm2d\) without running statistics",
        id="batch-norm-no-stats",
    ),
    pytest.param(
        lambda: _cnn_with(nn.MaxPool2d(1, return_indices=True)), r"holds layer '1' \(MaxPool2d\)", id="max-pool-indices"
    ),
    pytest.param(
        lambda: TanhInForward(), r"forward calls torch.tanh \(graph node 'tanh'\) on the input", id="torch-tanh"
    ),
    pytest.param(lambda: Squared(), r"forward calls operator.mul \(graph node 'mul'\)", id="product"),
    pytest.param(lambda: Branches(), r"cannot be traced by torch.fx", id="branch-on-values"),
    pytest.param(lambda: TwoInputs(), r"takes several inputs \('x', 'y'\)", id="two-inputs"),
]


@pytest.mark.parametrize(("make", "match"), REFUSED)
def test_what_is_not_piecewise_linear_is_refused_by_name(make: Callable[[], nn.Module], match: str) -> None:
    net = make()
    x = {nn.Sequential: torch.rand(2, 1, 5, 5), SmallCNN: torch.rand(2, 2, 7, 7)}.get(type(net), torch.rand(2, 2))
    with pytest.raises(ValueError, match=match):
        pwl_regions(net, x)


def test_what_the_trace_does_not_see_is_caught_by_comparing_outputs() -> None:
    torch.manual_seed(5)
    net = _cnn_with(nn.ReLU())
    x = torch.rand(4, 1, 5, 5)
    pwl_regions(net, x)  # a plain network passes the check
    hook = net[0].register_forward_hook(lambda m, inp, out: torch.tanh(out))  # fx keeps the call, not the hook
    with pytest.raises(ValueError, match=r"forward differs from its traced piecewise-linear map J x \+ c by"):
        pwl_regions(net, x)
    hook.remove()
    pwl_regions(net, x, rtol=1e-6)


def test_bad_points_are_refused() -> None:
    net = _cnn_with(nn.ReLU())
    with pytest.raises(
        ValueError, match=r"`x` must have shape \(n, 1, H, W\) for layer '0' \(Conv2d\), got \(4, 3, 5, 5\)"
    ):
        pwl_regions(net, torch.rand(4, 3, 5, 5))
    x = torch.rand(2, 1, 5, 5)
    x[1, 0, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"`x` must be finite, got 1 NaN/inf entries out of 50"):
        pwl_regions(net, x)
    with pytest.raises(
        ValueError,
        match=r"`x` must be a float batch of n >= 1 points \(n, ...\) as the model takes them, got shape \(25,\)",
    ):
        pwl_regions(net, torch.rand(25))
    with pytest.raises(ValueError, match=r"is not an input of the model"):  # too small for the 3x3 kernel
        pwl_regions(net, torch.rand(2, 1, 2, 2))
