import math

import pytest
import torch
from matplotlib.path import Path as MplPath

from lightning_poly.data import SYNTHETIC_DATASETS, SYNTHETIC_DIMS, make_synthetic
from lightning_poly.data import synthetic as S

SIZED = [n for n in SYNTHETIC_DATASETS if n not in ("cube_parity", "teacher_relu")]


@pytest.mark.parametrize("name", SIZED)
def test_shape_labels_determinism(name: str) -> None:
    x, y = make_synthetic(name, n_samples=101, seed=3)
    assert x.shape == (101, SYNTHETIC_DIMS[name]) and x.dtype == torch.float32
    assert set(y.tolist()) == {0, 1} and y.dtype == torch.int64
    assert torch.isfinite(x).all()
    x2, y2 = make_synthetic(name, n_samples=101, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    xs, ys = make_synthetic(name, n_samples=101, seed=3, signed=True)
    assert torch.equal(xs, x) and torch.equal(ys, 2 * y - 1)
    if name != "alternating_circle":
        x3, _ = make_synthetic(name, n_samples=101, seed=4)
        assert not torch.equal(x, x3)
    # balanced classes (within one point)
    assert abs(int(y.sum()) - 101 / 2) <= 1


def test_swiss_roll_arms_interleave() -> None:
    x, y = S.swiss_roll(2000, seed=0)
    # along a ray from the origin the class alternates between the arms
    ang = torch.atan2(x[:, 1], x[:, 0])
    sel = ang.abs() < 0.05
    r = x[sel].norm(dim=1)
    order = torch.argsort(r)
    labels = y[sel][order]
    switches = int((labels[1:] != labels[:-1]).sum())
    assert switches >= 2
    assert x.abs().max() <= 1


@pytest.mark.parametrize(
    ("fn", "polys", "holes"),
    [
        (
            S.two_triangles,
            [[[0.0, 0.0], [-0.8, -0.7], [-0.1, -0.8]], [[0.0, 0.0], [0.7, 0.1], [0.2, 0.8]]],
            [],
        ),
        (
            S.hexagon_with_hole,
            [[[0.9 * math.cos(k * math.pi / 3), 0.9 * math.sin(k * math.pi / 3)] for k in range(6)]],
            [
                [
                    [
                        0.4 * math.cos(k * 2 * math.pi / 5 + math.pi / 2),
                        0.4 * math.sin(k * 2 * math.pi / 5 + math.pi / 2),
                    ]
                    for k in range(5)
                ]
            ],
        ),
    ],
)
def test_region_sets_match_independent_point_in_polygon(fn, polys, holes) -> None:  # type: ignore[no-untyped-def]
    x, y = fn(600, seed=1)
    pts = x.double().numpy()
    inside = torch.zeros(len(x), dtype=torch.bool)
    for p in polys:
        inside |= torch.from_numpy(MplPath(p).contains_points(pts))
    for h in holes:
        inside &= ~torch.from_numpy(MplPath(h).contains_points(pts))
    assert torch.equal(inside.long(), y)
    assert x.abs().max() <= 1


def test_xor_two_circles_two_moons_geometry() -> None:
    x, y = S.xor(400, noise=0.0)
    assert torch.equal(y, (x[:, 0] * x[:, 1] > 0).long())
    x, y = S.two_circles(200, noise=0.0, factor=0.3)
    assert torch.allclose(x.norm(dim=1), torch.where(y == 1, 0.3, 1.0), atol=1e-6)
    x, y = S.two_moons(200, noise=0.0)
    assert torch.allclose((x[y == 0]).norm(dim=1), torch.tensor(1.0), atol=1e-6)
    assert torch.allclose((x[y == 1] - torch.tensor([1.0, 0.5])).norm(dim=1), torch.tensor(1.0), atol=1e-6)


def test_alternating_circle_and_cube() -> None:
    x, y = S.alternating_circle(12, signed=True)
    assert torch.allclose(x.norm(dim=1), torch.tensor(1.0))
    assert torch.equal(y, torch.tensor([(-1) ** k for k in range(1, 13)]))
    x, y = S.cube_parity(signed=True)
    assert x.shape == (8, 3) and len({tuple(r) for r in x.tolist()}) == 8
    assert torch.equal(y, x.prod(dim=1).long())
    # "y = 1 iff the number of 1's is odd" (NTK paper, Section 7)
    assert torch.equal(y == 1, (x == 1).sum(dim=1) % 2 == 1)


def test_teacher_network_equation_23() -> None:
    x, y = S.teacher_relu(d=4, m_gen=3, seed=7)
    assert x.shape == (15, 4) and y.dtype == torch.float32
    # rebuild the teacher from the same seed stream and compare
    g = torch.Generator().manual_seed(7)
    xr = torch.randn(15, 4, generator=g, dtype=torch.float64)
    w = torch.randn(3, 5, generator=g, dtype=torch.float64)
    v = torch.randn(3, generator=g, dtype=torch.float64)
    c = torch.randn((), generator=g, dtype=torch.float64)
    ref = torch.relu(torch.cat([xr, torch.ones(15, 1, dtype=torch.float64)], 1) @ w.T) @ v + c
    assert torch.allclose(x.double(), xr, atol=1e-6) and torch.allclose(y.double(), ref, atol=1e-5)
    _, yc = S.teacher_relu(d=4, m_gen=3, seed=7, task="classification")
    assert torch.equal(yc, (ref > 0).long())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`name` must be one of"):
        make_synthetic("mandelbrot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`n_samples` must be an integer >= 2, got 1"):
        S.swiss_roll(1)
    with pytest.raises(ValueError, match="`noise`"):
        S.two_moons(10, noise=-1.0)
