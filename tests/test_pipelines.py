"""The compose layer: what no lower layer imports, the inner Trainer, progress lines, one polytope's fit."""

import json
import subprocess
import sys
from dataclasses import replace

import torch

from lightning_poly.algorithms import neuron_sample_cosines
from lightning_poly.data import spiral, two_moons, xor
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.nn.relu_network import linear_layers
from lightning_poly.pipelines import (
    SPIRAL_TRAINING,
    CoverTraining,
    MLPTraining,
    PolytopeTraining,
    TaskProgress,
    compare_to_optimum,
    compressed_cover,
    fit_polytope,
    quiet_trainer,
    train_and_polish,
)

LOWER = {
    "core": ["nn", "data", "geometry", "algorithms", "solvers", "plotting"],
    "glue": ["modules", "callbacks", "datamodules", "media"],
}


def _loaded_after(imports: list[str]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import lightning_poly.{m}\n" for m in imports)
        + "import json; print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_no_core_or_glue_package_imports_the_pipelines_and_geometry_no_algorithms() -> None:
    loaded = _loaded_after(LOWER["core"] + LOWER["glue"])
    assert not any(m.startswith("lightning_poly.pipelines") for m in loaded)
    assert not any(m.startswith("lightning_poly.algorithms") for m in _loaded_after(["geometry"]))


def test_quiet_trainer_defaults_and_overrides() -> None:
    trainer = quiet_trainer(2, accelerator="cpu", max_steps=3)
    assert trainer.max_epochs == 2 and trainer.max_steps == 3 and trainer.logger is None
    assert not trainer.checkpoint_callbacks and trainer.num_devices == 1


def test_task_progress_counts_and_estimates() -> None:
    progress = TaskProgress(3)
    lines = [progress.line(f"task {i}") for i in range(3)]
    assert [line.split(" ")[0] for line in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    assert lines[-1].endswith("about 0 s left") and "elapsed" in lines[0]


def test_fit_polytope_trains_the_configured_module_with_or_without_compression() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(100, 2, generator=g) * 2 - 1
    inside = (x.abs() < 0.5).all(1).long()
    plain = fit_polytope(x, inside, PolytopeTraining(width=5, epochs=2, compress=False, head="polytope", lr=0.05))
    assert plain.cover is None and plain.seconds > 0
    hp = plain.module.hparams
    assert (hp.width, hp.head, hp.lr, hp.pieces, hp.hard_sign) == (5, "polytope", 0.05, 1, True)
    compressed = fit_polytope(x, inside, PolytopeTraining(width=5, epochs=4, every_n_steps=1))
    assert compressed.cover is not None and len(compressed.cover) == 1
    assert compressed.cover.faces[0] <= 5


def test_compressed_cover_finds_the_xor_cover_and_prunes_without_changing_predictions() -> None:
    x, y = xor(300, seed=0)
    fit = compressed_cover(x.float(), y, CoverTraining(widths=(6, 6), signs=(1, 1), epochs=300, batch_size=100))
    assert fit.accuracy == fit.cover.accuracy(x.float(), y) > 0.95
    assert fit.cover.architecture()[0] == 2 and fit.cover.is_cover(x.float(), y) == (fit.accuracy == 1.0)
    assert torch.equal(fit.cover.predict(x.float()), fit.raw.predict(x.float()))  # pruning changes no prediction
    assert sum(fit.cover.faces) <= sum(fit.raw.faces) <= 12 and 0.0 <= fit.network_accuracy <= 1.0
    hp = fit.module.hparams
    assert (hp.pieces, list(hp.width), list(hp.signs), hp.hard_sign, hp.cosine) == (2, [6, 6], [1, 1], True, True)


def test_certified_bounds_sandwich_sgd_and_polishing_on_the_spiral() -> None:
    """The p = 2 wedge Lasso's value is an upper bound above the certified (p = 1, Theorem 16) lower bound; the
    certified p = 1 optimum is below J_1 of SGD and of p = 1 polishing; every J is above the lower bound."""
    for seed in (0, 1):
        x, y = spiral(24, seed=seed, signed=True)
        r = compare_to_optimum(x, y.double(), 1e-4, replace(SPIRAL_TRAINING, hidden=(30,), epochs=300, seed=seed))
        assert r.lower_bound is not None and r.l1_optimum is not None and r.l1_gap is not None
        assert r.lower_bound <= r.upper_bound + 1e-9  # p = 2 value >= a certified lower bound
        assert r.lower_bound <= min(r.sgd, r.polished) + 1e-9
        assert r.upper_bound <= r.l1_optimum + 1e-6  # J <= J_1 for the exact p = 1 network: p* <= both
        assert r.l1_optimum - r.l1_gap <= min(r.sgd_l1, r.polished_l1) + 1e-9
        assert r.l1_gap <= 1e-8 * r.l1_optimum
        assert set(r.networks) == {"sgd", "polished", "polished_l1", "upper_bound", "l1_optimum"}
        assert r.upper_bound_neurons >= 1


def test_train_and_polish_measures_cosines_before_polishing_makes_them_exact() -> None:
    x, y = two_moons(200, seed=0)
    dm = ArrayDataModule(x, y, val_fraction=0.25, batch_size=50)
    run = train_and_polish(dm, 2, MLPTraining(hidden=(8,), lr=1e-2, epochs=5), "val_acc", cosines=True)
    xt = dm.train_tensors()[0]
    assert run.cosines is not None and run.cosines.shape == (len(xt), 8)
    lin = linear_layers(run.module.model)[0]
    after = neuron_sample_cosines(lin.weight, lin.bias, xt)
    # polishing puts every neuron through r - 1 = 2 samples (Theorem 4); the trained ones were not
    assert float(after.topk(2, dim=0, largest=False).values.max()) < 1e-5
    assert float(run.cosines.min(dim=0).values.max()) > 1e-5
    assert 0.0 <= run.before <= 1.0 and 0.0 <= run.after <= 1.0 and run.seconds > 0


def test_algorithm2_cover_applies_the_30_face_rule_with_plain_gradient_descent_and_no_sign_projection() -> None:
    from lightning_poly.nn import CoverNetwork
    from lightning_poly.pipelines.fashion_covers import Algorithm2Options, algorithm2_cover

    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 2, generator=g) * 2 - 1
    y = (x.abs() < 0.5).all(1).long()  # a square: one polytope of 4 faces
    opts = Algorithm2Options(width=8, epochs=60, batch_size=20, every_n_steps=50, lr=0.05, target=0.99,
                             init_scale=0.5)  # fmt: skip
    record, cover = algorithm2_cover(x, y, opts)
    assert record["errors"] == round((1 - cover.accuracy(x, y)) * len(y)) and record["budget"] == 2
    assert record["polytopes"] == (1 if "two" not in record else 2) and len(cover) == record["polytopes"]
    one = record["one"]
    assert record["polytopes"] == 1 or one["errors"] > 2 or int(one["faces"]) >= 30
    assert record["reached"] == (record["errors"] <= 2) and cover.meta["algorithm"] == "algorithm2"
    # the rule: a single polytope with as many faces as allowed sends the task to two polytopes
    forced, two_cover = algorithm2_cover(x, y, replace(opts, max_faces=1, epochs=10))
    assert "two" in forced and forced["polytopes"] == 2 and len(two_cover) == 2 and forced["ours"].count("+") == 1
    fit = opts.training(2)
    assert (fit.optimizer, fit.hard_sign, fit.signs, fit.every_n_steps, fit.loss) == ("sgd", False, (1, -1), 50, "bce")
    # the small-norm initialisation scales the first layer, and (8) sets v from it
    small, unit = CoverNetwork(784, 1, 4, seed=3, init_scale=0.1), CoverNetwork(784, 1, 4, seed=3)
    assert torch.allclose(small.w, 0.1 * unit.w) and torch.allclose(small.v, 0.1 * unit.v)
    assert bool((small.v < -(small.w.pow(2).sum(-1) + small.b.pow(2)).sqrt()).all())


def test_figures12_13_study_reports_the_compressed_network_and_its_pruned_form(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lightning_poly.pipelines.synthetic_covers import cover_architecture, figures12_13_study

    seen: list = []
    rows = figures12_13_study(n=60, epochs=2, out=tmp_path, on_row=seen.append)
    assert seen == rows and [r.name for r in rows] == [
        f"{s}/algorithm {a}" for s in ("xor", "two_circles", "two_moons") for a in (2, 3)
    ]
    for r in rows[::2]:  # Algorithm 2: the row is the unpruned cover, its pruned architecture in the note
        assert r.cover is not None and r.ours == cover_architecture(r.cover) and "; pruned: " in r.extra
        assert r.cover.architecture()[2] <= 8 and (tmp_path / f"{r.name.split('/')[0]}_algorithm2.png").is_file()
    assert all(r.paper == "-" for r in rows)  # the paper shows pictures, no architecture
