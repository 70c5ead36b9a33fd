"""Run a real 2-process DDP fit on CPU (gloo) and collect what every rank ended with."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.environments.lightning import find_free_network_port
from pytorch_lightning.callbacks import Callback

from lightning_poly._compat import destroy_process_group_at_exit


class DumpRankState(Callback):
    """Save every rank's model state and the named callbacks' states at fit end."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        destroy_process_group_at_exit()  # gloo torn down at finalisation can abort the rank

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "model": {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()},
            "optimizer": [o.state_dict() for o in trainer.optimizers],
            "callbacks": {type(c).__name__: c.state_dict() for c in trainer.callbacks if c is not self},
            "metrics": {k: v.detach().cpu().clone() for k, v in trainer.callback_metrics.items()},
            "global_step": trainer.global_step,
        }
        torch.save(state, self.out_dir / f"rank{trainer.global_rank}.pt")


def run_ddp_fit(
    module: pl.LightningModule,
    datamodule: pl.LightningDataModule,
    tmp_path: Path,
    callbacks: Sequence[Callback] = (),
    **trainer_kwargs: Any,
) -> list[dict[str, Any]]:
    """Fit with ``strategy="ddp_spawn", accelerator="cpu", devices=2`` and return each rank's state.

    Returns:
        ``[state_rank0, state_rank1]``, each with ``model``, ``optimizer``, ``callbacks``,
        ``metrics`` and ``global_step``.
    """
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(find_free_network_port())
    out = Path(tmp_path) / "ranks"
    kwargs: dict[str, Any] = {
        "max_epochs": 2,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "default_root_dir": str(tmp_path),
    }
    kwargs.update(trainer_kwargs)
    trainer = pl.Trainer(
        strategy="ddp_spawn", accelerator="cpu", devices=2, callbacks=[*callbacks, DumpRankState(out)], **kwargs
    )
    trainer.fit(module, datamodule=datamodule)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Every tensor equal bit for bit."""
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs between ranks"
