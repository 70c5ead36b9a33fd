"""What kind of network a geometry function is given, and what input it takes: the one place that decides it.

A **ReLU MLP** (an ``nn.Sequential`` of ``Linear``/``ReLU``, or a module exposing one through ``relu_network()``:
:func:`~lightning_poly.nn.get_relu_network`) has its regions from its activation patterns
(:mod:`~lightning_poly.geometry.regions`) and takes flat points of its ``in_features``. **Any other
piecewise-linear network** (a CNN, residual blocks) has them from a ``torch.fx`` trace
(:mod:`~lightning_poly.geometry.pwl_regions`) and takes points of a shape that must be known: given as
``input_shape`` (checked by a forward of one zero point of that shape), or read from sample points.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from lightning_poly._validation import check_int_tuple
from lightning_poly.nn.outputs import eval_mode
from lightning_poly.nn.relu_network import get_relu_network, linear_layers

__all__ = ["InputShapeNeeded", "NetworkView", "checked_input_shape", "is_relu_mlp", "network_view"]


class InputShapeNeeded(TypeError, ValueError):
    """A network that is not a ReLU MLP was given with nothing that tells a point's shape (a ``TypeError`` of the
    model given and a ``ValueError`` of the arguments missing: either ``except`` catches it)."""


class NetworkView(NamedTuple):
    """A network as the geometry sees it.

    Attributes:
        mlp: a ReLU MLP (rows from patterns); ``False``: a piecewise-linear network (rows from its trace).
        input_shape: a point's shape: ``(d,)`` for an MLP.
    """

    mlp: bool
    input_shape: tuple[int, ...]

    @property
    def dim(self) -> int:
        """``d``, the flattened input's size."""
        return math.prod(self.input_shape)


def is_relu_mlp(model: nn.Module) -> bool:
    """Whether ``model`` is a ReLU MLP as :func:`~lightning_poly.nn.get_relu_network` reads it.

    Example:
        >>> is_relu_mlp(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))), is_relu_mlp(nn.Conv1d(1, 1, 2))
        (True, False)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    try:
        get_relu_network(model)
    except TypeError:
        return False
    return True


@torch.no_grad()
def checked_input_shape(model: nn.Module, input_shape: object) -> tuple[int, ...]:
    """``input_shape`` as a tuple of ints, once ``model`` has taken a batch of one zero point of that shape."""
    shape = check_int_tuple("input_shape", input_shape)  # type: ignore[arg-type]
    param = next(model.parameters(), None)
    point = torch.zeros(1, *shape, dtype=param.dtype if param is not None else torch.float32)
    try:
        with eval_mode(model):
            model(point.to(param.device) if param is not None else point)
    except RuntimeError as err:
        raise ValueError(
            f"`input_shape` {shape} is not a shape {type(model).__name__} takes (a batch (1, *input_shape) fails: {err})"
        ) from err
    return shape


def network_view(
    model: nn.Module,
    input_shape: tuple[int, ...] | None = None,
    points: torch.Tensor | None = None,
    *,
    needs: str = "`input_shape` or points of the shape it takes",
) -> NetworkView:
    """How a geometry function reads ``model``: a ReLU MLP of flat points, or a piecewise-linear network of points
    of ``input_shape`` (checked by the model's forward) or of the shape of the batch ``points`` (``(n, *shape)``).

    Args:
        model: the network.
        input_shape: a point's shape, for a network that is not a ReLU MLP (ignored for an MLP).
        points: a batch of points as the model takes them, ``(n, *shape)``, or ``None``.
        needs: what the caller's user should give when neither tells the shape (in the error).

    Raises:
        InputShapeNeeded: for a network that is not a ReLU MLP with neither ``input_shape`` nor ``points``.
        ValueError: for an ``input_shape`` the model does not take.

    Example:
        >>> network_view(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)))
        NetworkView(mlp=True, input_shape=(3,))
        >>> network_view(nn.Sequential(nn.Conv1d(1, 1, 2), nn.Flatten()), points=torch.zeros(5, 1, 4))
        NetworkView(mlp=False, input_shape=(1, 4))
    """
    if is_relu_mlp(model):
        return NetworkView(True, (linear_layers(model)[0].in_features,))
    if input_shape is not None:
        return NetworkView(False, checked_input_shape(model, input_shape))
    if points is not None and points.ndim >= 2:
        return NetworkView(False, tuple(int(s) for s in points.shape[1:]))
    try:
        get_relu_network(model)
        reason = "not a ReLU MLP"  # (not reached: is_relu_mlp said no)
    except TypeError as err:
        reason = str(err)
    raise InputShapeNeeded(f"{reason}; a network that is not a ReLU MLP ({type(model).__name__}) needs {needs}")
