"""Recipes that run several Trainers (compose level: never imported by the core or the glue).

* :func:`train_polytope`, :func:`sequential_cover`: Algorithm 4 of the polytope-basis-covers paper;
* :func:`refined_polytope`, :func:`two_polytope_cover`: the two-polytope covers of Section 4.2 (Tables 1-2);
* :class:`PolytopeTraining`, :func:`fit_polytope`, :func:`quiet_trainer`: the one way every recipe
  trains one polytope with a ``Trainer``;
* :class:`TaskProgress`, :func:`quiet_lightning`: progress lines and quiet inner fits for long scripts.
"""

from lightning_poly.pipelines.progress import TaskProgress
from lightning_poly.pipelines.sequential_cover import sequential_cover, train_polytope
from lightning_poly.pipelines.training import (
    FittedPolytope,
    PolytopeTraining,
    fit_polytope,
    quiet_lightning,
    quiet_trainer,
)
from lightning_poly.pipelines.two_polytope_cover import (
    SMOOTH_HEAD_TRAINING,
    TwoPolytopeCover,
    refined_polytope,
    two_polytope_cover,
)

__all__ = [
    "FittedPolytope",
    "PolytopeTraining",
    "SMOOTH_HEAD_TRAINING",
    "TaskProgress",
    "TwoPolytopeCover",
    "fit_polytope",
    "quiet_lightning",
    "quiet_trainer",
    "refined_polytope",
    "sequential_cover",
    "train_polytope",
    "two_polytope_cover",
]
