"""Test set-up shared by the tests and the doctests: offline wandb in a temporary folder, restored
environment variables, fixed seeds, headless matplotlib."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep wandb offline inside a temporary folder and restore every environment variable after."""
    saved = dict(os.environ)
    wandb_dir: Path = tmp_path_factory.mktemp("wandb")
    os.environ.update(
        {
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": str(wandb_dir),
            "WANDB_CACHE_DIR": str(wandb_dir / "cache"),
            "WANDB_CONFIG_DIR": str(wandb_dir / "config"),
            "WANDB_DATA_DIR": str(wandb_dir / "data"),
            "PL_DISABLE_FORK": "1",
        }
    )
    import torch

    torch.manual_seed(0)
    try:
        yield
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and getattr(wandb, "run", None) is not None:
            wandb.finish()
        os.environ.clear()
        os.environ.update(saved)
