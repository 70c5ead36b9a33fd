r"""Algorithm 2 of the polytope-basis-covers paper: train the cover network (6), compress it, extract its cover.

The recipe behind ``examples/papers/polytope_covers.py`` (Section 4.1, Figures 4-5): a
:class:`~lightning_poly.modules.PolytopeCoverModule` of several pieces (the network (6), second-layer
signs kept negative (5) by projection) is trained with a Lightning ``Trainer``;
:class:`~lightning_poly.callbacks.CompressionCallback` runs the compressing algorithm (Algorithm 1) every
``every_n_steps`` steps from ``start_fraction`` of the fit on (Algorithm 2 compresses a *pretrained*
network) and the finalising loop at fit end; the cover is Theorem 3.7's, and
:func:`~lightning_poly.algorithms.prune_cover` then drops the polytopes and faces whose removal changes no
prediction on the data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_int_tuple
from lightning_poly.algorithms.covers.prune import prune_cover
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.modules.polytope_cover import PolytopeCoverModule
from lightning_poly.pipelines.training import CompressionFitOptions, seeded_fit

__all__ = ["CompressedCover", "CoverTraining", "compressed_cover"]


@dataclass(frozen=True)
class CoverTraining(CompressionFitOptions):
    r"""Options of Algorithm 2's fit (:func:`compressed_cover`); the defaults are the swiss roll's 2-320-16-1 start.

    Args:
        widths: neurons of each piece, i.e. faces of each polytope before compression.
        signs: sign of each piece (``+1``: a polytope P, ``-1``: a polytope Q); ``None``: all ``+1``.
        epochs: training epochs.
        batch_size: batch size (``0``: full batch).
        lr: the optimiser's learning rate.
        seed: seed of the data order and the initialisation.
        loss: ``"bce"`` ((14)) or ``"mse"`` on the network's output.
        optimizer: ``"adam"`` (our default) or ``"sgd"`` (plain gradient descent, the paper's Algorithm 2).
        hard_sign: keep :math:`v \le -10^{-6}` by projection after every step (our default: Adam breaks the
            implicit bias of (8)); ``False`` relies on initialisation (8) alone, as the paper.
        init_scale: scale of the first layer's initialisation (:class:`~lightning_poly.nn.CoverNetwork`).
        lam_bias: :math:`\lambda` of (6): each polytope is :math:`\{T_j = \lambda\}`.
        cosine: cosine-anneal the learning rate to 0 over the fit.
        every_n_steps: compress every this many steps (Algorithm 2's inner loop).
        lam_scale: :math:`\lambda_\text{scale} > 1` of Algorithm 1.
        start_fraction: fraction of the steps before compression starts.
        trainer_kwargs: further ``Trainer`` arguments (:func:`~lightning_poly.pipelines.quiet_trainer`).

    Example:
        >>> CoverTraining(widths=(6, 6), signs=(1, -1)).signs
        (1, -1)
    """

    widths: Sequence[int] = (20,) * 16
    signs: Sequence[int] | None = None
    epochs: int = 500
    batch_size: int = 100
    lr: float = 1e-2
    loss: Literal["bce", "mse"] = "bce"
    cosine: bool = True
    every_n_steps: int = 100
    optimizer: Literal["adam", "sgd"] = "adam"
    hard_sign: bool = True
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "widths", check_int_tuple("widths", self.widths))
        if self.signs is not None:
            if len(self.signs) != len(self.widths) or any(s not in (1, -1) for s in self.signs):
                raise ValueError(
                    f"`signs` must be one +1 or -1 per piece ({len(self.widths)}), got {tuple(self.signs)}"
                )
            object.__setattr__(self, "signs", tuple(int(s) for s in self.signs))
        check_choice("loss", self.loss, ("bce", "mse"))
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        if not isinstance(self.hard_sign, bool):
            raise TypeError(f"`hard_sign` must be a bool, got {type(self.hard_sign).__name__}")

    def module(self, input_dim: int) -> PolytopeCoverModule:
        """The :class:`~lightning_poly.modules.PolytopeCoverModule` of the network (6) these options train."""
        return PolytopeCoverModule(
            input_dim=input_dim, pieces=len(self.widths), width=list(self.widths), lam=self.lam_bias,
            signs=None if self.signs is None else list(self.signs), loss=self.loss, hard_sign=self.hard_sign,
            lr=self.lr, optimizer=self.optimizer, seed=self.seed, cosine=self.cosine, init_scale=self.init_scale,
        )  # fmt: skip


@dataclass
class CompressedCover:
    """What :func:`compressed_cover` found.

    Attributes:
        cover: the pruned cover (no prediction on the data differs from ``raw``'s).
        raw: the compression callback's cover (Theorem 3.7) before pruning.
        accuracy: the pruned cover's accuracy on the data.
        network_accuracy: the network's accuracy at the last compression before the finalising loop
            (NaN when compression never ran during training).
        module: the trained module.
        seconds: wall time of the fit and the pruning.
    """

    cover: PolytopeBasisCover
    raw: PolytopeBasisCover
    accuracy: float
    network_accuracy: float
    module: PolytopeCoverModule
    seconds: float


def compressed_cover(x: torch.Tensor, y: torch.Tensor, training: CoverTraining | None = None) -> CompressedCover:
    """Algorithm 2: train the cover network (6) with compression, take its cover, prune it on ``(x, y)``.

    Args:
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``; ``> 0`` is class 1).
        training: the fit's options (default :class:`CoverTraining`'s).

    Returns:
        The pruned and the raw cover, their accuracy figures, the module and the wall time.

    Example:
        >>> from lightning_poly.data import xor
        >>> x, y = xor(200, seed=0)
        >>> fit = compressed_cover(x, y, CoverTraining(widths=(3, 3), epochs=2))
        >>> fit.cover.architecture()[0], fit.accuracy == fit.cover.accuracy(x, y)
        (2, True)
    """
    if training is None:
        training = CoverTraining()
    if not isinstance(training, CoverTraining):
        raise TypeError(f"`training` must be a CoverTraining, got {type(training).__name__}")
    start = time.perf_counter()
    module, callback, _ = seeded_fit(x, y, training, training.module, compress=True)
    assert callback is not None and callback.cover is not None, "the compression callback finalised at fit end"
    pruned = prune_cover(callback.cover, x)
    network_accuracy = callback.history[-2]["network_accuracy"] if len(callback.history) > 1 else float("nan")
    return CompressedCover(
        pruned, callback.cover, pruned.accuracy(x, y), network_accuracy, module, time.perf_counter() - start
    )
