"""FaceHistogramCallback on a user's small CNN (the piecewise-linear path, estimator only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import FaceHistogramCallback
from lightning_poly.geometry import face_histogram

pytestmark = pytest.mark.usefixtures("one_thread")


class SmallCNN(pl.LightningModule):
    """Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear on ``(n, 1, 6, 6)`` images, two classes."""

    def __init__(self, act: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), act(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self(batch[0]), batch[1])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 6, 6, generator=g) * 2 - 1
    return DataLoader(TensorDataset(x, (x.mean(dim=(1, 2, 3)) > 0).long()), batch_size=8)


def _fit(tmp_path: Path, cb: FaceHistogramCallback, module: pl.LightningModule) -> None:
    pl.Trainer(
        max_epochs=1, callbacks=[cb], default_root_dir=tmp_path, accelerator="cpu", logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    ).fit(module, _loader())  # fmt: skip


def test_the_callback_estimates_the_faces_of_a_cnn(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = SmallCNN()
    opts = {"n_points": 5, "patience": 50, "max_rays": 2000, "max_seconds": None}  # no budget: the same batches
    cb = FaceHistogramCallback(input_shape=(1, 6, 6), plot=False, **opts)
    _fit(tmp_path, cb, module)
    assert [h["when"] for h in cb.history] == ["fit_start", "epoch", "fit_end"]
    assert cb.last is not None and cb.last.network == "piecewise-linear" and cb.last.method == "estimate"
    ref = face_histogram(module.eval(), input_shape=(1, 6, 6), **opts)
    assert torch.equal(cb.last.counts, ref.counts) and cb.history[-1]["gamma"] == 32 + 24


def test_the_callback_refuses_what_is_not_piecewise_linear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"`method` must be 'auto' or 'estimate' for a network that is not a ReLU"):
        FaceHistogramCallback(input_shape=(1, 6, 6), method="qhull")
    with pytest.raises(
        MisconfigurationException,
        match=r"needs a piecewise-linear network that takes points of `input_shape` .*'features.2' \(Tanh\)",
    ):
        _fit(tmp_path, FaceHistogramCallback(n_points=5, input_shape=(1, 6, 6)), SmallCNN(nn.Tanh))
    with pytest.raises(MisconfigurationException, match=r"`input_shape` \(1, 5, 5\) holds 25 values, the training"):
        _fit(tmp_path, FaceHistogramCallback(n_points=5, input_shape=(1, 5, 5)), SmallCNN())
