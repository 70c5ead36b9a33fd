from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from lightning_poly.callbacks import ActivationDriftCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.geometry.ntk_empirical import empirical_ntk
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import run_ddp_fit


def _model() -> ReLUMLPModule:
    pl.seed_everything(1)
    return ReLUMLPModule(input_dim=2, hidden=[16], lr=0.05)


def _data() -> SyntheticDataModule:
    return SyntheticDataModule("two_moons", n_samples=200, batch_size=20, val_fraction=0.0)


def _fit(cbs, tmp_path, max_epochs=3, ckpt_path=None):  # type: ignore[no-untyped-def]
    model = _model()
    pl.Trainer(max_epochs=max_epochs, logger=False, callbacks=cbs, default_root_dir=tmp_path, enable_progress_bar=False,
               enable_model_summary=False, enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in cbs)).fit(
        model, _data(), ckpt_path=ckpt_path)  # fmt: skip
    return model


def test_fractions_and_ntk_match_direct_computation(tmp_path: Path) -> None:
    cb = ActivationDriftCallback(ntk_points=32)
    init = _model()
    model = _fit([cb], tmp_path)
    x = _data()
    x.setup()
    pts = x.train_tensors()[0]
    start = torch.relu(init.model.net[0](pts)) > 0
    end = torch.relu(model.model.net[0](pts)) > 0
    assert cb.history[-1]["changed_since_start"] == pytest.approx(float((start != end).double().mean()))
    assert 0 < cb.history[-1]["changed_since_start"] < 0.5
    # two-layer closed form of the first-layer part plus the second layer's part
    w, a = model.model.net[0], model.model.net[2].weight[0]
    xs = pts[:32].double()
    act = (xs @ w.weight.double().T + w.bias.double() > 0).double()
    xt = torch.cat([xs, torch.ones(32, 1, dtype=torch.float64)], 1)
    h_first = (xt @ xt.T) * ((act * a.double() ** 2) @ act.T)
    feats = torch.relu(xs @ w.weight.double().T + w.bias.double())
    h = h_first + feats @ feats.T + 1.0
    assert torch.allclose(empirical_ntk(model.model.net, pts[:32]), h, atol=1e-4)
    assert cb.history[-1]["ntk_lambda_min"] == pytest.approx(float(torch.linalg.eigvalsh(h).min()), abs=1e-4)


def test_resume_measures_from_the_original_start(tmp_path: Path) -> None:
    full = ActivationDriftCallback(ntk_points=0)
    _fit([full], tmp_path / "full", max_epochs=4)
    first = ActivationDriftCallback(ntk_points=0)
    _fit([first, ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)], tmp_path / "a", max_epochs=2)
    resumed = ActivationDriftCallback(ntk_points=0)
    _fit(
        [resumed, ModelCheckpoint(dirpath=tmp_path / "ck2")],
        tmp_path / "b",
        max_epochs=4,
        ckpt_path=str(tmp_path / "ck" / "last.ckpt"),
    )
    assert resumed.history == full.history


@pytest.mark.ddp
def test_two_process_ddp_histories_identical(tmp_path: Path) -> None:
    states = run_ddp_fit(_model(), _data(), tmp_path, callbacks=[ActivationDriftCallback(ntk_points=16)])
    h0, h1 = (s["callbacks"]["ActivationDriftCallback"]["history"] for s in states)
    assert h0 == h1 and len(h0) == 2
