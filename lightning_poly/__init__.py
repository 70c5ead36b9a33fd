"""lightning_poly: a PyTorch Lightning plugin suite for the geometry of ReLU networks.

The core sub-packages (:mod:`lightning_poly.nn`, :mod:`lightning_poly.data`,
:mod:`lightning_poly.geometry`, :mod:`lightning_poly.algorithms`, :mod:`lightning_poly.solvers`)
are pure torch/numpy and never import Lightning. The glue (:mod:`lightning_poly.modules`,
:mod:`lightning_poly.callbacks`, :mod:`lightning_poly.datamodules`) is thin and imported lazily,
so ``import lightning_poly`` stays light. The recipes that run several Trainers
(:mod:`lightning_poly.pipelines`) sit on top of both.

Example:
    >>> import lightning_poly
    >>> lightning_poly.__version__
    '0.1.0'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY_SUBMODULES = (
    "algorithms", "callbacks", "data", "datamodules", "geometry", "media", "modules", "nn", "pipelines", "plotting",
    "solvers",
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", *_LAZY_SUBMODULES]
