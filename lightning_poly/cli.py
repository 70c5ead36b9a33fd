"""The ``lightning-poly`` command: LightningCLI with the suite's modules, data and a run summary.

Example::

    lightning-poly fit --config examples/configs/demo.yaml
    lightning-poly fit --model ReLUMLPModule --data SyntheticDataModule --data.name two_moons
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Any, Literal

from lightning_poly import datamodules as _datamodules  # noqa: F401  (registers data modules)
from lightning_poly import modules as _modules  # noqa: F401  (registers modules)
from lightning_poly._compat import WANDB_LOGGERS
from lightning_poly._validation import check_choice
from lightning_poly.media import local_log_dir, media_dir

__all__ = ["LightningPolyCLI", "cli_class", "main", "summarize"]


def summarize(trainer: Any, since: float | None = None) -> str:
    """A short text summary of a finished run: metrics, run folder, plots.

    Args:
        trainer: the Trainer after ``fit``.
        since: list only plots written at or after this ``time.time()`` (the run's start), so a log
            folder shared with earlier runs does not show their plots; ``None`` lists every plot.
    """
    lines = ["", "=" * 60, "lightning_poly run summary", "=" * 60]
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}
    for k in sorted(metrics):
        lines.append(f"  {k:<32s} {metrics[k]:.4f}")
    for logger in trainer.loggers:
        if isinstance(logger, WANDB_LOGGERS):
            run_dir = Path(logger.experiment.dir).parent
            offline = os.environ.get("WANDB_MODE", "online") in ("offline", "dryrun")
            lines.append(f"  wandb run ({'offline' if offline else 'online'}): {run_dir}")
            if offline:
                lines.append(f"    sync later with: wandb sync {run_dir}")
    lines.append(f"  log dir: {local_log_dir(trainer)}")
    media = media_dir(trainer)
    plots = sorted(media.glob("*.png")) if media.is_dir() else []
    if since is not None:
        plots = [p for p in plots if p.stat().st_mtime >= since]
    lines.append(f"  plots ({len(plots)}) in {media}:")
    lines += [f"    {p.name}" for p in plots]
    for cb in trainer.callbacks:
        summary = getattr(cb, "summary", None)
        if callable(summary):
            text = summary()
            if text:
                lines.append(f"  {type(cb).__name__}: {text}")
    lines.append("=" * 60)
    return "\n".join(lines)


Package = Literal["pytorch_lightning", "lightning.pytorch"]


def cli_class(package: Package = "pytorch_lightning") -> type:
    """``LightningPolyCLI`` on the chosen package's ``LightningCLI`` (the suite's classes fit either).

    Args:
        package: ``"pytorch_lightning"`` or ``"lightning.pytorch"``.

    Example:
        >>> cli_class("lightning.pytorch").__mro__[1].__module__
        'lightning.pytorch.cli'
    """
    base = importlib.import_module(f"{package}.cli").LightningCLI

    class LightningPolyCLI(base):  # type: ignore[misc, valid-type]
        """LightningCLI that links the data's input dimension to the model and prints a summary."""

        def add_arguments_to_parser(self, parser: Any) -> None:
            parser.link_arguments("data.input_dim", "model.init_args.input_dim", apply_on="instantiate")

        def before_fit(self) -> None:
            self._fit_started = time.time()

        def after_fit(self) -> None:
            if self.trainer.is_global_zero:
                print(summarize(self.trainer, since=getattr(self, "_fit_started", None)))

    return LightningPolyCLI


LightningPolyCLI = cli_class("pytorch_lightning")


def main(args: list[str] | None = None, package: Package | None = None) -> None:
    """Entry point of the ``lightning-poly`` console script.

    Args:
        args: command-line arguments (default ``sys.argv``).
        package: the Lightning package whose CLI and Trainer run (default: ``$LIGHTNING_POLY_PACKAGE``,
            else ``pytorch_lightning``; ``lightning.pytorch`` for the unified package). Loggers named in
            a config must come from the same package.
    """
    os.environ.setdefault("WANDB_MODE", "offline")
    chosen = package or os.environ.get("LIGHTNING_POLY_PACKAGE", "pytorch_lightning")
    check_choice("package", chosen, ("pytorch_lightning", "lightning.pytorch"))
    cli_class(chosen)(  # type: ignore[arg-type]
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_kwargs={"overwrite": True},
        args=args,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
