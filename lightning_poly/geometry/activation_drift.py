r"""How many ReLU activations changed, and the empirical NTK's smallest eigenvalue (NTK-convex paper, Section 3).

Changing activation patterns are the only source of non-convexity of two-layer ReLU training: while
the patterns :math:`\mathbf 1[w_j^\top x_i + b_j > 0]` stay fixed, training is that of a gated
(convex) network. :func:`activation_drift` compares the patterns of a network on fixed points with
reference patterns (e.g. at the start of training) and with the previous measurement, and gives the
smallest eigenvalue :math:`\lambda_W` of the empirical NTK Gram matrix on the first points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_int
from lightning_poly.geometry.ntk_empirical import empirical_ntk
from lightning_poly.geometry.regions import activation_patterns

__all__ = ["ActivationDrift", "activation_drift"]


@dataclass
class ActivationDrift:
    """One measurement of :func:`activation_drift`.

    Attributes:
        patterns: ``(n, H)`` bool activation patterns of all hidden neurons now (on the CPU).
        changed_since_start: fraction of (point, neuron) activations that differ from the reference.
        changed_since_last: the same against the previous patterns.
        ntk_lambda_min: smallest eigenvalue of the empirical NTK on the first points (``None``: not computed).
    """

    patterns: torch.Tensor
    changed_since_start: float
    changed_since_last: float
    ntk_lambda_min: float | None = None

    def scalars(self) -> dict[str, float]:
        """The numbers measured, by name (what the drift callback logs)."""
        out = {"changed_since_start": self.changed_since_start, "changed_since_last": self.changed_since_last}
        if self.ntk_lambda_min is not None:
            out["ntk_lambda_min"] = self.ntk_lambda_min
        return out


def activation_drift(
    model: nn.Module,
    x: torch.Tensor,
    reference: torch.Tensor,
    previous: torch.Tensor | None = None,
    ntk_points: int = 128,
) -> ActivationDrift:
    """The activation patterns of ``model`` on ``x`` compared with ``reference`` and ``previous`` ones.

    Args:
        model: a ReLU MLP (see :func:`lightning_poly.nn.get_relu_network`).
        x: ``(n, d)`` the points, the same at every measurement.
        reference: ``(n, H)`` patterns of the same points to measure drift from (e.g. at fit start).
        previous: ``(n, H)`` patterns of the last measurement; ``None``: the reference.
        ntk_points: points of the empirical NTK (the first ones; ``0``: no NTK).

    Raises:
        ValueError: if ``reference`` or ``previous`` are not patterns of these points and neurons.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> x = torch.randn(10, 2)
        >>> start = activation_patterns(net, x)
        >>> with torch.no_grad():
        ...     _ = net[0].bias.add_(10.0)  # every neuron active everywhere
        >>> drift = activation_drift(net, x, start, ntk_points=0)
        >>> drift.changed_since_start == float((~start).double().mean()), drift.ntk_lambda_min
        (True, None)
    """
    check_int("ntk_points", ntk_points, minimum=0)
    pats = activation_patterns(model, x).cpu()
    for name, given in (("reference", reference), ("previous", previous)):
        if given is not None and (not isinstance(given, torch.Tensor) or given.shape != pats.shape):
            got = tuple(given.shape) if isinstance(given, torch.Tensor) else type(given).__name__
            raise ValueError(
                f"`{name}` must be the {tuple(pats.shape)} activation patterns of the same points, got {got}"
            )
    last = reference if previous is None else previous
    drift = ActivationDrift(
        pats,
        float((pats != reference.cpu()).double().mean()),
        float((pats != last.cpu()).double().mean()),
    )
    if ntk_points:
        h = empirical_ntk(model, x[:ntk_points].to(next(model.parameters()).dtype))
        drift.ntk_lambda_min = float(torch.linalg.eigvalsh(h).min())
    return drift
