"""The papers' synthetic data sets, generated deterministically from a seed (pure torch).

Every generator returns ``(x, y)``: ``x`` a float32 tensor ``(n, d)`` and ``y`` an int64 tensor of
labels in ``{0, 1}`` (``signed=True`` gives ``{-1, +1}``), except :func:`teacher_relu`, whose default
task is regression (float32 targets). The same seed always gives the same tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.nn.homogeneous import augment

__all__ = [
    "SYNTHETIC_DATASETS",
    "SYNTHETIC_DIMS",
    "SyntheticName",
    "alternating_circle",
    "cube_parity",
    "hexagon_with_hole",
    "make_synthetic",
    "spiral",
    "swiss_roll",
    "teacher_relu",
    "two_circles",
    "two_moons",
    "two_triangles",
    "xor",
]

SyntheticName = Literal[
    "swiss_roll",
    "two_triangles",
    "hexagon_with_hole",
    "xor",
    "two_circles",
    "two_moons",
    "spiral",
    "alternating_circle",
    "cube_parity",
    "teacher_relu",
]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _finish(x: torch.Tensor, y: torch.Tensor, signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    y = y.to(torch.int64)
    return x.to(torch.float32).contiguous(), (2 * y - 1 if signed else y)


def _balanced_region_sample(
    n: int, inside: Callable[[torch.Tensor], torch.Tensor], g: torch.Generator, box: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``n`` points uniformly in ``[-box, box]^2``: half inside the set, half outside."""
    n_pos = n // 2
    pos: list[torch.Tensor] = []
    neg: list[torch.Tensor] = []
    n_p = n_n = 0
    while n_p < n_pos or n_n < n - n_pos:
        cand = (torch.rand(4 * n + 64, 2, generator=g, dtype=torch.float64) * 2 - 1) * box
        m = inside(cand)
        pos.append(cand[m])
        neg.append(cand[~m])
        n_p += int(m.sum())
        n_n += int((~m).sum())
    x = torch.cat([torch.cat(pos)[:n_pos], torch.cat(neg)[: n - n_pos]])
    y = torch.cat([torch.ones(n_pos), torch.zeros(n - n_pos)])
    return x, y


def _in_convex_polygon(x: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Points strictly inside a counter-clockwise convex polygon."""
    a = vertices
    b = torch.roll(vertices, -1, dims=0)
    edge = b - a  # (k, 2)
    rel = x[:, None, :] - a[None]  # (n, k, 2)
    cross = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
    return (cross > 0).all(dim=1)


def _regular_polygon(
    k: int, radius: float, phase: float = 0.0, centre: tuple[float, float] = (0.0, 0.0)
) -> torch.Tensor:
    t = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k + phase
    return torch.stack([centre[0] + radius * torch.cos(t), centre[1] + radius * torch.sin(t)], dim=1)


def swiss_roll(
    n_samples: int = 1000, noise: float = 0.0, turns: float = 1.5, seed: int = 0, signed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Two interleaved spirals in ``[-1, 1]^2`` (polytope-cover paper, Figure 1(a)).

    Class ``c`` has points :math:`r(t)\,(\cos(2\pi\,\mathrm{turns}\,t + c\pi), \sin(\cdot))` with radius
    :math:`r(t) = 0.1 + 0.9 t`, ``t`` uniform in ``[0, 1]``; the two arms are half a turn apart, so the
    classes interleave as in the paper's figure. Gaussian ``noise`` (std) is added to both coordinates.

    Args:
        n_samples: number of samples.
        noise: standard deviation of Gaussian noise on the points.
        turns: turns of each spiral.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = swiss_roll(100, seed=1)
        >>> x.shape, int(y.sum()), bool(x.abs().max() <= 1.0)
        (torch.Size([100, 2]), 50, True)
    """
    check_int("n_samples", n_samples, minimum=2)
    check_positive("noise", noise, strict=False)
    check_positive("turns", turns)
    g = _gen(seed)
    c = torch.arange(n_samples) % 2
    t = torch.rand(n_samples, generator=g, dtype=torch.float64)
    r = 0.1 + 0.9 * t
    ang = 2 * math.pi * turns * t + math.pi * c
    x = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], dim=1)
    x = x + noise * torch.randn(n_samples, 2, generator=g, dtype=torch.float64)
    return _finish(x.clamp(-1, 1), c, signed)


def two_triangles(n_samples: int = 1000, seed: int = 0, signed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A simplicial 2-complex of two triangles sharing a vertex, against the rest of the box.

    Polytope-cover paper, Figure 5 (left column, X1); class 1 is the union of the two triangles,
    half of the points are sampled inside it and half outside, uniformly in ``[-1, 1]^2``.

    Args:
        n_samples: number of samples.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = two_triangles(200, seed=0)
        >>> x.shape, int(y.sum())
        (torch.Size([200, 2]), 100)
    """
    check_int("n_samples", n_samples, minimum=2)
    t1 = torch.tensor([[0.0, 0.0], [-0.8, -0.7], [-0.1, -0.8]], dtype=torch.float64)
    t2 = torch.tensor([[0.0, 0.0], [0.7, 0.1], [0.2, 0.8]], dtype=torch.float64)

    def inside(p: torch.Tensor) -> torch.Tensor:
        return _in_convex_polygon(p, t1) | _in_convex_polygon(p, t2)

    x, y = _balanced_region_sample(n_samples, inside, _gen(seed))
    return _finish(x, y, signed)


def hexagon_with_hole(n_samples: int = 1000, seed: int = 0, signed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A hexagon with a pentagonal hole, against the rest of the box.

    Polytope-cover paper, Figure 5 (right column, X2): class 1 lies inside a regular hexagon of
    radius 0.9 and outside a regular pentagon of radius 0.4 (11 faces in all, hence 2-11-2-1).

    Args:
        n_samples: number of samples.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = hexagon_with_hole(200, seed=0)
        >>> bool(((x.norm(dim=1) < 0.3) & (y == 1)).any())
        False
    """
    check_int("n_samples", n_samples, minimum=2)
    hexa = _regular_polygon(6, 0.9)
    penta = _regular_polygon(5, 0.4, phase=math.pi / 2)

    def inside(p: torch.Tensor) -> torch.Tensor:
        return _in_convex_polygon(p, hexa) & ~_in_convex_polygon(p, penta)

    x, y = _balanced_region_sample(n_samples, inside, _gen(seed))
    return _finish(x, y, signed)


def xor(
    n_samples: int = 400, noise: float = 0.1, seed: int = 0, signed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Four Gaussian blobs at ``(±0.5, ±0.5)``; class 1 where the signs agree (Figure 11, XOR).

    Args:
        n_samples: number of samples.
        noise: standard deviation of each blob.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = xor(8, noise=0.0)
        >>> y.tolist() == [int(a * b > 0) for a, b in x.tolist()]
        True
    """
    check_int("n_samples", n_samples, minimum=4)
    check_positive("noise", noise, strict=False)
    g = _gen(seed)
    corner = torch.tensor([[0.5, 0.5], [-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5]], dtype=torch.float64)
    idx = torch.arange(n_samples) % 4
    x = corner[idx] + noise * torch.randn(n_samples, 2, generator=g, dtype=torch.float64)
    return _finish(x, (idx < 2).long(), signed)


def two_circles(
    n_samples: int = 400, noise: float = 0.05, factor: float = 0.5, seed: int = 0, signed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two concentric circles (radii 1 and ``factor``); class 1 is the inner one (Figure 11).

    Args:
        n_samples: number of samples.
        noise: standard deviation of Gaussian noise on the points.
        factor: radius of the inner circle.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = two_circles(100, noise=0.0)
        >>> bool(torch.allclose(x[y == 1].norm(dim=1), torch.tensor(0.5)))
        True
    """
    check_int("n_samples", n_samples, minimum=2)
    check_positive("noise", noise, strict=False)
    if not 0 < factor < 1:
        raise ValueError(f"`factor` must lie in (0, 1), got {factor!r}")
    g = _gen(seed)
    c = torch.arange(n_samples) % 2
    t = torch.rand(n_samples, generator=g, dtype=torch.float64) * 2 * math.pi
    r = torch.where(c == 1, torch.tensor(factor, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    x = torch.stack([r * torch.cos(t), r * torch.sin(t)], dim=1)
    x = x + noise * torch.randn(n_samples, 2, generator=g, dtype=torch.float64)
    return _finish(x, c, signed)


def two_moons(
    n_samples: int = 400, noise: float = 0.05, seed: int = 0, signed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles, as scikit-learn's ``make_moons`` (Figure 11).

    Args:
        n_samples: number of samples.
        noise: standard deviation of Gaussian noise on the points.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = two_moons(100, noise=0.0)
        >>> x.shape, int(y.sum())
        (torch.Size([100, 2]), 50)
    """
    check_int("n_samples", n_samples, minimum=2)
    check_positive("noise", noise, strict=False)
    g = _gen(seed)
    c = torch.arange(n_samples) % 2
    t = torch.rand(n_samples, generator=g, dtype=torch.float64) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    x = torch.where(c[:, None] == 0, upper, lower)
    x = x + noise * torch.randn(n_samples, 2, generator=g, dtype=torch.float64)
    return _finish(x, c, signed)


def spiral(
    n_samples: int = 200, noise: float = 0.2, seed: int = 0, signed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-arm spiral of the polishing paper (Figure 8; the convex-network literature's toy set).

    Class ``c`` has radius ``r`` linear in ``[0, 1]`` and angle ``4r + 4c`` plus Gaussian noise of
    std ``noise`` on the angle, i.e. the classic spiral of the Pilanci–Ergen convex-NN code.

    Args:
        n_samples: number of samples.
        noise: standard deviation of Gaussian noise on the points.
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = spiral(40, seed=0)
        >>> x.shape, int(y.sum())
        (torch.Size([40, 2]), 20)
    """
    check_int("n_samples", n_samples, minimum=2)
    check_positive("noise", noise, strict=False)
    g = _gen(seed)
    c = torch.arange(n_samples) % 2
    per_class_index = torch.arange(n_samples) // 2
    n_c = (n_samples + 1) // 2
    r = per_class_index.to(torch.float64) / max(n_c - 1, 1)
    t = 4 * r + 4 * c + noise * torch.randn(n_samples, generator=g, dtype=torch.float64)
    x = torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1)
    return _finish(x, c, signed)


def alternating_circle(n_samples: int = 16, signed: bool = False, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Equidistant points on the unit circle with alternating labels (NTK paper, Section 7).

    :math:`x_k = (\cos(2k\pi/n), \sin(2k\pi/n))`, :math:`y_k = (-1)^k` for ``k = 1..n`` (label 1 for
    even ``k``). Deterministic; ``seed`` is accepted for a uniform interface and ignored.

    Args:
        n_samples: number of samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.
        seed: unused (the points are deterministic); kept for a uniform signature.

    Example:
        >>> x, y = alternating_circle(4, signed=True)
        >>> y.tolist()
        [-1, 1, -1, 1]
    """
    check_int("n_samples", n_samples, minimum=2)
    k = torch.arange(1, n_samples + 1, dtype=torch.float64)
    x = torch.stack([torch.cos(2 * k * math.pi / n_samples), torch.sin(2 * k * math.pi / n_samples)], dim=1)
    return _finish(x, (k.long() % 2 == 0).long(), signed)


def cube_parity(signed: bool = False, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 3-cube ``{-1, 1}^3`` with parity labels ``y = x1 x2 x3`` (NTK paper, Theorem 7.3).

    Deterministic; ``seed`` is ignored.

    Args:
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.
        seed: unused (the points are deterministic); kept for a uniform signature.

    Example:
        >>> x, y = cube_parity(signed=True)
        >>> bool((x.prod(dim=1) == y).all())
        True
    """
    grid = torch.tensor([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=torch.float64)
    y = (grid.prod(dim=1) > 0).long()
    return _finish(grid, y, signed)


def teacher_relu(
    d: int = 4,
    m_gen: int = 2,
    n_samples: int | None = None,
    task: Literal["regression", "classification"] = "regression",
    seed: int = 0,
    signed: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gaussian inputs labelled by a random teacher ReLU network (zonotope paper, Appendix H.1.1).

    ``N = (d + 1) m_gen`` inputs (unless ``n_samples`` is given) drawn from :math:`\mathcal N(0, I_d)`;
    teacher :math:`g(x) = v^\top \phi(W \bar x) + c`, Equation (23), with :math:`\bar x = (x, 1)` and all
    parameters standard normal. ``task="regression"`` returns ``g(x)`` (float32);
    ``"classification"`` returns the label ``1[g(x) > 0]``.

    Args:
        d: input dimension.
        m_gen: width of the teacher.
        n_samples: number of samples (default: the paper's size for ``d``).
        task: ``"regression"`` (the teacher's output) or ``"classification"`` (its sign).
        seed: seed of the samples.
        signed: labels in ``{-1, +1}`` instead of ``{0, 1}``.

    Example:
        >>> x, y = teacher_relu(d=4, m_gen=2)
        >>> x.shape, y.dtype
        (torch.Size([10, 4]), torch.float32)
    """
    check_int("d", d, minimum=1)
    check_int("m_gen", m_gen, minimum=1)
    check_choice("task", task, ("regression", "classification"))
    n = (d + 1) * m_gen if n_samples is None else check_int("n_samples", n_samples, minimum=1)
    g = _gen(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    w = torch.randn(m_gen, d + 1, generator=g, dtype=torch.float64)
    v = torch.randn(m_gen, generator=g, dtype=torch.float64)
    c = torch.randn((), generator=g, dtype=torch.float64)
    xb = augment(x)
    out = torch.relu(xb @ w.T) @ v + c
    if task == "regression":
        return x.float(), out.float()
    return _finish(x, (out > 0).long(), signed)


SYNTHETIC_DATASETS: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor]]] = {
    "swiss_roll": swiss_roll,
    "two_triangles": two_triangles,
    "hexagon_with_hole": hexagon_with_hole,
    "xor": xor,
    "two_circles": two_circles,
    "two_moons": two_moons,
    "spiral": spiral,
    "alternating_circle": alternating_circle,
    "cube_parity": cube_parity,
    "teacher_relu": teacher_relu,
}

#: input dimension of each set (``teacher_relu``: its ``d`` argument)
SYNTHETIC_DIMS: dict[str, int] = {name: 2 for name in SYNTHETIC_DATASETS} | {"cube_parity": 3, "teacher_relu": 4}


def make_synthetic(name: SyntheticName, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate the synthetic set ``name`` with the generator's keyword arguments.

    Args:
        name: one of :data:`SYNTHETIC_DATASETS`.
        **kwargs: the generator's arguments (e.g. ``n_samples``, ``seed``).

    Example:
        >>> x, y = make_synthetic("two_moons", n_samples=10, seed=3)
        >>> x.shape
        torch.Size([10, 2])
    """
    check_choice("name", name, SYNTHETIC_DATASETS)
    return SYNTHETIC_DATASETS[name](**kwargs)
