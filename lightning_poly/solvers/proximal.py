r"""A torch optimiser for the group-lasso penalty: FISTA with adaptive restarts.

Minimises :math:`f(W) + \lambda \sum_j \|W_{:, j, :}\|_2` for a parameter of shape ``(k, m, d)``
(groups along dimension 1: one group per gate/neuron), given gradients of the smooth part :math:`f`.
The parameter holds the extrapolated point where gradients are taken; ``state["x"]`` holds the
proximal iterate (sparse), exposed by :meth:`GroupFISTA.solution`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from typing_extensions import override

from lightning_poly._validation import check_positive

__all__ = ["GroupFISTA", "group_prox"]


def group_prox(w: torch.Tensor, threshold: float) -> torch.Tensor:
    """Group soft-thresholding along dimension 1 of a ``(k, m, d)`` tensor.

    Args:
        w: ``(k, m, d)`` weights.
        threshold: the shrinkage, :math:`t\\lambda` for a step :math:`t`.

    Example:
        >>> group_prox(torch.tensor([[[3.0, 4.0], [0.3, 0.4]]]), 1.0).tolist()
        [[[2.4000000953674316, 3.200000047683716], [0.0, 0.0]]]
    """
    norms = w.pow(2).sum(dim=(0, 2), keepdim=True).sqrt()
    return w * (1 - threshold / norms.clamp_min(1e-300)).clamp_min(0)


class GroupFISTA(torch.optim.Optimizer):
    """FISTA (Beck & Teboulle) with the gradient restart of O'Donoghue & Candès for group lasso.

    Args:
        params: parameters of shape ``(k, m, d)``.
        lr: step size (at most 1/L of the smooth part).
        lam: group-lasso weight.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-2, lam: float = 1e-3) -> None:
        check_positive("lr", lr)
        check_positive("lam", lam, strict=False)
        super().__init__(params, {"lr": lr, "lam": lam})

    @override
    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["x"], st["t"] = p.detach().clone(), 1.0
                x_prev, t = st["x"], st["t"]
                x_new = group_prox(p - group["lr"] * p.grad, group["lr"] * group["lam"])
                t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
                y = x_new + ((t - 1) / t_new) * (x_new - x_prev)
                if float(((y - x_new) * (x_new - x_prev)).sum()) > 0:  # restart
                    y, t_new = x_new.clone(), 1.0
                st["x"], st["t"] = x_new, t_new
                p.copy_(y)
        return loss

    def solution(self, p: torch.Tensor) -> torch.Tensor:
        """The proximal (sparse) iterate of parameter ``p`` (``p`` itself before the first step)."""
        return self.state[p]["x"] if "x" in self.state[p] else p.detach()
