"""VertexSearchCallback on a user's own shallow module with plain DataLoaders."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import VertexSearchCallback
from lightning_poly.data import teacher_relu
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.geometry import activation_pattern
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


class Shallow(pl.LightningModule):
    """A user's module: one hidden layer, MSE, Adam."""

    def __init__(self, d: int = 3, m: int = 4, lr: float = 0.01, hidden: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(d, m), nn.ReLU()]
        for _ in range(hidden - 1):
            layers += [nn.Linear(m, m), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(m, 1))
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        x, y = batch
        return nn.functional.mse_loss(self(x)[:, 0], y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = teacher_relu(d=3, m_gen=4, seed=0)  # N = 16
    return x.float(), y.float()


def _fit(model, callbacks, tmp_path, epochs=5, ckpt_path=None, **kw):  # type: ignore[no-untyped-def]
    x, y = _data()
    trainer = pl.Trainer(
        max_epochs=epochs, callbacks=callbacks, default_root_dir=tmp_path, enable_progress_bar=False,
        enable_model_summary=False, **{"logger": False, "enable_checkpointing": False, **kw},
    )  # fmt: skip
    trainer.fit(model, DataLoader(TensorDataset(x, y), batch_size=8), ckpt_path=ckpt_path)
    return trainer


def _mse(model: nn.Module) -> float:
    x, y = _data()
    with torch.no_grad():
        return float(((model(x)[:, 0] - y) ** 2).mean())


def test_search_from_the_trained_network_lowers_its_training_loss_and_logs(tmp_path: Path) -> None:
    pl.seed_everything(0)
    model = Shallow()
    cb = VertexSearchCallback(max_steps=30)
    _fit(model, [cb], tmp_path, logger=CSVLogger(str(tmp_path), name="csv"))
    h = cb.history[-1]
    assert h["loss"] == "squared" and h["accepted"] is True
    assert h["loss_search"] <= h["loss_own_vertex"] + 1e-9  # the search starts at the trained network's vertex
    assert h["loss_after"] < h["loss_trained"]
    assert _mse(model) == pytest.approx(h["loss_after"], rel=1e-5)  # the module itself got better
    x, _ = _data()
    w = torch.cat([model.net[0].weight, model.net[0].bias[:, None]], 1).detach()
    assert torch.equal(activation_pattern(w, x), cb.last_search.pattern)  # type: ignore[union-attr]
    media = list(Path(tmp_path, "csv").rglob("vertex_search_loss_fit_end*.png"))
    assert media and "vertex_search/loss_search" in next(Path(tmp_path, "csv").rglob("metrics.csv")).read_text()


def test_a_search_that_cannot_improve_is_undone_exactly(tmp_path: Path) -> None:
    # the module is the teacher itself and does not train (lr = 0): its loss is 0, nothing can improve it
    x, y = _data()
    teacher = Shallow(m=4, lr=0.0)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # rebuild teacher_relu's network (same seed and draws)
        xx = torch.randn(16, 3, generator=g, dtype=torch.float64)
        w = torch.randn(4, 4, generator=g, dtype=torch.float64)
        v = torch.randn(4, generator=g, dtype=torch.float64)
        c = torch.randn((), generator=g, dtype=torch.float64)
        teacher.net[0].weight.copy_(w[:, :3])
        teacher.net[0].bias.copy_(w[:, 3])
        teacher.net[2].weight.copy_(v[None])
        teacher.net[2].bias.fill_(float(c))
    assert torch.allclose(xx.float(), x)
    before = {k: t.clone() for k, t in teacher.state_dict().items()}
    cb = VertexSearchCallback(max_steps=5)
    _fit(teacher, [cb], tmp_path, epochs=1)
    assert cb.history[-1]["accepted"] is False
    assert_same_tensors(before, teacher.state_dict())


def test_networks_that_are_not_shallow_are_refused_at_setup(tmp_path: Path) -> None:
    with pytest.raises(MisconfigurationException, match="needs a one-hidden-layer ReLU network .* got a 3-4-4-1"):
        _fit(Shallow(hidden=2), [VertexSearchCallback()], tmp_path, epochs=1)
    with pytest.raises(ValueError, match="`algorithm` must be one of"):
        VertexSearchCallback(algorithm="annealing")  # type: ignore[arg-type]


def test_resume_keeps_the_history(tmp_path: Path) -> None:
    def cb() -> VertexSearchCallback:
        return VertexSearchCallback(max_steps=3, every_n_epochs=1, at_fit_end=False, accept="always")

    pl.seed_everything(0)
    full = cb()
    _fit(Shallow(), [full], tmp_path / "full", epochs=3)
    pl.seed_everything(0)
    first = cb()
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    _fit(Shallow(), [first, ck], tmp_path / "a", epochs=2, enable_checkpointing=True)
    resumed = cb()
    pl.seed_everything(0)
    _fit(Shallow(), [resumed], tmp_path / "b", epochs=3, ckpt_path=str(tmp_path / "ck" / "last.ckpt"))
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    assert resumed.history[:2] == first.history

    def strip(h: dict) -> dict:
        return {k: v for k, v in h.items() if k != "seconds"}

    assert strip(resumed.history[2])["loss_search"] == pytest.approx(full.history[2]["loss_search"], rel=1e-5)


@pytest.mark.ddp
def test_two_process_ddp_leaves_identical_weights(tmp_path: Path) -> None:
    x, y = _data()
    pl.seed_everything(0)
    cb = VertexSearchCallback(max_steps=10, accept="always")
    dm = ArrayDataModule(x, y, task="regression", val_fraction=0.0, batch_size=8)
    states = run_ddp_fit(Shallow(), dm, tmp_path, [cb], max_epochs=2)
    assert_same_tensors(states[0]["model"], states[1]["model"])
    h0 = states[0]["callbacks"]["VertexSearchCallback"]["history"]
    h1 = states[1]["callbacks"]["VertexSearchCallback"]["history"]
    assert len(h0) == 1 and h0[0]["accepted"] is True
    assert [h["loss_search"] for h in h0] == [h["loss_search"] for h in h1]
