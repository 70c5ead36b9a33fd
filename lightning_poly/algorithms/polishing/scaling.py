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

__all__ = ["balance_", "equalising_scales", "neuron_norms", "normalise_neurons", "optimal_scales"]


def neuron_norms(weight: torch.Tensor, p: int = 2) -> torch.Tensor:
    r""":math:`\|w_j\|_p` of every neuron (row of ``weight``, flattened for a filter bank ``(m, C, kh, kw)``).

    Example:
        >>> neuron_norms(torch.tensor([[3.0, -4.0]]), 1).tolist()
        [7.0]
    """
    if p not in (1, 2):
        raise ValueError(f"`p` must be one of (1, 2), got {p!r}")
    return weight.detach().flatten(1).norm(p=p, dim=1)


def normalise_neurons(
    weight: torch.Tensor, bias: torch.Tensor | None, p: int = 2
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""Section 4.1 step 3's normalisation :math:`\|w_j\|_p = 1` (the bias scaled with its neuron; a neuron with
    :math:`w_j = 0` is left as it is). ReLU is positively homogeneous, so only the scale changes.

    Example:
        >>> w, b = normalise_neurons(torch.tensor([[3.0, 4.0]]), torch.tensor([10.0]))
        >>> w.tolist(), b.tolist()
        ([[0.6000000238418579, 0.800000011920929]], [2.0])
    """
    norms = neuron_norms(weight, p)
    scale = torch.where(norms > 0, 1 / norms.clamp_min(1e-300), torch.ones_like(norms))
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return weight * scale.reshape(shape), None if bias is None else bias * scale


def optimal_scales(w_in: torch.Tensor, w_out: torch.Tensor, eps: float = 1e-12, p: int = 2) -> torch.Tensor:
    """Equation (98): ``alpha_j = sqrt(||w_out[:, j]||_p / ||w_in[j]||_p)`` (1 where either norm is 0).

    Args:
        w_in: ``(m, d)`` weights of the layer into the neurons.
        w_out: ``(k, m)`` weights of the layer out of them.
        eps: norms at most this count as 0.
        p: the norm of problem (2).

    Example:
        >>> optimal_scales(torch.tensor([[3.0, 4.0]]), torch.tensor([[20.0]])).tolist()
        [2.0]
    """
    if w_in.ndim != 2 or w_out.ndim != 2 or w_out.shape[1] != w_in.shape[0]:
        raise ValueError(
            f"expected `w_in` (m, d) and `w_out` (k, m) of consecutive layers, got {tuple(w_in.shape)} and {tuple(w_out.shape)}"
        )
    n_in, n_out = w_in.norm(p=p, dim=1), w_out.norm(p=p, dim=0)
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
def balance_(model: nn.Module, p: int = 2) -> list[torch.Tensor]:
    """Rescale every consecutive pair of layers of a ReLU MLP in place by Equation (98).

    Args:
        model: a ReLU MLP (changed in place).
        p: the norm of problem (2) (1 or 2).

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
        a = optimal_scales(lin.weight, nxt.weight, p=p)
        lin.weight.mul_(a[:, None])
        if lin.bias is not None:
            lin.bias.mul_(a)
        nxt.weight.div_(a[None, :])
        scales.append(a)
    return scales
