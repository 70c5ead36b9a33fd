"""Data generators and preprocessing (framework-free core: no Lightning import)."""

from lightning_poly.data.loss_jumps import loss_jump_new_vertex, loss_jump_program
from lightning_poly.data.preprocess import (
    PCAWhitening,
    TaskName,
    add_label_noise,
    fit_pca_whitening,
    select_task,
)
from lightning_poly.data.synthetic import (
    SYNTHETIC_DATASETS,
    SYNTHETIC_DIMS,
    SyntheticName,
    alternating_circle,
    cube_parity,
    hexagon_with_hole,
    make_synthetic,
    spiral,
    swiss_roll,
    teacher_relu,
    two_circles,
    two_moons,
    two_triangles,
    xor,
)
from lightning_poly.data.tabular import BOSTON_FEATURES, boston_housing, friedman1

__all__ = [
    "BOSTON_FEATURES",
    "SYNTHETIC_DATASETS",
    "SYNTHETIC_DIMS",
    "PCAWhitening",
    "SyntheticName",
    "TaskName",
    "add_label_noise",
    "boston_housing",
    "alternating_circle",
    "cube_parity",
    "fit_pca_whitening",
    "friedman1",
    "hexagon_with_hole",
    "loss_jump_new_vertex",
    "loss_jump_program",
    "make_synthetic",
    "select_task",
    "spiral",
    "swiss_roll",
    "teacher_relu",
    "two_circles",
    "two_moons",
    "two_triangles",
    "xor",
]
