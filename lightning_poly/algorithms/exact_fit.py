r"""Fitting any data in general position exactly with :math:`2\lceil N/(d+1)\rceil` ReLU units, in polynomial
time (zonotope paper, Theorem 4.3 and appendix F)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lightning_poly.geometry.zonotope import general_position
from lightning_poly.nn.homogeneous import homogeneous_points

__all__ = ["ExactFit", "exact_fit_network"]


@dataclass
class ExactFit:
    """The network of Theorem 4.3: :math:`f(x) = v^\\top \\phi(W \\bar x)` with ``2 ceil(N / (d + 1))`` units.

    Attributes:
        weight: ``(m, d + 1)`` first layer (bias last).
        v: ``(m,)`` second layer (``+1, -1`` per pair of units).
        max_abs_error: largest ``|f(x_i) - y_i|`` on the data.
        weight_norms: ``(m,)`` norms of the units (they grow fast along the chunks: ill-conditioned).
    """

    weight: torch.Tensor
    v: torch.Tensor
    max_abs_error: float
    weight_norms: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(homogeneous_points(x) @ self.weight.T) @ self.v


def exact_fit_network(x: torch.Tensor, y: torch.Tensor) -> ExactFit:
    """Theorem 4.3 (appendix F): sort by the last coordinate, chunks of ``d + 1``, two units per chunk (Lemma F.1).

    Chunk ``k`` is fitted on the residual of the earlier units: with :math:`w` solving
    :math:`w^\\top \\bar b = r_b` on the chunk (least squares, exact for ``d + 1`` points in general
    position), a separating direction :math:`u = e_d - \\alpha e_{d+1}` scaled so that
    :math:`u^\\top \\bar a < -1` before the chunk and :math:`> 1` on and after it, and
    :math:`\\beta = \\max(\\max_a \\phi(w^\\top \\bar a), \\max_b \\phi(-w^\\top \\bar b))`, the units
    :math:`w + \\beta u` and :math:`\\beta u` (second-layer weights ``+1, -1``) add the chunk's residual
    and nothing before it. (Lemma F.1 speaks of A, the earlier points; the units are also active on
    the later chunks, whose residuals the next chunks absorb.)

    Raises:
        ValueError: if the data are not in general position or two points share the last coordinate.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(9, 2, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64)
        >>> fit = exact_fit_network(x, y)
        >>> len(fit.v), fit.max_abs_error < 1e-6
        (6, True)
    """
    xb = homogeneous_points(x)
    n, k = xb.shape
    d = k - 1
    if y.shape != (n,):
        raise ValueError(f"`y` must have shape ({n},) like `x`, got {tuple(y.shape)}")
    yd = y.detach().double().to(xb.device)
    gp = general_position(x)
    if not gp.ok:
        raise ValueError(
            f"Theorem 4.3 needs data in general position: {gp.duplicates} duplicates, smallest relative "
            f"singular value of a {k}-subset {gp.min_singular:.1e}"
        )
    order = torch.argsort(xb[:, d - 1])
    last = xb[order, d - 1]
    if bool((last[1:] == last[:-1]).any()):
        raise ValueError("Theorem 4.3 sorts by the last coordinate: two examples share it; rotate the data first")
    units, signs = [], []
    residual = yd.clone()
    for start in range(0, n, k):
        chunk = order[start : start + k]
        before, after = order[:start], order[start:]
        w = torch.linalg.lstsq(xb[chunk], residual[chunk, None]).solution[:, 0]
        lo = float(last[start - 1]) if start else float(last[0]) - 1.0
        alpha = (lo + float(last[start])) / 2
        u = torch.zeros(k, dtype=xb.dtype, device=xb.device)
        u[d - 1], u[d] = 1.0, -alpha
        margin = torch.cat([-(xb[before] @ u), xb[after] @ u]).min()
        u = u * (1.0 + 1e-9) / margin  # u.a < -1 before the chunk, u.b > 1 on and after it
        beta = torch.cat([torch.relu(xb[before] @ w), torch.relu(-(xb[chunk] @ w))]).max().clamp_min(0)
        w1, w2 = w + beta * u, beta * u
        units += [w1, w2]
        signs += [1.0, -1.0]
        residual = residual - (torch.relu(xb @ w1) - torch.relu(xb @ w2))
    weight = torch.stack(units)
    v = torch.tensor(signs, dtype=xb.dtype, device=xb.device)
    error = float((torch.relu(xb @ weight.T) @ v - yd).abs().max())
    assert len(v) == 2 * math.ceil(n / k)
    return ExactFit(weight, v, error, weight.norm(dim=1))
