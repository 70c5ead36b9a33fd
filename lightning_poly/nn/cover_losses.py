r"""Losses of the polytope-basis-covers paper: MSE with an output ReLU (13), BCE with a sigmoid (14) and
the class-weighted BCE (12).

Reading chosen: the paper defines :math:`\ell(N, y) = N y + (1 - N)(1 - y)` and the BCE loss as
:math:`-\frac1n\sum \ell(\mathrm{SIG}(N(x_i)), y_i)`; as printed, :math:`\ell` is the likelihood, not its
logarithm, and its negative mean is not the binary cross entropy the text names. We use the
log-likelihood :math:`y \log p + (1 - y)\log(1 - p)`, i.e. the standard BCE on the logits
:math:`N(x)` (numerically stable through ``binary_cross_entropy_with_logits``). In (12) the class means
are taken over the classes present in the batch (a class absent from a minibatch contributes 0).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from lightning_poly._validation import check_choice, check_positive

__all__ = ["CoverLoss", "cover_loss"]

CoverLoss = Literal["bce", "mse", "weighted_bce"]


def cover_loss(
    out: torch.Tensor, y: torch.Tensor, loss: CoverLoss = "bce", class_weights: tuple[float, float] = (1.0, 10.0)
) -> torch.Tensor:
    """Loss (12), (13) or (14) of outputs ``out`` (``(n,)`` or ``(n, 1)``) against labels in ``{0, 1}``.

    Args:
        out: ``(n,)`` or ``(n, 1)`` outputs.
        y: labels in ``{0, 1}`` (or ``{-1, +1}``).
        loss: ``"bce"`` (14), ``"mse"`` (13) or ``"weighted_bce"`` (12).
        class_weights: :math:`(\\lambda_0, \\lambda_1)` of (12).

    Example:
        >>> out = torch.tensor([5.0, -5.0])
        >>> y = torch.tensor([1, 0])
        >>> round(float(cover_loss(out, y, "bce")), 4), float(cover_loss(torch.tensor([1.0, -2.0]), y, "mse"))
        (0.0067, 0.0)
    """
    check_choice("loss", loss, ("bce", "mse", "weighted_bce"))
    out = out.reshape(-1)
    t = (y.reshape(-1) > 0).to(out.dtype)
    if len(out) != len(t):
        raise ValueError(f"`out` and `y` must have one entry per sample, got {len(out)} and {len(t)}")
    if loss == "mse":  # (13): 1/(2n) sum (sigma(N(x)) - y)^2
        return 0.5 * (torch.relu(out) - t).pow(2).mean()
    per = F.binary_cross_entropy_with_logits(out, t, reduction="none")
    if loss == "bce":  # (14)
        return per.mean()
    lam0, lam1 = (check_positive("class_weights[i]", float(v), strict=False) for v in class_weights)
    pos, neg = t > 0, t <= 0
    total = out.new_zeros(())
    if bool(pos.any()):
        total = total + lam1 * per[pos].mean()
    if bool(neg.any()):
        total = total + lam0 * per[neg].mean()
    return total
