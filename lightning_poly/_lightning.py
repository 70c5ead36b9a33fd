"""One set of Lightning base classes for both packages: ``pytorch_lightning`` and the unified ``lightning``.

A ``pytorch_lightning.Trainer`` accepts only ``pytorch_lightning`` callbacks, modules and data
modules, and ``lightning.pytorch.Trainer`` only its own: the two packages ship distinct copies of
``Callback``, ``LightningModule`` and ``LightningDataModule``. The suite's classes derive from both
copies when both packages are installed (the two copies define the same hooks, so the first one in
the method resolution order serves either Trainer; the few hooks whose two copies differ are looked
up in the copy of the package whose Trainer asks), and from ``pytorch_lightning`` alone otherwise.
Loggers are matched against both packages' classes too, so wandb and TensorBoard media reach the
logger a user attached, whichever package it came from.

Example:
    >>> import pytorch_lightning as pl
    >>> issubclass(Callback, pl.Callback) and issubclass(LightningModule, pl.LightningModule)
    True
"""

from __future__ import annotations

import atexit
import inspect
import os
import sys
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning import loggers as pl_loggers

try:  # the unified package is optional
    import lightning.pytorch as lpt
    from lightning.pytorch import loggers as lpt_loggers
except ImportError:  # pragma: no cover - depends on the environment
    lpt = None  # type: ignore[assignment]
    lpt_loggers = None  # type: ignore[assignment]

__all__ = [
    "CSV_LOGGERS",
    "TENSORBOARD_LOGGERS",
    "WANDB_LOGGERS",
    "Callback",
    "LightningDataModule",
    "LightningModule",
    "MisconfigurationException",
    "destroy_process_group_at_exit",
    "lightning_available",
    "refuse_sharded_strategy",
    "rewrite_last_checkpoints",
]

lightning_available = lpt is not None


def _loggers(name: str) -> tuple[type, ...]:
    found = [getattr(pl_loggers, name)]
    if lpt_loggers is not None:
        found.append(getattr(lpt_loggers, name))
    return tuple(found)


WANDB_LOGGERS = _loggers("WandbLogger")
TENSORBOARD_LOGGERS = _loggers("TensorBoardLogger")
CSV_LOGGERS = _loggers("CSVLogger")


def _called_from_lightning() -> bool:
    """Whether the nearest Lightning frame up the stack belongs to the unified ``lightning`` package."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("lightning.pytorch") or name.startswith("lightning.fabric"):
            return True
        if name.startswith("pytorch_lightning") or name.startswith("lightning_fabric"):
            return False
        frame = frame.f_back
    return False


class _EitherPackage:
    """A hook whose two copies differ (their code objects differ only in names of the package): the
    copy of the package whose Trainer asks, so that its ``is_overridden`` checks see no override."""

    def __init__(self, pl_attr: Any, lpt_attr: Any) -> None:
        self.pl_attr, self.lpt_attr = pl_attr, lpt_attr

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        attr = self.lpt_attr if _called_from_lightning() else self.pl_attr
        return attr.__get__(obj, objtype) if hasattr(attr, "__get__") else attr


def _merge(pl_cls: type, lpt_cls: type) -> type:
    """``class Merged(pl_cls, lpt_cls)`` with every hook that the two copies define differently resolved
    per asking package."""
    body: dict[str, Any] = {
        "__doc__": f"A {pl_cls.__name__} that either package's Trainer accepts.",
        "__module__": __name__,
    }
    for name in dir(lpt_cls):
        a, b = inspect.getattr_static(pl_cls, name, None), inspect.getattr_static(lpt_cls, name, None)
        code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
        if code_a is not None and code_b is not None and code_a != code_b:
            body[name] = _EitherPackage(a, b)
    return type(pl_cls.__name__, (pl_cls, lpt_cls), body)


if lpt is not None:
    Callback = _merge(pl.Callback, lpt.Callback)
    LightningModule = _merge(pl.LightningModule, lpt.LightningModule)
    LightningDataModule = _merge(pl.LightningDataModule, lpt.LightningDataModule)
else:  # pragma: no cover - depends on the environment
    Callback = pl.Callback
    LightningModule = pl.LightningModule
    LightningDataModule = pl.LightningDataModule


_DESTROY_REGISTERED = False


def _destroy_process_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def destroy_process_group_at_exit() -> None:
    """Destroy the default process group when the process exits, while the interpreter is still alive.

    Lightning registers this for NCCL only. Without it, a gloo process group is torn down during
    interpreter finalization, when gloo's worker threads may still hold work objects with tensors of
    the last collective; freeing them then aborts the process ("terminate called without an active
    exception", pytorch/pytorch#190489, #179291). The suite's callbacks end with collectives on the
    model's tensors (broadcasts of changed weights, reductions of counts), so under ``ddp_spawn``
    a rank could die that way after ``max_epochs`` was reached. Registered once per process; a
    no-op when the group is already gone.
    """
    global _DESTROY_REGISTERED
    if not _DESTROY_REGISTERED and torch.distributed.is_available() and torch.distributed.is_initialized():
        atexit.register(_destroy_process_group)
        _DESTROY_REGISTERED = True


def _strategies(*names: str) -> tuple[type, ...]:
    """The strategy classes of both packages that exist under ``names``."""
    from pytorch_lightning import strategies as pl_strategies

    found = [getattr(pl_strategies, n) for n in names if hasattr(pl_strategies, n)]
    if lpt is not None:
        from lightning.pytorch import strategies as lpt_strategies

        found += [getattr(lpt_strategies, n) for n in names if hasattr(lpt_strategies, n)]
    return tuple(found)


SHARDED_STRATEGIES = _strategies("FSDPStrategy", "DeepSpeedStrategy", "ModelParallelStrategy")


def refuse_sharded_strategy(trainer: Any, who: str) -> None:
    """Refuse a strategy that shards the parameters over ranks (FSDP, DeepSpeed, model parallel).

    The suite's callbacks read and change whole weight matrices on every rank; under a sharded strategy a
    rank holds a shard only, so a result would be computed from a part of the network.

    Args:
        trainer: the Trainer.
        who: the callback's name, in the message.

    Raises:
        MisconfigurationException: naming the strategy and what works instead.
    """
    strategy = trainer.strategy
    if isinstance(strategy, SHARDED_STRATEGIES) or "fsdp" in type(strategy).__name__.lower():
        raise MisconfigurationException(
            f"{who} does not support the sharded strategy {type(strategy).__name__}: it reads and changes whole "
            f"weight matrices on every rank, which a sharded strategy splits over ranks; use a strategy that keeps "
            f"a full copy on every rank (e.g. 'ddp', 'ddp_spawn' or a single device)"
        )


def rewrite_last_checkpoints(trainer: Any) -> list[str]:
    """Re-write every ``last`` checkpoint that a ``ModelCheckpoint`` of ``trainer`` already wrote in this fit.

    Called in ``on_train_end`` after a callback changed the weights or its records. ``ModelCheckpoint`` runs
    after every other callback in ``on_train_end`` but writes ``last`` there only when it wrote none in this fit
    (its ``_last_checkpoint_saved``); when it did (the usual case: the final epoch's save), its ``last`` lacks
    what happened at the end. The checkpoint is re-written through the public ``trainer.save_checkpoint`` on
    every rank (it writes on rank zero and waits for all); a ``save_last="link"`` link is replaced by a file, so
    the top-k checkpoint it pointed to keeps the state it was scored on. Nothing is written under
    ``fast_dev_run`` (no checkpointing) or where the checkpoint callback will write ``last`` itself.

    Args:
        trainer: the Trainer.

    Returns:
        The paths re-written.
    """
    if trainer.fast_dev_run:
        return []
    written = []
    for cb in trainer.checkpoint_callbacks:
        path = getattr(cb, "last_model_path", "")
        if not getattr(cb, "save_last", False) or not path:
            continue
        # "" when this fit wrote nothing yet (e.g. just resumed): ModelCheckpoint.on_train_end writes `last` itself
        if not getattr(cb, "_last_checkpoint_saved", path):
            continue
        if trainer.is_global_zero and os.path.islink(path):
            os.remove(path)
        trainer.strategy.barrier("lightning_poly.rewrite_last_checkpoints")
        trainer.save_checkpoint(path, weights_only=bool(getattr(cb, "save_weights_only", False)))
        written.append(path)
    return written
