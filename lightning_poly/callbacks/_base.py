"""The one lifecycle of the suite's callbacks: when they run, what they keep, how they log.

Every suite callback derives from :class:`SuiteCallback` and writes only its work
(``_setup_fit`` and ``_run``); the base class decides when it runs, with Lightning's own guards:

* **setup** (stage ``"fit"``): a sharded strategy (FSDP, DeepSpeed) is refused by name, the process
  group is destroyed at exit under DDP, then the callback's ``_setup_fit`` reads its data once and finds
  and checks its network, so a misconfiguration stops the run before training.
* **one schedule**: ``at_fit_start`` (``on_fit_start``; skipped on resume, where the restored history
  holds it), every ``every_n_epochs`` epochs (``on_train_epoch_end``: before Lightning's monitoring
  callbacks, which run last there, so ``EarlyStopping``/``ModelCheckpoint`` see this epoch's values),
  every ``every_n_steps`` *optimizer* steps (``on_train_batch_end``, once per step whatever
  ``accumulate_grad_batches``: the last step run is remembered and checkpointed, as
  ``ModelCheckpoint._last_global_step_saved``), and at the end of training (``on_train_end``).
* **end of training before teardown**: the end work runs in ``on_train_end``, before the strategy's
  teardown moves the module to the CPU, so it runs on the training device with the optimizer state where
  it is and every collective sees tensors on ``trainer.strategy.root_device``. ``ModelCheckpoint`` writes
  ``last`` in its ``on_train_end`` only if it wrote none before, which is the usual case after the final
  epoch's save; so after the suite's end work the last suite callback of the Trainer re-writes every
  ``last`` checkpoint already written (:func:`~lightning_poly._compat.rewrite_last_checkpoints`, through
  the public ``trainer.save_checkpoint``; a ``save_last="link"`` link becomes a file): ``last.ckpt``
  holds the final weights and every end record.
* **unchanged weights**: an analysis callback whose end comes on bit-identical weights (a fingerprint of
  every parameter and buffer, not the step: another callback may have changed the weights at the end)
  reuses its last result (``_repeat``).
* ``fast_dev_run``: each callback runs its work once and writes no file (media helpers write nothing).
* **precision**: the work runs with autocast off; the geometry itself works in float64.
* **state**: ``state_key`` is built from every constructor argument that tells two instances apart
  (tensors by shape and a hash of their bytes, other objects by type; budgets such as ``max_seconds`` and
  presentation such as ``plot`` left out, so a resume with another budget finds its state), so several instances of one callback
  run in one Trainer and each resumes into its own state; ``history`` (a list of plain records) and the
  schedule's memory are checkpointed, and older checkpoints without a key load with its default.
* **logging**: :meth:`SuiteCallback._log_scalars` sends a record's numbers to every logger on rank zero (at
  ``trainer.global_step``) and, in the hooks where Lightning allows it (epoch and batch ends), through
  ``pl_module.log(..., logger=False)`` into ``trainer.callback_metrics``, so ``EarlyStopping`` and
  ``ModelCheckpoint(monitor=...)`` can watch them. The second instance of a callback class in a Trainer logs
  ``faces_2/...`` for ``faces/...`` (the third ``faces_3/...``), so instances never share a metric. Media go to the logger's experiment
  (:mod:`lightning_poly.media`).
"""

from __future__ import annotations

import hashlib
import inspect
from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from typing_extensions import override

from lightning_poly._compat import Callback, refuse_sharded_strategy, rewrite_last_checkpoints
from lightning_poly._user import prepare_trainer

if TYPE_CHECKING:
    import pytorch_lightning as pl

__all__ = ["SuiteCallback", "weights_fingerprint"]

# the hooks in which Lightning lets a callback call `pl_module.log`, and how
_LOG_OPTIONS = {
    "on_train_epoch_end": {"on_step": False, "on_epoch": True},
    "on_train_batch_end": {"on_step": True, "on_epoch": False},
}


def weights_fingerprint(module: torch.nn.Module) -> str:
    """A hash of the bytes of every parameter and buffer of ``module`` (equal iff bit-identical, up to hash
    collisions), in ``state_dict`` order with names, shapes and dtypes.

    Args:
        module: the module.

    Example:
        >>> from torch import nn
        >>> net = nn.Linear(2, 1)
        >>> a = weights_fingerprint(net)
        >>> with torch.no_grad():
        ...     _ = net.weight.add_(0.0)
        >>> a == weights_fingerprint(net)
        True
        >>> with torch.no_grad():
        ...     _ = net.bias.add_(1e-7)
        >>> a == weights_fingerprint(net)
        False
    """
    h = hashlib.blake2b(digest_size=16)
    for name, t in module.state_dict(keep_vars=False).items():
        if not isinstance(t, torch.Tensor):
            continue
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _key_value(value: Any) -> Any:
    """A constructor argument as it enters ``state_key``: plain values as they are, tensors by shape and hash,
    functions by name, other objects by type."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return type(value)(_key_value(v) for v in value)
    if isinstance(value, torch.Tensor):
        raw = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        return f"Tensor{tuple(value.shape)}:{hashlib.blake2b(raw, digest_size=6).hexdigest()}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return type(value).__name__


class SuiteCallback(Callback, metaclass=ABCMeta):
    """Base class of the suite's callbacks (see the module docstring): subclasses call :meth:`_schedule` in
    ``__init__``, read what they need in ``_setup_fit``, do their work in ``_run(trainer, pl_module, when)``
    (``when`` is ``"fit_start"``, ``"epoch"``, ``"step"`` or ``"fit_end"``) and log through
    :meth:`_log_scalars`.

    Class attributes a subclass may set:
        reuse_unchanged: at the end, reuse the last result when the weights are bit-identical to those it
            was computed on (analysis callbacks).
        fit_start_is_a_run: whether the fit-start run is ``fast_dev_run``'s one run (``False``: a reference only,
            as the activation drift's patterns at fit start).
    """

    reuse_unchanged: ClassVar[bool] = False
    #: whether the fit-start run counts as ``fast_dev_run``'s one run (``False`` where it only measures a reference)
    fit_start_is_a_run: ClassVar[bool] = True
    #: constructor arguments that change how a run is shown or how long it may take, not what it is: left out of
    #: ``state_key``, so a resume with another budget finds its state
    _presentation_args: ClassVar[tuple[str, ...]] = ("progress", "warn_seconds", "plot", "max_seconds", "max_memory")

    history: list[dict[str, Any]]

    def _schedule(
        self, at_fit_start: bool = False, every_n_epochs: int = 0, every_n_steps: int = 0, at_end: bool = False
    ) -> None:
        """Declare when the work runs (arguments already validated by the subclass)."""
        self._at_fit_start, self._every_n_epochs = bool(at_fit_start), int(every_n_epochs)
        self._every_n_steps, self._at_end = int(every_n_steps), bool(at_end)
        self.history = []
        self._last_step = -1  # the optimizer step the step trigger last ran at
        self._fingerprint: str | None = None  # the weights the last result was computed on
        self._runs = 0  # runs in this fit (fast_dev_run: one)
        self._ran_at_end = False
        self._hook: str | None = None

    # -- state ------------------------------------------------------------------------------------
    @property
    @override
    def state_key(self) -> str:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        args = {n: _key_value(getattr(self, n, None)) for n in names if n not in self._presentation_args}
        return f"{type(self).__qualname__}{args!r}"  # the format of Lightning's own keys (e.g. EarlyStopping's)

    @override
    def state_dict(self) -> dict[str, Any]:
        return {
            "history": [dict(h) for h in self.history],
            "last_step": self._last_step,
            "weights_fingerprint": self._fingerprint,
            **self._extra_state(),
        }

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(h) for h in state_dict.get("history", [])]
        self._last_step = int(state_dict.get("last_step", -1))
        self._fingerprint = state_dict.get("weights_fingerprint")
        self._load_extra_state(state_dict)

    def _extra_state(self) -> dict[str, Any]:
        """What a subclass checkpoints besides the history."""
        return {}

    def _load_extra_state(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`_extra_state` (``.get`` with defaults: older checkpoints lack keys)."""

    # -- hooks decide -----------------------------------------------------------------------------
    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        refuse_sharded_strategy(trainer, type(self).__name__)
        prepare_trainer(trainer)
        self._runs, self._ran_at_end, self._last_step, self._fingerprint = 0, False, -1, None
        self._setup_fit(trainer, pl_module)

    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Read the data and find and check the network (subclasses)."""

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._at_fit_start and self._fit_start_due():
            self._execute(trainer, pl_module, "fit_start", "on_fit_start")

    def _fit_start_due(self) -> bool:
        """Whether fit start still needs its run (not on resume, where the restored history holds it)."""
        return not self.history

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        n = self._every_n_epochs
        if n and (trainer.current_epoch + 1) % n == 0:
            self._execute(trainer, pl_module, "epoch", "on_train_epoch_end")

    @override
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        n, step = self._every_n_steps, trainer.global_step
        if n and step % n == 0 and self._step_due(step) and step != self._last_step:
            self._last_step = step  # once per optimizer step, whatever accumulate_grad_batches
            self._execute(trainer, pl_module, "step", "on_train_batch_end")

    def _step_due(self, step: int) -> bool:
        """Whether the step trigger may run at optimizer step ``step`` (not before the first step)."""
        return step > 0

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._at_end:
            self._execute(trainer, pl_module, "fit_end", "on_train_end")
        suite = [c for c in trainer.callbacks if isinstance(c, SuiteCallback)]
        if suite and suite[-1] is self and any(c._ran_at_end for c in suite):
            rewrite_last_checkpoints(trainer)  # the last suite callback, once every end work is done

    # -- the run ----------------------------------------------------------------------------------
    def _execute(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str, hook: str) -> None:
        if trainer.sanity_checking or (trainer.fast_dev_run and self._runs >= 1):
            return
        # the weights this run sees (an analysis callback never changes them, so they are also those after it)
        weights = weights_fingerprint(pl_module) if self.reuse_unchanged else None
        self._hook = hook
        try:
            with torch.autocast(device_type=pl_module.device.type, enabled=False):
                if when == "fit_end" and weights is not None and weights == self._fingerprint:
                    self._repeat(trainer, pl_module, when)
                else:
                    self._run(trainer, pl_module, when)
        finally:
            self._hook = None
        self._fingerprint = weights
        self._runs += int(when != "fit_start" or self.fit_start_is_a_run)
        self._ran_at_end = self._ran_at_end or when == "fit_end"

    @abstractmethod
    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        """The callback's work at ``when`` (``"fit_start"``, ``"epoch"``, ``"step"`` or ``"fit_end"``)."""

    def _repeat(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        """The end on the weights of the last result: nothing new to compute; its record, if any, again for the
        end (same on every rank), with no second figure or log."""
        if self.history:
            self.history.append({**self.history[-1], "when": when, "epoch": trainer.current_epoch})

    # -- logging ----------------------------------------------------------------------------------
    def _log_scalars(self, trainer: pl.Trainer, pl_module: pl.LightningModule, scalars: dict[str, float]) -> None:
        """``scalars`` to every logger (rank zero) and, where Lightning allows it, to ``callback_metrics``.

        Call it on every rank with the same values (the callback's numbers are identical on every rank), so a
        monitoring callback reads them on every rank.
        """
        if not scalars:
            return
        scalars = self._namespaced(trainer, scalars)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(scalars, step=trainer.global_step)
        options = _LOG_OPTIONS.get(self._hook or "")
        if options is None:
            return
        # identical on every rank: the mean over ranks (sync_dist) changes nothing but keeps Lightning's advice for
        # epoch-level values under DDP
        sync = trainer.world_size > 1
        for key, value in scalars.items():
            pl_module.log(key, float(value), logger=False, prog_bar=False, sync_dist=sync, **options)

    def _namespaced(self, trainer: pl.Trainer, scalars: dict[str, float]) -> dict[str, float]:
        """The k-th instance (k >= 2) of a callback class in the Trainer logs ``group_k/name`` for ``group/name``
        (e.g. ``faces_2/mean_faces``), so two instances never write, or monitor, the same metric."""
        same = [cb for cb in trainer.callbacks if type(cb) is type(self)]  # type: ignore[attr-defined]
        k = next((i for i, cb in enumerate(same) if cb is self), 0) + 1
        if k == 1:
            return scalars
        out = {}
        for key, value in scalars.items():
            group, sep, name = key.partition("/")
            out[f"{group}_{k}{sep}{name}"] = value
        return out

    @staticmethod
    def _record_scalars(prefix: str, record: dict[str, Any]) -> dict[str, float]:
        """Every number of ``record`` (but its epoch and step) as ``prefix + key`` (e.g. ``"faces/"``)."""
        return {
            f"{prefix}{k}": float(v)
            for k, v in record.items()
            if isinstance(v, int | float | bool) and k not in ("epoch", "step")
        }
