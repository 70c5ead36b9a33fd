r"""Gate samplers and the NTK Gram matrices of convex two-layer networks (NTK-convex paper, Sections 3-4).

Data cones (Section 3): :math:`C(U) = \{v : \langle v, x_i \rangle > 0 \iff i \in U\}`; :math:`S_0` is the set
of non-empty ones, :math:`|S_0| \le 4 n^{d-1}` (Lemma 3.2). For ``d = 2`` they are the arcs between
consecutive directions perpendicular to the data, enumerated exactly with their Gaussian measure
(arc length / 2π), which Theorem 4.2 needs.

NTK Gram (Section 4): :math:`H_{ij} = \mathbb E_{v\sim\mathcal N(0,I)}[\langle x_i,x_j\rangle \mathbf 1[\langle x_i,v\rangle>0,
\langle x_j,v\rangle>0]] = \langle x_i,x_j\rangle \frac{\pi - \theta_{ij}}{2\pi}` (the probability that a Gaussian
vector lies in both half-spaces is :math:`(\pi-\theta_{ij})/(2\pi)`, :math:`\theta_{ij}` the angle between the
points), and its finite counterpart :math:`H^{dis}(V, \rho)`.
"""

from __future__ import annotations

import math

import torch

from lightning_poly._validation import check_int

__all__ = ["cones_2d", "data_gates", "gaussian_gates", "ntk_gram", "ntk_gram_finite", "smallest_eigenvalue"]


def gaussian_gates(m: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``m`` standard Gaussian gate vectors in ``R^d``.

    Args:
        m: number of gates.
        d: dimension.
        seed: seed of the gates.
        dtype: their dtype.

    Example:
        >>> gaussian_gates(3, 4).shape
        torch.Size([3, 4])
    """
    check_int("m", m, minimum=1)
    check_int("d", d, minimum=1)
    return torch.randn(m, d, generator=torch.Generator().manual_seed(int(seed)), dtype=dtype)


def data_gates(x: torch.Tensor, m: int, seed: int = 0) -> torch.Tensor:
    """Gates from the data: generalised cross products of ``d - 1`` random training points
    (wedge-products paper, Theorem 4), i.e. unit normals to the span of those points, random sign.

    Args:
        x: ``(n, d)`` training points (augmented if the network has a bias).
        m: number of gates.
        seed: seed of the choice of points and signs.

    Example:
        >>> x = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> v = data_gates(x, 5)
        >>> v.shape, bool((v @ x.T).abs().min(dim=1).values.max() < 1e-10)
        (torch.Size([5, 3]), True)
    """
    check_int("m", m, minimum=1)
    n, d = x.shape
    if n < d - 1:
        raise ValueError(f"data gates need at least d - 1 = {d - 1} points, got {n}")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.stack([torch.randperm(n, generator=g)[: d - 1] for _ in range(m)])
    _, _, vh = torch.linalg.svd(x.double()[idx], full_matrices=True)
    v = vh[:, -1]
    sign = torch.where(torch.rand(m, generator=g) < 0.5, -1.0, 1.0).to(v)
    return v * sign[:, None]


def cones_2d(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All non-empty full-dimensional data cones of 2-D data: one representative each and its Gaussian measure.

    Args:
        x: ``(n, 2)`` points.

    Returns:
        ``(gates, measure)``: ``(|S_0|, 2)`` unit representatives (arc midpoints) and ``(|S_0|,)``
        probabilities that sum to 1.

    Example:
        >>> v, p = cones_2d(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        >>> len(v), round(float(p.sum()), 6)
        (4, 1.0)
    """
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"`x` must have shape (n, 2), got {tuple(x.shape)}")
    nz = x.double()[x.double().norm(dim=1) > 0]
    theta = torch.atan2(nz[:, 1], nz[:, 0])
    bounds = torch.remainder(torch.cat([theta + math.pi / 2, theta - math.pi / 2]), 2 * math.pi)
    bounds = torch.unique(bounds)  # sorted, duplicates (collinear points) merged
    nxt = torch.cat([bounds[1:], bounds[:1] + 2 * math.pi])
    width = nxt - bounds
    keep = width > 1e-12
    mid = (bounds + nxt)[keep] / 2
    return torch.stack([torch.cos(mid), torch.sin(mid)], dim=1), width[keep] / (2 * math.pi)


def ntk_gram(x: torch.Tensor) -> torch.Tensor:
    """Infinite-width NTK Gram :math:`H` in closed form (module docstring).

    Args:
        x: ``(n, d)`` points.

    Example:
        >>> ntk_gram(torch.tensor([[1.0, 0.0], [0.0, 1.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.5]]
    """
    xd = x.double()
    g = xd @ xd.T
    u = xd / xd.norm(dim=1, keepdim=True).clamp_min(1e-300)
    # theta = 2 atan2(|u_i - u_j|, |u_i + u_j|): accurate also near 0 and pi, where arccos is not
    theta = 2 * torch.atan2(torch.cdist(u, u), torch.cdist(u, -u))
    return g * (math.pi - theta) / (2 * math.pi)


def ntk_gram_finite(x: torch.Tensor, gates: torch.Tensor, rho: torch.Tensor | None = None) -> torch.Tensor:
    """:math:`H^{dis}_{ij} = \\sum_k \\rho_k \\langle x_i,x_j\\rangle \\mathbf 1[\\langle x_i,v_k\\rangle>0,\\langle x_j,v_k\\rangle>0]` (default :math:`\\rho_k = 1/m`).

    Args:
        x: ``(n, d)`` points.
        gates: ``(m, d)`` gate vectors.
        rho: ``(m,)`` neuron weights (default :math:`1/m`).
    """
    xd = x.double()
    act = (xd @ gates.double().T > 0).double()  # (n, m)
    r = torch.full((gates.shape[0],), 1.0 / gates.shape[0], dtype=torch.float64) if rho is None else rho.double()
    return (xd @ xd.T) * ((act * r) @ act.T)


def smallest_eigenvalue(h: torch.Tensor) -> float:
    """Smallest eigenvalue of a symmetric matrix (λ of the paper).

    Args:
        h: a symmetric matrix.
    """
    return float(torch.linalg.eigvalsh((h + h.T) / 2).min())
