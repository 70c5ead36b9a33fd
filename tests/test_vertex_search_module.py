"""VertexSearchModule: a shallow network trained by one vertex-search move per training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.algorithms import modified_greedy_local_search
from lightning_poly.callbacks import ActivationDriftCallback
from lightning_poly.data import teacher_relu
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.geometry import activation_pattern
from lightning_poly.modules import VertexSearchModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = teacher_relu(d=2, m_gen=3, seed=1)  # N = 9
    return x.float(), y.float()


def _fit(model, tmp_path, epochs=1000, callbacks=(), ckpt_path=None, **kw):  # type: ignore[no-untyped-def]
    x, y = _data()
    trainer = pl.Trainer(
        max_epochs=epochs, callbacks=list(callbacks), default_root_dir=tmp_path, enable_progress_bar=False,
        enable_model_summary=False, **{"logger": False, "enable_checkpointing": False, **kw},
    )  # fmt: skip
    trainer.fit(model, DataLoader(TensorDataset(x, y), batch_size=len(x)), ckpt_path=ckpt_path)
    return trainer


def _first_layer(model: VertexSearchModule) -> torch.Tensor:
    return torch.cat([model.net[0].weight, model.net[0].bias[:, None]], 1).detach().double()


def test_each_step_is_one_mgls_move_and_the_network_is_its_solution(tmp_path: Path) -> None:
    x, y = _data()
    model = VertexSearchModule(input_dim=2, width=4, seed=3, max_moves=6)
    start = activation_pattern(_first_layer(model), x.double())
    trainer = _fit(model, tmp_path, logger=CSVLogger(str(tmp_path), name="csv"))
    search = model.search
    assert search is not None
    ref = modified_greedy_local_search(x.double(), y.double(), search.v, pattern=start, max_steps=search.steps, seed=3)
    assert search.trace == pytest.approx(ref.trace, rel=1e-9)  # the same search, one move per step
    assert search.trace == sorted(search.trace, reverse=True)
    # the module's network is the vertex's solution: its pattern and its loss
    assert torch.equal(activation_pattern(_first_layer(model), x.double()), search.pattern)
    assert model.loss_on(x, y) == pytest.approx(float(search.solution.loss[0]), rel=1e-5, abs=1e-7)
    assert search.steps == 6 and trainer.current_epoch == 6  # one move per training step (one batch an epoch)
    assert "train_loss" in next(Path(tmp_path, "csv").rglob("metrics.csv")).read_text()


def test_it_stops_at_a_local_minimum_and_other_callbacks_run_on_it(tmp_path: Path) -> None:
    x, y = _data()
    model = VertexSearchModule(input_dim=2, width=2, algorithm="gls")
    drift = ActivationDriftCallback(ntk_points=0)
    trainer = _fit(model, tmp_path, epochs=500, callbacks=[drift])
    assert model.search is not None and model.search.stopped == "local_minimum"
    assert trainer.current_epoch == model.search.steps + 1 < 500
    # the suite's analysis callbacks see an ordinary Linear-ReLU-Linear module: one drift record an epoch,
    # and the moves change activation patterns
    assert len(drift.history) == trainer.current_epoch
    assert model.search.steps >= 1 and drift.history[-1]["changed_since_start"] > 0


def test_resume_continues_the_same_search(tmp_path: Path) -> None:
    full = VertexSearchModule(input_dim=2, width=4, seed=5)
    _fit(full, tmp_path / "full", epochs=5)
    first = VertexSearchModule(input_dim=2, width=4, seed=5)
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    _fit(first, tmp_path / "a", epochs=2, callbacks=[ck], enable_checkpointing=True)
    resumed = VertexSearchModule(input_dim=2, width=4, seed=99)  # the checkpoint decides, not the seed
    _fit(resumed, tmp_path / "b", epochs=5, ckpt_path=str(tmp_path / "ck" / "last.ckpt"))
    assert resumed.search is not None and full.search is not None
    assert resumed.search.trace == pytest.approx(full.search.trace, rel=1e-9)
    assert torch.allclose(_first_layer(resumed), _first_layer(full), atol=1e-6)


def test_bad_arguments_and_data_are_refused() -> None:
    with pytest.raises(ValueError, match="`second_layer='halves'` needs an even `width`, got 3"):
        VertexSearchModule(input_dim=2, width=3)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        VertexSearchModule(input_dim=2, width=2, loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`second_layer` must hold 2 finite values"):
        VertexSearchModule(input_dim=2, width=2, second_layer=[1.0])


@pytest.mark.ddp
def test_two_process_ddp_leaves_identical_weights(tmp_path: Path) -> None:
    x, y = _data()
    dm = ArrayDataModule(x, y, task="regression", val_fraction=0.0, batch_size=4)
    states = run_ddp_fit(VertexSearchModule(input_dim=2, width=4), dm, tmp_path, [], max_epochs=4)
    assert_same_tensors(states[0]["model"], states[1]["model"])
