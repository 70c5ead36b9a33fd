"""Everything the suite takes from the frameworks beyond their public API, in one module.

Only this module touches a private name of Lightning, wandb or torch (``tests/test_compat.py`` enforces it);
each such use is a small function here, public paths first where they exist, and a missing private name
raises :class:`FrameworkChanged`, which names the package, its version and what the suite needed, instead of
an ``AttributeError`` far away. Supported versions: those of ``setup.cfg`` (torch >= 2.4, < 2.15;
pytorch-lightning and lightning >= 2.4, < 2.8; wandb >= 0.17, < 1).

**One set of Lightning base classes for both packages**: ``pytorch_lightning`` and the unified ``lightning``.

A ``pytorch_lightning.Trainer`` accepts only ``pytorch_lightning`` callbacks, modules and data
modules, and ``lightning.pytorch.Trainer`` only its own: the two packages ship distinct copies of
``Callback``, ``LightningModule`` and ``LightningDataModule``. The suite's classes derive from both
copies when both packages are installed (the two copies define the same hooks, so the first one in
the method resolution order serves either Trainer; the few hooks whose two copies differ are looked
up in the copy of the package whose Trainer asks), and from ``pytorch_lightning`` alone otherwise.
Loggers are matched against both packages' classes too, so wandb and TensorBoard media reach the
logger a user attached, whichever package it came from.

The Lightning names (``Callback``, ``LightningModule``, ``WANDB_LOGGERS``, ...) are built on first use, so the
framework-free core can import the torch helpers here without importing Lightning.

Example:
    >>> import pytorch_lightning as pl
    >>> from lightning_poly._compat import Callback, LightningModule
    >>> issubclass(Callback, pl.Callback) and issubclass(LightningModule, pl.LightningModule)
    True
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # the names that import Lightning, resolved on first use (see `__getattr__`)
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    Callback = pl.Callback
    LightningModule = pl.LightningModule
    LightningDataModule = pl.LightningDataModule
    WANDB_LOGGERS: tuple[type, ...]
    TENSORBOARD_LOGGERS: tuple[type, ...]
    CSV_LOGGERS: tuple[type, ...]
    SHARDED_STRATEGIES: tuple[type, ...]
    lightning_available: bool

__all__ = [
    "FrameworkChanged",
    "attached_trainer",
    "conv_forward",
    "conv_padding",
    "fit_dataloader",
    "wandb_attach_id",
    "wandb_reattach_run",
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


@functools.cache
def _lightning() -> dict[str, Any]:
    """What imports Lightning, built once on first use: the framework-free core imports this module for its torch
    helpers without importing Lightning (``tests/test_imports.py``)."""
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException
    from pytorch_lightning import loggers as pl_loggers
    from pytorch_lightning import strategies as pl_strategies

    try:  # the unified package is optional
        import lightning.pytorch as lpt
        from lightning.pytorch import loggers as lpt_loggers
        from lightning.pytorch import strategies as lpt_strategies
    except ImportError:  # pragma: no cover - depends on the environment
        lpt = lpt_loggers = lpt_strategies = None  # type: ignore[assignment]

    def both(pl_mod: Any, lpt_mod: Any, *names: str) -> tuple[type, ...]:
        found = [getattr(m, n) for m in (pl_mod, lpt_mod) if m is not None for n in names if hasattr(m, n)]
        return tuple(found)

    out: dict[str, Any] = {
        "lightning_available": lpt is not None,
        "MisconfigurationException": MisconfigurationException,
        "WANDB_LOGGERS": both(pl_loggers, lpt_loggers, "WandbLogger"),
        "TENSORBOARD_LOGGERS": both(pl_loggers, lpt_loggers, "TensorBoardLogger"),
        "CSV_LOGGERS": both(pl_loggers, lpt_loggers, "CSVLogger"),
        "SHARDED_STRATEGIES": both(
            pl_strategies, lpt_strategies, "FSDPStrategy", "DeepSpeedStrategy", "ModelParallelStrategy"
        ),
    }
    for name in ("Callback", "LightningModule", "LightningDataModule"):
        out[name] = getattr(pl, name) if lpt is None else _merge(getattr(pl, name), getattr(lpt, name))
    return out


def __getattr__(name: str) -> Any:
    """The Lightning names of this module (``Callback``, ``WANDB_LOGGERS``, ...), built on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        value = _lightning()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def _called_from_lightning() -> bool:
    """Whether the nearest Lightning frame up the stack belongs to the unified ``lightning`` package."""
    here = inspect.currentframe()
    frame = here.f_back.f_back if here is not None and here.f_back is not None else None
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
    if isinstance(strategy, _lightning()["SHARDED_STRATEGIES"]) or "fsdp" in type(strategy).__name__.lower():
        raise _lightning()["MisconfigurationException"](
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
        if not _last_checkpoint_written(cb, path):
            continue
        if trainer.is_global_zero and os.path.islink(path):
            os.remove(path)
        trainer.strategy.barrier("lightning_poly.rewrite_last_checkpoints")
        trainer.save_checkpoint(path, weights_only=bool(getattr(cb, "save_weights_only", False)))
        written.append(path)
    return written


# -- private names of the frameworks, each guarded -------------------------------------------------------------
class FrameworkChanged(RuntimeError):
    """A private name the suite relies on is missing from the installed framework (a version outside the tested
    range, or a new release that renamed it)."""


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - depends on the environment
        return "not installed"


def _private(owner: Any, name: str, package: str, needed_for: str) -> Any:
    """``owner.<name>`` (a private name of ``package``), or :class:`FrameworkChanged` saying what broke."""
    try:
        return getattr(owner, name)
    except AttributeError:
        raise FrameworkChanged(
            f"lightning_poly reads {type(owner).__name__}.{name} of {package} {_version(package)} for {needed_for}, "
            f"and this version has none; lightning_poly is tested with the ranges of its setup.cfg: install one of "
            f"those, or report the version"
        ) from None


def fit_dataloader(trainer: Any, split: str) -> Any | None:
    """The loader(s) ``trainer.fit`` will use for ``split`` (``"train"`` or ``"val"``), or ``None``, available from
    ``setup`` on, before Lightning loads them.

    Read from the fit loop's data source (Lightning's private ``_data_source``: a DataModule's or the
    LightningModule's ``*_dataloader()`` hooks, or the loaders given to ``fit``), as the user wrote them: the
    public ``trainer.train_dataloader``/``val_dataloaders`` are set only once the loop runs, and under DDP with a
    ``DistributedSampler`` injected (each rank a shard). Where a Lightning version has no data source, the public
    attributes are read.

    Args:
        trainer: the Trainer.
        split: ``"train"`` or ``"val"``.
    """
    loop: Any = trainer.fit_loop if split == "train" else trainer.fit_loop.epoch_loop.val_loop
    if not hasattr(loop, "_data_source"):  # pragma: no cover - depends on the Lightning version
        return trainer.train_dataloader if split == "train" else trainer.val_dataloaders
    source = loop._data_source
    if source is None or source.instance is None or not source.is_defined():
        return None
    return source.dataloader()


def _last_checkpoint_written(cb: Any, default: str) -> str:
    """The checkpoint ``ModelCheckpoint`` wrote last in this fit (its private ``_last_checkpoint_saved``: ``""``
    when none yet), or ``default`` where the attribute is gone (then ``last`` is re-written: a duplicate write at
    worst)."""
    return str(getattr(cb, "_last_checkpoint_saved", default))


def attached_trainer(module: Any) -> Any | None:
    """The Trainer a LightningModule is attached to, or ``None`` (``module.trainer`` raises when there is none)."""
    return getattr(module, "_trainer", None)


def wandb_attach_id(logger: Any) -> str | None:
    """The attach id a ``WandbLogger`` holds once its run was handed to another process (``ddp_spawn``)."""
    return getattr(logger, "_attach_id", None)


def wandb_reattach_run(logger: Any, root: Path) -> None:
    """Re-attach the ``WandbLogger``'s run in this process if it is not already kept under ``root``, as the
    logger itself re-attaches (wandb's ``_attach``; a logger without a run yet is left alone)."""
    run = getattr(logger, "_experiment", None)
    if run is None or Path(root) in Path(run.dir).resolve().parents:
        return
    import wandb

    _private(wandb, "_attach", "wandb", "re-attaching a run under ddp_spawn")(run=run)


def conv_forward(conv: torch.nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv``'s own convolution of ``x`` with ``weight`` and no bias: its padding mode, stride, dilation and
    groups (torch's ``_conv_forward``)."""
    return _private(conv, "_conv_forward", "torch", "a convolution with the layer's own padding")(x, weight, None)


def conv_padding(conv: torch.nn.Module) -> tuple[int, ...]:
    """``F.pad`` widths of ``conv``'s padding, last dimension first, also for ``padding="same"`` (torch's
    ``_reversed_padding_repeated_twice``)."""
    return tuple(_private(conv, "_reversed_padding_repeated_twice", "torch", "a convolution's padding widths"))
