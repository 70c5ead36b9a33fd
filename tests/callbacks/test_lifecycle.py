"""The suite's callbacks in Lightning's lifecycle, beside Lightning's own callbacks, on a user's module with plain
DataLoaders: end-of-training work in ``last.ckpt``, fresh analyses after an end-of-training edit, several
instances with their own state, once per optimizer step under accumulation, metrics that ``EarlyStopping`` and
``ModelCheckpoint`` watch, ``fast_dev_run``, mixed precision and sharded strategies."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import (
    ActivationDriftCallback,
    CompressionCallback,
    CrossSectionCallback,
    DecisionBoundaryCallback,
    FaceHistogramCallback,
    PolishingCallback,
    VertexSearchCallback,
)
from lightning_poly.callbacks._base import SuiteCallback, weights_fingerprint
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.geometry import face_histogram, network_patterns
from lightning_poly.modules import PolytopeCoverModule

pytestmark = pytest.mark.usefixtures("one_thread")


class UserModule(pl.LightningModule):
    """What a user writes: ``self.net``, BCE, Adam."""

    def __init__(self, hidden: tuple[int, ...] = (12,), lr: float = 0.02) -> None:
        super().__init__()
        self.save_hyperparameters()
        layers: list[nn.Module] = []
        width = 2
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y.float())

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y.float()))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def _data(n: int = 160, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    return x, (x[:, 1] > torch.sin(3 * x[:, 0]) / 2).long()


def _loaders(batch: int = 20) -> tuple[DataLoader, DataLoader]:
    x, y = _data()
    return DataLoader(TensorDataset(x[:120], y[:120]), batch_size=batch), DataLoader(TensorDataset(x[120:], y[120:]))


class TrainData(pl.LightningDataModule):
    """The training loader of :func:`_loaders` as a data module (picklable, for ``ddp_spawn``)."""

    def train_dataloader(self) -> DataLoader:
        return _loaders()[0]


def _trainer(tmp_path: Path, callbacks: list[Any], **kw: Any) -> pl.Trainer:
    kw = {"max_epochs": 2, "logger": False, "enable_checkpointing": False, **kw}
    return pl.Trainer(
        callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu", enable_progress_bar=False,
        enable_model_summary=False, **kw,
    )  # fmt: skip


class SnapshotBeforeEnd(pl.Callback):
    """The module's weights when training ends, before the suite's end work (listed first)."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}


def _weight_changing_case(name: str) -> tuple[pl.LightningModule, SuiteCallback, Any]:
    pl.seed_everything(0)
    if name == "polishing":
        return UserModule(), PolishingCallback(accept="always", monitor="train_loss"), _loaders()
    if name == "vertex_search":
        return UserModule(hidden=(6,)), VertexSearchCallback(accept="always", max_steps=3), _loaders()
    dm = SyntheticDataModule("two_circles", n_samples=200, batch_size=50, val_fraction=0.0)
    return (
        PolytopeCoverModule(input_dim=2, pieces=2, width=8, lr=0.02, hard_sign=True),
        CompressionCallback(every_n_steps=0, count_facets=False, plot=False),
        (dm,),
    )


@pytest.mark.parametrize("save_last", [True, "link"])
@pytest.mark.parametrize("name", ["polishing", "compression", "vertex_search"])
def test_last_checkpoint_holds_the_end_of_training_weights_and_record(
    name: str, save_last: Any, tmp_path: Path
) -> None:
    module, cb, data = _weight_changing_case(name)
    snap = SnapshotBeforeEnd()
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=save_last)
    trainer = _trainer(tmp_path, [snap, cb, ck], enable_checkpointing=True, max_epochs=3)
    trainer.fit(module, *data)
    final = module.state_dict()
    assert cb.history[-1]["when"] == "fit_end"
    assert any(not torch.equal(final[k], snap.state[k]) for k in final), "the end work changed nothing"
    last = Path(ck.last_model_path)
    assert last.name == "last.ckpt" and last.is_file() and not last.is_symlink()
    saved = torch.load(last, weights_only=False)
    for k, v in final.items():
        assert torch.equal(saved["state_dict"][k], v), k
    assert saved["callbacks"][cb.state_key]["history"] == cb.history
    # the top-k checkpoint keeps the state it was written with: the weights before the end work
    best = torch.load(ck.best_model_path, weights_only=False)["state_dict"]
    assert all(torch.equal(best[k], snap.state[k]) for k in final)
    # ... and Lightning's own loading gives the final model
    reloaded = type(module).load_from_checkpoint(last)
    assert all(torch.equal(reloaded.state_dict()[k], v) for k, v in final.items())


def test_end_histogram_after_an_end_polish_is_counted_on_the_final_weights(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = UserModule(hidden=(16, 16))
    faces = FaceHistogramCallback(n_points=600, at_fit_start=False)
    polish = PolishingCallback(accept="always", monitor="train_loss")
    _trainer(tmp_path, [polish, faces]).fit(module, *_loaders())
    assert [h["when"] for h in faces.history] == ["epoch", "epoch", "fit_end"]
    end, last_epoch = faces.history[-1], faces.history[-2]
    assert end["step"] == last_epoch["step"]  # same step, other weights: a fresh count
    fresh = face_histogram(module.net, n_points=600)
    assert end["histogram"] == fresh.histogram()[1].tolist() and end["regions"] == fresh.n_regions
    assert end["histogram"] != last_epoch["histogram"]


def test_end_histogram_on_unchanged_weights_reuses_the_last_count(tmp_path: Path) -> None:
    pl.seed_everything(0)
    faces = FaceHistogramCallback(n_points=600, at_fit_start=False)
    module = UserModule()
    _trainer(tmp_path, [faces]).fit(module, *_loaders())
    assert [h["when"] for h in faces.history] == ["epoch", "epoch", "fit_end"]
    assert {**faces.history[-1], "when": "epoch", "epoch": 1} == faces.history[-2]
    assert faces._fingerprint == weights_fingerprint(module)


def _pairs() -> list[tuple[SuiteCallback, SuiteCallback]]:
    return [
        (FaceHistogramCallback(n_points=300, seed=0), FaceHistogramCallback(n_points=300, seed=1)),
        (ActivationDriftCallback(max_points=64), ActivationDriftCallback(max_points=100)),
        (
            PolishingCallback(every_n_epochs=1, monitor="train_loss"),
            PolishingCallback(every_n_epochs=1, l2=1e-3, refit_penalty="ridge"),
        ),
        (CrossSectionCallback(resolution=20, anchor=0), CrossSectionCallback(resolution=20, anchor=3)),
        (DecisionBoundaryCallback(every_n_epochs=1, resolution=20), DecisionBoundaryCallback(resolution=30)),
        (VertexSearchCallback(every_n_epochs=1, max_steps=2), VertexSearchCallback(every_n_epochs=1, max_steps=3)),
    ]


def test_two_instances_of_every_callback_run_and_resume_into_their_own_state(tmp_path: Path) -> None:
    pairs = _pairs()
    first = [cb for pair in pairs for cb in pair]
    every = ModelCheckpoint(dirpath=tmp_path / "ck", save_top_k=-1, every_n_epochs=1, filename="{epoch}")
    pl.seed_everything(0)
    trainer = _trainer(tmp_path / "a", [*first, every], enable_checkpointing=True)
    trainer.fit(UserModule(), *_loaders())
    # each instance logs under its own names: the second of a class under "<group>_2/"
    face_a, face_b = (cb for cb in first if isinstance(cb, FaceHistogramCallback))
    metrics = trainer.callback_metrics
    epoch_a, epoch_b = ([h for h in cb.history if h["when"] == "epoch"][-1] for cb in (face_a, face_b))
    assert float(metrics["faces/regions"]) == epoch_a["regions"]  # (the end's run cannot log: Lightning's rule)
    assert float(metrics["faces_2/regions"]) == epoch_b["regions"]
    keys = [cb.state_key for cb in first]
    assert len(set(keys)) == len(keys)
    saved = torch.load(tmp_path / "ck" / "epoch=0.ckpt", weights_only=False)["callbacks"]
    assert all(k in saved for k in keys)
    # the two instances of each callback saved different records, so a swapped restore would fail below
    for a, b in pairs:
        if not isinstance(a, DecisionBoundaryCallback):  # (figures only: no records)
            assert saved[a.state_key]["history"] != saved[b.state_key]["history"], type(a).__name__
    # resumed in reverse order: each instance finds its own state by its key
    resumed = [cb for pair in _pairs() for cb in reversed(pair)]
    pl.seed_everything(0)
    _trainer(tmp_path / "b", resumed).fit(UserModule(), *_loaders(), ckpt_path=str(tmp_path / "ck" / "epoch=0.ckpt"))
    for cb in resumed:
        before = saved[cb.state_key]["history"]
        assert cb.history[: len(before)] == before, type(cb).__name__
    drift_a, drift_b = (cb for cb in resumed if isinstance(cb, ActivationDriftCallback))
    assert drift_a.reference.shape != drift_b.reference.shape  # each resumed its own reference patterns


def test_two_compression_instances_keep_and_resume_their_own_state(tmp_path: Path) -> None:
    def pair() -> list[CompressionCallback]:
        return [CompressionCallback(every_n_steps=2, finalise=False), CompressionCallback(every_n_steps=3)]

    def fit(callbacks: list[Any], root: Path, ckpt_path: str | None = None, **kw: Any) -> None:
        pl.seed_everything(0)
        module = PolytopeCoverModule(input_dim=2, pieces=2, width=8, lr=0.02, hard_sign=True)
        dm = SyntheticDataModule("two_circles", n_samples=200, batch_size=50, val_fraction=0.0)
        _trainer(root, callbacks, **kw).fit(module, dm, ckpt_path=ckpt_path)

    (a, b), every = pair(), ModelCheckpoint(dirpath=tmp_path / "ck", save_top_k=-1, filename="{epoch}")
    fit([a, b, every], tmp_path / "a", enable_checkpointing=True)
    assert [h["step"] for h in a.history] == [2, 4, 6, 8]
    assert [(h["when"], h["step"]) for h in b.history] == [("step", 3), ("step", 6), ("fit_end", 8)]
    saved = torch.load(tmp_path / "ck" / "epoch=0.ckpt", weights_only=False)["callbacks"]
    assert [h["step"] for h in saved[a.state_key]["history"]] == [2, 4]
    assert [h["step"] for h in saved[b.state_key]["history"]] == [3]
    # listed in the other order, each finds its own state by its key (the weights then differ from the first
    # run's from step 6 on, where the two edit in the other order: the records' schedule is what compares)
    resumed = pair()[::-1]
    fit(resumed, tmp_path / "b", ckpt_path=str(tmp_path / "ck" / "epoch=0.ckpt"))
    assert resumed[1].history[:2] == a.history[:2] and resumed[0].history[:1] == b.history[:1]
    assert [h["step"] for h in resumed[1].history] == [2, 4, 6, 8]
    assert [(h["when"], h["step"]) for h in resumed[0].history] == [("step", 3), ("step", 6), ("fit_end", 8)]
    # in the first run's order, the resumed run ends where the uninterrupted one ends
    again = pair()
    fit(again, tmp_path / "c", ckpt_path=str(tmp_path / "ck" / "epoch=0.ckpt"))
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(again[0].history) == strip(a.history) and strip(again[1].history) == strip(b.history)
    assert again[1].cover is not None and again[1].cover.faces == b.cover.faces  # type: ignore[union-attr]


def test_step_triggers_run_once_per_optimizer_step_under_accumulation(tmp_path: Path) -> None:
    faces = FaceHistogramCallback(n_points=300, every_n_steps=2, every_n_epochs=0, at_fit_start=False, at_fit_end=False)
    seen: list[int] = []

    class Steps(pl.Callback):
        def on_before_optimizer_step(self, trainer: pl.Trainer, *args: Any) -> None:
            seen.append(trainer.global_step)

    pl.seed_everything(0)
    trainer = _trainer(tmp_path, [faces, Steps()], accumulate_grad_batches=4, max_epochs=2)
    trainer.fit(UserModule(), _loaders(batch=10)[0])  # 12 micro-batches an epoch: 3 optimizer steps
    assert trainer.global_step == 6 and len(seen) == 6
    assert [h["step"] for h in faces.history] == [2, 4, 6]
    # compression too: Algorithm 1 once per scheduled optimizer step
    comp = CompressionCallback(every_n_steps=2, finalise=False)
    pl.seed_everything(0)
    module = PolytopeCoverModule(input_dim=2, pieces=2, width=8, lr=0.02, hard_sign=True)
    dm = SyntheticDataModule("two_circles", n_samples=200, batch_size=25, val_fraction=0.0)
    trainer = _trainer(tmp_path / "c", [comp], accumulate_grad_batches=4, max_epochs=2)
    trainer.fit(module, dm)  # 8 micro-batches an epoch: 2 optimizer steps
    assert trainer.global_step == 4 and [h["step"] for h in comp.history] == [2, 4]


def test_early_stopping_and_model_checkpoint_monitor_the_suites_metrics(tmp_path: Path) -> None:
    # Lightning's monitors listed before the suite's callbacks: they still see this epoch's values
    stop = EarlyStopping(monitor="drift/changed_since_last", mode="min", patience=1, stopping_threshold=1e-9)
    best = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="faces/mean_faces", mode="max", save_top_k=1)
    drift, faces = ActivationDriftCallback(ntk_points=0), FaceHistogramCallback(n_points=300, at_fit_start=False)
    pl.seed_everything(0)
    trainer = _trainer(tmp_path, [stop, best, drift, faces], enable_checkpointing=True, max_epochs=4)
    trainer.fit(UserModule(), *_loaders())
    epochs = [h for h in faces.history if h["when"] == "epoch"]
    last_drift = drift.history[-1]["changed_since_last"]
    assert float(trainer.callback_metrics["drift/changed_since_last"]) == pytest.approx(last_drift)
    assert float(trainer.callback_metrics["faces/mean_faces"]) == pytest.approx(epochs[-1]["mean_faces"])
    assert float(stop.best_score) == pytest.approx(min(h["changed_since_last"] for h in drift.history))
    assert float(best.best_model_score) == pytest.approx(max(h["mean_faces"] for h in epochs))
    assert Path(best.best_model_path).is_file()


def test_fast_dev_run_runs_each_callback_once_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    callbacks = [
        FaceHistogramCallback(n_points=200),
        ActivationDriftCallback(),
        PolishingCallback(monitor="train_loss"),
        CrossSectionCallback(resolution=20),
        DecisionBoundaryCallback(resolution=20),
    ]
    pl.seed_everything(0)
    pl.Trainer(fast_dev_run=True, callbacks=callbacks, accelerator="cpu", enable_progress_bar=False).fit(
        UserModule(), *_loaders()
    )
    assert sorted(os.listdir(tmp_path)) == []
    # (the drift's fit start measures its reference only: its one run is a drift measurement)
    assert [len(cb.history) for cb in callbacks[:4]] == [1, 1, 1, 1]
    assert callbacks[1].reference is not None and callbacks[4].paths == []


def test_bf16_mixed_records_equal_float64_recomputations(tmp_path: Path) -> None:
    faces = FaceHistogramCallback(n_points=500, at_fit_start=False)
    drift = ActivationDriftCallback(ntk_points=0)
    pl.seed_everything(0)
    module = UserModule(hidden=(12, 12))
    _trainer(tmp_path, [faces, drift], precision="bf16-mixed").fit(module, *_loaders())
    exact = copy.deepcopy(module).double()
    assert faces.history[-1]["histogram"] == face_histogram(exact.net, n_points=500).histogram()[1].tolist()
    x = _data()[0][:120].double()
    assert torch.equal(drift.previous, network_patterns(exact.net, x))
    start = network_patterns(exact.net, x) != drift.reference
    assert drift.history[-1]["changed_since_start"] == float(start.double().mean())


@pytest.mark.parametrize("package", ["pytorch_lightning", "lightning.pytorch"])
def test_a_sharded_strategy_is_refused_at_setup(package: str) -> None:
    # Lightning builds FSDP Trainers on GPUs only; the refusal comes first in `setup`, so a Trainer's place is
    # taken by its one attribute read there, holding a real FSDPStrategy of either package
    import importlib
    from types import SimpleNamespace

    strategies = importlib.import_module(f"{package}.strategies")
    for cb in [cb for pair in _pairs() for cb in pair] + [CompressionCallback(), VertexSearchCallback()]:
        trainer = SimpleNamespace(strategy=strategies.FSDPStrategy())
        module = PolytopeCoverModule(input_dim=2) if isinstance(cb, CompressionCallback) else UserModule()
        with pytest.raises(MisconfigurationException, match="does not support the sharded strategy FSDPStrategy"):
            cb.setup(trainer, module, "fit")  # type: ignore[arg-type]


class CompiledModule(UserModule):
    """A user who compiles the network (``torch.compile``; the eager backend keeps the test fast)."""

    def __init__(self) -> None:
        super().__init__(hidden=(12, 12))
        self.net = torch.compile(self.net, backend="eager")  # type: ignore[assignment]


def test_a_compiled_network_is_analysed_and_polished_into_last_ckpt(tmp_path: Path) -> None:
    pl.seed_everything(0)
    module = CompiledModule()
    polish = PolishingCallback(accept="always", monitor="train_loss")
    faces = FaceHistogramCallback(n_points=400, at_fit_start=False)
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    _trainer(tmp_path, [polish, faces, ck], enable_checkpointing=True).fit(module, *_loaders())
    assert polish.history[-1]["accepted"] and faces.history[-1]["when"] == "fit_end"
    saved = torch.load(ck.last_model_path, weights_only=False)["state_dict"]
    assert all(torch.equal(saved[k], v) for k, v in module.state_dict().items())
    plain = module.net._orig_mod  # type: ignore[union-attr]
    assert faces.history[-1]["histogram"] == face_histogram(plain, n_points=400).histogram()[1].tolist()


@pytest.mark.ddp
def test_two_process_ddp_end_work_lands_in_last_ckpt_and_resumes(tmp_path: Path) -> None:
    from tests.helpers.ddp import assert_same_tensors, run_ddp_fit

    polish = PolishingCallback(accept="always", monitor="train_loss")
    faces = FaceHistogramCallback(n_points=400, at_fit_start=False)
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    pl.seed_everything(0)
    states = run_ddp_fit(
        UserModule(hidden=(12, 12)), TrainData(), tmp_path, callbacks=[polish, faces, ck], max_epochs=2,
        enable_checkpointing=True,
    )  # fmt: skip
    assert_same_tensors(states[0]["model"], states[1]["model"])
    saved = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=False)
    for k, v in states[0]["model"].items():
        assert torch.equal(saved["state_dict"][k], v), k
    for cb in (polish, faces):
        history = saved["callbacks"][cb.state_key]["history"]
        assert history[-1]["when"] == "fit_end" and history == states[0]["callbacks"][type(cb).__name__]["history"]
    # the end histogram was counted on the polished weights, which the checkpoint holds
    final = UserModule(hidden=(12, 12))
    final.load_state_dict(saved["state_dict"])
    end = saved["callbacks"][faces.state_key]["history"][-1]
    assert end["histogram"] == face_histogram(final.net, n_points=400).histogram()[1].tolist()
    # resumed in one process, each callback finds its records
    again = [
        PolishingCallback(accept="always", monitor="train_loss"),
        FaceHistogramCallback(n_points=400, at_fit_start=False),
    ]
    _trainer(tmp_path / "b", again, max_epochs=3).fit(
        UserModule(hidden=(12, 12)), TrainData(), ckpt_path=str(tmp_path / "ck" / "last.ckpt")
    )
    assert again[1].history[:3] == saved["callbacks"][faces.state_key]["history"]
    assert [h["when"] for h in again[0].history] == ["fit_end", "fit_end"]


def test_a_finalise_that_costs_accuracy_says_so_and_records_both(tmp_path: Path) -> None:
    # the finalising loop alone (no compression during training) on a net trained to fit: it scales neurons
    # until (7) holds with no gradient step in between; the record keeps the accuracy before and after
    pl.seed_everything(0)
    module = PolytopeCoverModule(input_dim=2, pieces=16, width=20, lr=0.02)
    cb = CompressionCallback(every_n_steps=0, count_facets=False, plot=False)
    x, y = _data(400)
    with pytest.warns(UserWarning, match=r"finalising loop .* lowered the network's training accuracy from"):
        _trainer(tmp_path, [cb], max_epochs=8).fit(module, DataLoader(TensorDataset(x, y), batch_size=40))
    end = cb.history[-1]
    assert end["network_accuracy_before"] - end["network_accuracy"] > 0.01
    pred = (module(x)[:, 0] > 0).long()
    assert float((pred == y).double().mean()) == pytest.approx(end["network_accuracy"])


def test_two_records_at_one_step_keep_two_media_files(tmp_path: Path) -> None:
    from pytorch_lightning.loggers import CSVLogger

    pl.seed_everything(0)
    faces = FaceHistogramCallback(n_points=300, at_fit_start=False, plot=False)
    polish = PolishingCallback(accept="always", monitor="train_loss")
    trainer = _trainer(tmp_path, [polish, faces], logger=CSVLogger(tmp_path, name="csv"), max_epochs=1)
    trainer.fit(UserModule(hidden=(12, 12)), *_loaders())
    assert [h["when"] for h in faces.history] == ["epoch", "fit_end"] and faces.history[0]["step"] == faces.history[1][
        "step"
    ]
    files = sorted(p.name for p in (Path(trainer.log_dir) / "media").glob("faces_histogram_step*.npz"))
    assert files == ["faces_histogram_step0000006.npz", "faces_histogram_step0000006_2.npz"]


def test_a_budget_is_not_part_of_the_identity_so_a_resume_with_another_budget_finds_its_state() -> None:
    assert FaceHistogramCallback(max_seconds=20.0).state_key == FaceHistogramCallback(max_seconds=5.0).state_key
    assert FaceHistogramCallback(max_memory=2**30).state_key == FaceHistogramCallback(max_memory=None).state_key
    assert FaceHistogramCallback(n_points=10).state_key != FaceHistogramCallback(n_points=20).state_key
