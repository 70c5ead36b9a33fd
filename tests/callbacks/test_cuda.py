"""The GPU checks: the suite's callbacks with the model on CUDA (one GPU) and under 2-process DDP with NCCL (two GPUs).

Run where a GPU is: ``.venv/bin/python -m pytest -m cuda -p no:xdist tests/callbacks/test_cuda.py``. Without a GPU
every test here is skipped with the reason; the same checks run on CPU (gloo) in the rest of the suite.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.environments.lightning import find_free_network_port
from pytorch_lightning.callbacks import ModelCheckpoint

from lightning_poly.callbacks import ActivationDriftCallback, FaceHistogramCallback, PolishingCallback
from lightning_poly.geometry import face_histogram
from tests.callbacks.test_lifecycle import UserModule, _loaders
from tests.helpers.ddp import DumpRankState, assert_same_tensors

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA device here: the GPU checks run on a GPU machine"
    ),
]


class DeviceAtEnd(pl.Callback):
    """Where the module and the optimizer state are when the suite's end work runs (listed after it)."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.module = pl_module.device
        self.optimizer = {v.device for s in trainer.optimizers[0].state.values() for v in s.values() if v.ndim}


def test_end_work_runs_on_the_gpu_under_16_mixed_and_lands_in_last_ckpt(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = UserModule(hidden=(16, 16))
    polish = PolishingCallback(accept="always", monitor="train_loss")
    faces = FaceHistogramCallback(n_points=800, at_fit_start=False)
    drift, where = ActivationDriftCallback(), DeviceAtEnd()
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    trainer = pl.Trainer(
        max_epochs=2, accelerator="gpu", devices=1, callbacks=[polish, faces, drift, where, ck], logger=False,
        enable_progress_bar=False, default_root_dir=tmp_path, precision="16-mixed",
    )  # fmt: skip
    trainer.fit(module, *_loaders())
    assert where.module.type == "cuda" and {d.type for d in where.optimizer} <= {"cuda"}
    saved = torch.load(ck.last_model_path, weights_only=False)
    for k, v in module.state_dict().items():
        assert torch.equal(saved["state_dict"][k].cpu(), v.cpu()), k
    assert saved["callbacks"][polish.state_key]["history"][-1]["when"] == "fit_end"
    fresh = face_histogram(module.net.cpu(), n_points=800)
    assert faces.history[-1]["histogram"] == fresh.histogram()[1].tolist()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="2-process NCCL needs two GPUs")
def test_two_gpu_ddp_with_nccl_reduces_on_the_device_and_keeps_ranks_identical(tmp_path: Path) -> None:
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(find_free_network_port())
    pl.seed_everything(0)
    faces = FaceHistogramCallback(n_points=1500)
    polish = PolishingCallback(accept="always", monitor="train_loss")
    out = tmp_path / "ranks"
    kw: dict[str, Any] = {"max_epochs": 2, "logger": False, "enable_progress_bar": False, "default_root_dir": tmp_path}
    trainer = pl.Trainer(
        strategy="ddp_spawn", accelerator="gpu", devices=2, callbacks=[polish, faces, DumpRankState(out)], **kw
    )
    trainer.fit(UserModule(hidden=(16, 16)), *_loaders())
    states = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert_same_tensors(states[0]["model"], states[1]["model"])
    h0, h1 = (s["callbacks"]["FaceHistogramCallback"]["history"] for s in states)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(h0) == strip(h1) and h0[-1]["when"] == "fit_end"
