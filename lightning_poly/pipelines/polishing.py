r"""Recipes of the wedge-products paper's experiments: train a ReLU MLP with a ``Trainer``, then polish it.

* :func:`compare_to_optimum` (Figure 8): full-batch SGD with weight decay on a two-layer network, the
  same network polished (:func:`~lightning_poly.algorithms.polish_network`), and certified bounds on the global
  optimum of the same objective :math:`J = \text{MSE} + \beta\|\theta\|^2`: the wedge Lasso's value
  (:func:`~lightning_poly.solvers.wedge_lasso`, Theorem 3, p = 2: an upper bound) and the exact p = 1 program
  (:func:`~lightning_poly.solvers.exact_l1.l1_network_optimum`, Theorem 16: a lower bound, and the optimum of
  the ℓ1 objective);
* :func:`train_and_polish` (Figures 9-10, Section 7.1): train on a data module, then
  :class:`~lightning_poly.callbacks.PolishingCallback` polishes the first layer and refits the last at
  fit end; the monitored metric before and after, and (Figure 10(b)) the cosines between the trained
  neurons and the training samples before polishing
  (:func:`~lightning_poly.algorithms.neuron_sample_cosines`).

:class:`MLPTraining` holds the options of the one fit both run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from typing_extensions import override

from lightning_poly._compat import Callback
from lightning_poly._validation import check_choice, check_int_tuple, check_positive
from lightning_poly.algorithms.polishing.layer import neuron_sample_cosines
from lightning_poly.algorithms.polishing.mlp import polish_network
from lightning_poly.callbacks.polishing import Monitor, PolishingCallback
from lightning_poly.datamodules.arrays import ArrayDataModule
from lightning_poly.datamodules.tensor import TensorDataModule
from lightning_poly.modules.mlp import LossName, OptimizerName, ReLUMLPModule
from lightning_poly.nn.relu_network import find_relu_network, linear_layers
from lightning_poly.pipelines.training import FitOptions, quiet_trainer
from lightning_poly.solvers.exact_l1 import l1_network_optimum
from lightning_poly.solvers.refit import RefitPenalty
from lightning_poly.solvers.wedge_lasso import two_layer_objective, wedge_lasso

__all__ = [
    "SPIRAL_TRAINING",
    "MLPTraining",
    "OptimumComparison",
    "PolishedTraining",
    "compare_to_optimum",
    "train_and_polish",
]


@dataclass(frozen=True)
class MLPTraining(FitOptions):
    """Options of one :class:`~lightning_poly.modules.ReLUMLPModule` fit (the defaults: Section 7.1's nets).

    Args:
        hidden: hidden widths.
        loss: the module's loss (``"bce"``, ``"cross_entropy"`` or ``"mse"``).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: learning rate.
        momentum: SGD's momentum.
        weight_decay: the optimiser's weight decay.
        epochs: training epochs.
        seed: seed of everything before the module is built (its initialisation, the data order).
        trainer_kwargs: further ``Trainer`` arguments (:func:`~lightning_poly.pipelines.quiet_trainer`).

    Example:
        >>> MLPTraining(hidden=(32,), loss="mse").module(13).hparams.hidden
        (32,)
    """

    hidden: Sequence[int] = (256,)
    loss: LossName = "bce"
    optimizer: OptimizerName = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "hidden", check_int_tuple("hidden", self.hidden))
        check_choice("loss", self.loss, ("bce", "cross_entropy", "mse"))
        check_choice("optimizer", self.optimizer, ("adam", "adamw", "sgd"))
        check_positive("momentum", self.momentum, strict=False)
        check_positive("weight_decay", self.weight_decay, strict=False)

    def module(self, input_dim: int) -> ReLUMLPModule:
        """The module these options train (one output)."""
        return ReLUMLPModule(
            input_dim=input_dim, hidden=self.hidden, loss=self.loss, optimizer=self.optimizer, lr=self.lr,
            momentum=self.momentum, weight_decay=self.weight_decay,
        )  # fmt: skip


def _fit(
    datamodule: pl.LightningDataModule, input_dim: int, training: MLPTraining, callbacks: Sequence[Any] = ()
) -> ReLUMLPModule:
    """Seed everything, build the module, fit it with :func:`quiet_trainer`."""
    pl.seed_everything(training.seed, verbose=False)
    module = training.module(input_dim)
    quiet_trainer(training.epochs, callbacks, **training.trainer_kwargs).fit(module, datamodule)
    return module


@dataclass
class OptimumComparison:
    r"""What :func:`compare_to_optimum` found: the objectives of SGD and polishing beside certified bounds.

    :math:`J = \text{MSE} + \beta\sum_j(\|w_j\|_2^2 + v_j^2)` (weight decay, p = 2) and
    :math:`J_1 = \text{MSE} + \beta\sum_j(\|w_j\|_1^2 + v_j^2)` (problem (2) with p = 1), biases unpenalised,
    both after balancing (eq. (98)). For every network :math:`J_1 \ge J \ge \text{MSE} + \frac{2\beta}{\sqrt d}
    \sum_j\|w_j\|_1|v_j|`, so the exact p = 1 program (Theorem 16) bounds :math:`J`'s optimum :math:`p^*` from
    both sides: ``lower_bound <= p* <= min(upper_bound, l1_optimum)``.

    Attributes:
        sgd: :math:`J` of the trained network.
        polished: :math:`J` of the same network polished (p = 2, the paper's refit with weight decay :math:`2\beta`).
        upper_bound: the wedge Lasso's value (Theorem 3 / 15, p = 2 dictionary): :math:`J` of a feasible network,
            an upper bound on :math:`p^*`, ε-optimal under local ε-dispersion.
        upper_bound_neurons: neurons of that network (weights above ``1e-6`` of the largest).
        lower_bound: a certified lower bound on :math:`p^*`: the largest of the dual of Theorem 16's Lasso with
            weight :math:`2\beta/\sqrt d` and Theorem 3's ``upper_bound / (1 + epsilon)`` (when ε ≤ 1/2);
            ``None`` unless ``d = 2``.
        epsilon: the data's local dispersion (Definition 2; ``None`` unless ``d = 2``).
        l1_optimum: the certified optimum of :math:`J_1` (Theorem 16, gap ``l1_gap``); ``None`` unless ``d = 2``.
        l1_gap: its certified duality gap.
        sgd_l1: :math:`J_1` of the trained network (≥ ``l1_optimum - l1_gap``).
        polished_l1: :math:`J_1` of the trained network polished with p = 1 (unit ℓ1 neurons, the ℓ1 refit).
        networks: ``"sgd"``, ``"polished"``, ``"polished_l1"``, ``"upper_bound"`` and (``d = 2``) ``"l1_optimum"``:
            float64 networks.
    """

    sgd: float
    polished: float
    upper_bound: float
    upper_bound_neurons: int
    lower_bound: float | None
    epsilon: float | None
    l1_optimum: float | None
    l1_gap: float | None
    sgd_l1: float
    polished_l1: float
    networks: dict[str, nn.Sequential]


SPIRAL_TRAINING = MLPTraining(hidden=(50,), loss="mse", optimizer="sgd", lr=0.05, momentum=0.9, epochs=2000)
"""Figure 8's fit: a two-layer network of 50 neurons, squared loss, SGD lr 0.05 with momentum 0.9, 2000 epochs."""


def compare_to_optimum(
    x: torch.Tensor, y: torch.Tensor, beta: float, training: MLPTraining = SPIRAL_TRAINING
) -> OptimumComparison:
    r"""Figure 8: :math:`J` of SGD and of SGD followed by polishing, against certified bounds on the optimum.

    The network is trained full batch with the optimiser's weight decay :math:`2\beta` (the gradient of
    :math:`\beta\|\theta\|^2`, replacing ``training.weight_decay``) on the squared loss; a copy is polished
    (:func:`~lightning_poly.algorithms.polish_network`: first layer polished, unit neurons, last layer refitted by
    the paper's weighted Lasso of :math:`J`, weight decay :math:`2\beta`), and a copy polished with p = 1. The
    bounds of :class:`OptimumComparison`: the wedge Lasso (p = 2, an upper bound), and, in the plane, the exact
    p = 1 program (:func:`~lightning_poly.solvers.exact_l1.l1_network_optimum`, Theorem 16): the certified optimum
    of :math:`J_1` and a certified lower bound on :math:`J`'s optimum.

    Args:
        x: ``(n, d)`` inputs (small: the Lasso has one column per pair of points in the plane).
        y: ``(n,)`` real targets (e.g. labels in ``{-1, +1}``).
        beta: weight decay :math:`\beta > 0` of :math:`J`.
        training: the fit (default :data:`SPIRAL_TRAINING`); one hidden layer and ``loss="mse"``.

    Returns:
        The objectives, the bounds and the networks.

    Example:
        >>> from lightning_poly.data import spiral
        >>> x, y = spiral(12, seed=0, signed=True)
        >>> r = compare_to_optimum(x, y.double(), 1e-3, replace(SPIRAL_TRAINING, hidden=(8,), epochs=5))
        >>> r.lower_bound <= min(r.sgd, r.polished, r.upper_bound), r.l1_optimum - r.l1_gap <= r.sgd_l1
        (True, True)
    """
    check_positive("beta", beta)
    if len(training.hidden) != 1 or training.loss != "mse":
        raise ValueError(
            f"`training` must be a two-layer network with loss='mse', got hidden={training.hidden}, loss={training.loss!r}"
        )
    training = replace(training, weight_decay=2 * beta)
    target = y.double()
    xd = x.double()
    dm = ArrayDataModule(x, target, task="regression", val_fraction=0.0, batch_size=0, seed=training.seed)
    net = copy.deepcopy(_fit(dm, x.shape[1], training).model.net).double()
    polished, polished_l1 = copy.deepcopy(net), copy.deepcopy(net)
    polish_network(polished, xd, target, loss="squared", weight_decay=2 * beta)  # the paper's refit of J
    polish_network(polished_l1, xd, target, loss="squared", weight_decay=2 * beta, p=1)  # and of J_1
    lasso = wedge_lasso(x, target, beta)
    z = abs(lasso.z)
    networks = {"sgd": net, "polished": polished, "polished_l1": polished_l1, "upper_bound": lasso.network()}
    lower = l1_opt = l1_gap = None
    if x.shape[1] == 2:
        exact = l1_network_optimum(xd, target, beta=2 * beta)
        l1_opt, l1_gap, networks["l1_optimum"] = exact.objective, exact.gap, exact.network
        lower = l1_network_optimum(xd, target, beta=2 * beta / x.shape[1] ** 0.5).dual
        lower = max(lower, lasso.lower_bound) if lasso.lower_bound is not None else lower
    return OptimumComparison(
        two_layer_objective(net, x, target, beta), two_layer_objective(polished, x, target, beta), lasso.objective,
        int((z > 1e-6 * z.max()).sum()), lower, lasso.epsilon, l1_opt, l1_gap,
        two_layer_objective(net, x, target, beta, p=1), two_layer_objective(polished_l1, x, target, beta, p=1),
        networks,
    )  # fmt: skip


@dataclass
class PolishedTraining:
    """What :func:`train_and_polish` found.

    Attributes:
        module: the trained and polished module.
        before: the monitored metric of the module's forward before polishing.
        after: the same after polishing and the refit.
        objective_after: the refit's objective after polishing.
        cosines: ``(n, m)`` :math:`|\\cos|` between the training samples and the first layer's neurons
            before polishing (Figure 10(b)), when asked for.
        seconds: wall time of the fit (polishing included).
    """

    module: ReLUMLPModule
    before: float
    after: float
    objective_after: float
    cosines: torch.Tensor | None
    seconds: float


class _FirstLayerAtTrainEnd(Callback):
    """Keeps a copy of the first layer's weight and bias at the end of training (before fit-end polishing)."""

    def __init__(self) -> None:
        self.layer: tuple[torch.Tensor, torch.Tensor | None] | None = None

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        lin = linear_layers(find_relu_network(pl_module))[0]
        self.layer = (lin.weight.detach().cpu().clone(), None if lin.bias is None else lin.bias.detach().cpu().clone())


def train_and_polish(
    datamodule: TensorDataModule,
    input_dim: int,
    training: MLPTraining,
    monitor: Monitor = "val_loss",
    max_samples: int | None = 20_000,
    cosines: bool = False,
    refit_weight_decay: float = 1e-6,
    refit_penalty: RefitPenalty = "l1",
) -> PolishedTraining:
    """Train on ``datamodule``, then polish the first layer and refit the last at fit end, keeping the result.

    :class:`~lightning_poly.callbacks.PolishingCallback` with ``accept="always"``, so that ``before`` and
    ``after`` measure polishing itself (Figures 9 and 10(a)).

    Args:
        datamodule: the data (its ``train_tensors()`` are the samples of the cosines).
        input_dim: input features.
        training: the fit.
        monitor: the metric compared before and after (``val_loss``, ``val_acc``, ``train_loss``, ``train_acc``).
        max_samples: the polishing callback reads at most this many samples.
        cosines: also return the cosines of Figure 10(b).
        refit_weight_decay: :math:`\\beta` of the paper's refit (``PolishingCallback(weight_decay=...)``).

    Returns:
        The module, the metric before and after, the refit's objective, the cosines and the wall time.

    Example:
        >>> from lightning_poly.data import two_moons
        >>> x, y = two_moons(200, seed=0)
        >>> dm = ArrayDataModule(x, y, val_fraction=0.25, batch_size=50)
        >>> run = train_and_polish(dm, 2, MLPTraining(hidden=(16,), lr=1e-2, epochs=3), "val_acc", cosines=True)
        >>> run.cosines.shape, 0.0 <= run.after <= 1.0
        (torch.Size([150, 16]), True)
    """
    if not isinstance(training, MLPTraining):
        raise TypeError(f"`training` must be an MLPTraining, got {type(training).__name__}")
    polishing = PolishingCallback(
        accept="always",
        monitor=monitor,
        max_samples=max_samples,
        refit_penalty=refit_penalty,
        **({"weight_decay": refit_weight_decay} if refit_penalty == "l1" else {}),
    )
    layer = _FirstLayerAtTrainEnd()
    start = time.perf_counter()
    module = _fit(datamodule, input_dim, training, [layer, polishing])
    seconds = time.perf_counter() - start
    h = polishing.history[-1]
    cos = None
    if cosines:
        assert layer.layer is not None, "on_train_end ran"
        cos = neuron_sample_cosines(*layer.layer, datamodule.train_tensors()[0].flatten(1))
    return PolishedTraining(module, h["metric_before"], h["metric_after"], h["objective_after"], cos, seconds)
