import pytest
import pytorch_lightning as pl
import torch

from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.modules import ConvexGatedReLUModule
from lightning_poly.nn.homogeneous import augment
from lightning_poly.solvers.gated_lasso import gated_lasso_cvxpy


def _data() -> ArrayDataModule:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 3, generator=g)
    y = torch.relu(x @ torch.tensor([1.0, -2.0, 0.5])) + 0.1 * torch.randn(100, generator=g)
    return ArrayDataModule(x, y, task="regression", val_fraction=0.0, batch_size=0)


def test_proximal_training_reaches_the_cvxpy_optimum_and_the_certificate_goes_to_zero(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dm = _data()
    model = ConvexGatedReLUModule(input_dim=3, n_gates=20, lam=0.1, optimizer="proximal")
    history: list[dict] = []

    class Record(pl.Callback):  # the module logs after the callbacks' epoch-end hooks: read them next
        def _read(self, trainer):  # type: ignore[no-untyped-def]
            got = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("certificate")}
            if got:
                history.append(got)

        def on_train_epoch_start(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            self._read(trainer)

        def on_train_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            self._read(trainer)

    trainer = pl.Trainer(max_epochs=1500, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[Record()], default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, dm)
    gaps = [h["certificate/rel_gap"] for h in history]
    assert gaps[-1] < 1e-4 and gaps[-1] < gaps[0] / 1000  # float32 weights: ~1e-5 is the floor
    assert history[-1]["certificate/prox_residual"] < 1e-3 * history[0]["certificate/prox_residual"]
    x, y = dm.train_tensors()
    xt = augment(x.double(), True)
    mask = (xt @ model.net.gates.double().T > 0).double()
    ref = gated_lasso_cvxpy(xt, mask, y.double(), 0.1)
    assert history[-1]["certificate/objective"] == pytest.approx(ref.objective, rel=1e-4)
    assert history[-1]["certificate/objective"] >= ref.objective * (1 - 1e-9)  # never below the optimum


def test_adam_and_data_gates_and_bad_arguments(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dm = _data()
    model = ConvexGatedReLUModule(input_dim=3, n_gates=16, gates="data", lam=1e-3, optimizer="adam")
    pl.Trainer(max_epochs=5, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               default_root_dir=tmp_path).fit(model, dm)  # fmt: skip
    x, _ = dm.train_tensors()
    # data gates are orthogonal to d = 4 - 1 = 3 augmented training points each
    ip = (augment(x.double(), True) @ model.net.gates.double().T).abs()
    assert int((ip < 1e-5).sum(dim=0).min()) >= 3
    with pytest.raises(ValueError, match="`loss` must be one of"):
        ConvexGatedReLUModule(loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`n_outputs` must be the number of classes"):
        ConvexGatedReLUModule(loss="cross_entropy", n_outputs=1)


@pytest.mark.parametrize(("loss", "k"), [("logistic", 1), ("cross_entropy", 3)])
def test_classification_losses_drive_the_certificate_down(loss: str, k: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(90, 2, generator=g)
    y = (torch.atan2(x[:, 1], x[:, 0]) > 0).long() if k == 1 else (torch.arange(90) % 3)
    dm = ArrayDataModule(x, y, val_fraction=0.0, batch_size=0)
    model = ConvexGatedReLUModule(input_dim=2, n_gates=12, loss=loss, n_outputs=k, lam=0.01)  # type: ignore[arg-type]
    dm.setup()
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, dm)
    start = model.certificate()["prox_residual"]
    trainer = pl.Trainer(max_epochs=400, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, dm)
    assert model.certificate()["prox_residual"] < start / 20


def test_certificate_from_plain_dataloaders_equals_the_one_from_the_data_module(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader, TensorDataset

    dm = _data()
    dm.setup("fit")
    x, y = dm.train_tensors()
    certs = []
    for data in (dm, DataLoader(TensorDataset(x, y), batch_size=len(x))):
        pl.seed_everything(0)
        model = ConvexGatedReLUModule(input_dim=3, n_gates=20, lam=0.1, gates="data")
        trainer = pl.Trainer(max_epochs=20, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, default_root_dir=tmp_path)  # fmt: skip
        trainer.fit(model, data)
        certs.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("certificate")})
    assert certs[0].keys() == {"certificate/prox_residual", "certificate/rel_gap", "certificate/objective"}
    for k, v in certs[0].items():  # float32 training on the same data, batches built two ways
        assert certs[1][k] == pytest.approx(v, rel=1e-5), k


def test_certificate_function_vanishes_at_the_cvxpy_optimum_and_not_at_zero() -> None:
    from lightning_poly.nn.gated import GatedReLU
    from lightning_poly.solvers import gated_certificate, gated_step_size

    dm = _data()
    dm.setup("fit")
    x, y = dm.train_tensors()
    net = GatedReLU(torch.randn(20, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    xt = augment(x.double(), True)
    ref = gated_lasso_cvxpy(xt, (xt @ net.gates.T > 0).double(), y.double(), 0.1)
    at_zero = gated_certificate(net, x, y, lam=0.1)
    at_opt = gated_certificate(net, x, y, lam=0.1, weight=ref.weight[None])
    assert at_opt.step == at_zero.step == gated_step_size(net, x)
    assert at_opt.prox_residual < 1e-4 * at_zero.prox_residual
    assert at_opt.rel_gap is not None and at_opt.rel_gap < 1e-6 < at_zero.rel_gap  # type: ignore[operator]
    assert at_opt.objective == pytest.approx(ref.objective, rel=1e-6)
    logistic = gated_certificate(net, x, (y > y.median()).long(), lam=0.1, loss="logistic")
    assert logistic.rel_gap is None and set(logistic.scalars()) == {"prox_residual"}
