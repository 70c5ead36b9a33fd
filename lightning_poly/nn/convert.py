r"""Conversions between standard and gated two-layer ReLU networks (NTK-convex paper, Theorem 3.1).

* standard → gated: :math:`\sum_j a_j (w_j^\top \tilde x)_+ = \sum_j \langle \tilde x, a_j w_j\rangle
  \mathbf 1[\langle \tilde x, w_j\rangle > 0]`: gates :math:`v_j = w_j`, exact for every input;
* gated → standard with :math:`2m` neurons: :math:`\langle \tilde x, w\rangle \mathbf 1[\langle \tilde x, v\rangle>0]
  = (\tilde x^\top(w + \alpha v))_+ - (\alpha\, \tilde x^\top v)_+` whenever
  :math:`\alpha > |\tilde x^\top w| / |\tilde x^\top v|`; choosing :math:`\alpha` from the training points
  makes it exact on them (it needs :math:`\tilde x_i^\top v_j \ne 0`, checked).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lightning_poly._validation import check_points
from lightning_poly.nn.gated import GatedReLU
from lightning_poly.nn.homogeneous import augment
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["gated_to_relu", "relu_to_gated"]


@torch.no_grad()
def relu_to_gated(model: nn.Module) -> GatedReLU:
    """Exact gated twin of a two-layer ReLU MLP ``Linear(d, m) -> ReLU -> Linear(m, k)`` (the output
    bias, if any, is kept as a constant gate-free term by an extra always-on neuron).

    Args:
        model: a two-layer ReLU MLP.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
        >>> x = torch.randn(7, 3)
        >>> torch.allclose(relu_to_gated(net)(x), net(x), atol=1e-5)
        True
    """
    lins = linear_layers(model)
    if len(lins) != 2:
        raise ValueError(f"relu_to_gated needs a two-layer network, got {len(lins)} linear layers")
    first, last = lins
    w = torch.cat(
        [first.weight, (first.bias if first.bias is not None else torch.zeros(first.out_features))[:, None]], 1
    )
    k, m = last.weight.shape
    gates, weights = w, last.weight[:, :, None] * w[None]  # (k, m, d+1)
    if last.bias is not None:
        # an extra neuron with gate e_{d+1} (always on: the augmented coordinate is 1) carries the bias
        e = torch.zeros(1, w.shape[1])
        e[0, -1] = 1.0
        gates = torch.cat([gates, e])
        weights = torch.cat([weights, (last.bias[:, None, None] * e[None])], 1)
    net = GatedReLU(gates, out_features=k, bias=True)
    net.weight.copy_(weights)
    return net


@torch.no_grad()
def gated_to_relu(gated: GatedReLU, x_train: torch.Tensor, margin: float = 2.0) -> nn.Sequential:
    """A standard two-layer ReLU network with ``2m`` neurons that equals ``gated`` on ``x_train``.

    Args:
        gated: the gated network.
        x_train: ``(n, d)`` points on which the two agree.
        margin: scale of the construction's bias shift (larger: more robust to rounding).

    Raises:
        ValueError: if some training point lies on a gate's hyperplane (then no finite network of
            this form matches it there).

    Example:
        >>> g = GatedReLU(torch.randn(4, 3), bias=True)
        >>> _ = g.weight.data.normal_()
        >>> x = torch.randn(20, 2)
        >>> torch.allclose(gated_to_relu(g, x)(x), g(x), atol=1e-4)
        True
    """
    if not isinstance(gated, GatedReLU):
        raise TypeError(f"`gated` must be a GatedReLU, got {type(gated).__name__}")
    check_points("x_train", x_train, gated.gates.shape[1] - int(gated.bias))
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 1):
        raise ValueError(f"`margin` must be a finite number >= 1 (the conversion is exact only then), got {margin!r}")
    xt = augment(x_train.double(), gated.bias)
    v = gated.gates.double()
    w = gated.weight.double() * gated.rho.double()[None, :, None]  # (k, m, d~)
    k, m, dg = w.shape
    sv = xt @ v.T  # (n, m)
    # points on (or within rounding of) a gate's hyperplane: alpha would be infinite or huge
    on = sv.abs() <= 1e-9 * xt.norm(dim=1, keepdim=True) * v.norm(dim=1)[None, :]
    if bool(on.any()):
        bad = int(on.any(dim=0).nonzero()[0])
        raise ValueError(
            f"{int(on.sum())} (point, gate) pairs lie on a gate's hyperplane (first: gate {bad}); no 2m-neuron "
            "network matches the gated one there (data gates pass through training points: use other gates)"
        )
    sw = torch.einsum("nd,kmd->nkm", xt, w).abs()
    alpha = margin * (sw / sv.abs()[:, None, :]).amax(dim=(0, 1)).clamp_min(1e-12)  # (m,)
    # neurons (output c, gate j): w + alpha v with weight +1, alpha v with weight -1
    pos = (w + alpha[None, :, None] * v[None]).reshape(k * m, dg)
    neg = (alpha[:, None] * v).repeat(k, 1)
    hidden = torch.cat([pos, neg])  # (2km, d~)
    block = torch.kron(torch.eye(k, dtype=torch.float64), torch.ones(1, m, dtype=torch.float64))  # (k, k m)
    out = torch.cat([block, -block], dim=1)
    d = dg - int(gated.bias)
    net = nn.Sequential(
        nn.Linear(d, 2 * k * m, bias=gated.bias), nn.ReLU(), nn.Linear(2 * k * m, k, bias=False)
    ).double()
    net[0].weight.copy_(hidden[:, :d])
    if gated.bias:
        net[0].bias.copy_(hidden[:, -1])
    net[2].weight.copy_(out)
    return net.to(gated.weight.dtype)
