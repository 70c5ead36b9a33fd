"""CrossSectionCallback on a user's small CNN (1x8x8 images, plain DataLoaders): Figure 10 at several epochs."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import CrossSectionCallback
from lightning_poly.geometry import cross_section
from tests.callbacks.test_activation_drift_cnn import TinyCNN, _images

pytestmark = pytest.mark.usefixtures("one_thread")


def _fit(
    tmp_path: Path, cb: CrossSectionCallback | list[CrossSectionCallback], module: pl.LightningModule, epochs: int = 2
) -> None:
    pl.Trainer(
        max_epochs=epochs, callbacks=cb if isinstance(cb, list) else [cb], default_root_dir=tmp_path, accelerator="cpu", logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    ).fit(module, DataLoader(TensorDataset(*_images()), batch_size=8))  # fmt: skip


def test_a_figure_at_fit_start_and_every_epoch_of_the_same_plane(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = TinyCNN()
    cb = CrossSectionCallback(resolution=60, anchor=5, input_shape=(1, 8, 8), seed=3)
    _fit(tmp_path, cb, module)
    # the end on the last epoch's weights: that record again, no second figure
    assert [(h["when"], h["epoch"]) for h in cb.history] == [
        ("fit_start", 0),
        ("epoch", 0),
        ("epoch", 1),
        ("fit_end", 2),
    ]
    assert {**cb.history[-1], "when": "epoch", "epoch": 1} == cb.history[-2]
    assert len(cb.paths) == 3 and all(p.suffix == ".png" and p.stat().st_size > 5000 for p in cb.paths)
    assert all(h["regions"] > 1 and h["mean_faces"] >= 3 for h in cb.history)
    # the last figure is the function on the trained module, through sample 5 along the seeded plane
    direct = cross_section(module.eval(), _images()[0][5], resolution=60, seed=3)
    assert cb.last is not None and torch.equal(cb.last.region, direct.region)
    assert torch.equal(cb.last.faces, direct.faces)  # type: ignore[arg-type]
    # the record's histogram: regions per edge count, each region once, the mean its mean
    per = direct.region_faces
    assert per is not None
    hist = cb.history[-1]["histogram"]
    assert sum(hist) == int((per >= 0).sum()) and hist == torch.bincount(per[per >= 0]).tolist()
    assert sum(k * n for k, n in enumerate(hist)) / sum(hist) == pytest.approx(cb.history[-1]["mean_faces"])


def test_setup_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    with pytest.raises(MisconfigurationException, match=r"needs a piecewise-linear network .*'features.2' \(Tanh\)"):
        _fit(tmp_path, CrossSectionCallback(input_shape=(1, 8, 8)), TinyCNN(nn.Tanh), epochs=1)
    with pytest.raises(MisconfigurationException, match=r"`anchor` is sample 100, but the training data holds 48"):
        _fit(tmp_path, CrossSectionCallback(anchor=100, input_shape=(1, 8, 8)), TinyCNN(), epochs=1)
    with pytest.raises(
        MisconfigurationException, match=r"CrossSectionCallback needs a ReLU network.*give `input_shape`"
    ):
        _fit(tmp_path, CrossSectionCallback(anchor=torch.zeros(64)), TinyCNN(), epochs=1)  # a flat anchor: no shape


def test_the_input_shape_is_taken_from_the_training_samples(tmp_path: Path) -> None:
    given, taken = CrossSectionCallback(input_shape=(1, 8, 8), at_fit_start=False), CrossSectionCallback(anchor=1)
    _fit(tmp_path, [given, taken], TinyCNN(), epochs=1)
    assert taken.input_shape is None and taken._shape == (1, 8, 8)
    assert [h["when"] for h in taken.history] == ["fit_start", "epoch", "fit_end"]
    assert [h["when"] for h in given.history] == ["epoch", "fit_end"]
    assert all(h["regions"] > 1 for h in taken.history)


class _Wrapped(TinyCNN):
    """The CNN as one ``net`` submodule; ``scale`` and ``shift`` change the forward around it."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(self.features, nn.Flatten(), self.head)
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.scale + self.shift


@pytest.mark.parametrize("analyse", ["cross_section", "face_histogram", "drift"])
def test_a_named_network_must_compute_the_modules_forward(analyse: str, tmp_path: Path) -> None:
    from lightning_poly.callbacks import ActivationDriftCallback, FaceHistogramCallback

    make = {
        "cross_section": lambda: CrossSectionCallback(resolution=20, input_shape=(1, 8, 8), network="net"),
        "face_histogram": lambda: FaceHistogramCallback(n_points=20, input_shape=(1, 8, 8), network="net"),
        "drift": lambda: ActivationDriftCallback(input_shape=(1, 8, 8), network="net"),
    }[analyse]
    pl.seed_everything(0)
    _fit(tmp_path, make(), _Wrapped(), epochs=1)  # the forward is the submodule's: accepted
    with pytest.raises(MisconfigurationException, match=r"`network` 'net' is not what the module computes: .*differs"):
        _fit(tmp_path, make(), _Wrapped(scale=2.0, shift=0.5), epochs=1)
