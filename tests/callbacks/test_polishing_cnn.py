"""PolishingCallback on a user's small CNN with plain DataLoaders: kept only when the monitored metric improves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import PolishingCallback
from lightning_poly.solvers.refit import head_metrics
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit

pytestmark = pytest.mark.usefixtures("one_thread")


class UserCNN(pl.LightningModule):
    """Two 3x3 conv layers and two dense layers (the paper's four-layer CNN, small) on 1x8x8 images."""

    def __init__(self, act: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), act(), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten())
        self.classifier = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return F.cross_entropy(self(batch[0]), batch[1])

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val_loss", F.cross_entropy(self(batch[0]), batch[1]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-2)


def _images(n: int, seed: int, flip: bool = False) -> TensorDataset:
    x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    y = (x[:, :, :4].mean(dim=(1, 2, 3)) > x[:, :, 4:].mean(dim=(1, 2, 3))).long()
    return TensorDataset(x, 1 - y if flip else y)


class CNNData(pl.LightningDataModule):
    def __init__(self, flip_val: bool = False) -> None:
        super().__init__()
        self.flip_val = flip_val

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_images(64, 0), batch_size=16)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(_images(32, 1, self.flip_val), batch_size=32)


class Snap(pl.Callback):
    """The module's state at fit end, before the polishing callback (listed after it) runs."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.state = {k: v.clone() for k, v in pl_module.state_dict().items()}


class Swapped(UserCNN):
    """Exposes ``net`` but returns its logits swapped: ``net`` is not what the module computes."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(self.features, self.classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flip(1)


def _fit(tmp_path: Path, callbacks: list[pl.Callback], data: CNNData | None = None, **kw: Any) -> pl.Trainer:
    pl.seed_everything(0)
    module = kw.pop("module", None) or UserCNN(kw.pop("act", nn.ReLU))
    trainer = pl.Trainer(
        max_epochs=2, callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu", logger=kw.pop("logger", False),
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False, **kw,
    )  # fmt: skip
    trainer.fit(module, datamodule=data or CNNData())
    return trainer


def test_a_polish_that_improves_the_monitored_metric_is_kept(tmp_path: Path) -> None:
    cb = PolishingCallback(monitor="train_loss")
    trainer = _fit(tmp_path, [Snap(), cb], logger=CSVLogger(str(tmp_path), name="csv"))
    module: Any = trainer.lightning_module
    h = cb.history[-1]
    assert h["accepted"] is True and h["loss"] == "cross_entropy" and h["metric_after"] < h["metric_before"]
    # the kept model is the one scored: its own forward on the training data gives the recorded metric
    x, y = _images(64, 0).tensors
    assert head_metrics(module.eval()(x), y, "cross_entropy")["loss"] == pytest.approx(h["metric_after"], rel=1e-6)
    assert h["grad_norm"] < 1e-6 and h["objective_after"] < h["objective_before"]
    # the first conv's filters are exact normals to their chosen augmented patches
    res = cb.last_report.results[0]  # type: ignore[union-attr]
    conv = module.features[0]
    cols = F.unfold(x.double(), 3).transpose(1, 2).reshape(64, 6, 6, 9)
    p = cols[res.positions[..., 0], res.positions[..., 1], res.positions[..., 2]]
    pt = torch.cat([p, torch.ones(*p.shape[:-1], 1, dtype=p.dtype)], -1)
    wt = torch.cat([conv.weight.detach().double().flatten(1), conv.bias.detach().double()[:, None]], 1)
    assert float(((pt @ wt[:, :, None])[..., 0].abs() / (pt.norm(dim=-1) * wt.norm(dim=1, keepdim=True))).max()) < 1e-6
    # the changed tensors lost their optimizer state; the layers between kept theirs
    state = trainer.optimizers[0].state
    assert conv.weight not in state and module.classifier[2].weight not in state
    assert module.features[2].weight in state and module.classifier[0].weight in state
    # logged: the record's numbers and each filter's patches
    assert "polish/metric_after" in (Path(trainer.log_dir) / "metrics.csv").read_text()
    (table,) = (Path(trainer.log_dir) / "media").glob("polish_conv0_explanations*.csv")
    assert "patches (image:row,column)" in table.read_text()


def test_a_polish_that_makes_the_monitored_metric_worse_is_undone_exactly(tmp_path: Path) -> None:
    # validation labels follow the opposite rule: a better fit of the training data is a worse val loss
    snap, cb = Snap(), PolishingCallback(monitor="val_loss")
    trainer = _fit(tmp_path, [snap, cb], CNNData(flip_val=True))
    h = cb.history[-1]
    assert h["accepted"] is False and h["metric_after"] > h["metric_before"]
    assert_same_tensors(snap.state, trainer.lightning_module.state_dict())


def test_what_the_callback_cannot_polish_is_refused_at_setup(tmp_path: Path) -> None:
    with pytest.raises(MisconfigurationException, match=r"needs a piecewise-linear CNN: .*'features.1' \(Tanh\)"):
        _fit(tmp_path, [PolishingCallback()], act=nn.Tanh)
    with pytest.raises(
        MisconfigurationException, match=r"`layers` must be Conv2d layers in 0\.\.1 of the CNN, got \[2\]"
    ):
        _fit(tmp_path, [PolishingCallback(layers=[2])])
    with pytest.raises(MisconfigurationException, match=r"the forward of `network` 'net' is not the module's"):
        _fit(tmp_path, [PolishingCallback(network="net")], module=Swapped())


@pytest.mark.ddp
def test_two_process_ddp_leaves_identical_polished_cnns(tmp_path: Path) -> None:
    pl.seed_everything(0)
    cb = PolishingCallback(accept="always", every_n_epochs=1, at_fit_end=False, monitor="val_loss")
    states = run_ddp_fit(UserCNN(), CNNData(), tmp_path, callbacks=[cb])
    assert_same_tensors(states[0]["model"], states[1]["model"])
    h0, h1 = (s["callbacks"]["PolishingCallback"]["history"] for s in states)
    assert h0 == h1 and len(h0) == 2 and all(h["accepted"] for h in h0)
