"""Empirical NTK of any network on a few points (pure torch.func)."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

__all__ = ["empirical_ntk"]


def empirical_ntk(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""``(n, n)`` Gram :math:`H_{ij} = \langle \nabla_\theta f(x_i), \nabla_\theta f(x_j) \rangle` of a scalar-output network.

    Args:
        model: a network with one output.
        x: ``(n, d)`` points.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> h = empirical_ntk(net, torch.randn(5, 2))
        >>> h.shape, bool(torch.allclose(h, h.T, atol=1e-5))
        (torch.Size([5, 5]), True)
    """
    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xi[None],)).reshape(-1)[0]

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    flat = torch.cat([j.reshape(len(x), -1) for j in jac.values()], dim=1).double()
    return flat @ flat.T
