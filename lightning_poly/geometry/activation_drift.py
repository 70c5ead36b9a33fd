r"""How many ReLU activations changed, and the empirical NTK's smallest eigenvalue (NTK-convex paper, Section 3).

Changing activation patterns are the only source of non-convexity of two-layer ReLU training: while
the patterns :math:`\mathbf 1[w_j^\top x_i + b_j > 0]` stay fixed, training is that of a gated
(convex) network. :func:`activation_drift` compares the patterns of a network on fixed points with
reference patterns (e.g. at the start of training) and with the previous measurement, and gives the
smallest eigenvalue :math:`\lambda_W` of the empirical NTK Gram matrix on the first points.

Any piecewise-linear network that :func:`~lightning_poly.geometry.pwl_regions` traces (a CNN, a residual
block) is measured the same way: its pattern is the sign of every ReLU/LeakyReLU unit, and the choices of
its max pools, the other half of what fixes its linear region, are compared apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_int
from lightning_poly.geometry.network_view import is_relu_mlp
from lightning_poly.geometry.ntk_empirical import empirical_ntk
from lightning_poly.geometry.pwl_regions import pwl_activation_patterns
from lightning_poly.geometry.regions import activation_patterns

__all__ = ["ActivationDrift", "activation_drift", "network_patterns"]

Patterns = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class ActivationDrift:
    """One measurement of :func:`activation_drift`.

    Attributes:
        patterns: ``(n, H)`` bool activation patterns of all hidden neurons now (on the CPU).
        changed_since_start: fraction of (point, neuron) activations that differ from the reference.
        changed_since_last: the same against the previous patterns.
        ntk_lambda_min: smallest eigenvalue of the empirical NTK on the first points (``None``: not computed).
        pool_choices: ``(n, P)`` long max-pool choices now (on the CPU; ``None`` for a ReLU MLP).
        pool_changed_since_start: fraction of (point, max-pool output) choices that differ from the
            reference's (``None``: no max pool, or a reference without choices).
        pool_changed_since_last: the same against the previous choices.
    """

    patterns: torch.Tensor
    changed_since_start: float
    changed_since_last: float
    ntk_lambda_min: float | None = None
    pool_choices: torch.Tensor | None = None
    pool_changed_since_start: float | None = None
    pool_changed_since_last: float | None = None

    def scalars(self) -> dict[str, float]:
        """The numbers measured, by name (what the drift callback logs)."""
        out = {"changed_since_start": self.changed_since_start, "changed_since_last": self.changed_since_last}
        for name in ("ntk_lambda_min", "pool_changed_since_start", "pool_changed_since_last"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@torch.no_grad()
def network_patterns(model: nn.Module, x: torch.Tensor) -> Patterns:
    """The activation patterns :func:`activation_drift` compares: of a ReLU MLP
    (:func:`~lightning_poly.geometry.activation_patterns`, ``(n, H)`` bool), else of the piecewise-linear
    network (:func:`~lightning_poly.geometry.pwl_activation_patterns`: ``(patterns, pool_choices)``), on the CPU.

    Args:
        model: a ReLU MLP or a network that ``pwl_regions`` traces (in eval mode where it matters).
        x: ``(n, d)`` points of an MLP; ``(n, *shape)`` as the model takes them otherwise.

    Example:
        >>> net = nn.Sequential(nn.Conv1d(1, 1, 2), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten())
        >>> pats, choices = network_patterns(net, torch.randn(5, 1, 3))
        >>> pats.shape, choices.shape
        (torch.Size([5, 2]), torch.Size([5, 1]))
    """
    if is_relu_mlp(model):
        return activation_patterns(model, x).cpu()
    pats, choices = pwl_activation_patterns(model, x)
    return pats.cpu(), choices.cpu()


def _split(
    name: str, given: Patterns | None, pats: torch.Tensor, choices: torch.Tensor | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(patterns, choices or None)`` of a reference, checked against the shapes measured now."""
    if given is None:
        return None, None
    ref, ref_choices = given if isinstance(given, tuple | list) and len(given) == 2 else (given, None)
    for what, t, now in (("activation patterns", ref, pats), ("max-pool choices", ref_choices, choices)):
        if t is None and what != "activation patterns":
            continue
        if now is None or not isinstance(t, torch.Tensor) or t.shape != now.shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            want = "none (a ReLU MLP has no max pool)" if now is None else f"the {tuple(now.shape)} {what}"
            raise ValueError(f"`{name}` must hold {want} of the same points, got {got}")
    return ref.cpu(), None if ref_choices is None else ref_choices.cpu()


def _changed(now: torch.Tensor, before: torch.Tensor | None) -> float | None:
    """The fraction of entries that differ (``None`` without a reference; 0 for no entries)."""
    if before is None:
        return None
    return float((now != before).double().mean()) if now.numel() else 0.0


def activation_drift(
    model: nn.Module,
    x: torch.Tensor,
    reference: Patterns,
    previous: Patterns | None = None,
    ntk_points: int = 128,
) -> ActivationDrift:
    """The activation patterns of ``model`` on ``x`` compared with ``reference`` and ``previous`` ones.

    A ReLU MLP's pattern is that of its hidden neurons (:func:`~lightning_poly.geometry.activation_patterns`);
    any other network that :func:`~lightning_poly.geometry.pwl_regions` traces (a CNN) has the pattern of all
    its ReLU/LeakyReLU units and, reported apart, its max-pool choices
    (:func:`~lightning_poly.geometry.pwl_activation_patterns`; :func:`network_patterns` gives either kind).

    The empirical NTK (:func:`~lightning_poly.geometry.ntk_empirical.empirical_ntk`, of the first output) is
    defined for any network and is computed for CNNs too: its cost is ``ntk_points`` gradients of all
    parameters (``ntk_points x parameters`` floats, 128 x 61,706 for a LeNet-5); set ``ntk_points=0`` for
    large networks. The paper's reading of :math:`\\lambda_W` (a margin of the gated convex program) is for
    two-layer ReLU networks; for deeper networks and CNNs it is the conditioning of the linearised training.

    Args:
        model: a ReLU MLP (see :func:`lightning_poly.nn.get_relu_network`) or a piecewise-linear network (in
            eval mode where it matters: ``BatchNorm``, ``Dropout``).
        x: ``(n, d)`` points of an MLP, ``(n, *shape)`` as the model takes them otherwise; the same at every
            measurement.
        reference: patterns of the same points to measure drift from (e.g. at fit start): ``(n, H)`` bool, or
            ``(patterns, pool_choices)`` as :func:`network_patterns` returns them for a network with max pools
            (without the choices no max-pool drift is reported).
        previous: patterns of the last measurement, in the same form; ``None``: the reference.
        ntk_points: points of the empirical NTK (the first ones; ``0``: no NTK).

    Raises:
        ValueError: if ``reference`` or ``previous`` are not patterns (or max-pool choices) of these points
            and units, and for a network that ``pwl_regions`` refuses (the layer named).

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
        >>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 1))
        >>> images = torch.rand(8, 1, 4, 4)
        >>> start = network_patterns(cnn, images)  # (patterns, max-pool choices)
        >>> drift = activation_drift(cnn, images, start, ntk_points=4)
        >>> drift.changed_since_start, drift.pool_changed_since_start, drift.ntk_lambda_min >= -1e-6
        (0.0, 0.0, True)
    """
    check_int("ntk_points", ntk_points, minimum=0)
    now = network_patterns(model, x)
    pats, choices = now if isinstance(now, tuple) else (now, None)
    ref, ref_choices = _split("reference", reference, pats, choices)
    last, last_choices = _split("previous", previous, pats, choices)
    if previous is None:
        last, last_choices = ref, ref_choices
    since_start, since_last = _changed(pats, ref), _changed(pats, last)
    assert since_start is not None and since_last is not None, "the reference is checked above"
    drift = ActivationDrift(pats, since_start, since_last, pool_choices=choices)
    if choices is not None and choices.shape[1]:
        drift.pool_changed_since_start = _changed(choices, ref_choices)
        drift.pool_changed_since_last = _changed(choices, last_choices)
    if ntk_points:
        h = empirical_ntk(model, x[:ntk_points].to(next(model.parameters()).dtype))
        drift.ntk_lambda_min = float(torch.linalg.eigvalsh(h).min())
    return drift
