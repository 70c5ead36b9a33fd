r"""Homogeneous coordinates :math:`\bar x = (x, 1)`: the one place the constant column is appended (a bias as one more
weight), for the gated networks, the zonotope of activation patterns, polishing and the teachers."""

from __future__ import annotations

import torch

from lightning_poly._validation import check_finite

__all__ = ["augment", "homogeneous_points"]


def augment(x: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """``(x, 1)`` on the last dimension when ``bias``, else ``x``.

    Args:
        x: ``(..., d)`` inputs.
        bias: append the constant column.

    Example:
        >>> augment(torch.tensor([[2.0, 3.0]])).tolist(), augment(torch.tensor([[2.0]]), bias=False).tolist()
        ([[2.0, 3.0, 1.0]], [[2.0]])
    """
    return torch.cat([x, torch.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)], dim=-1) if bias else x


def homogeneous_points(x: torch.Tensor) -> torch.Tensor:
    r"""Data points in homogeneous coordinates :math:`\bar x = (x, 1)`, float64, ``(N, d + 1)``, after checking them.

    Args:
        x: ``(N, d)`` finite points, ``N >= 1``.

    Raises:
        ValueError: for another shape or non-finite values.

    Example:
        >>> homogeneous_points(torch.tensor([[2.0, 3.0]])).tolist()
        [[2.0, 3.0, 1.0]]
    """
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`x` must be (N, d) with N >= 1, got shape {tuple(x.shape)}")
    check_finite("x", x)
    return augment(x.detach().double())
