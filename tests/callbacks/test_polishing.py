from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from lightning_poly.callbacks import PolishingCallback
from lightning_poly.datamodules import ArrayDataModule, SyntheticDataModule
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


def _fit(model, dm, callbacks, tmp_path, ckpt_path=None, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("logger", False)
    trainer = pl.Trainer(
        max_epochs=kw.pop("max_epochs", 3), callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu",
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=kw.pop("ckpt", False), **kw,
    )  # fmt: skip
    trainer.fit(model, dm, ckpt_path=ckpt_path)
    return trainer


def _model(loss: str = "mse") -> ReLUMLPModule:
    pl.seed_everything(0)
    return ReLUMLPModule(input_dim=2, hidden=[24], loss=loss, lr=0.02)  # type: ignore[arg-type]


def _spiral() -> SyntheticDataModule:
    return SyntheticDataModule("spiral", n_samples=120, batch_size=30, val_fraction=0.25)


def test_always_keeps_polished_neurons_and_logs(tmp_path: Path) -> None:
    model, dm = _model(), _spiral()
    cb = PolishingCallback(accept="always")
    trainer = _fit(model, dm, [cb], tmp_path, logger=CSVLogger(str(tmp_path), name="csv"))
    h = cb.history[-1]
    assert h["accepted"] is True and h["grad_norm"] < 1e-6
    x, _ = dm.train_tensors()
    w, b = model.model.net[0].weight.double(), model.model.net[0].bias.double()
    idx = cb.last_report.results[0].indices  # type: ignore[union-attr]
    ip = (x.double()[idx] * w[:, None, :]).sum(-1) + b[:, None]
    assert float((ip.abs() / torch.cat([w, b[:, None]], 1).norm(dim=1, keepdim=True)).max()) < 1e-5
    assert "polish/metric_after" in (Path(trainer.log_dir) / "metrics.csv").read_text()
    assert list((Path(trainer.log_dir) / "media").glob("polish_layer0_explanations*.csv"))


def test_if_better_restores_exact_weights_when_metric_cannot_improve(tmp_path: Path) -> None:
    # train accuracy already 1.0 on separable data: it cannot improve, so the polish is undone
    g = torch.Generator().manual_seed(0)
    x = torch.rand(80, 2, generator=g) * 2 - 1
    y = (x[:, 0] > 0).long()
    dm = ArrayDataModule(x, y, val_fraction=0.0, batch_size=80)
    model = _model("bce")
    snap: dict[str, torch.Tensor] = {}

    class Snap(pl.Callback):
        def on_fit_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            snap.update({k: v.clone() for k, v in pl_module.state_dict().items()})

    cb = PolishingCallback(accept="if_better", monitor="train_acc")
    _fit(model, dm, [Snap(), cb], tmp_path, max_epochs=30)
    assert cb.history[-1]["metric_before"] == 1.0 and cb.history[-1]["accepted"] is False
    assert_same_tensors(snap, model.state_dict())


def test_failure_leaves_the_model_as_it_was(tmp_path: Path) -> None:
    # constant inputs: augmented rank 1, polishing must fail; the weights must be untouched
    dm = ArrayDataModule(torch.ones(20, 2), torch.arange(20) % 2, val_fraction=0.0, batch_size=20)
    model = _model("bce")
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(model, dm)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cb = PolishingCallback(monitor="train_loss")
    cb.setup(trainer, model, "fit")
    with pytest.raises(ValueError, match="rank >= 2"):
        cb._run(trainer, model, "manual")
    assert_same_tensors(before, model.state_dict())


def test_every_n_epochs_resets_optimizer_state_and_resumes(tmp_path: Path) -> None:
    cb = PolishingCallback(accept="always", every_n_epochs=2, at_fit_end=False, monitor="train_loss")
    seen: list[int] = []

    class Probe(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            opt = trainer.optimizers[0]
            seen.append(sum(1 for p in pl_module.parameters() if p in opt.state))

    full = _model()
    trainer = _fit(full, _spiral(), [cb, Probe()], tmp_path, max_epochs=4)
    assert [h["epoch"] for h in cb.history] == [1, 3]
    assert seen[1] == 0 and seen[0] == 4  # state of every polished/refitted parameter dropped
    assert trainer.global_step == 12
    # resume from a checkpoint taken after the first polish keeps the history
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    first = PolishingCallback(accept="always", every_n_epochs=2, at_fit_end=False, monitor="train_loss")
    _fit(_model(), _spiral(), [first, ck], tmp_path / "a", max_epochs=2, ckpt=True)
    resumed = PolishingCallback(accept="always", every_n_epochs=2, at_fit_end=False, monitor="train_loss")
    m = _model()
    _fit(m, _spiral(), [resumed], tmp_path / "b", max_epochs=4, ckpt=True, ckpt_path=str(tmp_path / "ck" / "last.ckpt"))
    assert [h["epoch"] for h in resumed.history] == [1, 3]
    assert resumed.history[0] == first.history[0]
    # ... and ends where the uninterrupted run ends: weights and the second polish's record
    for k, v in full.state_dict().items():
        assert torch.allclose(m.state_dict()[k], v, atol=1e-6), k

    got, want = resumed.history[1], cb.history[1]
    assert got.keys() == want.keys()
    for k in want.keys() - {"seconds"}:
        assert got[k] == (pytest.approx(want[k], rel=1e-5) if isinstance(want[k], float) else want[k]), k


def test_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`accept` must be one of"):
        PolishingCallback(accept="sometimes")  # type: ignore[arg-type]
    with pytest.raises(MisconfigurationException, match="`layers` must be hidden layers in 0..0"):
        _fit(_model(), _spiral(), [PolishingCallback(layers=[1])], tmp_path)


@pytest.mark.ddp
def test_two_process_ddp_leaves_identical_polished_weights(tmp_path: Path) -> None:
    cb = PolishingCallback(accept="always", every_n_epochs=1, at_fit_end=True, monitor="val_loss")
    states = run_ddp_fit(_model(), _spiral(), tmp_path, callbacks=[cb])
    assert_same_tensors(states[0]["model"], states[1]["model"])
    h0, h1 = (s["callbacks"]["PolishingCallback"]["history"] for s in states)
    assert h0 == h1 and len(h0) == 3 and all(h["accepted"] for h in h0)


def test_two_instances_with_different_refits_run_side_by_side_each_with_its_state(tmp_path: Path) -> None:
    """The refit's penalty, weight decay and norm are part of ``state_key``: an instance with the paper's refit and
    one with the ridge refit run in one Trainer (Lightning refuses two callbacks with one key), each with its own
    history, and a checkpoint holds both states."""
    keys = {PolishingCallback().state_key, PolishingCallback(refit_penalty="ridge").state_key,
            PolishingCallback(weight_decay=1e-3).state_key, PolishingCallback(p=1).state_key}  # fmt: skip
    assert len(keys) == 4
    model, dm = _model(), _spiral()
    paper, ridge = PolishingCallback(accept="always"), PolishingCallback(accept="always", refit_penalty="ridge")
    trainer = _fit(model, dm, [paper, ridge], tmp_path, max_epochs=2)
    assert [h["refit_penalty"] for h in paper.history] == ["l1"]
    assert [h["refit_penalty"] for h in ridge.history] == ["ridge"]
    path = tmp_path / "both.ckpt"
    trainer.save_checkpoint(path)
    states = torch.load(path, weights_only=False)["callbacks"]
    assert states[paper.state_key]["history"][0]["refit_penalty"] == "l1"
    assert states[ridge.state_key]["history"][0]["refit_penalty"] == "ridge"


def test_a_numerical_failure_of_the_refit_warns_leaves_the_model_and_lets_fit_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refit that fails numerically (injected: the solver raises LinAlgError) after training: ``fit`` ends, the
    weights are those training left (bit for bit), the failure is warned about and recorded as not accepted."""
    import lightning_poly.algorithms.polishing.head as head

    def singular(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise torch.linalg.LinAlgError("the input matrix is singular (injected)")

    monkeypatch.setattr(head, "weighted_lasso", singular)
    model, dm = _model(), _spiral()
    snap: dict[str, torch.Tensor] = {}

    class Snap(pl.Callback):
        def on_train_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]  # before the polish (order)
            snap.update({k: v.clone() for k, v in pl_module.state_dict().items()})

    cb = PolishingCallback(accept="always")
    with pytest.warns(UserWarning, match="failed numerically .*LinAlgError.*left exactly as it was"):
        trainer = _fit(model, dm, [Snap(), cb], tmp_path, max_epochs=2)
    assert trainer.state.finished
    assert cb.history[-1]["accepted"] is False and "LinAlgError" in cb.history[-1]["error"]
    assert_same_tensors(snap, model.state_dict())
