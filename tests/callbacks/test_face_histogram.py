from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from lightning_poly.callbacks import FaceHistogramCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.geometry import face_histogram
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


def _data() -> SyntheticDataModule:
    return SyntheticDataModule(
        "teacher_relu",
        n_samples=96,
        batch_size=16,
        val_fraction=0.0,
        options={"d": 3, "m_gen": 4, "task": "classification"},
    )


def _model() -> ReLUMLPModule:
    pl.seed_everything(3)
    return ReLUMLPModule(input_dim=3, hidden=[12, 8], lr=0.05)


def _trainer(tmp_path: Path, callbacks: list, **kw) -> pl.Trainer:  # type: ignore[no-untyped-def]
    kw.setdefault("logger", False)
    return pl.Trainer(
        max_epochs=kw.pop("max_epochs", 2), callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu",
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=kw.pop("ckpt", False), **kw,
    )  # fmt: skip


def _strip(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_logs_matches_function_and_does_not_change_training(tmp_path: Path) -> None:
    cb = FaceHistogramCallback(n_points=1500, every_n_epochs=1)
    model = _model()
    trainer = _trainer(tmp_path, [cb], logger=CSVLogger(str(tmp_path), name="csv"))
    trainer.fit(model, _data())
    assert [h["when"] for h in cb.history] == ["fit_start", "epoch", "epoch", "fit_end"]
    # fit end comes at the step of the last epoch's call: that histogram again, not a second count
    last_epoch, fit_end = cb.history[-2], cb.history[-1]
    assert fit_end["step"] == last_epoch["step"] and fit_end["seconds"] == last_epoch["seconds"]
    assert fit_end["histogram"] == last_epoch["histogram"]
    ref = face_histogram(model, n_points=1500)
    assert cb.last is not None and torch.equal(cb.last.counts, ref.counts)
    assert cb.history[-1]["mean_faces"] == pytest.approx(ref.mean)
    assert sum(cb.history[-1]["histogram"]) == ref.n_regions
    metrics = (Path(trainer.log_dir) / "metrics.csv").read_text()
    assert "faces/mean_faces" in metrics and "faces/seconds" in metrics
    media = list((Path(trainer.log_dir) / "media").glob("faces_histogram*"))
    assert {p.suffix for p in media} == {".npz", ".png"}
    # the same training without the callback ends with identical weights
    plain = _model()
    _trainer(tmp_path / "plain", []).fit(plain, _data())
    assert_same_tensors(plain.state_dict(), model.state_dict())


def test_step_frequency_and_estimate_mode(tmp_path: Path) -> None:
    cb = FaceHistogramCallback(
        n_points=500, every_n_epochs=0, every_n_steps=4, at_fit_start=False, method="estimate", patience=200
    )
    _trainer(tmp_path, [cb]).fit(_model(), _data())
    assert [h["step"] for h in cb.history] == [4, 8, 12, 12]
    assert all(h["exact"] is False for h in cb.history)
    assert cb.last is not None and cb.last.rays is not None and bool((cb.last.rays >= 200).all())


def test_bad_arguments_and_models(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`points` must be one of"):
        FaceHistogramCallback(points="grid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`method` must be one of"):
        FaceHistogramCallback(method="lrs")  # type: ignore[arg-type]

    class NotReLU(ReLUMLPModule):
        def relu_network(self) -> torch.nn.Sequential:
            return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))

    from lightning_fabric.utilities.exceptions import MisconfigurationException

    with pytest.raises(MisconfigurationException, match="needs a ReLU network"):
        _trainer(tmp_path, [FaceHistogramCallback()]).fit(NotReLU(input_dim=3), _data())


def test_checkpoint_resume_gives_the_uninterrupted_history(tmp_path: Path) -> None:
    full_cb = FaceHistogramCallback(n_points=800)
    _trainer(tmp_path / "full", [full_cb], max_epochs=4).fit(_model(), _data())

    # an interrupted run: the checkpoint of the second epoch of a four-epoch run (a finished run's last.ckpt
    # holds its fit-end record too)
    every = ModelCheckpoint(dirpath=tmp_path / "ck", save_top_k=-1, every_n_epochs=1, filename="{epoch}")
    _trainer(tmp_path / "a", [FaceHistogramCallback(n_points=800), every], max_epochs=4, ckpt=True).fit(
        _model(), _data()
    )
    resumed = FaceHistogramCallback(n_points=800)
    _trainer(tmp_path / "b", [resumed, ModelCheckpoint(dirpath=tmp_path / "ck2")], max_epochs=4, ckpt=True).fit(
        _model(), _data(), ckpt_path=str(tmp_path / "ck" / "epoch=1.ckpt")
    )
    assert [h["when"] for h in resumed.history] == ["fit_start", "epoch", "epoch", "epoch", "epoch", "fit_end"]
    assert _strip(resumed.history) == _strip(full_cb.history)


@pytest.mark.ddp
def test_two_process_ddp_shards_and_reduces_to_the_single_process_histogram(tmp_path: Path) -> None:
    cb = FaceHistogramCallback(n_points=1500)
    states = run_ddp_fit(_model(), _data(), tmp_path, callbacks=[cb])
    h0, h1 = (s["callbacks"]["FaceHistogramCallback"]["history"] for s in states)
    assert _strip(h0) == _strip(h1)
    assert_same_tensors(states[0]["model"], states[1]["model"])
    # before training: identical to a single-process run on the same points and initial weights
    single = face_histogram(_model(), n_points=1500)
    assert h0[0]["when"] == "fit_start" and h0[0]["histogram"] == single.histogram()[1].tolist()
    # after training: identical to the function on the final (DDP) weights
    final = _model()
    final.load_state_dict(states[0]["model"])
    assert h0[-1]["histogram"] == face_histogram(final, n_points=1500).histogram()[1].tolist()


def test_shards_summed_give_the_whole_histogram() -> None:
    # what the callback does under DDP, without processes: each shard's counts, then their sum on every shard
    model = _model()
    parts: list[torch.Tensor] = []
    for rank in (0, 1):
        face_histogram(model, n_points=1500, shard=(rank, 2), all_reduce_sum=lambda t: parts.append(t) or t)
    total = parts[0] + parts[1]
    ref = face_histogram(model, n_points=1500)
    for rank in (0, 1):
        got = face_histogram(model, n_points=1500, shard=(rank, 2), all_reduce_sum=lambda _: total)
        assert torch.equal(got.counts, ref.counts) and torch.equal(got.box_counts, ref.box_counts)  # type: ignore[arg-type]
        assert got.n_regions == ref.n_regions and got.n_degenerate == ref.n_degenerate
    assert 0 < int(parts[0][4].sum()) < int(total[4].sum()) == len(total[4])  # one shard counts part of the regions


def test_points_from_a_smaller_cube_than_the_box_as_figure_7(tmp_path: Path) -> None:
    cb = FaceHistogramCallback(n_points=500, box=3.0, sample_box=1.0, every_n_epochs=0, at_fit_end=False, plot=False)
    model = _model()
    _trainer(tmp_path, [cb], max_epochs=1).fit(model, _data())
    assert [h["when"] for h in cb.history] == ["fit_start"]
    points = (2 * torch.rand(500, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 1) * 1.0
    ref = face_histogram(_model().relu_network().double(), points, box=3.0)  # the weights at fit start
    assert cb.history[0]["regions"] == ref.n_regions and cb.history[0]["mean_faces"] == pytest.approx(ref.mean)
    with pytest.raises(ValueError, match="`sample_box` must be at most `box` = 1.0"):
        FaceHistogramCallback(sample_box=2.0)


def test_every_region_of_the_box_from_the_complex_and_the_fallback(tmp_path: Path) -> None:
    def biased() -> ReLUMLPModule:  # zero biases make every vertex degenerate: slower (one LP per open row)
        model = _model()
        with torch.no_grad():
            for p in model.parameters():
                if p.ndim == 1:
                    p.fill_(0.1)
        return model

    cb = FaceHistogramCallback(n_points=500, regions="all", every_n_epochs=0, at_fit_end=False)
    _trainer(tmp_path, [cb], max_epochs=1, logger=CSVLogger(str(tmp_path), name="csv")).fit(biased(), _data())
    ref = face_histogram(biased().relu_network().double(), n_points=500, regions="all")  # weights at fit start
    assert cb.last is not None and cb.last.regions == "all" and torch.equal(cb.last.counts, ref.counts)
    assert cb.history[0]["whole_complex"] is True and "every region of the box" in cb.summary()
    small = FaceHistogramCallback(n_points=500, regions="all", max_regions=3, every_n_epochs=0, at_fit_end=False)
    with pytest.warns(UserWarning, match=r"fell back to the sampled regions: .* more than 3 regions"):
        _trainer(tmp_path / "small", [small], max_epochs=1).fit(_model(), _data())
    assert small.last is not None and small.last.regions == "sampled"
    with pytest.raises(ValueError, match=r"`regions` must be one of"):
        FaceHistogramCallback(regions="every")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`regions` can be 'all' only for a ReLU MLP"):
        FaceHistogramCallback(regions="all", input_shape=(1, 6, 6))
