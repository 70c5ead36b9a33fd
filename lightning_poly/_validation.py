"""Argument checks shared by every public entry point.

Messages follow one pattern: the argument, what was allowed or expected, and the value received.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = [
    "check_choice",
    "check_finite",
    "check_finite_layers",
    "check_fraction",
    "check_int",
    "check_int_tuple",
    "check_points",
    "check_positive",
]


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``.

    Example:
        >>> check_choice("loss", "mse", ("mse", "bce"))
        'mse'
        >>> check_choice("loss", "l1", ("mse", "bce"))
        Traceback (most recent call last):
        ...
        ValueError: `loss` must be one of ('mse', 'bce'), got 'l1'
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}")
    return value


def check_positive(name: str, value: float, *, strict: bool = True) -> float:
    """Return ``value`` if it is a finite number > 0 (``>= 0`` when ``strict=False``).

    Example:
        >>> check_positive("lr", 0.1)
        0.1
        >>> check_positive("lr", 0)
        Traceback (most recent call last):
        ...
        ValueError: `lr` must be a finite number > 0, got 0
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if strict else value >= 0)
    if not ok:
        raise ValueError(f"`{name}` must be a finite number {'>' if strict else '>='} 0, got {value!r}")
    return value


def check_int(name: str, value: int, *, minimum: int = 0) -> int:
    """Return ``value`` if it is an ``int`` and ``>= minimum``.

    Example:
        >>> check_int("n_samples", 10, minimum=1)
        10
        >>> check_int("n_samples", 0, minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: `n_samples` must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return value


def check_int_tuple(name: str, values: Iterable[int], *, minimum: int = 1) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it holds at least one ``int``, each ``>= minimum`` (e.g. layer widths).

    Example:
        >>> check_int_tuple("hidden", [8, 4])
        (8, 4)
        >>> check_int_tuple("hidden", [8, 0])
        Traceback (most recent call last):
        ...
        ValueError: `hidden[1]` must be an integer >= 1, got 0
    """
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"`{name}` must be a tuple of integers >= {minimum}, got {values!r}")
    out = tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"`{name}` must hold at least one integer >= {minimum}, got none")
    return out


def check_fraction(name: str, value: float, *, closed_right: bool = False) -> float:
    """Return ``value`` if it lies in ``[0, 1)`` (``[0, 1]`` when ``closed_right``).

    Example:
        >>> check_fraction("val_fraction", 0.2)
        0.2
        >>> check_fraction("val_fraction", 1.0)
        Traceback (most recent call last):
        ...
        ValueError: `val_fraction` must lie in [0, 1), got 1.0
    """
    right = "]" if closed_right else ")"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and value >= 0 and (value <= 1 if closed_right else value < 1)
    if not ok:
        raise ValueError(f"`{name}` must lie in [0, 1{right}, got {value!r}")
    return value


def check_finite(name: str, x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` if it holds no NaN or infinity; otherwise say how many entries are bad.

    Example:
        >>> check_finite("x", torch.tensor([1.0, float("nan")]))
        Traceback (most recent call last):
        ...
        ValueError: `x` must be finite, got 1 NaN/inf entries out of 2
    """
    if (x.is_floating_point() or x.is_complex()) and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())  # counted only on failure: one pass on the way through
        raise ValueError(f"`{name}` must be finite, got {bad} NaN/inf entries out of {x.numel()}")
    return x


def check_points(name: str, x: torch.Tensor, d: int | None = None) -> torch.Tensor:
    """Return ``x`` if it is a finite tensor of ``n`` points ``(n, d)`` (any ``d`` when ``d`` is ``None``).

    Example:
        >>> check_points("x", torch.zeros(4, 3), d=2)
        Traceback (most recent call last):
        ...
        ValueError: `x` must have shape (n, 2), got (4, 3)
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or (d is not None and x.shape[1] != d):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"`{name}` must have shape (n, {'d' if d is None else d}), got {got}")
    return check_finite(name, x)


def check_finite_layers(name: str, layers: Iterable[torch.nn.Module]) -> None:
    """Refuse linear layers (in order) whose ``weight`` or ``bias`` holds NaN or infinity, naming the first.

    Example:
        >>> lin = torch.nn.Linear(2, 1)
        >>> with torch.no_grad():
        ...     _ = lin.bias.fill_(float("inf"))
        >>> check_finite_layers("model", [torch.nn.Linear(2, 2), lin])
        Traceback (most recent call last):
        ...
        ValueError: `model` must have finite weights, got 1 NaN/inf entries in the bias of linear layer 1
    """
    for i, layer in enumerate(layers):
        for what in ("weight", "bias"):
            p = getattr(layer, what, None)
            if isinstance(p, torch.Tensor) and p.is_floating_point():
                bad = int((~torch.isfinite(p.detach())).sum())
                if bad:
                    raise ValueError(
                        f"`{name}` must have finite weights, got {bad} NaN/inf entries in the {what} of linear layer {i}"
                    )
