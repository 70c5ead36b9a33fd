"""The one documented way a module exposes its ReLU network.

Analysis callbacks (face histograms, activation drift, polishing) work on a *ReLU MLP*: an
``nn.Sequential`` that alternates ``nn.Linear`` and ``nn.ReLU`` and ends with a ``nn.Linear``.
A model hands it over in one of two ways:

1. it *is* such an ``nn.Sequential``; or
2. it defines a method ``relu_network(self) -> nn.Sequential`` returning one (the
   :class:`HasReLUNetwork` protocol). :class:`~lightning_poly.nn.ReLUMLP` and
   :class:`~lightning_poly.modules.ReLUMLPModule` do; any user's ``LightningModule`` can too.

The returned layers must be the model's own (not copies), so callbacks that change weights
change the model in place.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import nn

__all__ = ["HasReLUNetwork", "get_relu_network", "linear_layers"]

_SUPPORTED = "nn.Linear and nn.ReLU (alternating, ending with nn.Linear); nn.Identity and nn.Flatten are skipped"


@runtime_checkable
class HasReLUNetwork(Protocol):
    """A module that exposes its ReLU MLP (see the module docstring)."""

    def relu_network(self) -> nn.Sequential:  # pragma: no cover - protocol
        ...


def get_relu_network(model: nn.Module) -> nn.Sequential:
    """Return the ReLU MLP of ``model`` after checking that every layer is supported.

    Args:
        model: an ``nn.Sequential`` of ``Linear``/``ReLU`` layers, or a module with a
            ``relu_network()`` method returning one.

    Returns:
        The ``nn.Sequential`` itself (not a copy).

    Raises:
        TypeError: if the model exposes no ReLU network, or a layer is not supported; the
            message names the layer and its position.

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> get_relu_network(net) is net
        True
        >>> get_relu_network(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
        Traceback (most recent call last):
        ...
        TypeError: layer 1 of the ReLU network is Tanh(), which is not supported; supported: nn.Linear and nn.ReLU (alternating, ending with nn.Linear); nn.Identity and nn.Flatten are skipped
    """
    if isinstance(model, HasReLUNetwork) and not isinstance(model, nn.Sequential):
        net = model.relu_network()
    elif isinstance(model, nn.Sequential):
        net = model
    else:
        raise TypeError(
            f"expected an nn.Sequential of Linear/ReLU layers or a module with a `relu_network()` "
            f"method, got {type(model).__name__}"
        )
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"`relu_network()` must return an nn.Sequential, got {type(net).__name__}")
    expect_linear = True
    for i, layer in enumerate(net):
        if isinstance(layer, nn.Identity | nn.Flatten):
            continue
        ok = isinstance(layer, nn.Linear) if expect_linear else isinstance(layer, nn.ReLU)
        if not ok:
            raise TypeError(
                f"layer {i} of the ReLU network is {layer}, which is not supported; supported: {_SUPPORTED}"
            )
        expect_linear = not expect_linear
    if expect_linear:
        raise TypeError("the ReLU network must end with an nn.Linear layer")
    return net


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """Return the ``nn.Linear`` layers of ``model``'s ReLU network in order.

    Example:
        >>> from torch import nn
        >>> [l.out_features for l in linear_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))]
        [3, 1]
    """
    return [m for m in get_relu_network(model) if isinstance(m, nn.Linear)]
