"""Find a model's ReLU network, and check that it is what the model computes.

Analysis callbacks (face histograms, activation drift, polishing) work on a *ReLU MLP*: an
``nn.Sequential`` that alternates ``nn.Linear`` and ``nn.ReLU`` and ends with a ``nn.Linear``.
:func:`find_relu_network` finds it in a model as the user wrote it, in this order:

1. a named submodule (``name="net"``, dotted paths allowed);
2. the model's ``relu_network()`` method (the :class:`HasReLUNetwork` protocol:
   :class:`~lightning_poly.nn.ReLUMLP` and :class:`~lightning_poly.modules.ReLUMLPModule` have one);
3. the model itself, if it is such an ``nn.Sequential``;
4. the unique such ``nn.Sequential`` among its submodules (e.g. ``self.net = nn.Sequential(...)``).

A claim is checked, not trusted: :func:`check_network_is_model` refuses a network whose parameters
are not the model's own tensors (callbacks that change weights must change the model) or whose
output differs from the model's ``forward`` (e.g. a ``forward`` that applies ``tanh``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from lightning_poly.nn.outputs import eval_mode

__all__ = ["HasReLUNetwork", "check_network_is_model", "find_relu_network", "get_relu_network", "linear_layers"]

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

    Args:
        model: a ReLU MLP.

    Example:
        >>> from torch import nn
        >>> [l.out_features for l in linear_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))]
        [3, 1]
    """
    return [m for m in get_relu_network(model) if isinstance(m, nn.Linear)]


def find_relu_network(model: nn.Module, name: str | None = None) -> nn.Sequential:
    """The ReLU MLP inside ``model`` (see the module docstring for the order of the search).

    Args:
        model: any ``nn.Module`` (e.g. a user's ``LightningModule``).
        name: the submodule that holds the network (``"net"``, ``"encoder.mlp"``); ``None`` searches.

    Returns:
        The ``nn.Sequential`` itself (not a copy).

    Raises:
        TypeError: if no supported network is found, if several are and ``name`` is not given, or
            if the named one holds an unsupported layer (the message names it).

    Example:
        >>> class Classifier(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        ...     def forward(self, x):
        ...         return self.net(x)
        >>> m = Classifier()
        >>> find_relu_network(m) is m.net
        True
        >>> find_relu_network(m, "head")
        Traceback (most recent call last):
        ...
        TypeError: `network` names no submodule of Classifier: got 'head'; submodules: ['net']
    """
    if name is not None:
        try:
            sub = model.get_submodule(name)
        except AttributeError:
            names = [n for n, _ in model.named_children()]
            raise TypeError(
                f"`network` names no submodule of {type(model).__name__}: got {name!r}; submodules: {names}"
            ) from None
        return get_relu_network(sub)
    if isinstance(model, HasReLUNetwork | nn.Sequential):
        return get_relu_network(model)
    found: list[tuple[str, nn.Sequential]] = []
    for sub_name, sub in model.named_modules():
        if sub is model or not isinstance(sub, nn.Sequential | HasReLUNetwork):
            continue
        try:
            net = get_relu_network(sub)
        except TypeError:
            continue
        if all(net is not f for _, f in found):
            found.append((sub_name, net))
    if len(found) == 1:
        return found[0][1]
    if not found:
        kinds = list(
            dict.fromkeys(type(m).__name__ for m in model.modules() if m is not model and not list(m.children()))
        )
        raise TypeError(
            f"{type(model).__name__} holds no ReLU MLP (an nn.Sequential of {_SUPPORTED}); its layers are, in "
            f"order, {kinds}; name the network with `network=`, or define `relu_network()` (a callback that "
            "takes `input_shape=` analyses other piecewise-linear networks such as CNNs that way)"
        )
    raise TypeError(
        f"{type(model).__name__} holds several ReLU MLPs {[n for n, _ in found]}; choose one with `network=`"
    )


@torch.no_grad()
def check_network_is_model(
    model: nn.Module,
    net: nn.Module,
    x: torch.Tensor,
    rtol: float = 1e-4,
    own_tensors: bool = True,
    input_shape: tuple[int, ...] | None = None,
) -> None:
    """Check that ``net`` is ``model``'s own network and computes ``model``'s output on ``x``.

    Args:
        model: the model (its ``forward`` is called on ``x``).
        net: the ReLU MLP found in it (fed ``x.flatten(1)``), or with ``input_shape`` any network (a CNN) fed
            ``x`` in batches of that shape.
        x: a batch of inputs as the model takes them.
        rtol: relative tolerance of the comparison, on the scale of the outputs.
        own_tensors: require the network's parameters to be the model's own (for callbacks that change
            weights); read-only analysis may take a derived network, e.g. a module's export of itself,
            as long as it computes the forward.
        input_shape: a point's shape for a network that is not a ReLU MLP; ``None``: a ReLU MLP.

    Raises:
        TypeError: if a parameter of ``net`` is not a parameter of ``model`` (a copy), or if the
            model's output differs from the network's (e.g. another activation in ``forward``).

    Example:
        >>> import copy
        >>> class M(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        ...     def forward(self, x):
        ...         return torch.tanh(self.net(x))
        >>> m = M()
        >>> check_network_is_model(m, copy.deepcopy(m.net), torch.randn(5, 2))
        Traceback (most recent call last):
        ...
        TypeError: the network's parameters are not the model's own tensors (a copy?): callbacks would change the copy, not M
        >>> check_network_is_model(m, m.net, 3 * torch.ones(5, 2) + torch.arange(5.0)[:, None])
        Traceback (most recent call last):
        ...
        TypeError: M's forward differs from its ReLU network: largest difference ... on 5 inputs; the analysis would describe a network the model does not compute
    """
    own = {id(p) for p in model.parameters()}
    if own_tensors and any(id(p) not in own for p in net.parameters()):
        raise TypeError(
            f"the network's parameters are not the model's own tensors (a copy?): callbacks would change the copy, not {type(model).__name__}"
        )
    what = "ReLU network" if input_shape is None else "network"
    with eval_mode(model):
        out = model(x)
        fed = x.flatten(1) if input_shape is None else x.reshape(-1, *input_shape)
        ref = net(fed.to(next(net.parameters())))
    if not isinstance(out, torch.Tensor) or out.numel() != ref.numel():
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(
            f"{type(model).__name__}'s forward returns {got}, but its {what} returns {tuple(ref.shape)} on the same inputs"
        )
    diff = float((out.reshape(ref.shape).to(ref) - ref).abs().max())
    scale = float(ref.abs().max()) + 1.0
    if not diff <= rtol * scale:
        raise TypeError(
            f"{type(model).__name__}'s forward differs from its {what}: largest difference {diff:.3g} on "
            f"{len(x)} inputs; the analysis would describe a network the model does not compute"
        )


@torch.no_grad()
def write_shallow_weights(
    first: nn.Linear, second: nn.Linear, weight: torch.Tensor, output_bias: float | torch.Tensor
) -> None:
    """Write a shallow network's first layer ``weight`` (``(m, d + 1)``, bias last: program (3)'s layout) and the
    output bias into ``first`` and ``second`` in place (dtype and device of the layers)."""
    first.weight.copy_(weight[:, :-1].to(first.weight))
    first.bias.copy_(weight[:, -1].to(first.bias))
    second.bias.copy_(torch.as_tensor(output_bias).reshape(1).to(second.bias))
