"""Polytope-basis covers of Fashion-MNIST classes (the covers paper's Table 1) and of a noisy class (Table 2).

* :func:`table1_covers`: :func:`~lightning_poly.pipelines.two_polytope_cover` on each task (a class ``"3"`` or
  its complement ``"3c"``), resumable and parallel (:func:`~lightning_poly.pipelines.tasks.run_tasks`);
* :func:`eliminate_saved_covers`: face elimination again on saved covers (no retraining);
* :func:`table2_covers`: one polytope of class 1 under label noise.

Data: all 70,000 images (train ∪ test), pixels standardised per feature over those images (an invertible affine
map, so polytopes and their face counts are unchanged); classes numbered 0-9 as Table 1's header and torchvision.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from lightning_poly.algorithms import eliminate_cover_faces, error_budget
from lightning_poly.geometry import PolytopeBasisCover
from lightning_poly.pipelines.tasks import TaskResult, run_tasks
from lightning_poly.pipelines.training import quiet_lightning
from lightning_poly.pipelines.two_polytope_cover import SMOOTH_HEAD_TRAINING, two_polytope_cover

__all__ = [
    "PAPER_CLASS",
    "PAPER_COMPLEMENT",
    "PAPER_TABLE2",
    "Table1Options",
    "eliminate_saved_covers",
    "fashion_task",
    "faces_notation",
    "load_fashion_task",
    "paper_faces",
    "table1_covers",
    "table2_covers",
]

# Table 1, Fashion-MNIST rows, classes 0..9 (a+b: two polytopes)
PAPER_CLASS = ["9+3", "4", "9+5", "9+3", "9+6", "8", "9+7", "9+1", "6", "10"]
PAPER_COMPLEMENT = ["16", "3", "22", "11", "20", "4", "28", "6", "4", "5"]
PAPER_TABLE2 = {0.0: 3, 0.01: 4.6, 0.1: 39.0, 0.25: 57.4, 0.5: 77.0, 0.9: 65.6}


def load_fashion_task(
    cls: int, complement: bool, root: str | None = None, noise: float = 0.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The points of a Table 1 task: all 70,000 images, standardised, labelled 1 for the class (or its
    complement), with ``noise`` of the labels flipped (seeded)."""
    from lightning_poly.datamodules import FashionMNISTDataModule

    dm = FashionMNISTDataModule(
        root=root, task="one_vs_rest", positive_class=cls, complement=complement, union_train_test=True,
        val_fraction=0.0, scale="standardize", label_noise=noise, seed=seed,
    )  # fmt: skip
    dm.setup("fit")
    return dm.train_tensors()


def faces_notation(faces: Sequence[int]) -> str:
    """The paper's notation: ``9+3`` for two polytopes of 9 and 3 faces."""
    return "+".join(str(f) for f in faces)


def fashion_task(name: str) -> tuple[int, bool]:
    """``"6"`` -> class 6, ``"6c"`` -> its complement."""
    cls, comp = (name[:-1], True) if name.endswith("c") else (name, False)
    if not cls.isdigit() or not 0 <= int(cls) <= 9:
        raise ValueError(f"a task is a class 0-9, with 'c' for its complement (e.g. '6c'), got {name!r}")
    return int(cls), comp


def paper_faces(name: str) -> str:
    """Table 1's faces of a task."""
    cls, comp = fashion_task(name)
    return (PAPER_COMPLEMENT if comp else PAPER_CLASS)[cls]


@dataclass(frozen=True)
class Table1Options:
    """Options of :func:`table1_covers` (see :func:`~lightning_poly.pipelines.two_polytope_cover`).

    Args:
        width: faces of P before dropping.
        second_width: faces of Q before dropping.
        target: the accuracy to reach.
        epochs: training epochs of each polytope.
        inside_weights: ladder of P's inside weights for a class.
        complement_inside_weights: the same for a complement (9 times as many points to hold).
        second_weights: ladder of Q's inside weights.
        root: Fashion-MNIST folder (``None``: Debian's ``dataset-fashion-mnist``).
        threads: torch threads of each task.
    """

    width: int = 64
    second_width: int = 64
    target: float = 0.9999
    epochs: int = 20
    inside_weights: tuple[float, ...] = (1.0, 10.0, 100.0)
    complement_inside_weights: tuple[float, ...] = (10.0, 100.0, 1000.0)
    second_weights: tuple[float, ...] = (1.0, 0.5, 0.25, 0.1, 0.05, 0.03, 0.02, 0.015, 0.01)
    root: str | None = None
    threads: int = 1


def _table1_task(options: Table1Options, name: str) -> TaskResult:
    quiet_lightning()  # again: a spawned worker starts without the parent's filters
    torch.set_num_threads(options.threads)
    cls, comp = fashion_task(name)
    x, y = load_fashion_task(cls, comp, options.root)
    training = replace(SMOOTH_HEAD_TRAINING, width=options.width, epochs=options.epochs)
    ladder = options.complement_inside_weights if comp else options.inside_weights
    res = two_polytope_cover(x, y, options.target, training, options.second_width, inside_weights=ladder,
                             second_weights=options.second_weights)  # fmt: skip
    summary = res.summary()
    record = {"class": cls, "complement": comp, "ours": faces_notation(summary["faces"]), "paper": paper_faces(name),
              "errors": round((1 - summary["accuracy"]) * len(y)), **summary}  # fmt: skip
    return record, res.cover


def table1_covers(
    tasks: Sequence[str],
    options: Table1Options = Table1Options(),
    *,
    folder: str | Path | None = None,
    jobs: int = 1,
    on_done: Callable[[dict[str, Any], bool], None] | None = None,
) -> list[dict[str, Any]]:
    """Table 1 by :func:`~lightning_poly.pipelines.two_polytope_cover` on each task; each task's record and cover
    saved in ``folder`` as it ends and skipped on a rerun (:func:`~lightning_poly.pipelines.tasks.run_tasks`)."""
    for name in tasks:
        fashion_task(name)  # refuse a bad name before any work
    return run_tasks(tasks, functools.partial(_table1_task, options), folder=folder, jobs=jobs, on_done=on_done)


def eliminate_saved_covers(
    tasks: Sequence[str],
    covers: str | Path,
    *,
    target: float,
    tries: int,
    root: str | None = None,
    out: str | Path | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Eliminate faces again from the covers :func:`table1_covers` saved (``cover_<task>.pt`` in ``covers``), no
    retraining; the smaller covers saved in ``out``."""
    rows = []
    for name in tasks:
        cls, comp = fashion_task(name)
        path = Path(covers) / f"cover_{name}.pt"
        if not path.exists():
            raise FileNotFoundError(f"no saved cover for task {name!r}: expected {path} (table1 --save-covers)")
        cover = PolytopeBasisCover.load(path)
        x, y = load_fashion_task(cls, comp, root)
        default = [10.0 if comp and g > 0 else 1.0 for g in cover.signs]  # covers saved without their weights
        start = time.perf_counter()
        budget = error_budget(target, len(y))
        smaller, _ = eliminate_cover_faces(cover, x, y, budget, cover.meta.get("inside_weights", default), tries)
        row = {"task": name, "before": faces_notation(cover.faces), "after": faces_notation(smaller.faces),
               "paper": paper_faces(name), "errors": round((1 - smaller.accuracy(x, y)) * len(y)),
               "seconds": time.perf_counter() - start}  # fmt: skip
        rows.append(row)
        if out is not None:
            smaller.save(Path(out) / path.name)
        if on_done is not None:
            on_done(row)
    return rows


def table2_covers(
    noise: Sequence[float],
    *,
    repeats: int,
    width: int,
    epochs: int,
    inside_weights: Sequence[float],
    root: str | None = None,
    on_repeat: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Table 2: one polytope of class 1 (Trouser) at 99.9 % under label noise ``r``, ``repeats`` noise draws each;
    the mean faces and accuracy per noise level."""
    training = replace(SMOOTH_HEAD_TRAINING, width=width, epochs=epochs)
    rows = []
    for r in noise:
        faces, accs, start = [], [], time.perf_counter()
        for rep in range(repeats):
            x, y = load_fashion_task(1, False, root, noise=r, seed=rep)
            res = two_polytope_cover(x, y, 0.999, training, two=False, inside_weights=tuple(inside_weights))
            faces.append(res.faces[0])
            accs.append(res.accuracy)
            if on_repeat is not None:
                on_repeat({"noise": r, "repeat": rep, "faces": res.faces[0], "ladder": res.steps[0]["ladder"]})
        rows.append({"noise": r, "mean_faces": sum(faces) / len(faces), "accuracy": sum(accs) / len(accs),
                     "seconds": (time.perf_counter() - start) / repeats, "paper": PAPER_TABLE2.get(r)})  # fmt: skip
    return rows
