"""The suite's callbacks on a user's own code: own LightningModule, plain DataLoaders, own DataModule
with dict batches, either Lightning package, DDP with a DistributedSampler — and the silent cases refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException as FabricMisconfiguration
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lightning_poly._compat import Callback as SuiteCallback
from lightning_poly.callbacks import (
    ActivationDriftCallback,
    CrossSectionCallback,
    DecisionBoundaryCallback,
    FaceHistogramCallback,
    PolishingCallback,
)
from lightning_poly.data import make_synthetic
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.datamodules.tensor import EpochSeededSampler
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit

MISCONFIG = (FabricMisconfiguration,)


class UserModule(pl.LightningModule):
    """What a user writes: a network attribute, a loss, Adam."""

    def __init__(self, d: int = 2, k: int = 1, hidden: int = 16, act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), act(), nn.Linear(hidden, k))
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

    def _loss(self, batch: Any) -> torch.Tensor:
        x, y = (batch["features"], batch["label"]) if isinstance(batch, dict) else batch
        out = self(x)
        if self.k == 1:
            return nn.functional.binary_cross_entropy_with_logits(out[:, 0], y.float())
        return nn.functional.cross_entropy(out, y)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._loss(batch)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=0.02)


class TanhForward(UserModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(x.flatten(1)))


class CopyingModule(UserModule):
    def relu_network(self) -> nn.Sequential:
        return copy.deepcopy(self.net)


class DictDataset(Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"features": self.x[i], "label": self.y[i]}


class _DictLoaders:
    """A user's loaders of dict batches (first 90 samples train, the rest validation)."""

    x: torch.Tensor
    y: torch.Tensor

    def train_dataloader(self) -> DataLoader:
        return DataLoader(DictDataset(self.x[:90], self.y[:90]), batch_size=30, sampler=EpochSeededSampler(90, 0))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(DictDataset(self.x[90:], self.y[90:]), batch_size=30)


class DictDataModule(_DictLoaders, pl.LightningDataModule):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        pl.LightningDataModule.__init__(self)
        self.x, self.y = x, y


class LDictDataModule(_DictLoaders, L.LightningDataModule):  # the same, written with `import lightning`
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        L.LightningDataModule.__init__(self)
        self.x, self.y = x, y


class PerRankLoader(pl.LightningDataModule):
    """Each rank iterates its own shard (a DistributedSampler): callbacks must not decide on it."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__()
        self.x, self.y = x, y

    def train_dataloader(self) -> DataLoader:
        from torch.utils.data import DistributedSampler

        ds = TensorDataset(self.x, self.y)
        return DataLoader(ds, batch_size=30, sampler=DistributedSampler(ds, shuffle=True, seed=0))


def _data(n: int = 120) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_synthetic("spiral", n_samples=n, seed=0)
    return x.float(), y.long()


def _trainer(tmp_path: Path, callbacks: list, package: Any = pl, **kw: Any) -> Any:
    kw.setdefault("max_epochs", 3)
    return package.Trainer(
        callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu", logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False, **kw,
    )  # fmt: skip


def _callbacks() -> list:
    return [
        FaceHistogramCallback(n_points=500, every_n_epochs=0, at_fit_start=False, points="train", box=2.0, plot=False),
        ActivationDriftCallback(ntk_points=16),
        PolishingCallback(monitor="val_loss", accept="always"),
        DecisionBoundaryCallback(resolution=20),
    ]


def _results(callbacks: list) -> dict[str, Any]:
    hist, drift, polish, _ = callbacks
    return {
        "faces": hist.history[-1]["histogram"],
        "drift": [h["changed_since_start"] for h in drift.history],
        "polish": {k: polish.history[-1][k] for k in ("metric_before", "metric_after", "objective_after")},
    }


def _fit_with(kind: str, tmp_path: Path, package: Any = pl) -> tuple[dict[str, Any], Any]:
    x, y = _data()
    pl.seed_everything(0)
    model = UserModule()
    cbs = _callbacks()
    trainer = _trainer(tmp_path, cbs, package)
    if kind == "loaders":
        train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=30, sampler=EpochSeededSampler(90, 0))
        val = DataLoader(TensorDataset(x[90:], y[90:]), batch_size=30)
        trainer.fit(model, train_dataloaders=train, val_dataloaders=val)
    elif kind == "dict":
        trainer.fit(model, datamodule=DictDataModule(x, y))
    else:  # the suite's own data module over the same split, in the same order
        dm = _SameSplit(x, y)
        trainer.fit(model, datamodule=dm)
    return _results(cbs), model


class _SameSplit(ArrayDataModule):
    """The suite's data module serving exactly the user's split (first 90 train, last 30 val)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__(x, y, val_fraction=0.25, batch_size=30)

    def setup(self, stage: str | None = None) -> None:
        if self.data_train is None:
            self.data_train = self._dataset(self.x[:90], self.y[:90])
            self.data_val = self._dataset(self.x[90:], self.y[90:])


@pytest.mark.parametrize("kind", ["loaders", "dict"])
def test_callbacks_on_a_user_module_give_what_the_suites_data_module_gives(kind: str, tmp_path: Path) -> None:
    # the same samples in the same batches (the suite's sampler in the user's loader): the same training,
    # so every callback must report exactly what it reports with the suite's own data module
    got, model = _fit_with(kind, tmp_path / kind)
    ref, ref_model = _fit_with("suite", tmp_path / "suite")
    assert len(got["drift"]) == 3 and sum(got["faces"]) > 0
    assert got == ref
    assert_same_tensors(model.state_dict(), ref_model.state_dict())


def test_data_read_from_user_loaders_equals_the_data_module_tensors(tmp_path: Path) -> None:
    from lightning_poly._user import labelled_data

    x, y = _data()
    seen: dict[str, Any] = {}

    class Read(pl.Callback):
        def setup(self, trainer, pl_module, stage):  # type: ignore[no-untyped-def]
            seen.setdefault("train", labelled_data(trainer, None, "train", 50, None, "test"))
            seen.setdefault("val", labelled_data(trainer, None, "val", None, None, "test"))

    for kind, fit in {
        "loaders": lambda t, m: t.fit(
            m,
            DataLoader(TensorDataset(x[:90], y[:90]), batch_size=7, shuffle=True),
            DataLoader(TensorDataset(x[90:], y[90:])),
        ),
        "dict": lambda t, m: t.fit(m, datamodule=DictDataModule(x, y)),
    }.items():
        seen.clear()
        fit(_trainer(tmp_path / kind, [Read()], max_epochs=1), UserModule())
        assert torch.equal(seen["train"][0], x[:50]) and torch.equal(seen["train"][1], y[:50]), kind
        assert torch.equal(seen["val"][0], x[90:]) and torch.equal(seen["val"][1], y[90:]), kind


def test_under_the_lightning_package(tmp_path: Path) -> None:
    assert all(isinstance(cb, L.Callback) and isinstance(cb, pl.Callback) for cb in _callbacks())
    assert isinstance(ActivationDriftCallback(), SuiteCallback)

    class LUser(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y.float())

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=0.02)

    x, y = _data()
    cbs = [ActivationDriftCallback(ntk_points=0), PolishingCallback(monitor="train_loss", accept="always")]
    _trainer(tmp_path / "user", cbs, L).fit(LUser(), DataLoader(TensorDataset(x, y), batch_size=40))
    assert len(cbs[0].history) == 3 and cbs[1].history[-1]["accepted"]
    # the suite's own module and data module under L.Trainer
    model = ReLUMLPModule(input_dim=2, hidden=[8], loss="bce")
    cb = FaceHistogramCallback(n_points=300, every_n_epochs=0, plot=False)
    _trainer(tmp_path / "suite", [cb], L, max_epochs=1).fit(model, ArrayDataModule(x, y, batch_size=40))
    assert cb.last is not None and cb.last.n_regions > 0


def test_copies_and_forward_mismatch_are_refused_at_setup(tmp_path: Path) -> None:
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=40)
    for module, match in [(CopyingModule(), "copy"), (TanhForward(), "forward differs")]:
        cb = PolishingCallback(monitor="train_loss")
        trainer = _trainer(tmp_path, [cb])
        with pytest.raises(MISCONFIG, match=match):
            trainer.fit(module, loader)
        assert trainer.global_step == 0  # refused before any training
    with pytest.raises(MISCONFIG, match="forward differs"):
        _trainer(tmp_path, [FaceHistogramCallback(n_points=100)]).fit(TanhForward(), loader)
    with pytest.raises(MISCONFIG, match="holds no ReLU MLP"):
        _trainer(tmp_path, [ActivationDriftCallback()]).fit(UserModule(act=nn.Tanh), loader)


def test_head_and_loss_mismatch_and_one_class_are_refused_at_setup(tmp_path: Path) -> None:
    x, y = _data()
    ten = torch.arange(len(x)) % 10
    cases = [
        (UserModule(k=10), ten, "logistic", "use 'cross_entropy' for 10 classes"),
        (UserModule(k=1), y, "cross_entropy", "needs C >= 2 outputs"),
        (UserModule(k=10), ten, "squared", "one target per output"),
        (UserModule(k=1), torch.zeros_like(y), "auto", "one class only"),
    ]
    for module, labels, refit, match in cases:
        cb = PolishingCallback(refit=refit, monitor="train_loss")  # type: ignore[arg-type]
        trainer = _trainer(tmp_path, [cb])
        with pytest.raises(MISCONFIG, match=match):
            trainer.fit(module, DataLoader(TensorDataset(x, labels), batch_size=40))
        assert trainer.global_step == 0


def test_missing_validation_data_is_refused_at_setup(tmp_path: Path) -> None:
    x, y = _data()
    trainer = _trainer(tmp_path, [PolishingCallback(monitor="val_acc")])
    with pytest.raises(MISCONFIG, match="needs validation data: pass `val_data=`"):
        trainer.fit(UserModule(), DataLoader(TensorDataset(x, y), batch_size=40))
    assert trainer.global_step == 0


def test_polished_ten_class_model_never_loses_accuracy_while_kept(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(10, 6, generator=g) * 3
    y = torch.arange(400) % 10
    x = centres[y] + torch.randn(400, 6, generator=g)
    train = DataLoader(TensorDataset(x[:300], y[:300]), batch_size=100, shuffle=True)
    val = DataLoader(TensorDataset(x[300:], y[300:]), batch_size=100)
    for monitor in ("val_acc", "val_loss", "train_acc"):
        pl.seed_everything(0)
        model = UserModule(d=6, k=10, hidden=24)
        cb = PolishingCallback(monitor=monitor)  # type: ignore[arg-type]
        _trainer(tmp_path / monitor, [cb], max_epochs=5).fit(model, train, val)
        h = cb.history[-1]
        assert h["loss"] == "cross_entropy"
        with torch.no_grad():
            xs, ys = (x[300:], y[300:]) if monitor.startswith("val") else (x[:300], y[:300])
            out = model(xs)
            real = (
                float((out.argmax(1) == ys).double().mean())
                if monitor.endswith("acc")
                else float(nn.functional.cross_entropy(out.double(), ys))
            )
        assert real == pytest.approx(h["metric_after"] if h["accepted"] else h["metric_before"], abs=1e-6)
        if h["accepted"]:
            better = (
                h["metric_after"] < h["metric_before"]
                if monitor.endswith("loss")
                else h["metric_after"] > h["metric_before"]
            )
            assert better


def test_face_histogram_budget_and_box_faces(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    cb = FaceHistogramCallback(max_seconds=2.0, every_n_epochs=0, plot=False)
    x = torch.rand(64, 40) * 2 - 1
    module = UserModule(d=40)
    module.net = net
    _trainer(tmp_path, [cb], max_epochs=1).fit(
        module, DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=64)
    )
    h = cb.last
    assert h is not None and not h.exact and h.method == "estimate"  # d = 40 > exact_max_dim
    assert h.n_regions >= 1 and h.n_uncounted > 0 and h.n_regions + h.n_uncounted + h.n_degenerate == 8000
    assert h.architecture == "40-32-32-1"
    assert bool((h.box_counts <= h.counts).all()) and h.mean_network_faces <= h.mean
    assert cb.history[-1]["uncounted_regions"] == h.n_uncounted


@pytest.mark.ddp
def test_two_process_ddp_with_a_distributed_sampler_decides_on_identical_data(tmp_path: Path) -> None:
    x, y = _data()
    pl.seed_everything(0)
    cbs = [
        PolishingCallback(monitor="train_loss", accept="always", every_n_epochs=1),
        ActivationDriftCallback(ntk_points=8),
        FaceHistogramCallback(n_points=300, points="train", box=2.0, every_n_epochs=1, at_fit_start=False, plot=False),
    ]
    states = run_ddp_fit(UserModule(), PerRankLoader(x, y), tmp_path, cbs, use_distributed_sampler=False)
    assert_same_tensors(states[0]["model"], states[1]["model"])
    h0, h1 = (s["callbacks"]["PolishingCallback"]["history"] for s in states)
    assert h0 == h1 and len(h0) == 3  # two epochs and fit end
    d0, d1 = (s["callbacks"]["ActivationDriftCallback"]["history"] for s in states)
    assert d0 == d1
    f0, f1 = ([dict(h, seconds=0) for h in s["callbacks"]["FaceHistogramCallback"]["history"]] for s in states)
    assert f0 == f1 and len(f0) == 3 and f0[-1]["regions"] > 0


@pytest.mark.parametrize("package", [pl, L], ids=["pytorch_lightning", "lightning.pytorch"])
def test_compression_and_decision_boundary_from_plain_loaders_equal_the_data_module(
    package: Any, tmp_path: Path
) -> None:
    from lightning_poly.callbacks import CompressionCallback
    from lightning_poly.modules import PolytopeCoverModule

    class DictBatches(PolytopeCoverModule):  # a user's subclass that trains on dict batches
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return super().training_step((batch["features"], batch["label"]), batch_idx)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            super().validation_step((batch["features"], batch["label"]), batch_idx)

    x, y = make_synthetic("two_circles", n_samples=120, seed=0)
    x, y = x.float(), y.long()
    runs = {}
    for kind in ("loaders", "dict", "suite"):
        pl.seed_everything(0)
        model = (DictBatches if kind == "dict" else PolytopeCoverModule)(input_dim=2, pieces=2, width=8, lr=0.02)
        cbs = [
            CompressionCallback(every_n_steps=4, plot=False, count_facets=False),
            DecisionBoundaryCallback(resolution=20),
        ]
        trainer = _trainer(tmp_path / kind, cbs, package, max_epochs=4)
        if kind == "loaders":
            trainer.fit(
                model, DataLoader(TensorDataset(x[:90], y[:90]), batch_size=30, sampler=EpochSeededSampler(90, 0))
            )
        elif kind == "dict":
            trainer.fit(model, datamodule=(DictDataModule if package is pl else LDictDataModule)(x, y))
        else:
            trainer.fit(model, datamodule=_SameSplit(x, y))
        runs[kind] = ([dict(h, seconds=0) for h in cbs[0].history], model.state_dict(), len(cbs[1].paths))
    history, weights, plots = runs.pop("suite")
    assert len(history) >= 3 and history[-1]["when"] == "fit_end" and plots == 1
    for kind, (h, w, p) in runs.items():
        assert h == history, kind  # everything but the timings
        assert_same_tensors(w, weights)
        assert p == plots


@pytest.mark.ddp
def test_two_process_ddp_compression_with_a_distributed_sampler_decides_on_identical_data(tmp_path: Path) -> None:
    from lightning_poly.callbacks import CompressionCallback
    from lightning_poly.modules import PolytopeCoverModule

    x, y = make_synthetic("two_circles", n_samples=120, seed=0)
    pl.seed_everything(0)
    cbs = [
        CompressionCallback(every_n_steps=2, plot=False, count_facets=False),
        DecisionBoundaryCallback(resolution=20),
    ]
    model = PolytopeCoverModule(input_dim=2, pieces=2, width=8, lr=0.02)
    states = run_ddp_fit(
        model, PerRankLoader(x.float(), y.long()), tmp_path, cbs, max_epochs=3, use_distributed_sampler=False
    )
    assert_same_tensors(states[0]["model"], states[1]["model"])  # masks, w, b, v identical
    h0, h1 = ([dict(h, seconds=0) for h in s["callbacks"]["CompressionCallback"]["history"]] for s in states)
    assert h0 == h1 and h0[-1]["when"] == "fit_end"
    assert len(list(tmp_path.rglob("decision_regions_*.png"))) == 1  # rank zero alone plots


class StaleCopyModule(UserModule):
    """Exposes a copy taken at construction: right at setup, wrong once training has moved the weights."""

    def __init__(self) -> None:
        super().__init__()
        self._copy = [copy.deepcopy(self.net)]  # a list: not a registered submodule

    def relu_network(self) -> nn.Sequential:
        return self._copy[0]


def test_analysis_callbacks_take_a_derived_network_while_it_computes_the_forward(tmp_path: Path) -> None:
    from lightning_poly.modules import PolytopeCoverModule

    x, y = make_synthetic("two_circles", n_samples=120, seed=0)
    loader = DataLoader(TensorDataset(x.float(), y.long()), batch_size=40)
    model = PolytopeCoverModule(input_dim=2, pieces=2, width=8, lr=0.02)  # relu_network() exports a copy
    cbs = [FaceHistogramCallback(n_points=300, every_n_epochs=0, plot=False), ActivationDriftCallback(ntk_points=0)]
    _trainer(tmp_path / "cover", cbs, max_epochs=2).fit(model, loader)
    assert cbs[0].last is not None and cbs[0].last.n_regions > 0 and len(cbs[1].history) == 2
    with pytest.raises(MISCONFIG, match="forward differs"):  # the stale copy is caught at the next run
        _trainer(tmp_path / "stale", [FaceHistogramCallback(n_points=300, every_n_epochs=1, plot=False)]).fit(
            StaleCopyModule(), loader
        )


def test_analysis_callbacks_leave_the_training_run_unchanged(tmp_path: Path) -> None:
    # the callbacks read the user's shuffled loaders: that must not move the global RNG the shuffles draw from
    x, y = _data()
    weights = []
    analysis = [FaceHistogramCallback(n_points=200, plot=False), ActivationDriftCallback(ntk_points=8)]
    for cbs in ([], [*analysis, CrossSectionCallback(resolution=20)]):
        pl.seed_everything(0)
        model = UserModule()
        train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=30, shuffle=True)
        _trainer(tmp_path, cbs, max_epochs=3).fit(model, train, DataLoader(TensorDataset(x[90:], y[90:])))
        weights.append(model.state_dict())
    assert_same_tensors(weights[0], weights[1])
