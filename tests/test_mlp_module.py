import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.modules import ReLUMLPModule
from lightning_poly.nn import ReLUMLP, get_relu_network, linear_layers


def _fit(module: pl.LightningModule, dm: pl.LightningDataModule, epochs: int, tmp_path) -> pl.Trainer:  # type: ignore[no-untyped-def]
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        accelerator="cpu",
    )
    trainer.fit(module, dm)
    return trainer


@pytest.mark.parametrize(("loss", "out", "signed"), [("bce", 1, False), ("bce", 1, True), ("cross_entropy", 2, False)])
def test_learns_two_moons(loss: str, out: int, signed: bool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pl.seed_everything(0)
    dm = SyntheticDataModule("two_moons", n_samples=400, batch_size=50, signed_labels=signed, options={"noise": 0.05})
    m = ReLUMLPModule(input_dim=2, hidden=[32, 32], output_dim=out, loss=loss, lr=0.02)  # type: ignore[arg-type]
    trainer = _fit(m, dm, 40, tmp_path)
    assert float(trainer.callback_metrics["val/acc"]) > 0.95
    x, y = dm.train_tensors()
    acc = (m.predict_labels(x) == (y > 0).long()).float().mean()
    assert acc > 0.95


def test_mse_regression_reduces_loss(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dm = SyntheticDataModule("teacher_relu", n_samples=200, options={"d": 4, "m_gen": 3}, batch_size=0)
    m = ReLUMLPModule(input_dim=4, hidden=[32], loss="mse", lr=0.01)
    x, y = (lambda d: (d.setup(), d.train_tensors())[1])(dm)
    before = float(((m(x).squeeze(1) - y) ** 2).mean())
    _fit(m, dm, 100, tmp_path)
    after = float(((m(x).squeeze(1) - y) ** 2).mean())
    assert after < 0.2 * before


def test_input_dim_mismatch_is_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    dm = SyntheticDataModule("cube_parity")
    with pytest.raises(MisconfigurationException, match="`input_dim` of the model is 2 but the data module serves 3"):
        _fit(ReLUMLPModule(input_dim=2), dm, 1, tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"loss": "hinge"}, "`loss` must be one of"),
        ({"lr": -1.0}, "`lr` must be a finite number > 0, got -1.0"),
        ({"loss": "bce", "output_dim": 3}, "`output_dim` must be 1 with loss='bce', got 3"),
        ({"init": "he"}, "`init` must be one of"),
        ({"hidden": [4, 0]}, r"`hidden\[1\]` must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments(kwargs: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        ReLUMLPModule(**kwargs)


@pytest.mark.parametrize("init", ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal"])
def test_initialisations_and_constant_bias(init: str) -> None:
    torch.manual_seed(0)
    net = ReLUMLP([50, 400, 1], init=init, bias_value=0.01)  # type: ignore[arg-type]
    w = net.net[0].weight.detach()
    assert torch.all(net.net[0].bias == 0.01)
    expected_var = {
        "xavier_uniform": 2 / 450,
        "xavier_normal": 2 / 450,
        "kaiming_uniform": 2 / 50,
        "kaiming_normal": 2 / 50,
        "orthogonal": None,
    }[init]
    if expected_var is None:
        assert torch.allclose(w.T @ w, torch.eye(50), atol=1e-4)
    else:
        assert abs(float(w.var()) / expected_var - 1) < 0.1


def test_relu_network_protocol() -> None:
    m = ReLUMLPModule(input_dim=3, hidden=[5, 4])
    net = get_relu_network(m)
    assert net is m.model.net
    assert [l.out_features for l in linear_layers(m)] == [5, 4, 1]

    class UserModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))

        def relu_network(self) -> nn.Sequential:
            return self.body

    assert get_relu_network(UserModel()) is not None
    with pytest.raises(TypeError, match="layer 1 of the ReLU network is Conv1d"):
        get_relu_network(nn.Sequential(nn.Linear(2, 3), nn.Conv1d(1, 1, 1)))
    with pytest.raises(TypeError, match="expected an nn.Sequential"):
        get_relu_network(nn.Linear(2, 2))
