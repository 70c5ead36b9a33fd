"""The recipes of the face-histogram, activation-search and convex-gated papers, and the module they train with."""

import statistics
from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_poly.geometry.bounds import simplices_lower_bound, simplices_upper_bound
from lightning_poly.modules import NetworkModule
from lightning_poly.pipelines import quiet_trainer, train_network
from lightning_poly.pipelines.convex_gated import circle_margins, fixed_separator_failures
from lightning_poly.pipelines.face_histograms import (
    HistogramSetting,
    histogram_study,
    init_settings,
    simplices_table,
)
from lightning_poly.pipelines.vertex_search import halves, run_vertex_search
from lightning_poly.pipelines.vertex_search_synthetic import theorem43_fits


def test_network_module_trains_a_users_cnn_and_logs_loss_and_accuracy() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 3))
    before = [p.detach().clone() for p in net.parameters()]
    x, y = torch.randn(24, 1, 6, 6), torch.randint(0, 3, (24,))
    train_network(net, x, y, epochs=2, seed=0, batch_size=8)
    assert all(not torch.equal(a, b) for a, b in zip(before, net.parameters()))  # trained in place
    module = NetworkModule(net, optimizer="adamw", lr=1e-2)
    trainer = quiet_trainer(1, accelerator="cpu")
    trainer.fit(module, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8))
    assert {"train/loss", "train/acc"} <= set(trainer.callback_metrics)
    assert isinstance(module.configure_optimizers(), torch.optim.AdamW) and module.net is net


def test_network_module_refuses_what_it_cannot_train() -> None:
    with pytest.raises(TypeError, match="`net` must be a torch.nn.Module, got str"):
        NetworkModule("net")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`output_dim` is needed"):
        NetworkModule(nn.ReLU())
    with pytest.raises(ValueError, match="optimizer"):
        NetworkModule(nn.Linear(2, 2), optimizer="lbfgs")  # type: ignore[arg-type]


def test_histogram_study_rows_summarise_their_repeats_and_save_a_figure_each(tmp_path: Path) -> None:
    settings = [HistogramSetting("2-6-1 orthogonal", (2, 6, 1), "orthogonal", 0.01)]
    seen = []
    rows = histogram_study(settings, repeats=2, n_points=200, out=tmp_path, on_row=seen.append)
    assert seen == rows and len(rows[0].histograms) == 2
    h = rows[0].histograms
    assert rows[0].mean_faces == pytest.approx((h[0].mean + h[1].mean) / 2)
    assert rows[0].max_faces == max(h[0].max, h[1].max) and rows[0].seconds >= 0
    assert (tmp_path / "hist_2-6-1_orthogonal.png").stat().st_size > 1000
    assert len(init_settings()) == 8


def test_simplices_table_lies_between_theorems_1_and_2() -> None:
    (row,) = simplices_table([4], repeats=2, seed_points=500)  # the box: every vertex of the arrangement inside
    assert (row.upper, row.lower, row.paper) == (simplices_upper_bound(4, 3, 1), simplices_lower_bound(4, 3, 1), None)
    most = row.most
    assert row.lower <= most["fewest_simplices"] <= most["most_facets"] <= most["most_simplices"] <= row.upper
    assert row.regions > 1 and row.box > 1


def test_vertex_search_runs_say_why_they_stopped() -> None:
    assert halves(5).tolist() == [1, 1, 1, -1, -1]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(15, 3, generator=g, dtype=torch.float64)
    y = torch.relu(x[:, 0])
    run = run_vertex_search(x, y, halves(4), algorithm="gls", loss="squared", max_steps=2, seed=0, max_seconds=60)
    assert run.stopped in ("local_minimum", "max_steps") and run.record.steps <= 2
    assert run.loss == run.record.loss
    (fit,) = theorem43_fits(dims=[2], n=[9], gd_steps=5, gd_lr=1e-3)
    assert fit["units"] == 6 and fit["relative_error"] < 1e-6


def test_circle_margins_shrink_as_one_over_n_and_count_solver_errors_apart() -> None:
    rows = circle_margins(ns=[8, 16], trials=2, widths=(4,))
    assert [r["cones"] for r in rows] == [8, 16]
    assert rows[1]["gamma"] < rows[0]["gamma"] and all(0.5 < r["n_gamma"] < 2 for r in rows)  # Θ(1/n)
    assert all(b + e <= r["trials"] for r in rows for b, e in zip(r["failures"], r["errors"]))
    assert all(r["separator"] == "adaptive" and r["descent_certified"] for r in rows)
    assert all(0.75 * r["gamma"] - 1e-8 <= r["gamma_descent"] <= r["gamma"] + 1e-8 for r in rows)  # Lemma 6.1, eps 0.25


def test_fixed_separator_fails_often_while_m_gamma2_is_small_and_rarely_when_large() -> None:
    """Theorem 7.2 with v̄ fixed before the gates: measured 99/100 failures at m γ² = 0.07 and 0/100 at 4.7 (n = 8)."""
    (row,) = fixed_separator_failures(ns=[8], trials=40, widths=(4, 256))
    assert row["separator"] == "fixed" and row["error"] is None and row["cones"] == 8
    assert row["m_gamma2"][0] < 0.1 < 4 < row["m_gamma2"][1]
    assert row["failures"][0] >= 30 and row["failures"][1] <= 2
    with pytest.raises(ValueError, match="`ns` must hold multiples of 4"):
        fixed_separator_failures(ns=[10], trials=1)


def _count_task(task: str) -> tuple[dict, object]:
    """A task of the resumable runner: a record and a one-polytope cover (module level, so workers can spawn it)."""
    from lightning_poly.geometry import PolytopeBasisCover

    square = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    return {"letters": len(task)}, PolytopeBasisCover([square[: 2 + len(task)]], [torch.ones(2 + len(task))], [1])


def test_run_tasks_saves_each_task_and_a_rerun_resumes_where_it_stopped(tmp_path: Path) -> None:
    from lightning_poly.geometry import PolytopeBasisCover
    from lightning_poly.pipelines.tasks import run_tasks

    first = run_tasks(["a", "bb"], _count_task, folder=tmp_path, jobs=2)
    assert first == [{"task": "a", "letters": 1}, {"task": "bb", "letters": 2}]
    assert PolytopeBasisCover.load(tmp_path / "cover_bb.pt").faces == [4]  # the saved cover reads back

    def never(task: str) -> tuple[dict, None]:
        raise AssertionError(f"task {task} was saved and must not run again")

    resumed: list[tuple[str, bool]] = []
    again = run_tasks(["a", "bb"], never, folder=tmp_path, on_done=lambda r, old: resumed.append((r["task"], old)))
    assert again == first and resumed == [("a", True), ("bb", True)]
    more = run_tasks(["bb", "c"], _count_task, folder=tmp_path)  # only the new task runs
    assert more[1] == {"task": "c", "letters": 1} and (tmp_path / "record_c.json").is_file()
    with pytest.raises(ValueError, match="distinct"):
        run_tasks(["a", "a"], _count_task)


def test_user_mistakes_in_the_recipes_are_named(tmp_path: Path) -> None:
    from lightning_poly.pipelines.tasks import run_tasks

    with pytest.raises(ValueError, match=r"loss='bce' takes one logit.*got 2"):
        NetworkModule(nn.Linear(2, 2), loss="bce")
    with pytest.raises(ValueError, match="`max_epochs` is not a further Trainer argument"):
        train_network(nn.Linear(2, 2), torch.randn(8, 2), torch.arange(8) % 2, epochs=1, seed=0, max_epochs=1)
    with pytest.raises(TypeError, match="`dims` must be a list of integers, got int 2"):
        theorem43_fits(dims=2, n=[9], gd_steps=5, gd_lr=1e-3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`n\[0\]` must be an integer >= 2, got -3"):
        theorem43_fits(dims=[2], n=[-3], gd_steps=5, gd_lr=1e-3)
    with pytest.raises(ValueError, match="`gd_lr` must be"):
        theorem43_fits(dims=[2], n=[9], gd_steps=5, gd_lr=-1.0)
    with pytest.raises(ValueError, match="file-name-safe"):
        run_tasks(["a/b"], _count_task, folder=tmp_path)
    with pytest.raises(TypeError, match=r"`job` must return \(record: dict, cover or None\) for task 'a'"):
        run_tasks(["a"], lambda t: {"x": 1})  # type: ignore[arg-type,return-value]
    rows = histogram_study([HistogramSetting("2-4-1 orthogonal", (2, 4, 1), "orthogonal", 0.01)], repeats=1,
                           n_points=100, out=str(tmp_path / "new" / "folder"))  # fmt: skip
    assert len(rows) == 1 and (tmp_path / "new" / "folder" / "hist_2-4-1_orthogonal.png").is_file()


def test_whole_arrangement_study_counts_every_region_and_the_bound_holds_for_it() -> None:
    from lightning_poly.pipelines.face_histograms import whole_arrangement_study

    (row,) = whole_arrangement_study([(2, (12,), False), (3, (6,), False)], n_points=300, max_dim=2)
    whole, sampled = row["whole"], row["sampled"]
    assert row["network"] == "2-12-1" and whole.regions == "all" and whole.n_regions >= sampled.n_regions
    assert whole.mean <= row["bound"][1] + 1e-9  # Theorem 8 holds over every region of the box


def test_tabular_study_on_boston_housing_summarises_each_width_and_the_refit_chosen(tmp_path: Path) -> None:
    """Figure 10a's recipe: Boston Housing, a row per (width, seed), a summary whose figures are its rows'; the paper's
    refit and the earlier ridge refit both run on the same trained network (same seed, same data split)."""
    import statistics

    from lightning_poly.pipelines.polishing_studies import plot_tabular_study, tabular_study

    got, rows_by = {}, []
    for penalty in ("l1", "ridge"):
        rows, cos = tabular_study(widths=[6], seeds=2, epochs=1, refit_penalty=penalty)  # type: ignore[arg-type]
        runs, summary = rows[:-1], rows[-1]
        assert [(r["width"], r["seed"]) for r in runs] == [(6, 0), (6, 1)] and summary["summary"]
        assert summary["before"] == pytest.approx(statistics.mean(r["before"] for r in runs))
        assert summary["after"] == pytest.approx(statistics.mean(r["after"] for r in runs))
        assert summary["improved"] == sum(r["after"] < r["before"] for r in runs)
        assert cos.shape == (2 * 6 * 405,) and bool(((cos >= 0) & (cos <= 1)).all())  # 506 - 101 validation rows
        got[penalty] = runs
        rows_by.append(rows)
    plot_tabular_study([("l1", rows_by[0]), ("ridge", rows_by[1])], tmp_path / "mse.png")
    assert (tmp_path / "mse.png").stat().st_size > 5_000
    # the same trained networks: only the refit differs
    assert [r["before"] for r in got["l1"]] == pytest.approx([r["before"] for r in got["ridge"]], rel=1e-6)
    assert [r["after"] for r in got["l1"]] != pytest.approx([r["after"] for r in got["ridge"]], rel=1e-6)


def _coin_labels(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian points, 0/1 labels of a half-space with a quarter flipped (not separable: the logistic optimum is
    attained)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).double()
    flip = torch.randperm(n, generator=g)[: n // 4]
    y[flip] = 1 - y[flip]
    return x, y


def test_table_a2_row_summarises_its_runs_and_its_random_vertex_is_program_3_solved_by_cvxpy() -> None:
    """Table A2's random vertex: the loss is program (3)'s optimum at the pattern of Gaussian weights (seed = run),
    v fixed to halves, the output bias free; cvxpy (Clarabel) gives it independently. Run 2's optimum runs off to
    infinity (|W| 200 without the ridge): the ridge 1e-8 raises its loss by 1.1e-5 over the infimum."""
    import statistics

    from lightning_poly.geometry import random_vertex
    from lightning_poly.pipelines.vertex_search import table_a2_row
    from lightning_poly.solvers import vertex_program_cvxpy

    x, y = _coin_labels(16, 2, seed=0)
    row = table_a2_row(x, y, 2, gd_runs=2, rv_runs=3, gd_steps=30)
    assert set(row) == {"m", "gd_loss", "gd_acc", "gd_steps", "gd_last_tenth_relative_gain", "rv_loss", "rv_acc",
                        "rv_gap", "summary"}  # fmt: skip
    assert (row["m"], row["gd_steps"], len(row["gd_loss"]), len(row["gd_acc"])) == (2, 30, 2, 2)
    assert len(row["rv_loss"]) == len(row["rv_acc"]) == 3
    for key, (median, sd) in row["summary"].items():
        assert median == statistics.median(row[key]) and sd == statistics.pstdev(row[key])
    assert all(0 <= a <= 100 for a in row["gd_acc"] + row["rv_acc"])
    for run, loss in enumerate(row["rv_loss"]):
        pattern = random_vertex(x, 2, seed=run)[0]
        best = float(vertex_program_cvxpy(x, y, pattern, halves(2), loss="logistic", ridge=0.0).loss[0])
        ridged = float(vertex_program_cvxpy(x, y, pattern, halves(2), loss="logistic", ridge=1e-8).loss[0])
        assert loss >= best - 1e-7  # never below the region's infimum
        assert loss == pytest.approx(ridged, abs=1e-7)  # the optimum of the program the suite solves (ridge 1e-8)


def test_table_a2_gradient_descent_lowers_the_loss_of_every_seed_with_more_steps() -> None:
    from lightning_poly.pipelines.vertex_search import table_a2_row

    x, y = _coin_labels(16, 2, seed=1)
    short, long = (table_a2_row(x, y, 4, gd_runs=3, rv_runs=1, gd_steps=s, gd_lr=1e-2) for s in (1, 300))
    assert all(b < a for a, b in zip(short["gd_loss"], long["gd_loss"]))  # same initialisations, seed by seed
    assert short["rv_loss"] == long["rv_loss"]  # the random vertex does not depend on the steps
    with pytest.raises(ValueError, match=r"`y` must hold 0/1 labels for the logistic loss, got values \[-1.0, 1.0\]"):
        table_a2_row(x, 2 * y - 1, 4, gd_runs=1, rv_runs=1, gd_steps=1)
    with pytest.raises(ValueError, match="`gd_steps` must be an integer >= 1, got 0"):
        table_a2_row(x, y, 4, gd_runs=1, rv_runs=1, gd_steps=0)


def test_figure2_left_rows_are_the_medians_of_their_datasets_and_carry_table_a1s_d8_numbers() -> None:
    import statistics

    from lightning_poly.pipelines.vertex_search_synthetic import PAPER_A1_D8, figure2_left

    seen: list[dict] = []
    rows = figure2_left(factors=[1, 1.5], gd_runs=2, rv_runs=3, gd_steps=5, d=2, m_gen=2, on_row=seen.append)
    assert seen == rows and [(r["factor"], r["m"], r["paper"]) for r in rows] == [(1, 2, None), (1.5, 3, None)]
    for r in rows:
        assert len(r["gd"]) == 2 and len(r["random_vertex"]) == 3
        assert r["summary"]["gd"] == (statistics.median(r["gd"]), statistics.pstdev(r["gd"]))
        assert r["summary"]["random_vertex"][0] == statistics.median(r["random_vertex"])
    (row,) = figure2_left(factors=[1], gd_runs=1, rv_runs=1, gd_steps=1)  # the paper's d = m_gen = 8
    assert (row["m"], row["paper"]) == (8, PAPER_A1_D8[8])
    with pytest.raises(ValueError, match=r"`factors\[1\]` must be a number > 0 with factor \* m_gen .* got 1.25"):
        figure2_left(factors=[1, 1.25], gd_runs=1, rv_runs=1, gd_steps=1, d=2, m_gen=2)
    with pytest.raises(ValueError, match="`rv_runs` must be an integer >= 1, got 0"):
        figure2_left(factors=[1], gd_runs=1, rv_runs=0, gd_steps=1, d=2, m_gen=2)


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST missing: install the Debian package dataset-fashion-mnist",
)
@pytest.mark.usefixtures("one_thread")
def test_table_a2_runs_on_pullover_vs_coat_beside_the_papers_row_and_figure2_plots_it(tmp_path: Path) -> None:
    from lightning_poly.pipelines.vertex_search import PAPER_A2, plot_figure2, table_a2
    from lightning_poly.pipelines.vertex_search_synthetic import figure2_left

    rows = table_a2(dims=[8], ns=[350], widths=[4], gd_runs=2, rv_runs=2, gd_steps=20)
    (row,) = rows
    assert (row["d"], row["n"], row["m"], row["paper"]) == (8, 350, 4, PAPER_A2[(8, 350, 4)])
    assert 0.3 < row["summary"]["rv_loss"][0] < 0.75 and row["rv_gap"] < 1e-6  # the paper: 0.597 (sd 0.072)
    left = figure2_left(factors=[1, 2], gd_runs=1, rv_runs=2, gd_steps=5, d=2, m_gen=2)
    png = plot_figure2(left, rows, tmp_path / "fig" / "figure2.png")
    assert png.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"`dims\[0\]` must be an integer >= 1, got 0"):
        table_a2(dims=[0], ns=[350], widths=[4], gd_runs=1, rv_runs=1, gd_steps=1)
    with pytest.raises(ValueError, match=r"`right` must hold at least one row of figure2_right, got \[\]"):
        plot_figure2(left, [], tmp_path / "empty.png")


def test_table_a1_runs_each_method_only_where_the_paper_has_a_number_and_refuses_unknown_cells() -> None:
    from lightning_poly.pipelines.vertex_search_synthetic import PAPER_A1, table_a1

    seen: list[dict] = []
    rows = table_a1(dims=[4], m_gen=[2], gd_runs=1, rv_runs=2, gls_runs=1, gd_steps=2, max_seconds=5,
                    on_row=seen.append)  # fmt: skip
    assert seen == rows and [(r["d"], r["m_gen"], r["m"]) for r in rows] == [(4, 2, m) for m in (2, 3, 4, 8, 16)]
    for r in rows:
        paper = PAPER_A1[r["d"], r["m_gen"], r["m"]]
        assert r["paper"] == paper
        assert len(r["gd"]) == (0 if paper[0] is None else 1)
        assert len(r["random_vertex"]) == (0 if paper[1] is None else 2)
        assert len(r["gls"]) == len(r["gls_stopped"]) == (0 if paper[2] is None else 1)
    assert len(PAPER_A1) == 40 and {d for d, _, _ in PAPER_A1} == {4, 8, 16}
    with pytest.raises(ValueError, match=r"got dims=\[5\], m_gen=None; matching no cell: \[5\]"):
        table_a1(dims=[5], gd_runs=1, rv_runs=1, gls_runs=1, gd_steps=1)
    with pytest.raises(
        ValueError, match=r"m_gen=\[2, 99\]; matching no cell: \[99\]"
    ):  # a valid value beside does not hide it
        table_a1(dims=[4], m_gen=[2, 99], gd_runs=1, rv_runs=1, gls_runs=1, gd_steps=1)
    (only,) = table_a1(dims=[4], cells=[(4, 2, 8)], methods=["random_vertex"], rv_runs=1, gd_runs=1, gls_runs=1,
                       gd_steps=1)  # fmt: skip
    assert (only["m"], len(only["random_vertex"]), only["gd"], only["gls"]) == (8, 1, [], [])
    with pytest.raises(ValueError, match=r"`methods` must be some of 'gd', 'random_vertex', 'gls', got \['sgd'\]"):
        table_a1(dims=[4], methods=["sgd"], gd_runs=1, rv_runs=1, gls_runs=1, gd_steps=1)
    with pytest.raises(ValueError, match=r"`cells\[0\]` must be a \(d, m_gen, m\) of Table A1"):
        table_a1(dims=[4], cells=[(4, 2, 5)], gd_runs=1, rv_runs=1, gls_runs=1, gd_steps=1)
    with pytest.raises(TypeError, match="`m_gen` must be a list of integers, got int 2"):
        table_a1(dims=[4], m_gen=2, gd_runs=1, rv_runs=1, gls_runs=1, gd_steps=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`gls_runs` must be an integer >= 1, got 0"):
        table_a1(dims=[4], gd_runs=1, rv_runs=1, gls_runs=0, gd_steps=1)


def test_table_a1_readings_order_the_random_vertex_readings_and_gls_never_ends_above_its_start() -> None:
    from lightning_poly.pipelines.vertex_search_synthetic import table_a1_readings

    (row,) = table_a1_readings([(4, 2, 2)], runs=3, gd_steps=3, max_seconds=20)
    rv, gls = row["random_vertex"], row["gls"]
    assert set(rv) == {"random_signs", "least_squares", "best_signs", "no_sign_constraints"}
    assert set(row["gd"]) == {"zero", "glorot"}
    for r in range(3):  # the best sign vector is the region's optimum over (W, v, c): no alternation is below it
        best = rv["best_signs"][r]
        assert rv["no_sign_constraints"][r] <= best + 1e-9 * (1 + best)  # the relaxation is below the region
        assert rv["random_signs"][r] >= best - 1e-7 * (1 + best)
        assert rv["least_squares"][r] >= best - 1e-7 * (1 + best)
        for key in ("output_bias", "no_output_bias"):
            assert gls[key][r] <= gls[f"{key}_start"][r] + 1e-12
    assert row["summary"]["gls"]["output_bias"][0] == statistics.median(gls["output_bias"])
    with pytest.raises(ValueError, match=r"`cells\[0\]` must be a \(d, m_gen, m\) of Table A1"):
        table_a1_readings([(4, 2, 5)], runs=1, gd_steps=1)
