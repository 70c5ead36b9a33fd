from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger

from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.media import log_figure, log_histogram, log_table, media_dir
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.wandb_file import history_items


class _LogEverything(Callback):
    def __init__(self) -> None:
        self.paths: list[Path] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        self.paths += [
            log_histogram(trainer, "faces/hist", counts=[3, 0, 5], edges=[3.5, 4.5, 5.5, 6.5]),
            log_figure(trainer, "faces/figure", fig),
            log_table(trainer, "neurons", ["neuron", "samples"], [[0, "1 2"], [1, "3 4"]]),
        ]


def _run(logger, tmp_path: Path) -> tuple[pl.Trainer, _LogEverything]:  # type: ignore[no-untyped-def]
    cb = _LogEverything()
    trainer = pl.Trainer(
        max_epochs=1,
        logger=logger,
        callbacks=[cb],
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(ReLUMLPModule(input_dim=2, hidden=[4]), SyntheticDataModule("xor", n_samples=40))
    return trainer, cb


def _check_files(cb: _LogEverything, where: Path) -> None:
    assert [p.suffix for p in cb.paths] == [".npz", ".png", ".csv"]
    assert all(p.is_file() and where in p.parents for p in cb.paths)
    hist = np.load(cb.paths[0])
    assert hist["counts"].tolist() == [3, 0, 5]
    assert cb.paths[2].read_text().splitlines() == ["neuron,samples", "0,1 2", "1,3 4"]


def test_wandb_offline_gets_native_media(tmp_path: Path) -> None:
    logger = WandbLogger(project="lp-test", save_dir=str(tmp_path), offline=True)
    trainer, cb = _run(logger, tmp_path)
    run = logger.experiment
    _check_files(cb, Path(run.dir))
    # the run holds native wandb media next to trainer/global_step
    summary = run.summary
    assert dict(summary["faces/hist"])["_type"] == "histogram"
    assert dict(summary["faces/hist"])["values"] == [3, 0, 5]
    assert dict(summary["faces/figure"])["_type"] == "images/separated"
    assert dict(summary["neurons"])["_type"] == "table-file"
    assert "trainer/global_step" in dict(summary)
    run.finish()


def test_tensorboard_gets_histogram_figure_and_text(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(str(tmp_path), name="tb")
    trainer, cb = _run(logger, tmp_path)
    _check_files(cb, Path(logger.log_dir))
    logger.experiment.flush()
    acc = EventAccumulator(logger.log_dir, size_guidance={"histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "faces/hist" in tags["histograms"] and "faces/figure" in tags["images"]
    hist = acc.Histograms("faces/hist")[0].histogram_value
    assert hist.num == 8


def test_csv_and_no_logger_write_files(tmp_path: Path) -> None:
    trainer, cb = _run(CSVLogger(str(tmp_path), name="csv"), tmp_path)
    _check_files(cb, Path(trainer.log_dir))
    trainer, cb = _run(False, tmp_path / "none")
    _check_files(cb, media_dir(trainer))


def test_bad_histogram_and_table_shapes(tmp_path: Path) -> None:
    trainer = pl.Trainer(logger=False, default_root_dir=tmp_path)
    with pytest.raises(ValueError, match="`edges` must have len\\(counts\\) \\+ 1 = 3 entries"):
        log_histogram(trainer, "h", counts=[1, 2], edges=[0, 1])
    with pytest.raises(ValueError, match="row 0 of table 't' has 1 cells, expected 2"):
        log_table(trainer, "t", ["a", "b"], [[1]])


@pytest.mark.parametrize("package", ["pytorch_lightning", "lightning.pytorch"])
def test_wandb_run_file_holds_face_histogram_media_under_either_package(package: str, tmp_path: Path) -> None:
    import importlib

    import wandb

    from lightning_poly.callbacks import FaceHistogramCallback

    wandb.finish()  # a run left open by an earlier test in this worker must not receive this run's media
    lib = importlib.import_module(package)
    logger = lib.loggers.WandbLogger(project="lp-test", save_dir=str(tmp_path), offline=True)
    cb = FaceHistogramCallback(n_points=300, every_n_epochs=0, at_fit_start=False)
    trainer = lib.Trainer(
        max_epochs=1, logger=logger, callbacks=[cb], default_root_dir=tmp_path, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(ReLUMLPModule(input_dim=2, hidden=[6]), SyntheticDataModule("xor", n_samples=40))
    run_dir = Path(logger.experiment.dir).parent
    summary_keys = sorted(
        dict(logger.experiment.summary)
    )  # what wandb itself holds: tells a lost row from an unsent one
    logger.experiment.finish()
    items = history_items(run_dir)
    assert "faces/histogram" in items, (
        sorted(items),
        summary_keys,
        cb.history,
        (run_dir / "logs" / "debug-internal.log").read_text()[-4000:],
    )
    assert items["faces/histogram"][-1]["_type"] == "histogram"
    assert sum(items["faces/histogram"][-1]["values"]) == cb.last.n_regions  # type: ignore[union-attr]
    assert items["faces/histogram_plot"][-1]["_type"] == "images/separated"
    assert "faces/mean_faces" in items
    assert tmp_path in run_dir.parents  # the logger's save_dir holds the run that `wandb sync` uploads


_SPAWN_RUN = """
import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger

from lightning_poly.callbacks import FaceHistogramCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.modules import ReLUMLPModule

if __name__ == "__main__":
    logger = WandbLogger(project="lp-test", save_dir="save", offline=True)
    trainer = pl.Trainer(
        max_epochs=1, strategy="ddp_spawn", accelerator="cpu", devices=2, logger=logger,
        callbacks=[FaceHistogramCallback(n_points=300, every_n_epochs=0, at_fit_start=False)],
        enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False,
    )
    trainer.fit(ReLUMLPModule(input_dim=2, hidden=[6]), SyntheticDataModule("xor", n_samples=40))
    logger.experiment.finish()
"""


@pytest.mark.ddp
def test_ddp_spawn_media_land_in_the_loggers_run_folder(tmp_path: Path) -> None:
    # a user's script in a fresh process (one wandb run per process, as users run it)
    import os
    import subprocess
    import sys

    (tmp_path / "run.py").write_text(_SPAWN_RUN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")} | {"WANDB_MODE": "offline"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run_file,) = (tmp_path / "save").rglob("*.wandb")
    run_dir = run_file.parent
    items = history_items(run_dir)
    assert items["faces/histogram"][-1]["_type"] == "histogram"
    image = items["faces/histogram_plot"][-1]
    assert image["_type"] == "images/separated"
    assert all((run_dir / "files" / name).is_file() for name in image["filenames"])  # what `wandb sync` uploads
    assert list((run_dir / "files" / "lightning_poly").glob("faces_histogram_step*.npz"))
    assert not (tmp_path / "wandb").exists()  # nothing under the working directory
