import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from lightning_poly.geometry.bounds import simplices_lower_bound_one_layer, simplices_upper_bound_one_layer

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "papers" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_table1_prints_a_row_per_width_from_the_library_triangulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fh = _load("face_histograms")
    argv = ["x", "--out", str(tmp_path), "table1", "--widths", "5", "--repeats", "1", "--box", "1000",
            "--bias-init", "uniform_half"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    fh.main()
    row = next(line for line in capsys.readouterr().out.splitlines() if "3-5-1" in line).split()
    cells = row[row.index("3-5-1") + 1 :]  # no paper column for n = 5
    upper, most_facets, fewest, most, lower, regions = (int(c) for c in cells[:6])
    assert (upper, lower, regions) == (
        simplices_upper_bound_one_layer(5, 3),
        round(simplices_lower_bound_one_layer(5, 3)),
        26,
    )
    assert lower <= fewest <= most_facets <= most <= upper


def test_init_study_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fh = _load("face_histograms")
    monkeypatch.setattr(sys, "argv", ["x", "--out", str(tmp_path), "init", "--repeats", "1", "--points", "300"])
    fh.main()
    out = capsys.readouterr().out
    assert "3-80-40-1 orthogonal" in out and "mean faces" in out
    assert len(list(tmp_path.glob("hist_*.png"))) == 8


def test_cover_studies_name_architectures_as_theorem_3_4_builds_them() -> None:
    from lightning_poly.geometry import PolytopeBasisCover
    from lightning_poly.pipelines.synthetic_covers import cover_architecture

    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    assert cover_architecture(PolytopeBasisCover([sq], [torch.ones(4)], [1])) == "2-4-1"  # one polytope: two layers
    assert cover_architecture(PolytopeBasisCover([sq, sq[:3]], [torch.ones(4), torch.ones(3)], [1, -1])) == "2-7-2-1"


def test_fashion_covers_name_tasks_and_faces_in_the_papers_notation() -> None:
    from lightning_poly.pipelines.fashion_covers import faces_notation, fashion_task, paper_faces, table1_covers

    assert faces_notation([9, 3]) == "9+3"
    assert fashion_task("6c") == (6, True) and fashion_task("2") == (2, False)
    assert paper_faces("6c") == "28" and paper_faces("0") == "9+3"
    with pytest.raises(ValueError, match="a task is a class 0-9"):
        fashion_task("12")
    with pytest.raises(ValueError, match="a task is a class 0-9"):
        table1_covers(["1", "x"])  # refused before any task runs


def test_zonotope_theorem43_rows_fit_exactly_with_the_theorems_width() -> None:
    import argparse

    zs = _load("zonotope_search")
    rows = zs.cmd_theorem43(argparse.Namespace(dims=[2, 3], n=[12], gd_steps=10, gd_lr=1e-3))
    assert [(r["d"], r["units"]) for r in rows] == [(2, 8), (3, 6)]  # 2 ceil(N / (d + 1))
    assert all(r["relative_error"] < 1e-6 and r["gd_mse"] > 0 for r in rows)


def test_lenet_faces_example_counts_the_regions_of_the_papers_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    import json

    from lightning_poly.geometry import pwl_regions

    fh = _load("face_histograms")
    argv = ["x", "--out", str(tmp_path), "lenet", "--epochs", "1", "--n-train", "256", "--points", "2"]
    monkeypatch.setattr(sys, "argv", [*argv, "--max-rays", "256", "--patience", "64", "--max-seconds", "120"])
    fh.main()
    out = capsys.readouterr().out
    res = json.loads(out.strip().splitlines()[-2])  # the JSON line, then the figures line
    net = fh.lenet5_one_conv().double().eval()
    rows = pwl_regions(net, torch.rand(1, 1, 28, 28, dtype=torch.float64), box=1.0)
    assert res["rows_per_region"] == rows.a.shape[1] == 6 * 28 * 28 + 120 + 84 + 2 * 784
    assert res["regions_counted"] == 2 and res["points"] == 2
    assert 0 < res["box_faces_mean"] <= res["faces_mean"] <= res["faces_max"] <= res["rows_per_region"]
    assert res["rays_mean"] >= 64 and 0 <= res["stopped_by_rule"] <= 2
    assert "26,796" in out and (tmp_path / "lenet_faces.png").stat().st_size > 10_000


def test_sections_example_draws_the_mlp_at_fit_start_and_every_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    fh = _load("face_histograms")
    argv = ["x", "--out", str(tmp_path), "sections", "--epochs", "2", "--every-n-epochs", "1", "--n-train", "512",
            "--resolution", "40"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    fh.main()
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.startswith(("fit_start", "epoch "))]
    assert [r[0] if r[0] == "fit_start" else " ".join(r[:2]) for r in rows] == ["fit_start", "epoch 0", "epoch 1"]
    for r in rows:
        offset = 1 if r[0] == "fit_start" else 2
        regions, mean, share = int(r[offset]), float(r[offset + 1]), r[offset + 2]
        assert regions > 1 and mean >= 3 and share.endswith("%")
    assert len(list(tmp_path.glob("section_*.png"))) == 3
    import json

    rec = json.loads(next(line for line in lines if line.startswith("{")))
    assert [s["regions"] for s in rec["sections"]] == [int(r[1 if r[0] == "fit_start" else 2]) for r in rows]
    assert all(sum(s["histogram"]) == s["regions"] for s in rec["sections"])


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST missing: install the Debian package dataset-fashion-mnist",
)
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(("penalty", "weight"), [("l1", "--weight-decay"), ("ridge", "--l2")])
def test_polishing_cnn_prints_before_and_after_and_what_the_refit_guarantees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], penalty: str, weight: str
) -> None:
    import json
    import re

    pol = _load("polishing")
    argv = ["x", "--out", str(tmp_path), "cnn", "--seeds", "2", "--epochs", "1", "--n-train", "96", "--n-val", "64",
            "--batch-size", "32", "--refit-penalty", penalty, weight, "1e-2"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    pol.main()
    out = capsys.readouterr().out.splitlines()
    num = r"(\d+\.\d+)"
    pattern = (rf"\] seed (\d): train acc {num} -> {num} \(loss {num} -> {num}\), "
               rf"val acc {num} -> {num} \(loss {num} -> {num}\) \| elapsed")  # fmt: skip
    printed = [m.groups() for m in map(re.compile(pattern).search, out) if m]
    rec = json.loads(next(line for line in out if line.startswith("{")))
    assert (rec["n_train"], rec["n_val"], rec["epochs"], rec["batch_size"]) == (96, 64, 1, 32)
    assert (rec["refit_penalty"], rec["l2" if penalty == "ridge" else "weight_decay"]) == (penalty, 1e-2)
    assert [int(p[0]) for p in printed] == [r["seed"] for r in rec["seeds"]] == [0, 1]
    for p, r in zip(printed, rec["seeds"]):
        b, a = r["before"], r["after"]
        values = [b["train_acc"], a["train_acc"], b["train_loss"], a["train_loss"]]
        values += [b["val_acc"], a["val_acc"], b["val_loss"], a["val_loss"]]
        assert [float(v) for v in p[1:]] == pytest.approx(values, abs=1e-4)  # the line says what the JSON holds
        # polish_cnn_and_evaluate does not guarantee a lower loss after polishing (new first-layer features can fit
        # worse); it refits the head to the certified optimum of the convex refit on the features it ends with,
        # the trained head is a point of the refit-only problem, and the model's loss is the objective's data term
        assert r["grad_norm_polished"] < 1e-5 and r["grad_norm_refit_only"] < 1e-5
        assert r["objective_refit_only"] <= r["objective_trained"] + 1e-9
        assert b["train_loss"] <= r["objective_trained"] + 1e-5
        assert a["train_loss"] <= r["objective_polished"] + 1e-5
        assert r["refit_only"]["train_loss"] <= r["objective_refit_only"] + 1e-5
        # PolishingCallback's accept="if_better" on the train loss keeps a polish only when it lowers that loss
        assert r["kept_if_better"] == (a["train_loss"] < b["train_loss"])
        kept = a if r["kept_if_better"] else b
        assert kept["train_loss"] <= b["train_loss"]
    for split in ("train", "val"):
        changes = [r["after"][f"{split}_acc"] - r["before"][f"{split}_acc"] for r in rec["seeds"]]
        assert rec[f"{split}_acc_change"] == pytest.approx(sum(changes) / 2)
        assert rec[f"{split}_improved"] == sum(c > 0 for c in changes)
    summary = next(line for line in out if line.startswith("summary over 2 seeds"))
    assert f"(higher in {rec['train_improved']}/2)" in summary and f"{rec['val_acc_change']:+.4f}" in summary
    assert (tmp_path / "cnn_accuracy.png").is_file()


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST missing: install the Debian package dataset-fashion-mnist",
)
@pytest.mark.usefixtures("one_thread")
def test_zonotope_table_a2_and_figure2_print_what_their_json_line_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    zs = _load("zonotope_search")
    argv = ["x", "table_a2", "--widths", "4", "--gd-runs", "2", "--rv-runs", "2", "--gd-steps", "5"]
    monkeypatch.setattr(sys, "argv", argv)
    zs.main()
    lines = capsys.readouterr().out.strip().splitlines()
    res = json.loads(lines[-1])
    (row,) = res["rows"]
    assert (res["table"], res["gd_steps"], row["d"], row["n"], row["m"]) == ("A2", 5, 8, 350, 4)
    printed = next(line for line in lines if line.startswith(" 8 350   4 |"))
    (gd, gd_sd), (acc, acc_sd), (rv, _), (rv_acc, _) = row["gd_loss"], row["gd_acc"], row["rv_loss"], row["rv_acc"]
    for cell in (f"{gd:.2e} ({gd_sd:.1e})", f"{acc:5.1f} ({acc_sd:4.2f})", f"{rv:.2e}", f"{rv_acc:5.1f}",
                 "2.98e-01", "88.4", "5.97e-01", "68.4"):  # fmt: skip
        assert cell in printed  # ours, then the paper's
    png = tmp_path / "fig2.png"
    argv = ["x", "figure2", "--factors", "1", "--widths", "4", "--gd-runs", "1", "--rv-runs", "1",
            "--gd-steps-synthetic", "2", "--gd-steps", "2", "--png", str(png)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    zs.main()
    lines = capsys.readouterr().out.strip().splitlines()
    res = json.loads(lines[-1])
    (left,), (right,) = res["left"], res["right"]
    assert (left["m"], left["paper"], right["d"], right["n"]) == (8, [7.47e-03, 2.45e-02], 16, 700)
    assert f"{left['gd'][0]:.2e}" in next(line for line in lines if line.startswith("     1   8 |"))
    assert f"{right['rv_loss'][0]:.2e}" in next(line for line in lines if line.startswith("16 700   4 |"))
    assert res["png"] == str(png) and png.stat().st_size > 10_000


@pytest.mark.usefixtures("one_thread")
def test_zonotope_table_a1_prints_a_dash_where_the_paper_has_no_entry_and_readings_print_each_reading(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zs = _load("zonotope_search")
    argv = ["x", "table_a1", "--m-gen", "2", "--gd-runs", "1", "--rv-runs", "1", "--gls-runs", "1",
            "--gd-steps", "2", "--max-seconds", "2"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    zs.main()
    lines = capsys.readouterr().out.splitlines()
    row8 = next(line for line in lines if line.startswith("  4     2    8 |"))
    assert row8.split("|")[1].split() == ["-", "-"]  # no gradient descent in the paper's (4, 2, 8) row
    assert "8.81e-09" in row8 and "8.29e-13" in row8  # its random vertex and GLS, beside ours
    monkeypatch.setattr(sys, "argv", ["x", "a1_readings", "--cells", "4,2,2", "--runs", "1", "--gd-steps", "2"])
    zs.main()
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("(4, 2, 2)")]
    for reading in ("random_signs", "least_squares", "best_signs", "no_sign_constraints", "zero", "glorot",
                    "no_output_bias_start", "paper 1.25e-01"):  # fmt: skip
        assert reading in line


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST missing: install the Debian package dataset-fashion-mnist",
)
def test_table2_draws_from_the_60000_training_images_and_table1_from_all_70000() -> None:
    from lightning_poly.pipelines.fashion_covers import load_fashion_task

    x, y = load_fashion_task(1, False, union=False)
    assert x.shape == (60_000, 784) and int((y > 0).sum()) == 6_000  # the class's 6,000 training images
    noisy = load_fashion_task(1, False, noise=0.1, seed=0, union=False)[1]
    assert int((noisy > 0).sum()) == 6_000 and int((noisy != y).sum()) == 1_200  # 600 swapped each way
    assert len(load_fashion_task(1, False)[1]) == 70_000


def test_figure7_uniqueness_refuses_a_single_seed_before_any_work() -> None:
    from lightning_poly.pipelines.fashion_covers import figure7_uniqueness

    with pytest.raises(ValueError, match=r"`seeds` must be two different seeds, got \(3, 3\)"):
        figure7_uniqueness("1", (3, 3))
    with pytest.raises(ValueError, match="a task is a class 0-9"):
        figure7_uniqueness("11", (0, 1))
