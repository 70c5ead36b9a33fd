"""Recipes that run several Trainers (compose level: never imported by the core or the glue).

* :func:`compressed_cover` (:class:`CoverTraining`): Algorithm 2 of the polytope-basis-covers paper;
* :func:`train_polytope`, :func:`sequential_cover`: its Algorithm 4;
* :func:`refined_polytope`, :func:`two_polytope_cover`: the two-polytope covers of Section 4.2 (Tables 1-2);
* :class:`PolytopeTraining`, :func:`fit_polytope`, :func:`quiet_trainer`: the one way every recipe
  trains one polytope with a ``Trainer``;
* :func:`compare_to_optimum`, :func:`train_and_polish` (:class:`MLPTraining`): the wedge-products paper's
  polishing experiments (Figures 8-10);
* :mod:`~lightning_poly.pipelines.synthetic_covers`, :mod:`~lightning_poly.pipelines.fashion_covers`: the covers
  paper's studies (the synthetic sets; Tables 1-2 task by task, resumable: :func:`~lightning_poly.pipelines.tasks.run_tasks`);
* :mod:`~lightning_poly.pipelines.face_histograms`, :mod:`~lightning_poly.pipelines.vertex_search`,
  :mod:`~lightning_poly.pipelines.convex_gated`: the studies of the face-histogram, activation-search and
  convex-gated papers (each example script parses its arguments, calls one of them and prints);
* :mod:`~lightning_poly.pipelines.polishing_studies`: the polishing paper's studies over seeds (Figures 9-10,
  the four-layer CNN of Figure 9a);
* :func:`train_network`: any network trained with a ``Trainer`` (:class:`~lightning_poly.modules.NetworkModule`);
* :class:`TaskProgress`, :func:`quiet_lightning`: progress lines and quiet inner fits for long scripts.
"""

from lightning_poly.pipelines.compressed_cover import CompressedCover, CoverTraining, compressed_cover
from lightning_poly.pipelines.polishing import (
    SPIRAL_TRAINING,
    MLPTraining,
    OptimumComparison,
    PolishedTraining,
    compare_to_optimum,
    train_and_polish,
)
from lightning_poly.pipelines.progress import TaskProgress
from lightning_poly.pipelines.sequential_cover import sequential_cover, train_polytope
from lightning_poly.pipelines.training import (
    CompressionFitOptions,
    FitOptions,
    FittedPolytope,
    PolytopeTraining,
    fit_polytope,
    quiet_lightning,
    quiet_trainer,
    train_network,
)
from lightning_poly.pipelines.two_polytope_cover import (
    SMOOTH_HEAD_TRAINING,
    TwoPolytopeCover,
    refined_polytope,
    two_polytope_cover,
)

__all__ = [
    "CompressedCover",
    "CompressionFitOptions",
    "CoverTraining",
    "FitOptions",
    "FittedPolytope",
    "MLPTraining",
    "OptimumComparison",
    "PolishedTraining",
    "PolytopeTraining",
    "SMOOTH_HEAD_TRAINING",
    "SPIRAL_TRAINING",
    "TaskProgress",
    "TwoPolytopeCover",
    "compare_to_optimum",
    "compressed_cover",
    "fit_polytope",
    "quiet_lightning",
    "quiet_trainer",
    "refined_polytope",
    "sequential_cover",
    "train_and_polish",
    "train_network",
    "train_polytope",
    "two_polytope_cover",
]
