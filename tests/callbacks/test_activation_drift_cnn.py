"""ActivationDriftCallback on a user's small CNN (1x8x8 images, plain DataLoaders)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import ActivationDriftCallback
from lightning_poly.geometry import activation_drift, network_patterns

pytestmark = pytest.mark.usefixtures("one_thread")


class TinyCNN(pl.LightningModule):
    """Conv2d, BatchNorm2d, ReLU, MaxPool2d, Conv2d, ReLU, Linear on ``(n, 1, 8, 8)`` images, two classes."""

    def __init__(self, act: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), act(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 2), nn.ReLU()
        )
        self.head = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self(batch[0]), batch[1])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.5)


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(48, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return x, (x[:, 0, :4].mean(dim=(1, 2)) > x[:, 0, 4:].mean(dim=(1, 2))).long()


def _fit(tmp_path: Path, cb: ActivationDriftCallback, module: pl.LightningModule, epochs: int = 3) -> None:
    pl.Trainer(
        max_epochs=epochs, callbacks=[cb], default_root_dir=tmp_path, accelerator="cpu", logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    ).fit(module, DataLoader(TensorDataset(*_images()), batch_size=8, shuffle=True))  # fmt: skip


def test_one_drift_record_per_epoch_equal_to_a_direct_call(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = TinyCNN()
    start = network_patterns(copy.deepcopy(module).eval(), _images()[0])  # the patterns at fit start
    cb = ActivationDriftCallback(ntk_points=16, input_shape=(1, 8, 8))
    _fit(tmp_path, cb, module)
    assert [h["epoch"] for h in cb.history] == [0, 1, 2]
    assert all(h["changed_since_last"] > 0 and h["changed_since_start"] > 0 for h in cb.history)
    assert all(h["pool_changed_since_last"] > 0 for h in cb.history)
    assert torch.equal(cb.reference, start[0]) and torch.equal(cb.reference_pools, start[1])  # type: ignore[arg-type]
    # the last record is the function on the same data, from the same reference
    x = _images()[0]
    direct = activation_drift(module.eval(), x, start, ntk_points=16)
    last = cb.history[-1]
    assert last["changed_since_start"] == direct.changed_since_start
    assert last["pool_changed_since_start"] == direct.pool_changed_since_start
    assert last["ntk_lambda_min"] == pytest.approx(direct.ntk_lambda_min, rel=1e-6, abs=1e-9)
    assert torch.equal(cb.previous, direct.patterns) and torch.equal(cb.previous_pools, direct.pool_choices)  # type: ignore[arg-type]


def test_setup_refuses_what_is_not_piecewise_linear(tmp_path: Path) -> None:
    with pytest.raises(MisconfigurationException, match=r"needs a piecewise-linear network .*'features.2' \(Tanh\)"):
        _fit(tmp_path, ActivationDriftCallback(input_shape=(1, 8, 8)), TinyCNN(nn.Tanh), epochs=1)
    with pytest.raises(MisconfigurationException, match=r"`input_shape` \(1, 6, 6\) holds 36 values, the training"):
        _fit(tmp_path, ActivationDriftCallback(input_shape=(1, 6, 6)), TinyCNN(), epochs=1)
