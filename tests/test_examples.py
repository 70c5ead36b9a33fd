import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from lightning_poly.geometry.bounds import simplices_lower_bound_one_layer, simplices_upper_bound_one_layer
from lightning_poly.nn import ReLUMLP

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "papers" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_table1_enumerates_every_region_and_respects_theorems_3_and_4() -> None:
    fh = _load("face_histograms")
    for n in (5, 7):
        torch.manual_seed(0)
        net = ReLUMLP([3, n, 1], init="xavier_uniform").double()
        with torch.no_grad():
            net.net[0].bias.uniform_(-0.5, 0.5)
        regions, simplices = fh._simplices(net, box=1000.0)  # all vertices inside
        assert regions == sum(__import__("math").comb(n, i) for i in range(4))  # general position
        assert simplices_lower_bound_one_layer(n, 3) <= simplices <= simplices_upper_bound_one_layer(n, 3)


def test_pulling_triangulation_of_a_cube_has_six_tetrahedra() -> None:
    fh = _load("face_histograms")
    import numpy as np

    verts = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    a = np.vstack([np.eye(3), -np.eye(3)])
    b = np.array([1.0, 1, 1, 0, 0, 0])
    assert fh._pulling_simplices_3d(verts, a, b) == 6


def test_init_study_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fh = _load("face_histograms")
    monkeypatch.setattr(sys, "argv", ["x", "--out", str(tmp_path), "init", "--repeats", "1", "--points", "300"])
    fh.main()
    out = capsys.readouterr().out
    assert "3-80-40-1 orthogonal" in out and "mean faces" in out
    assert len(list(tmp_path.glob("hist_*.png"))) == 8


def test_alternating_circle_margin_is_theta_one_over_n() -> None:
    from lightning_poly.geometry.cones import cones_2d
    from lightning_poly.solvers.margin import ntk_margin

    cg = _load("convex_gated")
    products = []
    for n in (8, 16, 32):
        x, y = cg.circle_points(n)
        gates, measure = cones_2d(x)
        gamma, _ = ntk_margin(x, y, gates, measure)
        products.append(n * gamma)
    assert all(1.0 <= p <= 1.1 for p in products)  # gamma_X = Theta(1/n), here ~ 1/n
    assert products[0] > products[1] > products[2]


def test_polytope_covers_example_finds_the_xor_cover(tmp_path: Path) -> None:
    pc = _load("polytope_covers")
    from lightning_poly.data import xor

    x, y = xor(300, seed=0)
    cover, info = pc.algorithm2(x.float(), y, [6, 6], [1, 1], epochs=300, batch=100)
    assert info["accuracy"] == cover.accuracy(x.float(), y) > 0.95
    assert pc.arch(cover).startswith("2-") and cover.is_cover(x.float(), y) == (info["accuracy"] == 1.0)


def test_fashion_example_names_tasks_and_faces_in_the_papers_notation() -> None:
    fc = _load("fashion_covers")
    assert fc._notation([9, 3]) == "9+3"
    assert fc._task("6c") == (6, True) and fc._task("2") == (2, False)
    with pytest.raises(ValueError, match="a task is a class 0-9"):
        fc._task("12")


def test_zonotope_theorem43_rows_fit_exactly_with_the_theorems_width() -> None:
    import argparse

    zs = _load("zonotope_search")
    rows = zs.cmd_theorem43(argparse.Namespace(dims=[2, 3], n=[12], gd_steps=10, gd_lr=1e-3))
    assert [(r["d"], r["units"]) for r in rows] == [(2, 8), (3, 6)]  # 2 ceil(N / (d + 1))
    assert all(r["relative_error"] < 1e-6 and r["gd_mse"] > 0 for r in rows)
