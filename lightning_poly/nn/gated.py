r"""Convex (gated) two-layer ReLU networks (NTK-convex paper, Section 3; Mishkin et al. 2022).

A gated ReLU network decouples gates from weights:

.. math::
    f(x) = \sum_{j=1}^m \rho_j \, \langle \tilde x, w_j \rangle \, \mathbf 1[\langle \tilde x, v_j \rangle > 0],

with fixed gate vectors :math:`v_j` (a buffer), trainable weights :math:`w_j` and optional weights
:math:`\rho_j` (default 1). With ``bias=True`` inputs are augmented, :math:`\tilde x = (x, 1)`. Its
training loss is convex in :math:`W` for any convex loss. Vector outputs use ``W`` of shape
``(k, m, d~)``.
"""

from __future__ import annotations

import torch
from torch import nn
from typing_extensions import override

from lightning_poly._validation import check_finite, check_int
from lightning_poly.nn.homogeneous import augment

__all__ = ["GatedReLU"]


class GatedReLU(nn.Module):
    """Gated ReLU network with fixed gates ``V`` ``(m, d~)``.

    Args:
        gates: ``(m, d)`` gate vectors (``d + 1`` columns if ``bias`` and they include the bias part;
            ``d`` columns are padded with a zero bias gate).
        out_features: number of outputs ``k``.
        bias: augment inputs with a constant 1.
        rho: optional ``(m,)`` positive neuron weights (NTK paper's weighted networks).

    Raises:
        ValueError: for gates of the wrong shape, an all-zero gate or non-finite values.

    Example:
        >>> net = GatedReLU(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), bias=False)
        >>> with torch.no_grad():
        ...     _ = net.weight.copy_(torch.tensor([[[2.0, 0.0], [0.0, 3.0]]]))
        >>> net(torch.tensor([[1.0, -1.0]])).tolist()
        [[2.0]]
    """

    def __init__(
        self, gates: torch.Tensor, out_features: int = 1, bias: bool = True, rho: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        if gates.ndim != 2:
            raise ValueError(f"`gates` must have shape (m, d), got {tuple(gates.shape)}")
        check_finite("gates", gates)
        zero = (gates.abs().sum(dim=1) == 0).nonzero().flatten().tolist()
        if zero:
            raise ValueError(f"`gates` must be non-zero vectors; rows {zero[:5]} are all zero")
        check_int("out_features", out_features, minimum=1)
        self.bias = bool(bias)
        dtype = gates.dtype if gates.is_floating_point() else torch.get_default_dtype()
        self.register_buffer("gates", gates.detach().clone().to(dtype))
        m, dg = gates.shape
        self.weight = nn.Parameter(torch.zeros(out_features, m, dg, dtype=dtype))
        if rho is not None:
            if rho.shape != (m,) or bool((rho <= 0).any()):
                raise ValueError(f"`rho` must be ({m},) positive weights, got shape {tuple(rho.shape)}")
            self.register_buffer("rho", rho.detach().clone().to(dtype))
        else:
            self.register_buffer("rho", torch.ones(m, dtype=dtype))

    @property
    def n_gates(self) -> int:
        return int(self.gates.shape[0])

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        xt = augment(x, self.bias)
        if xt.shape[-1] != self.gates.shape[1]:
            raise ValueError(
                f"inputs must have {self.gates.shape[1] - int(self.bias)} features to match the gates, got {x.shape[-1]}"
            )
        return xt

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, m)`` gate pattern :math:`\\mathbf 1[\\langle \\tilde x, v_j \\rangle > 0]` as floats."""
        return (self._inputs(x) @ self.gates.to(x.dtype).T > 0).to(x.dtype)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xt = self._inputs(x)
        mask = (xt @ self.gates.to(xt.dtype).T > 0).to(xt.dtype) * self.rho.to(xt.dtype)  # (n, m)
        pre = torch.einsum("nd,kmd->nkm", xt, self.weight.to(xt.dtype))  # (n, k, m)
        return (pre * mask[:, None, :]).sum(dim=2)

    def group_norms(self) -> torch.Tensor:
        """``(m,)`` :math:`\\|w_j\\|_2` over outputs and features (the group-lasso groups)."""
        return self.weight.detach().pow(2).sum(dim=(0, 2)).sqrt()
