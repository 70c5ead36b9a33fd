"""The short user examples (examples/*.py, one per callback) run as a user runs them and log what they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_poly.geometry import PolytopeBasisCover
from tests.helpers.wandb_file import history_items

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, tmp_path: Path, *args: str) -> tuple[str, dict[str, list[Any]], Path]:
    """Run ``examples/<script>.py`` in a fresh process (offline wandb run under ``tmp_path``): its stdout,
    the run's logged history and the run's files folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")} | {"WANDB_MODE": "offline"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{script}.py"), "--save-dir", str(tmp_path / "runs"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (files,) = re.findall(r"^wandb run \(offline\): (.+)$", done.stdout, re.M)
    files = Path(files)
    assert tmp_path / "runs" in files.parents and files.name == "files"
    return done.stdout, history_items(files.parent), files


def test_polishing_example_logs_the_before_and_after_of_its_monitor(tmp_path: Path) -> None:
    out, items, _ = _run("polishing", tmp_path, "--epochs", "3")
    before, after = items["polish/metric_before"][-1], items["polish/metric_after"][-1]
    kept = bool(items["polish/accepted"][-1])
    assert kept == (after < before)  # accept="if_better" on val_loss
    assert f"val_loss of the model's forward (squared loss) {before:.4g} -> {after:.4g}" in out
    assert ("kept" if kept else "undone") in out
    assert items["polish/grad_norm"][-1] < 1e-6  # the refit reached the convex optimum


def test_face_histogram_example_logs_the_histogram_it_prints(tmp_path: Path) -> None:
    out, items, files = _run("face_histogram", tmp_path, "--epochs", "2", "--points", "400")
    regions = [int(r) for r in re.findall(r"\): (\d+) regions, mean faces", out)]
    assert len(regions) == 4  # fit start, epochs 0 and 1, fit end
    hist = items["faces/histogram"][-1]
    assert hist["_type"] == "histogram" and sum(hist["values"]) == regions[-1] == items["faces/regions"][-1]
    assert items["faces/exact"][-1] == 1 and items["faces/mean_faces"][-1] >= 3  # a 2-D region has >= 3 faces
    assert all((files / name).is_file() for name in items["faces/histogram_plot"][-1]["filenames"])


def test_activation_drift_example_logs_a_fraction_per_epoch(tmp_path: Path) -> None:
    out, items, _ = _run("activation_drift", tmp_path, "--epochs", "3")
    start, last = items["drift/changed_since_start"], items["drift/changed_since_last"]
    assert len(start) == len(last) == 3 and all(0 <= v <= 1 for v in start + last)
    assert last[0] == start[0]  # the first measurement compares with the fit-start patterns
    assert all(v > 0 for v in items["drift/ntk_lambda_min"])  # more parameters than NTK points: a positive Gram
    assert f"epoch 2: {start[-1]:.1%} of activations changed since the start" in out


def test_decision_boundary_example_logs_one_figure_per_step(tmp_path: Path) -> None:
    out, items, files = _run("decision_boundary", tmp_path, "--epochs", "2")
    images = items["decision_regions"]
    assert len(images) == 2 and all(i["_type"] == "images/separated" for i in images)  # epoch 1, epoch 2 = fit end
    assert all((files / name).is_file() for i in images for name in i["filenames"])
    pngs = sorted((files / "lightning_poly").glob("decision_regions_step*.png"))
    assert len(pngs) == 2 and all(str(p) in out for p in pngs)


def test_vertex_search_example_keeps_a_search_that_lowers_the_loss(tmp_path: Path) -> None:
    out, items, _ = _run("vertex_search", tmp_path, "--epochs", "3", "--max-steps", "2")
    own, found = items["vertex_search/loss_own_vertex"][-1], items["vertex_search/loss_search"][-1]
    assert found <= own  # the search starts at the trained network's own vertex
    trained, after = items["vertex_search/loss_trained"][-1], items["vertex_search/loss_after"][-1]
    assert after <= trained and items["vertex_search/steps"][-1] <= 2
    assert f"training squared loss {trained:.4g} -> {found:.4g}" in out


def test_compression_example_saves_the_cover_it_reports(tmp_path: Path) -> None:
    out, items, files = _run("compression", tmp_path, "--epochs", "20")
    cover = PolytopeBasisCover.load(files / "lightning_poly" / "cover.pt")
    faces = [items[f"compress/final_faces_piece{j}"][-1] for j in range(2)]
    assert sum(faces) == items["compress/final_live"][-1]  # a live neuron is a face
    accuracy = items["compress/final_cover_accuracy"][-1]
    assert f"cover {len(cover)} polytopes, {sum(cover.faces)} faces, accuracy {accuracy:.4f}" in out
    x = torch.rand(50, 2) * 2 - 1
    assert cover.membership(x).shape == (50, len(cover))


@pytest.mark.parametrize("script", sorted(p.stem for p in (ROOT / "examples").glob("*.py")))
def test_every_user_example_is_short_and_tested(script: str) -> None:
    text = (ROOT / "examples" / f"{script}.py").read_text()
    assert len(text.splitlines()) <= 66, "a user example stays short"
    assert f'_run("{script}"' in Path(__file__).read_text()
    assert "WandbLogger(" in text and "DataLoader(" in text and "Callback(" in text
