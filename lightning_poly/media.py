"""Logger-agnostic logging of what callbacks produce beyond scalars: histograms, figures, tables.

One helper per kind of media. Each uses the native type of every attached logger
(``wandb.Histogram``/``wandb.Image``/``wandb.Table`` through the ``WandbLogger`` so the
``trainer/global_step`` lines up with the scalars; TensorBoard's ``add_histogram``/``add_figure``/
``add_text``) and always writes a plain file (``.npz``, ``.png``, ``.csv``) under
:func:`media_dir`, so CSV runs and runs without a logger keep the data too. Only rank zero writes.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_poly._compat import (
    CSV_LOGGERS,
    TENSORBOARD_LOGGERS,
    WANDB_LOGGERS,
    wandb_attach_id,
    wandb_reattach_run,
)

if TYPE_CHECKING:
    import pytorch_lightning as pl
    from matplotlib.figure import Figure

__all__ = ["local_log_dir", "log_figure", "log_histogram", "log_table", "media_dir", "pin_wandb_run_dir"]


def _check_trainer(trainer: pl.Trainer) -> None:
    if not all(hasattr(trainer, a) for a in ("loggers", "is_global_zero", "default_root_dir")):
        raise TypeError(f"`trainer` must be a Lightning Trainer, got {type(trainer).__name__}")


def local_log_dir(trainer: pl.Trainer) -> Path:
    """The trainer's log dir, computed locally.

    ``trainer.log_dir`` broadcasts from rank zero (a collective), so calling it from code that only
    rank zero runs deadlocks under DDP; this gives the same folder without a collective.

    Args:
        trainer: the Trainer.
    """
    _check_trainer(trainer)
    if trainer.loggers:
        logger = trainer.loggers[0]
        if isinstance(logger, TENSORBOARD_LOGGERS + CSV_LOGGERS):
            return Path(logger.log_dir)
        if logger.save_dir is not None:
            return Path(logger.save_dir)
    return Path(trainer.default_root_dir)


def pin_wandb_run_dir(trainer: pl.Trainer) -> None:
    """Keep a re-attached wandb run's files in the logger's ``save_dir`` (``ddp_spawn`` workers).

    Under ``ddp_spawn`` the main process creates the ``WandbLogger``'s run and rank zero's worker
    re-attaches to it (``wandb._attach``, as the ``WandbLogger`` does); the re-attached run copies
    wandb's process settings, whose root is the working directory, so its media (wandb's images and
    our files) land in ``./wandb/...`` while the run file stays in ``save_dir`` — the folder a user
    syncs misses them. Called in ``setup`` on every rank, this sets wandb's root to the logger's
    ``save_dir`` (``WANDB_DIR`` and the process settings) and re-attaches a run already attached
    elsewhere, so every file lands beside the run file. It acts only on a logger that was handed to
    a worker (it holds an attach id) and never overrides a ``WANDB_DIR`` the user set.

    Args:
        trainer: the Trainer.
    """
    _check_trainer(trainer)
    for logger in trainer.loggers:
        if not isinstance(logger, WANDB_LOGGERS) or not wandb_attach_id(logger) or not logger.save_dir:
            continue
        root = str(Path(logger.save_dir).resolve())
        if os.environ.setdefault("WANDB_DIR", root) != root:
            continue
        import wandb

        wandb.setup(settings=wandb.Settings(root_dir=root))
        wandb_reattach_run(logger, Path(root))


def media_dir(trainer: pl.Trainer) -> Path:
    """Folder for media files: the wandb run's files folder, else ``<log dir>/media``.

    The wandb folder is synced with the run (``wandb sync``), so the files travel with it. No
    collective is used (safe to call on rank zero alone).

    Args:
        trainer: the Trainer.
    """
    _check_trainer(trainer)
    for logger in trainer.loggers:
        if isinstance(logger, WANDB_LOGGERS):
            return Path(logger.experiment.dir) / "lightning_poly"
    return local_log_dir(trainer) / "media"


def _global_zero_only(fn: Callable[..., Path]) -> Callable[..., Path | None]:
    """Run ``fn(trainer, ...)`` on the trainer's global rank zero only (``None`` elsewhere), and never under
    ``fast_dev_run`` (Lightning's promise: logging and checkpointing are suppressed; nothing is written).

    Decided by the trainer itself, not by a package's global ``rank_zero_only.rank``: the two
    Lightning packages keep separate copies of that global, and the one a Trainer of the other
    package never sets can be stale.
    """

    @functools.wraps(fn)
    def wrapper(trainer: pl.Trainer, *args: Any, **kwargs: Any) -> Path | None:
        _check_trainer(trainer)
        if not trainer.is_global_zero or getattr(trainer, "fast_dev_run", False):
            return None
        return fn(trainer, *args, **kwargs)

    return wrapper


def _file(trainer: pl.Trainer, key: str, step: int, suffix: str) -> Path:
    """A new file for ``key`` at ``step``: a second one at the same step (e.g. the last epoch's and the end's,
    on other weights) gets a counter, never the first one's name."""
    d = media_dir(trainer)
    d.mkdir(parents=True, exist_ok=True)
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}_step{step:07d}"
    path, k = d / f"{stem}{suffix}", 1
    while path.exists():
        k += 1
        path = d / f"{stem}_{k}{suffix}"
    return path


def _step(trainer: pl.Trainer, step: int | None) -> int:
    return int(trainer.global_step if step is None else step)


@_global_zero_only
def log_histogram(
    trainer: pl.Trainer,
    key: str,
    counts: Sequence[float] | np.ndarray,
    edges: Sequence[float] | np.ndarray,
    step: int | None = None,
) -> Path:
    """Log a histogram given by bin ``counts`` and ``edges`` (``len(edges) == len(counts) + 1``).

    Args:
        trainer: the Trainer whose loggers receive it.
        key: the name it is logged under.
        counts: counts per bin.
        edges: bin edges.
        step: the step (default the Trainer's global step).

    Returns:
        The ``.npz`` file written (on rank zero).
    """
    counts_a = np.asarray(counts, dtype=np.float64)
    edges_a = np.asarray(edges, dtype=np.float64)
    if edges_a.shape != (counts_a.shape[0] + 1,):
        raise ValueError(f"`edges` must have len(counts) + 1 = {counts_a.shape[0] + 1} entries, got {edges_a.shape}")
    s = _step(trainer, step)
    for logger in trainer.loggers:
        if isinstance(logger, WANDB_LOGGERS):
            import wandb

            logger.log_metrics({key: wandb.Histogram(np_histogram=(counts_a, edges_a))}, step=s)
        elif isinstance(logger, TENSORBOARD_LOGGERS):
            centres = (edges_a[:-1] + edges_a[1:]) / 2
            values = np.repeat(centres, counts_a.astype(np.int64))
            if values.size:
                logger.experiment.add_histogram(key, values, s, bins=edges_a)
    path = _file(trainer, key, s, ".npz")
    np.savez(path, counts=counts_a, edges=edges_a, step=s)
    return path


@_global_zero_only
def log_figure(trainer: pl.Trainer, key: str, figure: Figure, step: int | None = None, close: bool = True) -> Path:
    """Log a matplotlib figure as an image and save it as a PNG file.

    Args:
        trainer: the Trainer whose loggers receive it.
        key: the name it is logged under.
        figure: a matplotlib figure.
        step: the step (default the Trainer's global step).
        close: close the figure afterwards.

    Returns:
        The PNG file written (on rank zero).
    """
    if not callable(getattr(figure, "savefig", None)):
        raise TypeError(f"`figure` must be a matplotlib Figure, got {type(figure).__name__}")
    s = _step(trainer, step)
    path = _file(trainer, key, s, ".png")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    for logger in trainer.loggers:
        if isinstance(logger, WANDB_LOGGERS):
            logger.log_image(key, [str(path)], step=s)
        elif isinstance(logger, TENSORBOARD_LOGGERS):
            logger.experiment.add_figure(key, figure, s, close=False)
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path


@_global_zero_only
def log_table(
    trainer: pl.Trainer, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], step: int | None = None
) -> Path:
    """Log a table (``wandb.Table``; Markdown text in TensorBoard) and save it as a CSV file.

    Args:
        trainer: the Trainer whose loggers receive it.
        key: the name it is logged under.
        columns: column names.
        rows: rows of cells.
        step: the step (default the Trainer's global step).

    Returns:
        The CSV file written (on rank zero).
    """
    cols = list(columns)
    data = [list(r) for r in rows]
    for i, r in enumerate(data):
        if len(r) != len(cols):
            raise ValueError(f"row {i} of table {key!r} has {len(r)} cells, expected {len(cols)} ({cols})")
    s = _step(trainer, step)
    for logger in trainer.loggers:
        if isinstance(logger, WANDB_LOGGERS):
            logger.log_table(key, columns=cols, data=data, step=s)
        elif isinstance(logger, TENSORBOARD_LOGGERS):
            md = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
            md += "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in data)
            logger.experiment.add_text(key, md, s)
    path = _file(trainer, key, s, ".csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(data)
    return path
