r"""Optimal rescaling of consecutive ReLU layers (wedge-products paper, Section 9.12 and Lemma 27).

ReLU is positively homogeneous, so multiplying hidden neuron :math:`j` (its weights and bias) by
:math:`\alpha_j > 0` and the next layer's column :math:`j` by :math:`1/\alpha_j` leaves the network
function unchanged while the weight decay :math:`\|W^{(1)}_j\|^2\alpha_j^2 + \|W^{(2)}_j\|^2\alpha_j^{-2}`
is minimal at :math:`\alpha_j = (\|W^{(2)}_j\| / \|W^{(1)}_j\|)^{1/2}` — Equation (98).
For deeper sequential MLPs we apply (98) to every consecutive pair from the first layer on (each pair
is a block of the deep network, Section 3.6). Lemma 27's three-layer form (parallel blocks) scales the
three norms of block :math:`j` to their geometric mean: :func:`equalising_scales`.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_poly.nn.relu_network import linear_layers

__all__ = ["balance_", "equalising_scales", "optimal_scales"]


def optimal_scales(w_in: torch.Tensor, w_out: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Equation (98): ``alpha_j = sqrt(||w_out[:, j]|| / ||w_in[j]||)`` (1 where either norm is 0).

    Args:
        w_in: ``(m, d)`` weights of the layer into the neurons.
        w_out: ``(k, m)`` weights of the layer out of them.
        eps: norms at most this count as 0.

    Example:
        >>> optimal_scales(torch.tensor([[3.0, 4.0]]), torch.tensor([[20.0]])).tolist()
        [2.0]
    """
    if w_in.ndim != 2 or w_out.ndim != 2 or w_out.shape[1] != w_in.shape[0]:
        raise ValueError(
            f"expected `w_in` (m, d) and `w_out` (k, m) of consecutive layers, got {tuple(w_in.shape)} and {tuple(w_out.shape)}"
        )
    n_in, n_out = w_in.norm(dim=1), w_out.norm(dim=0)
    ok = (n_in > eps) & (n_out > eps)
    return torch.where(ok, (n_out / n_in.clamp_min(eps)).sqrt(), torch.ones_like(n_in))


def equalising_scales(
    n1: torch.Tensor, n2: torch.Tensor, n3: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lemma 27: scales with product 1 that make the three norms of each block equal (AM-GM optimum).

    Args:
        n1: norms of the first factor of each block.
        n2: norms of the second factor.
        n3: norms of the third factor.

    Example:
        >>> a = equalising_scales(torch.tensor([1.0]), torch.tensor([8.0]), torch.tensor([27.0]))
        >>> [round(float(x), 4) for x in a], round(float(a[0] * a[1] * a[2]), 6)
        ([6.0, 0.75, 0.2222], 1.0)
    """
    if not n1.shape == n2.shape == n3.shape:
        raise ValueError(
            f"`n1`, `n2` and `n3` must have one shape, got {tuple(n1.shape)}, {tuple(n2.shape)}, {tuple(n3.shape)}"
        )
    for name, n in (("n1", n1), ("n2", n2), ("n3", n3)):
        bad = int((~(torch.isfinite(n) & (n > 0))).sum())
        if bad:
            raise ValueError(f"`{name}` must hold finite norms > 0, got {bad} of {n.numel()} entries <= 0 or NaN/inf")
    g = (n1 * n2 * n3) ** (1 / 3)
    return g / n1, g / n2, g / n3


@torch.no_grad()
def balance_(model: nn.Module) -> list[torch.Tensor]:
    """Rescale every consecutive pair of layers of a ReLU MLP in place by Equation (98).

    Args:
        model: a ReLU MLP (changed in place).

    Returns:
        The scales applied to each hidden layer. The network function is unchanged.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> x = torch.randn(5, 2)
        >>> before = net(x)
        >>> _ = balance_(net)
        >>> torch.allclose(before, net(x), atol=1e-6)
        True
        >>> torch.allclose(net[0].weight.norm(dim=1), net[2].weight.norm(dim=0), atol=1e-6)
        True
    """
    layers = linear_layers(model)
    scales = []
    for lin, nxt in zip(layers[:-1], layers[1:]):
        a = optimal_scales(lin.weight, nxt.weight)
        lin.weight.mul_(a[:, None])
        if lin.bias is not None:
            lin.bias.mul_(a)
        nxt.weight.div_(a[None, :])
        scales.append(a)
    return scales
