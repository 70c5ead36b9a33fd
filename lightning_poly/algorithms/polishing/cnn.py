r"""Polish a CNN: polish its convolutional filters, then refit its last layer convexly (Section 4.1, Figure 9a).

The network is any piecewise-linear one that :func:`~lightning_poly.geometry.pwl_regions` traces (``Conv2d``,
pools, eval ``BatchNorm``, ReLU, reshapes, ``Linear``, ...; other layers are refused by name) whose forward
returns the output of a ``Linear`` layer, its head. :func:`polish_cnn` polishes the chosen ``Conv2d``
layers (default the first) on the patches of what reaches them (:func:`~lightning_poly.algorithms.polish_conv2d`),
then refits the head.

Reading chosen for the refit. Figure 9a's experiment "re-train[s] the second-layer weights while first layer
weights are fixed via convex optimization" on a four-layer CNN (conv, conv, dense 512, dense output). Its
second layer is a convolution followed by a ReLU, a dense ReLU layer and the output layer: with every other
layer fixed, the loss in its weights is not convex, so it cannot be re-trained "via convex optimization".
Already one unit shows it: with the layers after it fixed, the squared loss of :math:`\mathrm{relu}(w) - 1`
is 1 at :math:`w = -1` and at :math:`w = 0` but 0 at :math:`w = 1`, above its chord at 0. The one layer
whose weights enter the output affinely once the others are fixed is the last one: the output is
:math:`H V + c` with :math:`H` the penultimate features, and :math:`\ell(HV + c, y) + \lambda \|V\|^2` is
convex (:func:`~lightning_poly.solvers.refit_last_layer` solves it to a certified optimum). The paper's
two-layer experiments say the same step as "re-optimize the final layer weights" (Figure 9b), where the
second layer is the last one; step 4 of the procedure reads "optimize the weights of the following
layer(s)". So the polished layers and every layer between them and the head stay fixed, and the head is
refitted; :func:`~lightning_poly.algorithms.polish_network` takes the same reading for deep MLPs (tested:
only the polished layers and the head change, and the head is the convex optimum on the new features).

No rescaling follows (Equation (98) pairs consecutive ``Linear`` layers of an MLP; polishing keeps every
filter's norm). Features are computed in eval mode (``BatchNorm`` by its running statistics), as the
model is scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch
from torch import nn

from lightning_poly._validation import check_finite, check_int
from lightning_poly.algorithms.polishing.conv import ConvPolishReport, polish_conv2d
from lightning_poly.algorithms.polishing.evaluation import PolishEvaluation, evaluation_data, scored_polish
from lightning_poly.algorithms.polishing.head import copy_into, head_objective, refit_head
from lightning_poly.algorithms.polishing.scaling import neuron_norms, normalise_neurons
from lightning_poly.geometry._pwl_trace import PWLGraph
from lightning_poly.geometry.pwl_regions import pwl_activation_patterns
from lightning_poly.nn.outputs import eval_mode, module_device, module_outputs
from lightning_poly.solvers.refit import RefitLoss, RefitPenalty, check_refit_loss, check_refit_penalty

__all__ = ["cnn_layers", "polish_cnn", "polish_cnn_and_evaluate"]


def cnn_layers(
    model: nn.Module, x: torch.Tensor | None = None
) -> tuple[list[tuple[str, nn.Conv2d]], tuple[str, nn.Linear]]:
    """The ``Conv2d`` layers a CNN applies (in the order of its forward) and its head, from a ``torch.fx`` trace.

    Args:
        model: the network.
        x: a batch of inputs as the model takes them; if given, the model is run on (up to 64 of) them and
            checked against its trace (:func:`~lightning_poly.geometry.pwl_activation_patterns`).

    Returns:
        ``([(name, conv), ...], (name, head))``.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: if the model is not piecewise linear (the layer or function named), applies no ``Conv2d``,
            calls a polished layer or the head twice, or does not return the output of a ``Linear`` layer;
            or if ``x`` is not what the model takes.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1))
        >>> convs, head = cnn_layers(net, torch.zeros(5, 1, 4, 4))
        >>> [name for name, _ in convs], head[0]
        (['0'], '3')
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be an nn.Module, got {type(model).__name__}")
    with eval_mode(model):
        graph = PWLGraph(model, module_device(model))  # refuses what is not piecewise linear, by name
        if x is not None:
            pwl_activation_patterns(model, x[:64])
    calls = [n for n in graph.nodes if n.op == "call_module" and n in graph.path]
    uses = Counter(str(n.target) for n in calls)
    convs = [(str(n.target), model.get_submodule(str(n.target))) for n in calls]
    convs = [(name, m) for name, m in convs if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(
            f"`model` ({type(model).__name__}) applies no Conv2d to its input; polish an MLP with polish_network"
        )
    out = graph.output
    head = model.get_submodule(str(out.target)) if out is not None and out.op == "call_module" else None
    if out is None or not isinstance(head, nn.Linear):
        what = f"layer {out.target!r} ({type(head).__name__})" if head is not None else f"graph node {out.name!r}"
        raise ValueError(
            f"`model`'s forward must return the output of a Linear layer (the head the convex refit solves for), "
            f"it returns that of {what}"
        )
    for name, _ in [*convs, (str(out.target), head)]:
        if uses[name] > 1:
            raise ValueError(f"`model` calls layer {name!r} {uses[name]} times; polishing needs each layer once")
    return convs, (str(out.target), head)  # type: ignore[return-value]


@torch.no_grad()
def _layer_inputs(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What reaches ``layer`` when ``model`` runs on ``x`` in eval mode (a hook on the layer's input)."""
    got: list[torch.Tensor] = []
    handle = layer.register_forward_pre_hook(lambda mod, args: got.append(args[0].detach()))
    try:
        module_outputs(model, x)
    finally:
        handle.remove()
    return torch.cat(got)


@torch.no_grad()
def polish_cnn(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    layers: Sequence[int] = (0,),
    loss: RefitLoss = "squared",
    l2: float | None = None,
    max_patches: int = 100_000,
    seed: int = 0,
    chunk_size: int | None = None,
    *,
    refit_penalty: RefitPenalty = "l1",
    weight_decay: float | None = None,
    p: int = 2,
) -> ConvPolishReport:
    """Polish ``Conv2d`` ``layers`` of a CNN in place, then refit its head by convex optimisation.

    See the module docstring for the networks taken and the reading of the refit.

    Args:
        model: the CNN (changed in place).
        x: training inputs as the model takes them, e.g. ``(n, C, H, W)``.
        y: training targets (labels for logistic / cross-entropy).
        layers: indices of ``Conv2d`` layers to polish, in the order of the forward (default the first).
        loss: the refit loss (see :func:`~lightning_poly.solvers.refit_last_layer`).
        l2: ridge weight of the refit (``refit_penalty="ridge"`` only; default 1e-6).
        max_patches: patches each layer's filters choose from (see :func:`~lightning_poly.algorithms.polish_conv2d`).
        seed: seed of the patch sample.
        chunk_size: filters per batch of :func:`~lightning_poly.algorithms.polish_layer` (``None``: its default).
        refit_penalty: ``"l1"`` (default: polished filters normalised to :math:`\\|w\\|_p = 1`, the head refitted by the
            weighted Lasso of :mod:`lightning_poly.solvers.refit`, its columns weighted by the incoming norms of the
            head's input neurons when a ``Linear`` layer feeds it, else 1) or ``"ridge"`` (the earlier refit).
        weight_decay: :math:`\beta` of the ``"l1"`` refit (default 1e-6; an error with ``"ridge"``).
        p: the norm of problem (2) for ``"l1"`` (1 or 2).

    Raises:
        ValueError: what :func:`cnn_layers` raises, layer indices out of range, targets that do not fit
            the head or the loss (all before the model changes), and what
            :func:`~lightning_poly.algorithms.polish_conv2d` raises.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 1))
        >>> x = torch.randn(40, 1, 4, 4); y = (x.mean((1, 2, 3)) > 0).long()
        >>> rep = polish_cnn(net, x, y, loss="logistic")
        >>> rep.names, rep.head, tuple(rep.results[0].positions.shape), rep.grad_norm < 1e-6
        (['0'], '3', (3, 9, 3), True)
    """
    convs, (head_name, head) = cnn_layers(model, x)
    for l in layers:
        if not 0 <= l < len(convs):
            raise ValueError(f"`layers` must be Conv2d layer indices in 0..{len(convs) - 1}, got {l}")
    check_finite("y", y)
    if len(y) != len(x):
        raise ValueError(f"`y` must have one target per point of `x`, got {len(y)} for {len(x)} points")
    check_refit_loss(loss, head.out_features, y)
    reg = check_refit_penalty(refit_penalty, l2, weight_decay, p)
    check_int("max_patches", max_patches, minimum=2)
    check_int("seed", seed)
    feeder = _feeding_linear(model, head)
    col = (lambda: None) if feeder is None or reg.penalty == "ridge" else (lambda: neuron_norms(feeder.weight, reg.p))
    before = head_objective(head, _layer_inputs(model, head, x), y, loss, reg, col())
    chosen = sorted(set(layers))
    report = ConvPolishReport(chosen, [convs[l][0] for l in chosen], head_name, objective_before=before)
    for l in chosen:
        conv = convs[l][1]
        res = polish_conv2d(conv, _layer_inputs(model, conv, x), max_patches, seed, chunk_size)
        weight, bias = res.weight, res.bias
        if reg.penalty == "l1":  # Section 4.1 step 3: ||w||_p = 1
            weight, bias = normalise_neurons(weight, bias, reg.p)
        copy_into(conv, weight, bias)
        report.results.append(res)
    fit = refit_head(head, _layer_inputs(model, head, x), y, loss, reg, col())
    report.objective_after, report.grad_norm, report.gap = fit
    return report


def _feeding_linear(model: nn.Module, head: nn.Linear) -> nn.Linear | None:
    """The ``Linear`` layer whose neurons (after a ReLU) feed ``head``, if the head's input comes from one."""
    prev = None
    for m in model.modules():
        if m is head:
            return prev if isinstance(prev, nn.Linear) and prev.out_features == head.in_features else None
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            prev = m
    return None


def polish_cnn_and_evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eval_x: torch.Tensor | None = None,
    eval_y: torch.Tensor | None = None,
    *,
    layers: Sequence[int] = (0,),
    loss: RefitLoss = "squared",
    l2: float | None = None,
    max_patches: int = 100_000,
    seed: int = 0,
    network: nn.Module | None = None,
    refit_penalty: RefitPenalty = "l1",
    weight_decay: float | None = None,
    p: int = 2,
) -> PolishEvaluation:
    """Polish the CNN inside ``model`` in place (:func:`polish_cnn`) and score the model's own forward before
    and after, as :func:`~lightning_poly.algorithms.polish_and_evaluate` does for MLPs.

    Args:
        model: any module whose forward is the CNN's (changed in place).
        x: training inputs of the polish and the refit.
        y: training targets.
        eval_x: inputs the model is scored on; ``None``: the training inputs.
        eval_y: their targets; ``None``: the training targets.
        layers: indices of ``Conv2d`` layers to polish.
        loss: the refit loss.
        l2: ridge weight of the refit.
        max_patches: patches each layer's filters choose from.
        seed: seed of the patch sample.
        network: the CNN inside ``model`` to polish; ``None``: ``model`` itself.

    Raises:
        ValueError: if only one of ``eval_x`` and ``eval_y`` is given or their lengths differ, and what
            :func:`polish_cnn` raises (before anything changes).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 1))
        >>> x = torch.randn(40, 1, 4, 4); y = (x.mean((1, 2, 3)) > 0).long()
        >>> ev = polish_cnn_and_evaluate(net, x, y, loss="logistic")
        >>> ev.after["loss"] <= ev.before["loss"], ev.n_samples
        (True, 40)
    """
    ex, ey = evaluation_data(x, y, eval_x, eval_y)
    net = model if network is None else network
    check_refit_loss(loss, cnn_layers(net)[1][1].out_features, y)  # before the model is scored
    check_refit_penalty(refit_penalty, l2, weight_decay, p)
    return scored_polish(
        model, ex, ey, loss,
        lambda: polish_cnn(net, x, y, layers, loss, l2, max_patches, seed, refit_penalty=refit_penalty,
                           weight_decay=weight_decay, p=p),
    )  # fmt: skip
