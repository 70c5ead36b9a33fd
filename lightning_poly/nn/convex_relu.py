r"""The Pilanci–Ergen convex ReLU network: weights :math:`u_i, u'_i` per activation pattern.

:math:`f(x) = \sum_i \mathbf 1[\langle \tilde x, g_i\rangle > 0]\, \langle \tilde x, u_i - u'_i\rangle`, where gate
:math:`g_i` generates pattern :math:`D_i` on the training data. On the training data it equals the
ReLU network :math:`\sum_i (\tilde x^\top u_i)_+ - (\tilde x^\top u'_i)_+` exactly when the cone constraints
:math:`(2D_i - I)\tilde X u_i \ge 0`, :math:`(2D_i - I)\tilde X u'_i \ge 0` hold (:meth:`ConvexReLU.cone_violation`).
"""

from __future__ import annotations

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._validation import check_finite
from lightning_poly.nn.homogeneous import augment

__all__ = ["ConvexReLU"]


class ConvexReLU(nn.Module):
    """Convex ReLU network over ``P`` gates ``(P, d~)``.

    Args:
        gates: ``(P, d)`` or ``(P, d~)`` one gate per activation pattern.
        bias: augment inputs with a constant 1.

    Example:
        >>> net = ConvexReLU(torch.tensor([[1.0, 0.0]]), bias=False)
        >>> with torch.no_grad():
        ...     _ = net.u.copy_(torch.tensor([[2.0, 0.0]]))
        >>> net(torch.tensor([[1.0, 5.0], [-1.0, 0.0]])).tolist(), abs(float(net.cone_violation(torch.tensor([[1.0, 5.0]]))))
        ([2.0, 0.0], 0.0)
    """

    def __init__(self, gates: torch.Tensor, bias: bool = True) -> None:
        super().__init__()
        if gates.ndim != 2 or bool((gates.abs().sum(dim=1) == 0).any()):
            raise ValueError(f"`gates` must be (P, d) non-zero rows, got shape {tuple(gates.shape)}")
        check_finite("gates", gates)
        self.bias = bool(bias)
        self.register_buffer("gates", gates.detach().clone().double())
        self.u = nn.Parameter(torch.zeros_like(self.gates))
        self.u_neg = nn.Parameter(torch.zeros_like(self.gates))

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xt = augment(x.double(), self.bias)
        mask = (xt @ self.gates.T > 0).double()
        return (mask * (xt @ (self.u - self.u_neg).T)).sum(dim=1)

    def cone_violation(self, x: torch.Tensor) -> torch.Tensor:
        """Largest violation of the cone constraints on ``x`` (0 when all hold)."""
        xt = augment(x.double(), self.bias)
        sign = 2 * (xt @ self.gates.T > 0).double() - 1
        viol = torch.relu(-torch.cat([sign * (xt @ self.u.T), sign * (xt @ self.u_neg.T)], dim=1))
        return viol.max() if viol.numel() else torch.zeros(())
