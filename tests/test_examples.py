import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from lightning_poly.geometry import PolytopeBasisCover
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


def test_fashion_cover_task_reports_what_it_measured() -> None:
    fc = _load("fashion_covers")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 10, generator=g)
    y = (x[:, :3].abs().max(1).values < 1.0).long()  # a cube in 3 of 10 dims: 6 faces suffice
    res = fc.cover_task(x, y, target=0.99, width=12, epochs=300, two=False)
    assert res["accuracy"] >= 0.99 and len(res["faces"]) == 1
    assert res["faces"][0] <= res["after_drop"][0] <= res["before_drop"][0] <= 12  # dropping keeps the target
    assert res["cover"].faces == res["faces"] and res["cover"].accuracy(x, y) == res["accuracy"]
    assert res["faces"][0] >= 5  # a cube needs 6 faces; at 99% one may go
    assert res["steps"][0]["missed"] <= 6 and fc._notation([9, 3]) == "9+3"
    # the cube minus a slab inside it: one convex polytope cannot, P - Q can
    hole = (x[:, 3].abs() < 0.3) & (y == 1)
    y2 = torch.where(hole, torch.zeros_like(y), y)
    two = fc.cover_task(x, y2, target=0.99, width=12, second_width=4, epochs=300, two=True, inside_weights=(10.0,))
    one = fc.cover_task(x, y2, target=0.99, width=12, epochs=300, two=False)
    assert two["signs"] == [1, -1] and two["accuracy"] > one["accuracy"] + 0.02 and one["signs"] == [1]
    # P alone misses the budget: its whole ladder runs and the rung with the fewest errors is kept
    kept, ladder = one["steps"][0], one["steps"][0]["ladder"]
    assert len(ladder) == 3 and kept["missed"] + kept["wrongly_inside"] == min(
        step["missed"] + step["wrongly_inside"] for step in ladder
    )
    # Q's ladder stops at the first refinement whose errors fit the budget, else keeps the one with fewest
    q = two["steps"][1]
    errors = [step["missed"] + step["wrongly_inside"] for step in q["ladder"]]
    assert q["missed"] + q["wrongly_inside"] == (
        errors[-1] if errors[-1] <= 6 - two["steps"][0]["missed"] else min(errors)
    )
    assert all(e > 6 - two["steps"][0]["missed"] for e in errors[:-1])


def test_single_polytope_ladder_keeps_the_rung_with_fewest_errors() -> None:
    fc = _load("fashion_covers")
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 6, generator=g)
    y = ((x[:, :2].abs().max(1).values < 0.8) ^ (torch.rand(400, generator=g) < 0.05)).long()  # noisy square
    ladder = (1.0, 0.3, 3.0)
    # an unreachable budget: every rung runs, and the faces kept are those with the fewest errors
    cover, info = fc.single_polytope(x, y, 8, epochs=60, batch=100, inside_weights=ladder, max_errors=-1,
                                     max_missed=len(y), unit_margin=True)  # fmt: skip
    errors = [r["missed"] + r["wrongly_inside"] for r in info["ladder"]]
    assert [r["inside_weight"] for r in info["ladder"]] == list(ladder)
    assert info["missed"] + info["wrongly_inside"] == min(errors)
    inside = cover.membership(x)[:, 0]  # the faces returned are the ones whose errors are reported
    assert int((inside != (y > 0)).sum()) == min(errors)
    # a budget the first rung meets: one rung only
    _, first = fc.single_polytope(x, y, 8, epochs=60, batch=100, inside_weights=ladder, max_missed=len(y))
    assert len(first["ladder"]) == 1
    with pytest.raises(ValueError, match="at least one weight"):
        fc.single_polytope(x, y, 8, inside_weights=())


def test_eliminate_cover_faces_finds_the_square_and_the_slab() -> None:
    """P - Q with spare faces: the square needs 4 faces, the slab cut out of it 2 (known answer)."""
    fc = _load("fashion_covers")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2000, 2, generator=g) * 40 - 20  # input units of 10: gaps of 1 around every boundary
    x = x[((x.abs().max(1).values - 10).abs() > 1) & ((x[:, 0].abs() - 3).abs() > 1)]
    y = ((x.abs() < 10).all(1) & (x[:, 0].abs() > 3)).long()
    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    p_a = torch.cat([sq, torch.tensor([[1.0, 1.0], [1.0, -1.0]])])  # corner cuts that cut no point of class 1
    p_b = torch.tensor([10.0, 10, 10, 10, 19, 19])
    q_a, q_b = sq.clone(), torch.tensor([3.0, 3, 15, 15])  # |x_1| <= 3, and |x_2| <= 15 reaching past the square
    cover = PolytopeBasisCover([p_a, q_a], [p_b, q_b], [1, -1])
    assert cover.accuracy(x, y) == 1.0 and cover.faces == [6, 4]
    small, rounds = fc.eliminate_cover_faces(cover, x, y, budget=0, inside_weights=[1.0, 1.0])
    assert small.faces == [4, 2] and small.accuracy(x, y) == 1.0
    # P and Q take turns while a turn removes a face; the last turn removed none
    assert [r["sign"] for r in rounds] == [1, -1, 1]
    assert all(r["errors"] == 0 for r in rounds) and rounds[-1]["faces_before"] == rounds[-1]["faces_after"]
    with pytest.raises(ValueError, match=r"signs \[1\] or \[1, -1\]"):
        fc.eliminate_cover_faces(PolytopeBasisCover([q_a], [q_b], [-1]), x, y, 0, [1.0])
