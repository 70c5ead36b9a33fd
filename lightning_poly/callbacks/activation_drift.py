"""Log how many ReLU activations change during training, and the empirical NTK's smallest eigenvalue."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from typing_extensions import override

from lightning_poly._user import analysed_network, resolve_analysed_network, user_inputs
from lightning_poly._validation import check_int, check_int_tuple
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.activation_drift import Patterns, activation_drift, network_patterns
from lightning_poly.nn.outputs import eval_mode

__all__ = ["ActivationDriftCallback"]


class ActivationDriftCallback(SuiteCallback):
    """Fraction of (point, neuron) activations that changed since fit start and since the last call.

    NTK-convex paper, Section 3: changing activation patterns are the only source of non-convexity of
    two-layer ReLU training; a run whose patterns stop changing trains a fixed gated (convex) network.
    The measurement is :func:`lightning_poly.geometry.activation_drift`. Every ``every_n_epochs`` epochs the
    patterns of all hidden neurons on the first ``max_points`` training points are compared with those at
    fit start and at the previous call, and the empirical NTK's smallest eigenvalue :math:`\\lambda_W` on the
    first ``ntk_points`` points is logged (``0`` disables it). Every rank computes the same numbers from the
    same data (no collective after ``setup``); rank zero logs ``drift/*`` and every rank puts them in
    ``trainer.callback_metrics``, so ``EarlyStopping(monitor="drift/changed_since_last")`` can stop a run whose
    patterns have settled. The reference patterns are part of the checkpoint, so a resumed run measures drift
    from the original fit start. The model is measured in eval mode.

    A network that is not a ReLU MLP (a CNN, any network of :func:`~lightning_poly.geometry.pwl_regions`) is
    measured at the shape of the training samples, or at ``input_shape`` when given: the module's own forward
    (or the ``network`` submodule) is traced and checked at ``setup`` (a layer that is not piecewise linear is
    refused by name);
    its pattern is the sign of every ReLU/LeakyReLU unit, and its max-pool choices are logged apart
    (``drift/pool_changed_since_start``, ``drift/pool_changed_since_last``). The NTK is computed for it too
    (``ntk_points`` gradients of all parameters: lower it, or 0, for large networks).

    Args:
        every_n_epochs: measure at the end of every this many epochs.
        max_points: the points are the first this many training samples.
        ntk_points: points of the empirical NTK (``0``: no NTK).
        data: the points' source: tensors, a Dataset or a DataLoader; ``None``: the Trainer's training
            data (see :mod:`lightning_poly._user`), read once at ``setup``.
        network: the submodule holding the ReLU MLP (``None``: found, see
            :func:`~lightning_poly.nn.find_relu_network`); checked against the module's forward at every
            measurement (a derived network, such as a module's export of itself, is fine while it computes it).
            With ``input_shape``: the submodule to measure (``None``: the module itself).
        batch_to_xy: splits a batch of the data into ``(x, y)`` (default: tuple, list or dict batches).
        input_shape: a point's shape (e.g. ``(1, 28, 28)``) for a network that is not a ReLU MLP; ``None``: a
            ReLU MLP, or the shape of the training samples for any other network.

    Example:
        >>> ActivationDriftCallback(every_n_epochs=2).every_n_epochs
        2
        >>> ActivationDriftCallback(input_shape=(1, 8, 8)).input_shape
        (1, 8, 8)
    """

    fit_start_is_a_run = False  # the reference patterns: under fast_dev_run the one run is a drift measurement

    def __init__(
        self,
        every_n_epochs: int = 1,
        max_points: int = 2048,
        ntk_points: int = 128,
        data: Any = None,
        network: str | None = None,
        batch_to_xy: BatchToXY | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=1)
        self.max_points = check_int("max_points", max_points, minimum=1)
        self.ntk_points = check_int("ntk_points", ntk_points, minimum=0)
        self.data, self.network, self.batch_to_xy = data, network, batch_to_xy
        self.input_shape = None if input_shape is None else check_int_tuple("input_shape", input_shape)
        self._x: torch.Tensor | None = None
        self._shape: tuple[int, ...] | None = self.input_shape
        self.reference: torch.Tensor | None = None
        self.previous: torch.Tensor | None = None
        self.reference_pools: torch.Tensor | None = None
        self.previous_pools: torch.Tensor | None = None
        self._schedule(at_fit_start=True, every_n_epochs=self.every_n_epochs)

    @override
    def _extra_state(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "previous": self.previous,
            "reference_pools": self.reference_pools, "previous_pools": self.previous_pools,
        }  # fmt: skip

    @override
    def _load_extra_state(self, state_dict: dict[str, Any]) -> None:
        self.reference, self.previous = state_dict.get("reference"), state_dict.get("previous")
        self.reference_pools = state_dict.get("reference_pools")
        self.previous_pools = state_dict.get("previous_pools")

    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        who = type(self).__name__
        self._x = user_inputs(trainer, self.data, "train", self.max_points, self.batch_to_xy, who)
        _, self._shape = resolve_analysed_network(pl_module, self.network, self._x, self.input_shape, who)

    def _points(self, pl_module: pl.LightningModule) -> torch.Tensor:
        assert self._x is not None, "setup() reads the points"
        x = self._x.flatten(1).to(pl_module.device)
        return x if self._shape is None else x.reshape(-1, *self._shape)

    def _net(self, pl_module: pl.LightningModule) -> torch.nn.Module:
        return analysed_network(pl_module, self.network, self._x, self._shape, type(self).__name__)

    @staticmethod
    def _pair(patterns: torch.Tensor | None, pools: torch.Tensor | None) -> Patterns | None:
        return patterns if pools is None or patterns is None else (patterns, pools)

    @override
    def _fit_start_due(self) -> bool:
        return self.reference is None  # (restored on resume: drift is measured from the original fit start)

    @override
    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        if when == "fit_start":
            self._measure_reference(pl_module)
        else:
            self._measure_drift(trainer, pl_module)

    def _measure_reference(self, pl_module: pl.LightningModule) -> None:
        with eval_mode(pl_module):
            pats = network_patterns(self._net(pl_module), self._points(pl_module))
        self.reference, self.reference_pools = pats if isinstance(pats, tuple) else (pats, None)
        self.previous, self.previous_pools = self.reference, self.reference_pools

    def _measure_drift(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        assert self.reference is not None, "on_fit_start() measured the reference"
        with eval_mode(pl_module):
            drift = activation_drift(
                self._net(pl_module),
                self._points(pl_module),
                self._pair(self.reference, self.reference_pools),  # type: ignore[arg-type]
                self._pair(self.previous, self.previous_pools),
                self.ntk_points,
            )
        self.previous, self.previous_pools = drift.patterns, drift.pool_choices
        record: dict[str, Any] = {"epoch": trainer.current_epoch, "step": trainer.global_step, **drift.scalars()}
        self.history.append(record)
        self._log_scalars(trainer, pl_module, self._record_scalars("drift/", record))
