"""The compose layer: what no lower layer imports, the inner Trainer, progress lines, one polytope's fit."""

import json
import subprocess
import sys

import torch

from lightning_poly.pipelines import PolytopeTraining, TaskProgress, fit_polytope, quiet_trainer

LOWER = {
    "core": ["nn", "data", "geometry", "algorithms", "solvers", "plotting"],
    "glue": ["modules", "callbacks", "datamodules", "logging"],
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
