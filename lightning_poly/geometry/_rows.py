"""The row arithmetic shared by the regions of a ReLU MLP (:mod:`~lightning_poly.geometry.regions`) and of any
piecewise-linear network (:mod:`~lightning_poly.geometry.pwl_regions`, its trace): the same steps, so the two give
bit-identical rows on an MLP."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["box_rows", "gate_map", "identity_map", "linear_map", "point_depth", "sign_rows", "weight_bias"]


def weight_bias(layer: nn.Module, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A layer's ``weight`` and ``bias`` (zeros when it has none), detached, in ``dtype``."""
    w = layer.weight.detach().to(dtype)
    bias = getattr(layer, "bias", None)
    b = bias.detach().to(dtype) if bias is not None else torch.zeros(w.shape[0], dtype=dtype, device=w.device)
    return w, b


def identity_map(r: int, d: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The map ``x -> x`` for ``r`` points: ``(eye, 0)``, the eye expanded (not copied) over the points."""
    return torch.eye(d, dtype=dtype, device=device).expand(r, d, d), torch.zeros(r, d, dtype=dtype, device=device)


def linear_map(
    w: torch.Tensor, bias: torch.Tensor, m: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x -> w (m x + c) + bias`` as ``(w m, w c + bias)``."""
    return torch.einsum("ij,rjk->rik", w, m), c @ w.T + bias


def sign_rows(s: torch.Tensor, mz: torch.Tensor, cz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows ``A x <= b`` that keep every pre-activation ``z = mz x + cz`` on its side ``s`` (``z >= 0`` if active)."""
    sign = torch.where(s, 1.0, -1.0).to(mz.dtype)
    return -sign[..., None] * mz, sign * cz


def gate_map(
    s: torch.Tensor, mz: torch.Tensor, cz: torch.Tensor, slope: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The map after a (leaky) ReLU of pattern ``s``: active units pass, the others are scaled by ``slope``."""
    gate = torch.full_like(cz, slope).masked_fill_(s, 1.0)  # the slope in the rows' dtype, not float32
    return gate[..., None] * mz, gate * cz


def box_rows(r: int, d: int, box: float, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``2d`` rows ``x_i <= box``, ``-x_i <= box`` for ``r`` points."""
    eye = torch.eye(d, dtype=dtype, device=device)
    return torch.cat([eye, -eye]).expand(r, 2 * d, d), torch.full((r, 2 * d), float(box), dtype=dtype, device=device)


def point_depth(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(R,)`` distance of each point ``x[r]`` to the nearest hyperplane of its rows ``a[r] y <= b[r]``
    (zero rows left out): ``min (b - a.x) / |a|``."""
    norm = a.norm(dim=2)
    slack = (b - torch.einsum("rmd,rd->rm", a, x)) / norm.clamp_min(1e-300)
    return torch.where(norm > 0, slack, torch.inf).min(dim=1).values
