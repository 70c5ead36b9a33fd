r"""One way to train one polytope with a Lightning ``Trainer`` (polytope-basis-covers paper, (10)-(14)).

Every recipe of :mod:`lightning_poly.pipelines` trains its polytopes through :func:`fit_polytope`: a
:class:`~lightning_poly.modules.PolytopeCoverModule` with one piece, on the points to cover (label 1)
and the points to keep out (label 0), optionally with :class:`~lightning_poly.callbacks.CompressionCallback`
(Algorithm 2's fine-tuning). :class:`PolytopeTraining` holds the options of that one fit, and
:func:`quiet_trainer` builds the inner ``Trainer`` (no logger, checkpoints, progress bar or summary).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from lightning_poly._validation import check_choice, check_fraction, check_int, check_points, check_positive
from lightning_poly.callbacks.compression import CompressionCallback
from lightning_poly.datamodules.arrays import ArrayDataModule
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.modules.network import NetworkModule, NetworkOptimizer
from lightning_poly.modules.polytope_cover import PolytopeCoverModule
from lightning_poly.solvers.losses import ModuleLoss

__all__ = [
    "CompressionFitOptions",
    "FitOptions",
    "FittedPolytope",
    "PolytopeTraining",
    "fit_polytope",
    "quiet_lightning",
    "quiet_trainer",
    "train_network",
]

# warnings an inner fit raises on every call and that say nothing about the recipe
_KNOWN_WARNINGS = (
    r".*does not have many workers.*",  # in-memory tensors need no workers
    r".*Total length of .* across ranks is zero.*",  # the inner fits have no validation set
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",  # torch's pytree against Lightning's
)


def quiet_lightning() -> None:
    """Silence what every inner fit prints: Lightning's info lines, and the known warnings above (by message).

    For scripts that run many short fits (the paper reproductions); other warnings still show.
    """
    for message in _KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet_trainer(max_epochs: int, callbacks: Sequence[Any] = (), **overrides: Any) -> pl.Trainer:
    """The ``Trainer`` of a recipe's inner fit: no logger, checkpoints, progress bar or model summary; one device.

    Args:
        max_epochs: epochs of the fit.
        callbacks: its callbacks.
        overrides: any other ``Trainer`` argument (e.g. ``accelerator="cpu"``), replacing the defaults.

    Example:
        >>> quiet_trainer(3).max_epochs
        3
    """
    check_int("max_epochs", max_epochs, minimum=1)
    kwargs: dict[str, Any] = {
        "max_epochs": max_epochs, "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
        "enable_model_summary": False, "accelerator": "auto", "devices": 1,
    }  # fmt: skip
    kwargs.update(overrides)
    return pl.Trainer(callbacks=list(callbacks), **kwargs)


def train_network(
    net: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    seed: int,
    lr: float = 1e-3,
    batch_size: int = 128,
    loss: ModuleLoss = "cross_entropy",
    optimizer: NetworkOptimizer = "adam",
    **trainer_kwargs: Any,
) -> float:
    """Train ``net`` in place on ``(x, y)`` with a :class:`~lightning_poly.modules.NetworkModule` and
    :func:`quiet_trainer` (on the CPU unless ``trainer_kwargs`` say otherwise): the data in an order drawn by
    ``seed``, everything seeded with it.

    Args:
        net: the network (its weights change in place).
        x: inputs, batched along the first dimension (images keep their shape).
        y: targets.
        epochs: training epochs.
        seed: seed of the order and of Lightning.
        lr: learning rate.
        batch_size: batch size (``0``: full batch).
        loss: the module's loss.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        trainer_kwargs: further ``Trainer`` arguments.

    Returns:
        The fit's wall time in seconds.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
        >>> train_network(net, torch.randn(8, 2), torch.randint(0, 2, (8,)), epochs=1, seed=0) > 0
        True
    """
    check_int("epochs", epochs, minimum=1)
    check_int("seed", seed, minimum=0)
    if "max_epochs" in trainer_kwargs:
        raise ValueError(f"`epochs` sets the fit's length; `max_epochs` is not a further Trainer argument, got "
                         f"max_epochs={trainer_kwargs['max_epochs']}")  # fmt: skip
    pl.seed_everything(seed, verbose=False)
    task = "regression" if loss == "mse" else "classification"
    data = ArrayDataModule(x, y, task=task, val_fraction=0.0, batch_size=batch_size, seed=seed)
    data.setup("fit")
    module = NetworkModule(net, loss=loss, lr=lr, optimizer=optimizer)
    start = time.perf_counter()
    quiet_trainer(epochs, **{"accelerator": "cpu", **trainer_kwargs}).fit(module, data.train_dataloader())
    return time.perf_counter() - start


@dataclass(frozen=True)
class FitOptions:
    """The options every recipe's ``Trainer`` fit shares (the base of :class:`PolytopeTraining`,
    :class:`~lightning_poly.pipelines.CoverTraining` and :class:`~lightning_poly.pipelines.MLPTraining`).

    Args:
        epochs: training epochs.
        lr: the optimiser's learning rate.
        seed: seed of everything before the module is built (its initialisation, the data order).
        trainer_kwargs: further ``Trainer`` arguments (:func:`quiet_trainer`).
    """

    epochs: int = 20
    lr: float = 1e-3
    seed: int = 0
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, minimum=1)
        check_positive("lr", self.lr)
        check_int("seed", self.seed, minimum=0)
        if not isinstance(self.trainer_kwargs, dict):
            raise TypeError(
                f"`trainer_kwargs` must be a dict of Trainer arguments, got {type(self.trainer_kwargs).__name__}"
            )


@dataclass(frozen=True)
class CompressionFitOptions(FitOptions):
    """:class:`FitOptions` plus what every polytope recipe's fit shares: the batch, :math:`\\lambda_\\text{bias}`
    and Algorithm 2's compression schedule (:class:`~lightning_poly.callbacks.CompressionCallback`).

    Args:
        batch_size: batch size (``0``: full batch).
        lam_bias: :math:`\\lambda` of (6)/(10): each polytope is :math:`\\{T = \\lambda\\}`.
        every_n_steps: compress every this many steps.
        lam_scale: :math:`\\lambda_\\text{scale} > 1` of Algorithm 1.
        start_fraction: fraction of the steps before compression starts: Algorithm 2 compresses a
            *pretrained* network, and compressing from the first steps freezes the polytope early.
    """

    batch_size: int = 0
    lam_bias: float = 5.0
    every_n_steps: int = 50
    lam_scale: float = 1.2
    start_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("batch_size", self.batch_size, minimum=0)
        check_positive("lam_bias", self.lam_bias)
        check_int("every_n_steps", self.every_n_steps, minimum=0)
        if not self.lam_scale > 1:
            raise ValueError(f"`lam_scale` must be > 1, got {self.lam_scale}")
        check_fraction("start_fraction", self.start_fraction, closed_right=True)


@dataclass(frozen=True)
class PolytopeTraining(CompressionFitOptions):
    """Options of one polytope's fit (:func:`fit_polytope`); the defaults are Algorithm 4's steps.

    Args:
        width: neurons of the piece, i.e. faces of the polytope before compression.
        epochs: training epochs.
        batch_size: batch size (``0``: full batch).
        lr: Adam's learning rate.
        seed: seed of the data order and the initialisation.
        loss: ``"weighted_bce"`` ((12) with ``class_weights``) or ``"bce"`` ((14)).
        class_weights: :math:`(\\lambda_0, \\lambda_1)` of (12); :math:`\\lambda_1` weights the points to cover.
        lam_bias: :math:`\\lambda_\\text{bias}` of (10): the polytope is :math:`\\{T = \\lambda_\\text{bias}\\}`.
        head: ``"piece"`` trains :math:`T^\\pm` of (10)-(11) as the paper does; ``"polytope"`` the same piece
            through :meth:`~lightning_poly.nn.CoverNetwork.polytope_logits` (the smooth limit of (10) at (7);
            see :class:`~lightning_poly.modules.PolytopeCoverModule`).
        beta: sharpness of the ``"polytope"`` head.
        hard_sign: keep the second-layer weights negative (5) by projection (needed by compression).
        compress: run :class:`~lightning_poly.callbacks.CompressionCallback` (Algorithm 2's fine-tuning)
            from ``start_fraction`` of the steps on.
        every_n_steps: compress every this many steps.
        lam_scale: :math:`\\lambda_\\text{scale}` of Algorithm 1.
        start_fraction: fraction of the steps before compression starts: Algorithm 2 compresses a
            *pretrained* network, and compressing from the first steps freezes the polytope early.
        trainer_kwargs: further ``Trainer`` arguments (:func:`quiet_trainer`).

    Example:
        >>> PolytopeTraining(width=6).epochs
        300
    """

    width: int = 2
    epochs: int = 300
    lr: float = 3e-2
    loss: Literal["weighted_bce", "bce"] = "weighted_bce"
    class_weights: tuple[float, float] = (1.0, 10.0)
    head: Literal["piece", "polytope"] = "piece"
    beta: float = 4.0
    hard_sign: bool = True
    compress: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("width", self.width, minimum=1)
        check_choice("loss", self.loss, ("weighted_bce", "bce"))
        check_choice("head", self.head, ("piece", "polytope"))
        if len(self.class_weights) != 2:
            raise ValueError(f"`class_weights` must be (lambda_0, lambda_1), got {tuple(self.class_weights)}")
        object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))
        check_positive("beta", self.beta)

    def module(self, input_dim: int) -> PolytopeCoverModule:
        """The one-piece :class:`~lightning_poly.modules.PolytopeCoverModule` these options train."""
        return PolytopeCoverModule(
            input_dim=input_dim, pieces=1, width=self.width, lam=self.lam_bias, loss=self.loss,
            class_weights=self.class_weights, head=self.head, hard_sign=self.hard_sign, lr=self.lr, seed=self.seed,
            beta=self.beta,
        )  # fmt: skip


@dataclass
class FittedPolytope:
    """What :func:`fit_polytope` trained.

    Attributes:
        module: the trained module (its network is ``module.cover_network()``).
        cover: the compression callback's one-polytope cover (Theorem 3.7) when ``compress`` was on, else ``None``.
        seconds: wall time of the fit.
    """

    module: PolytopeCoverModule
    cover: PolytopeBasisCover | None
    seconds: float


def check_training(training: PolytopeTraining | None) -> PolytopeTraining:
    """``training``, or the default :class:`PolytopeTraining` for ``None``; anything else is refused."""
    if training is None:
        return PolytopeTraining()
    if not isinstance(training, PolytopeTraining):
        raise TypeError(f"`training` must be a PolytopeTraining, got {type(training).__name__}")
    return training


def fit_polytope(x: torch.Tensor, target: torch.Tensor, training: PolytopeTraining) -> FittedPolytope:
    """Train one piece on ``(x, target)`` with a Lightning ``Trainer`` (``target > 0``: points to cover).

    Seeds everything with ``training.seed``, builds an :class:`~lightning_poly.datamodules.ArrayDataModule`
    without validation split and the module of :meth:`PolytopeTraining.module`, and fits it with
    :func:`quiet_trainer` (with :class:`~lightning_poly.callbacks.CompressionCallback` when
    ``training.compress``).

    Args:
        x: ``(n, d)`` points.
        target: ``(n,)`` labels; ``> 0`` marks the points the polytope must hold.
        training: the fit's options.

    Returns:
        The trained module, the cover when compressing, and the fit's wall time.

    Example:
        >>> x = torch.rand(64, 2) * 2 - 1
        >>> fit = fit_polytope(x, (x.abs() < 0.5).all(1).long(), PolytopeTraining(width=4, epochs=2))
        >>> len(fit.cover), fit.module.cover_network().w.shape[1]
        (1, 4)
    """
    training = check_training(training)
    module, callback, seconds = seeded_fit(x, target, training, training.module, training.compress)
    return FittedPolytope(module, None if callback is None else callback.cover, seconds)


def seeded_fit(
    x: torch.Tensor,
    target: torch.Tensor,
    options: CompressionFitOptions,
    module_of: Callable[[int], PolytopeCoverModule],
    compress: bool,
) -> tuple[PolytopeCoverModule, CompressionCallback | None, float]:
    """Seed everything, fit ``module_of(d)`` on ``(x, target > 0)`` with :func:`quiet_trainer`, time it.

    With ``compress``, :class:`~lightning_poly.callbacks.CompressionCallback` (Algorithm 2's fine-tuning)
    compresses every ``options.every_n_steps`` steps from ``options.start_fraction`` of the fit's steps on
    and finalises at fit end (no facet counts, no figure).

    Args:
        x: ``(n, d)`` points.
        target: ``(n,)`` labels; ``> 0`` is class 1.
        options: epochs, batch size, seed, compression schedule and ``Trainer`` arguments of the fit.
        module_of: builds the module from the input dimension (after seeding).
        compress: run the compression callback.

    Returns:
        ``(module, callback, seconds)``: the trained module, the compression callback (``None`` without
        compression) and the fit's wall time.
    """
    check_points("x", x)
    if target.shape != x.shape[:1]:
        raise ValueError(
            f"`target` must have one label per point of `x`, got {tuple(target.shape)} for {len(x)} points"
        )
    pl.seed_everything(options.seed, verbose=False)
    dm = ArrayDataModule(x, (target > 0).long(), val_fraction=0.0, batch_size=options.batch_size, seed=options.seed)
    module = module_of(x.shape[1])
    callback = None
    if compress:
        steps = options.epochs * (1 if options.batch_size == 0 else -(-len(x) // options.batch_size))
        callback = CompressionCallback(
            every_n_steps=options.every_n_steps, lam_scale=options.lam_scale, count_facets=False, plot=False,
            start_step=int(options.start_fraction * steps),
        )  # fmt: skip
    start = time.perf_counter()
    quiet_trainer(options.epochs, [] if callback is None else [callback], **options.trainer_kwargs).fit(module, dm)
    return module, callback, time.perf_counter() - start
