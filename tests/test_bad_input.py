"""A bad-input sweep over the public API: every entry point fails early with a clear message.

The project rule: a public function, class, module, callback or data module validates its arguments
and refuses bad ones with a message that names the argument, what was expected and what it got,
never a traceback from deep inside torch/scipy/HiGHS and never a silently wrong answer. Each case
below calls one entry point with one bad input and pins the exception type and the message.

Every name of every sub-package's ``__all__`` has at least one case, except these, skipped on purpose:

* types and constants (nothing to call): ``FaceMethod``, ``FacetMethod``, ``SectionCount``, ``InitName``, ``CoverLoss``,
  ``HasReLUNetwork`` (a Protocol), ``LossName``, ``SyntheticName``, ``TaskName``, ``SYNTHETIC_DATASETS``,
  ``SYNTHETIC_DIMS``, ``DATA_ENV_VAR``, ``SMOOTH_HEAD_TRAINING``, ``SPIRAL_TRAINING``;
* result and report dataclasses that the library builds and users only read: ``FacetCounts``,
  ``RayEstimate``, ``SimplexFacets``, ``Regions``, ``FaceHistogram``, ``CoverRefineReport``, ``FaceEliminationReport``,
  ``CompressReport``, ``FinaliseReport``, ``HingeRefitReport``, ``PolishReport``, ``PolishResult``,
  ``LevelSetCover`` (built by ``two_layer_cover``), ``GatedCertificate`` (built by ``gated_certificate``),
  ``PolishEvaluation`` (built by ``polish_and_evaluate``), ``ActivationDrift`` (built by ``activation_drift``),
  ``MinimalNetworkReport`` (built by ``minimal_cover_network``), ``FittedPolytope`` (built by ``fit_polytope``),
  ``TwoPolytopeCover`` (built by ``two_polytope_cover``), ``RegionSimplices`` (built by ``region_simplices``),
  ``PWLRegions`` (built by ``pwl_regions``), ``ConvPolishResult`` (built by ``polish_conv2d``), ``ConvPolishReport``
  (built by ``polish_cnn``), ``CrossSection`` (built by ``cross_section``),
  ``CompressedCover`` (built by ``compressed_cover``), ``OptimumComparison`` (built by ``compare_to_optimum``),
  ``PolishedTraining`` (built by ``train_and_polish``);
* search and program records: ``GeneralPosition``, ``Flip`` (an edge, built by ``vertex_neighbors``),
  ``VertexSolution``, ``SearchRecord``, ``ExactFit``; the type ``VertexLoss``;
* the Section IV constructions' results ``ConeConstruction``, ``PolygonConstruction`` and the constant ``RANK_RTOL``;
* ``LPFailure`` is an exception class: its case is the infeasible LP that ``maximize`` refuses with it;
  ``PCAWhitening`` (built by ``fit_pca_whitening``) is covered through its ``__call__``; ``quiet_lightning``
  takes no argument.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from torch import nn

from lightning_poly import algorithms as alg
from lightning_poly import callbacks as cbs
from lightning_poly import data, plotting, solvers
from lightning_poly import datamodules as dms
from lightning_poly import geometry as geo
from lightning_poly import media as lplog
from lightning_poly import modules as mods
from lightning_poly import nn as lpnn
from lightning_poly import pipelines as pipes
from lightning_poly.datamodules.tensor import TensorDataModule

LINE = torch.tensor([[-1.0], [0.0], [1.0], [2.0]], dtype=torch.float64)  # four points on a line
LINE_Y = torch.tensor([0.0, 0.0, 1.0, 2.0], dtype=torch.float64)
LINE_PATTERN = torch.tensor([[False, False, True, True]])  # a threshold between 0 and 1: a vertex
NAN = float("nan")
INF = float("inf")
SQUARE = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # |x|_inf <= 1 with b = 1
ONES4 = torch.ones(4)
X = torch.tensor([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6], [-0.7, -0.8]])
Y = torch.tensor([0, 1, 0, 1])


# -- tiny inputs, built lazily (each case calls them inside pytest.raises) -------------------------
def _mlp(*layers: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(*layers) if layers else nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


def _deep() -> nn.Sequential:
    return _mlp(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))


def _tanh() -> nn.Sequential:
    return _mlp(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))


def _conv() -> nn.Sequential:
    return _mlp(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Linear(3, 1))


def _nan_weights() -> nn.Sequential:
    net = _mlp()
    with torch.no_grad():
        net[0].weight[0, 0] = NAN
    return net


def _inf_bias() -> nn.Sequential:
    net = _mlp()
    with torch.no_grad():
        net[2].bias.fill_(INF)
    return net


def _with(x: torch.Tensor, index: tuple[int, ...], value: float) -> torch.Tensor:
    x = x.clone().float()
    x[index] = value
    return x


def _cover(d: int = 2) -> geo.PolytopeBasisCover:
    a = torch.cat([torch.eye(d), -torch.eye(d)])
    return geo.PolytopeBasisCover([a], [torch.ones(2 * d)], [1])


def _cover_net() -> lpnn.CoverNetwork:
    return lpnn.CoverNetwork(2, pieces=1, width=3, seed=0)


def _regions() -> geo.Regions:
    return geo.enumerate_regions(_mlp(), geo.sample_box(50, 2))


def _gated() -> lpnn.GatedReLU:
    return lpnn.GatedReLU(torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]]), bias=True)


def _polytope(**kwargs: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A square, points around it, which of them lie inside; ``kwargs`` replace any of the four."""
    x = torch.tensor([[0.0, 0.0], [0.5, 0.5], [2.0, 0.0], [0.0, -2.0]])
    parts = {"a": SQUARE, "b": ONES4, "x": x, "inside": torch.tensor([True, True, False, False])} | kwargs
    return parts["a"], parts["b"], parts["x"], parts["inside"]


@functools.cache
def _trainer() -> pl.Trainer:
    return pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=1,
    )


class _TanhModule(pl.LightningModule):
    """A user's module whose network is not a ReLU MLP (the callbacks must name the Tanh)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _cnn(act: Any = nn.ReLU) -> nn.Sequential:
    return _mlp(nn.Conv2d(1, 2, 3), act(), nn.Flatten(), nn.Linear(8, 2))


class _CNNModule(pl.LightningModule):
    """A user's CNN module (``act`` after its conv)."""

    def __init__(self, act: Any = nn.ReLU) -> None:
        super().__init__()
        self.net = _cnn(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Tensors(TensorDataModule):
    """The smallest concrete subclass of the abstract base, to check its arguments."""

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        return X, Y


def _setup(callback: pl.Callback, module: pl.LightningModule) -> None:
    callback.setup(_trainer(), module, "fit")


def _face_histogram_on(points: torch.Tensor) -> geo.FaceHistogram:
    return geo.face_histogram(_mlp(), points=points)


# messages shared by several cases
TANH = "layer 1 of the ReLU network is Tanh"
CONV = "layer 0 of the ReLU network is Conv2d"
NAN_WEIGHTS = r"`model` must have finite weights, got 1 NaN/inf entries in the weight of linear layer 0"
INF_BIAS = r"`model` must have finite weights, got 1 NaN/inf entries in the bias of linear layer 1"


# one case per line group: the call, then the exception and message, then the id
# fmt: off
CASES = [
    # == lightning_poly.geometry ===================================================================
    # pulling triangulations (Table I)
    pytest.param(
        lambda: geo.pulling_triangulation(torch.zeros(5, 4), torch.eye(4), torch.ones(4)),
        ValueError, r"`vertices` must be points in dimension \(2, 3\), got dimension 4",
        id="pulling_triangulation-four-dimensions",
    ),
    pytest.param(
        lambda: geo.pulling_triangulation(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), SQUARE, ONES4),
        ValueError, r"every vertex must satisfy `a x <= b`, got 1 outside", id="pulling_triangulation-vertex-outside",
    ),
    pytest.param(
        lambda: geo.region_simplices(_mlp(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))),
        ValueError, r"`model` must have 2 or 3 inputs to triangulate, got 4", id="region_simplices-four-inputs",
    ),
    pytest.param(
        lambda: geo.region_simplices(_mlp(), box=0.0),
        ValueError, r"`box` must be a finite number > 0, got 0.0", id="region_simplices-zero-box",
    ),
    # PolytopeBasisCover
    pytest.param(
        lambda: geo.PolytopeBasisCover([SQUARE], [ONES4], [0]),
        ValueError, r"`signs` must be \+1 \(P\) or -1 \(Q\), got \[0\]", id="PolytopeBasisCover-sign-zero",
    ),
    pytest.param(
        lambda: geo.PolytopeBasisCover([SQUARE, SQUARE], [ONES4], [1, 1]),
        ValueError, r"`a`, `b` and `signs` must have one entry per polytope, got 2, 1, 2",
        id="PolytopeBasisCover-mismatched-lengths",
    ),
    pytest.param(
        lambda: geo.PolytopeBasisCover([SQUARE], [torch.ones(3)], [1]),
        ValueError, r"every `a\[i\]` must be \(m_i, d\) with one d and `b\[i\]` \(m_i,\), got \[\(4, 2\)\] and \[\(3,\)\]",
        id="PolytopeBasisCover-b-wrong-length",
    ),
    pytest.param(
        lambda: geo.PolytopeBasisCover([_with(SQUARE, (0, 0), NAN)], [ONES4], [1]),
        ValueError, r"`a` and `b` \(the cover's faces\) must be finite, got NaN/inf in polytope 0",
        id="PolytopeBasisCover-nan-face",
    ),
    pytest.param(
        lambda: geo.PolytopeBasisCover([torch.zeros(1, 2)], [torch.ones(1)], [1]),
        ValueError, r"`a` must have non-zero rows: a face normal is zero in polytope 0",
        id="PolytopeBasisCover-zero-normal",
    ),
    pytest.param(
        lambda: geo.PolytopeBasisCover([SQUARE], [ONES4], [1], atol=-1.0),
        ValueError, r"`atol` must be a finite number >= 0, got -1.0", id="PolytopeBasisCover-negative-atol",
    ),
    pytest.param(
        lambda: _cover().predict(torch.zeros(3, 3)),
        ValueError, r"`x` must be \(n, 2\), got \(3, 3\)", id="PolytopeBasisCover.predict-wrong-features",
    ),
    pytest.param(
        lambda: _cover().predict(_with(X, (1, 0), NAN)),
        ValueError, r"`x` must be finite, got 1 NaN/inf entries out of 8", id="PolytopeBasisCover.predict-nan",
    ),
    pytest.param(
        lambda: _cover().accuracy(X, Y[:1]),
        ValueError, r"`x` and `y` must have one entry per point, got \(4, 2\) and \(1,\)",
        id="PolytopeBasisCover.accuracy-short-labels",
    ),
    # algorithms on a cover
    pytest.param(
        lambda: alg.drop_cover_faces(_cover(), torch.zeros(3, 3), torch.zeros(3), 1.0),
        ValueError, r"`x` must be \(n, 2\), got \(3, 3\)", id="drop_cover_faces-wrong-features",
    ),
    pytest.param(
        lambda: alg.drop_cover_polytopes(_cover(), X, Y, 1.5),
        ValueError, r"`min_accuracy` must lie in \[0, 1\], got 1.5", id="drop_cover_polytopes-accuracy-above-one",
    ),
    pytest.param(
        lambda: alg.prune_cover([SQUARE], X),
        TypeError, r"`cover` must be a PolytopeBasisCover, got list", id="prune_cover-not-a-cover",
    ),
    pytest.param(
        lambda: alg.nonredundant_cover_faces(_cover(), torch.zeros(3, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(3, 3\)", id="nonredundant_cover_faces-wrong-features",
    ),
    pytest.param(
        lambda: alg.network_from_cover(geo.PolytopeBasisCover([], [], [])),
        ValueError, r"the cover has no polytopes; there is no network to build", id="network_from_cover-empty-cover",
    ),
    pytest.param(
        lambda: alg.network_from_cover(_cover(), resolution=0.0),
        ValueError, r"`resolution` must be a finite number > 0, got 0.0", id="network_from_cover-zero-resolution",
    ),
    pytest.param(
        lambda: alg.minimal_cover_network(_cover(), torch.zeros(3, 3), torch.zeros(3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(3, 3\)", id="minimal_cover_network-wrong-features",
    ),
    pytest.param(
        lambda: alg.eliminate_cover_faces(geo.PolytopeBasisCover([SQUARE], [ONES4], [-1]), X, Y, 0, [1.0]),
        ValueError, r"expected a cover P or P - Q \(signs \[1\] or \[1, -1\]\), got signs \[-1\]",
        id="eliminate_cover_faces-q-alone",
    ),
    pytest.param(
        lambda: alg.eliminate_cover_faces(_cover(), X, Y, 0, [1.0, 1.0]),
        ValueError, r"`inside_weights` must hold one weight per polytope \(1\), got 2",
        id="eliminate_cover_faces-weights-per-polytope",
    ),
    pytest.param(
        lambda: alg.error_budget(1.5, 10),
        ValueError, r"`target` must lie in \[0, 1\], got 1.5", id="error_budget-target-above-one",
    ),
    # multi-class covers
    pytest.param(
        lambda: geo.complement([SQUARE]),
        TypeError, r"`cover` must be a PolytopeBasisCover, got list", id="complement-not-a-cover",
    ),
    pytest.param(
        lambda: geo.multiclass_counts([], X),
        ValueError, r"`covers` must hold one cover per class, got none", id="multiclass_counts-no-covers",
    ),
    pytest.param(
        lambda: geo.multiclass_predict([_cover()], torch.zeros(2, 3)),
        ValueError, r"`x` must be \(n, 2\), got \(2, 3\)", id="multiclass_predict-wrong-features",
    ),
    pytest.param(
        lambda: geo.multiclass_architecture([]),
        ValueError, r"`covers` must hold one cover per class, got none", id="multiclass_architecture-no-covers",
    ),
    pytest.param(
        lambda: alg.multiclass_cover_network([_cover(2), _cover(3)]),
        ValueError, r"`covers` must share one input dimension, got dimensions \[2, 3\]",
        id="multiclass_cover_network-mixed-dimensions",
    ),
    pytest.param(
        lambda: alg.multiclass_cover_network([_cover(), "cover"]),
        TypeError, r"`covers` must be PolytopeBasisCover objects, got \['str'\]",
        id="multiclass_cover_network-not-covers",
    ),
    # regions
    pytest.param(lambda: geo.activation_patterns(_tanh(), X), TypeError, TANH, id="activation_patterns-tanh"),
    pytest.param(lambda: geo.activation_patterns(_conv(), X), TypeError, CONV, id="activation_patterns-conv2d"),
    pytest.param(
        lambda: geo.activation_patterns(_nan_weights(), X), ValueError, NAN_WEIGHTS, id="activation_patterns-nan-weights"
    ),
    pytest.param(
        lambda: geo.activation_patterns(_mlp(), _with(X, (0, 1), INF)),
        ValueError, r"`x` must be finite, got 1 NaN/inf entries out of 8", id="activation_patterns-inf-input",
    ),
    pytest.param(
        lambda: geo.activation_patterns(_mlp(), torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 3\)", id="activation_patterns-wrong-features",
    ),
    pytest.param(
        lambda: geo.activation_patterns(_mlp(), torch.zeros(2)),
        ValueError, r"`x` must have shape \(n, 2\), got \(2,\)", id="activation_patterns-1d-input",
    ),
    pytest.param(
        lambda: geo.activation_patterns(_mlp(), X, chunk_size=0),
        ValueError, r"`chunk_size` must be an integer >= 1, got 0", id="activation_patterns-chunk-zero",
    ),
    pytest.param(
        lambda: geo.activation_drift(_mlp(), X, torch.zeros(3, 3, dtype=torch.bool)),
        ValueError, r"`reference` must hold the \(4, 3\) activation patterns of the same points, got \(3, 3\)",
        id="activation_drift-reference-of-other-points",
    ),
    pytest.param(
        lambda: geo.activation_drift(_mlp(), X, torch.zeros(4, 3, dtype=torch.bool), ntk_points=-1),
        ValueError, r"`ntk_points` must be an integer >= 0, got -1", id="activation_drift-negative-ntk-points",
    ),
    pytest.param(
        lambda: geo.activation_drift(_cnn(), torch.zeros(4, 1, 4, 4), (torch.zeros(4, 8, dtype=torch.bool), Y)),
        ValueError, r"`reference` must hold the \(4, 0\) max-pool choices of the same points, got \(4,\)",
        id="activation_drift-cnn-choices-of-no-pool",
    ),
    pytest.param(
        lambda: geo.network_patterns(_cnn(nn.Tanh), torch.zeros(4, 1, 4, 4)),
        ValueError, r"`model` holds layer '1' \(Tanh\), which pwl_regions does not support",
        id="network_patterns-tanh-cnn",
    ),
    pytest.param(
        lambda: geo.region_hrep(_mlp(), torch.ones(1, 4, dtype=torch.bool)),
        ValueError, r"`patterns` must have shape \(R, 3\) \(one column per hidden neuron\), got \(1, 4\)",
        id="region_hrep-wrong-pattern-width",
    ),
    pytest.param(
        lambda: geo.region_hrep(_mlp(), torch.tensor([[0.3, -1.2, 2.0]])),
        ValueError, r"`patterns` must be bool \(or 0/1\) activation patterns, got torch.float32 with other values",
        id="region_hrep-pre-activations-as-patterns",
    ),
    pytest.param(
        lambda: geo.region_hrep(_mlp(), torch.ones(1, 3, dtype=torch.bool), box=0.0),
        ValueError, r"`box` must be a finite number > 0, got 0.0", id="region_hrep-box-zero",
    ),
    pytest.param(
        lambda: geo.region_hrep(_inf_bias(), torch.ones(1, 3, dtype=torch.bool)),
        ValueError, INF_BIAS, id="region_hrep-inf-bias",
    ),
    # regions of any piecewise-linear network
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 3\)", id="pwl_regions-wrong-features",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_conv(), torch.zeros(4, 2, 5, 5)),
        ValueError, r"`x` must have shape \(n, 1, H, W\) for layer '0' \(Conv2d\), got \(4, 2, 5, 5\)",
        id="pwl_regions-wrong-channels",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), torch.zeros(4, 2, dtype=torch.long)),
        ValueError, r"`x` must be a float batch of n >= 1 points \(n, ...\) as the model takes them, got shape \(4, 2\) \(torch.int64\)",
        id="pwl_regions-integer-points",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), _with(X, (2, 0), NAN)),
        ValueError, r"`x` must be finite, got 1 NaN/inf entries out of 8", id="pwl_regions-nan-input",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_nan_weights(), X),
        ValueError, r"`model` must have finite weights, got 1 NaN/inf entries in '0.weight'", id="pwl_regions-nan-weights",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_tanh(), X),
        ValueError, r"`model` holds layer '1' \(Tanh\), which pwl_regions does not support", id="pwl_regions-tanh",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), X, chunk_size=0),
        ValueError, r"`chunk_size` must be an integer >= 1, got 0", id="pwl_regions-chunk-zero",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), X, rtol=0.0),
        ValueError, r"`rtol` must be a finite number > 0, got 0.0", id="pwl_regions-zero-rtol",
    ),
    pytest.param(
        lambda: geo.pwl_regions(_mlp(), X, box=-1.0),
        ValueError, r"`box` must be a finite number > 0, got -1.0", id="pwl_regions-negative-box",
    ),
    pytest.param(
        lambda: geo.pwl_regions(lambda x: x, X),
        TypeError, r"`model` must be an nn.Module, got function", id="pwl_regions-not-a-module",
    ),
    pytest.param(
        lambda: geo.pwl_activation_patterns(_conv(), torch.zeros(4, 1, 5, 6)),
        ValueError, r"`x` \(points of shape \(1, 5, 6\)\) is not an input of the model: mat1 and mat2 shapes",
        id="pwl_activation_patterns-wrong-features-after-conv",
    ),
    pytest.param(
        lambda: geo.pwl_activation_patterns(_mlp(), X, chunk_size=0),
        ValueError, r"`chunk_size` must be an integer >= 1, got 0", id="pwl_activation_patterns-chunk-zero",
    ),
    pytest.param(
        lambda: geo.pwl_enumerate_regions(_mlp(), X, box=0.0),
        ValueError, r"`box` must be a finite number > 0, got 0.0", id="pwl_enumerate_regions-zero-box",
    ),
    pytest.param(
        lambda: geo.pwl_enumerate_regions(_tanh(), X),
        ValueError, r"`model` holds layer '1' \(Tanh\)", id="pwl_enumerate_regions-tanh",
    ),
    pytest.param(
        lambda: geo.enumerate_regions(_mlp(), X, box=-1.0),
        ValueError, r"`box` must be a finite number > 0, got -1.0", id="enumerate_regions-negative-box",
    ),
    pytest.param(
        lambda: geo.enumerate_regions(_mlp(), X, chunk_size=0),
        ValueError, r"`chunk_size` must be an integer >= 1, got 0", id="enumerate_regions-chunk-zero",
    ),
    pytest.param(
        lambda: geo.enumerate_regions(_mlp(), _with(X, (2, 0), NAN)),
        ValueError, r"`x` must be finite, got 1 NaN/inf", id="enumerate_regions-nan-input",
    ),
    pytest.param(
        lambda: geo.sample_box(0, 2), ValueError, r"`n` must be an integer >= 1, got 0", id="sample_box-no-points"
    ),
    pytest.param(
        lambda: geo.sample_box(4, 2, box=INF),
        ValueError, r"`box` must be a finite number > 0, got inf", id="sample_box-infinite-box",
    ),
    # facets (count_facets, clean_rows, interior_points) and rays
    pytest.param(
        lambda: geo.count_facets(SQUARE, ONES4, method="cdd"),
        ValueError, r"`method` must be one of \('auto', 'reference', 'qhull', 'clarkson', 'simplex'\), got 'cdd'",
        id="count_facets-unknown-method",
    ),
    pytest.param(
        lambda: geo.network_view(nn.Sequential(nn.Conv1d(1, 1, 2), nn.Flatten())),
        TypeError, r"a network that is not a ReLU MLP \(Sequential\) needs `input_shape` or points",
        id="network_view-no-shape",
    ),
    pytest.param(
        lambda: geo.network_view(nn.Sequential(nn.Conv1d(1, 1, 2), nn.Flatten()), input_shape=(2, 2, 2)),
        ValueError, r"`input_shape` \(2, 2, 2\) is not a shape Sequential takes", id="network_view-wrong-shape",
    ),
    pytest.param(
        lambda: geo.is_relu_mlp("net"),  # type: ignore[arg-type]
        TypeError, r"`model` must be a torch.nn.Module, got str", id="is_relu_mlp-not-a-module",
    ),
    pytest.param(
        lambda: geo.count_faces(SQUARE[None], ONES4[None], method="lrs"),
        ValueError,
        r"`method` must be one of \('auto', 'reference', 'qhull', 'clarkson', 'simplex', 'estimate'\), got 'lrs'",
        id="count_faces-unknown-method",
    ),
    pytest.param(
        lambda: geo.estimate_facets(SQUARE[None], ONES4[None], patience=0),
        ValueError, r"`patience` must be an integer >= 1, got 0", id="estimate_facets-no-patience",
    ),
    pytest.param(
        lambda: geo.estimate_facets(SQUARE, ONES4),
        ValueError, r"`a` must be \(R, m, d\) \(a batch of constraint matrices\), got shape \(4, 2\)",
        id="estimate_facets-one-polytope-unbatched",
    ),
    pytest.param(
        lambda: geo.count_facets(SQUARE, ONES4, simplex_memory=0),
        ValueError, r"`simplex_memory` must be an integer >= 1, got 0", id="count_facets-no-simplex-memory",
    ),
    pytest.param(
        lambda: geo.simplex_facets(SQUARE[None], ONES4[None], torch.zeros(1, 3)),
        ValueError, r"`x0` must be \(R, d\) = \(1, 2\) for `a` \(1, 4, 2\), got \(1, 3\)",
        id="simplex_facets-wrong-x0",
    ),
    pytest.param(
        lambda: geo.simplex_facets(SQUARE[None], ONES4[None], torch.zeros(1, 2), max_pivots=0),
        ValueError, r"`max_pivots` must be an integer >= 1, got 0", id="simplex_facets-no-pivots",
    ),
    pytest.param(
        lambda: geo.first_vertices(SQUARE[None], ONES4[None], torch.zeros(1, 2), torch.ones(1, 3, dtype=torch.bool)),
        ValueError, r"`keep` must be \(R, m\) = \(1, 4\)", id="first_vertices-keep-wrong-shape",
    ),
    pytest.param(
        lambda: geo.first_vertices(SQUARE[None], ONES4[None], torch.zeros(1, 2), torch.ones(1, 4, dtype=torch.bool), starts=0),
        ValueError, r"`starts` must be an integer >= 1, got 0", id="first_vertices-no-starts",
    ),
    pytest.param(
        lambda: geo.count_facets(_with(SQUARE, (1, 1), NAN), ONES4),
        ValueError, r"`a` and `b` must be finite", id="count_facets-nan",
    ),
    pytest.param(
        lambda: geo.count_facets(SQUARE, torch.ones(3)),
        ValueError, r"`a` must be \(R, m, d\) and `b` \(R, m\), got \(1, 4, 2\) and \(1, 3\)",
        id="count_facets-mismatched-b",
    ),
    pytest.param(
        lambda: geo.count_facets(SQUARE, ONES4, tol=0.0),
        ValueError, r"`tol` must be a finite number > 0, got 0.0", id="count_facets-tol-zero",
    ),
    pytest.param(
        lambda: geo.clean_rows(SQUARE, ONES4),
        ValueError, r"`a` must be \(R, m, d\)", id="clean_rows-2d-input",
    ),
    pytest.param(
        lambda: geo.interior_points(SQUARE[None], ONES4[None], torch.ones(1, 5, dtype=torch.bool)),
        ValueError, r"`keep` must be \(R, m\)", id="interior_points-keep-wrong-shape",
    ),
    pytest.param(
        lambda: geo.certify_facets(SQUARE[None], ONES4[None], torch.zeros(1, 2), iters=0),
        ValueError, r"`iters` must be an integer >= 1, got 0", id="certify_facets-no-iterations",
    ),
    pytest.param(
        lambda: geo.certify_facets(SQUARE[None], torch.ones(1, 3), torch.zeros(1, 2)),
        ValueError, r"`b` must be \(R, m\)", id="certify_facets-mismatched-b",
    ),
    pytest.param(
        lambda: geo.hit_and_run_facets(SQUARE[None], ONES4[None], torch.zeros(1, 2), patience=0),
        ValueError, r"`patience` must be an integer >= 1, got 0", id="hit_and_run_facets-patience-zero",
    ),
    pytest.param(
        lambda: geo.hit_and_run_facets(SQUARE[None], ONES4[None], torch.zeros(1, 3)),
        ValueError, r"`x0` must be \(R, d\) = \(1, 2\) for `a` \(1, 4, 2\), got \(1, 3\)",
        id="hit_and_run_facets-wrong-x0",
    ),
    # face histograms
    pytest.param(
        lambda: geo.count_region_faces(_mlp(), _regions(), method="lp"),
        ValueError, r"`method` must be one of \('auto', 'reference', 'qhull', 'clarkson', 'simplex', 'estimate'\), got 'lp'",
        id="count_region_faces-unknown-method",
    ),
    pytest.param(
        lambda: geo.count_region_faces(_mlp(), _regions(), chunk=0),
        ValueError, r"`chunk` must be an integer >= 1, got 0", id="count_region_faces-chunk-zero",
    ),
    pytest.param(
        lambda: geo.count_region_faces(_mlp(), _regions(), indices=torch.tensor([0, 999])),
        ValueError, r"`indices` must be region indices in 0\.\.\d+, got \[0, 999\]",
        id="count_region_faces-index-out-of-range",
    ),
    pytest.param(
        lambda: geo.count_region_faces(_mlp(), X),
        TypeError, r"`regions` must be the Regions of enumerate_regions, got Tensor",
        id="count_region_faces-points-instead-of-regions",
    ),
    pytest.param(
        lambda: geo.count_region_faces(_mlp(), _regions(), max_seconds=0),
        ValueError, r"`max_seconds` must be a finite number > 0, got 0", id="count_region_faces-no-time",
    ),
    pytest.param(
        lambda: geo.cross_section(_cnn()),
        ValueError, r"a network that is not a ReLU MLP \(Sequential\) needs `origin`, a point of the shape it takes",
        id="cross_section-cnn-without-origin",
    ),
    pytest.param(
        lambda: geo.cross_section(_mlp(), u=torch.ones(2), v=-torch.ones(2)),
        ValueError, r"`u` and `v` must span a plane \(two independent directions\), got \|u x v\|\^2 = 0",
        id="cross_section-parallel-directions",
    ),
    pytest.param(
        lambda: geo.cross_section(_cnn(), input_shape=(1, 6, 6)),
        ValueError, r"`input_shape` \(1, 6, 6\) is not a shape Sequential takes \(a batch \(1, \*input_shape\) fails",
        id="cross_section-input-shape-the-model-does-not-take",
    ),
    pytest.param(
        lambda: geo.cross_section(_cnn(), input_shape="1x4x4"),
        TypeError, r"`input_shape` must be a tuple of integers >= 1, got '1x4x4'", id="cross_section-input-shape-str",
    ),
    pytest.param(
        lambda: geo.face_histogram(_cnn(), n_points=3, input_shape=(1, 6, 6)),
        ValueError, r"`input_shape` \(1, 6, 6\) is not a shape Sequential takes", id="face_histogram-input-shape-wrong",
    ),
    pytest.param(
        lambda: geo.face_histogram(_cnn(), points=np.zeros((3, 1, 4, 4)), input_shape=(1, 4, 4)),
        TypeError, r"`points` must be a torch.Tensor, got ndarray", id="face_histogram-numpy-points",
    ),
    pytest.param(
        lambda: geo.face_histogram("cnn"),  # type: ignore[arg-type]
        TypeError, r"`model` must be a torch.nn.Module, got str", id="face_histogram-model-not-a-module",
    ),
    pytest.param(
        lambda: geo.cross_section(_mlp(), count="volume"),
        ValueError, r"`count` must be one of \('section', 'region', 'none'\), got 'volume'", id="cross_section-count",
    ),
    pytest.param(
        lambda: geo.face_histogram(_mlp(), n_points=0),
        ValueError, r"`n_points` must be an integer >= 1, got 0", id="face_histogram-no-points",
    ),
    pytest.param(
        lambda: _face_histogram_on(torch.zeros(0, 2)),
        ValueError, r"`points` must have shape \(n, 2\) with n >= 1, got \(0, 2\)", id="face_histogram-empty-points",
    ),
    pytest.param(
        lambda: _face_histogram_on(torch.zeros(5, 3)),
        ValueError, r"`points` must have shape \(n, 2\) with n >= 1, got \(5, 3\)",
        id="face_histogram-wrong-features",
    ),
    pytest.param(
        lambda: _face_histogram_on(_with(X, (0, 0), NAN)),
        ValueError, r"`points` must be finite, got 1 NaN/inf entries out of 8", id="face_histogram-nan-points",
    ),
    pytest.param(
        lambda: _face_histogram_on(X * 3),
        ValueError, r"`points` must lie in the box \[-1.0, 1.0\]\^2; 3 do not", id="face_histogram-points-outside-box",
    ),
    pytest.param(
        lambda: geo.face_histogram(_mlp(), method="exact"),
        ValueError, r"`method` must be one of .*, got 'exact'", id="face_histogram-unknown-method",
    ),
    pytest.param(
        lambda: geo.face_histogram(_mlp(), box=0),
        ValueError, r"`box` must be a finite number > 0, got 0", id="face_histogram-box-zero",
    ),
    pytest.param(
        lambda: geo.face_histogram(_mlp(), n_points=50, shard=(0, 2)),
        ValueError, r"`all_reduce_sum` must gather the counts of the 2 processes of `shard`, got None",
        id="face_histogram-shard-without-reduce",
    ),
    pytest.param(lambda: geo.face_histogram(_tanh()), TypeError, TANH, id="face_histogram-tanh"),
    pytest.param(
        lambda: geo.face_histogram(_conv(), n_points=10, input_shape=(1, 5, 5), method="qhull"),
        ValueError, r"`method` 'qhull' counts in at most 10 dimensions .*, got d = 25; use 'simplex' or 'auto'",
        id="face_histogram-qhull-in-25-dimensions",
    ),
    pytest.param(
        lambda: geo.face_histogram(_conv(), n_points=10, input_shape=(1, 0, 5)),
        ValueError, r"`input_shape\[1\]` must be an integer >= 1, got 0", id="face_histogram-empty-input-shape",
    ),
    pytest.param(lambda: geo.face_histogram(_nan_weights()), ValueError, NAN_WEIGHTS, id="face_histogram-nan-weights"),
    # bounds
    pytest.param(
        lambda: geo.simplices_upper_bound(0, 3, 2),
        ValueError, r"`n` must be an integer >= 1, got 0", id="simplices_upper_bound-width-zero",
    ),
    pytest.param(
        lambda: geo.simplices_upper_bound(7, 3, 0),
        ValueError, r"`depth` must be an integer >= 1, got 0", id="simplices_upper_bound-depth-zero",
    ),
    pytest.param(
        lambda: geo.simplices_lower_bound(7, 0, 2),
        ValueError, r"`d` must be an integer >= 1, got 0", id="simplices_lower_bound-dimension-zero",
    ),
    pytest.param(
        lambda: geo.simplices_upper_bound_one_layer(-1, 3),
        ValueError, r"`n` must be an integer >= 1, got -1", id="simplices_upper_bound_one_layer-negative",
    ),
    pytest.param(
        lambda: geo.simplices_lower_bound_one_layer(7, 2.5),
        ValueError, r"`d` must be an integer >= 1, got 2.5", id="simplices_lower_bound_one_layer-float-d",
    ),
    pytest.param(
        lambda: geo.mean_faces_bound_one_layer(True, 3),
        ValueError, r"`n` must be an integer >= 1, got True", id="mean_faces_bound_one_layer-bool",
    ),
    pytest.param(
        lambda: geo.mean_faces_bound_planar(3),  # type: ignore[call-arg]
        TypeError, r"takes 0 positional arguments but 1 was given", id="mean_faces_bound_planar-takes-no-argument",
    ),
    pytest.param(
        lambda: geo.mean_faces_bound_zero_bias(0),
        ValueError, r"`d` must be an integer >= 1, got 0", id="mean_faces_bound_zero_bias-dimension-zero",
    ),
    pytest.param(
        lambda: geo.applicable_mean_faces_bound(3, [20, 0], zero_bias=False),
        ValueError, r"`widths\[1\]` must be an integer >= 1, got 0", id="applicable_mean_faces_bound-width-zero",
    ),
    pytest.param(
        lambda: geo.applicable_mean_faces_bound(0, [4], zero_bias=True),
        ValueError, r"`d` must be an integer >= 1, got 0", id="applicable_mean_faces_bound-dimension-zero",
    ),
    # == lightning_poly.algorithms =================================================================
    pytest.param(
        lambda: alg.polytope_targets(_cover(), 3, X, Y),
        ValueError, r"`k` must index one of the cover's 1 polytopes, got 3", id="polytope_targets-k-out-of-range",
    ),
    pytest.param(
        lambda: alg.polytope_targets(_cover(), 0, X, Y[:3]),
        ValueError, r"expected `x` \(n, d\) and `y` \(n,\), got \(4, 2\) and \(3,\)", id="polytope_targets-short-labels",
    ),
    pytest.param(
        lambda: alg.refine_cover(_cover(), X, Y, passes=0),
        ValueError, r"`passes` must be an integer >= 1, got 0", id="refine_cover-no-passes",
    ),
    pytest.param(
        lambda: alg.refine_cover(_cover(), X, Y, margin=-0.1),
        ValueError, r"`margin` must be a finite number > 0, got -0.1", id="refine_cover-negative-margin",
    ),
    pytest.param(
        lambda: alg.refine_cover(_cover(), _with(X, (0, 0), NAN), Y),
        ValueError, r"`x` must be finite, got 1 NaN/inf", id="refine_cover-nan-input",
    ),
    pytest.param(
        lambda: alg.eliminate_faces(*_polytope(), max_errors=-1),
        ValueError, r"`max_errors` must be an integer >= 0, got -1", id="eliminate_faces-negative-budget",
    ),
    pytest.param(
        lambda: alg.eliminate_faces(*_polytope(inside=torch.ones(3, dtype=torch.bool)), max_errors=0),
        ValueError, r"expected `a` \(m, d\), `b` \(m,\), `x` \(n, d\) and `inside` \(n,\), got .*, \(3,\)",
        id="eliminate_faces-short-inside",
    ),
    pytest.param(
        lambda: alg.eliminate_faces(*_polytope(x=_with(_polytope()[2], (2, 0), NAN)), max_errors=4),
        ValueError, r"`a`, `b` and `x` must be finite", id="eliminate_faces-nan-points",
    ),
    pytest.param(
        lambda: alg.eliminate_faces(*_polytope(b=-ONES4), max_errors=0),
        ValueError, r"the starting polytope must have at most `max_errors`=0 errors, it has 2",
        id="eliminate_faces-start-too-wrong",
    ),
    pytest.param(
        lambda: alg.face_removal_errors(*_polytope(x=torch.zeros(4, 3))),
        ValueError, r"expected `a` \(m, d\), `b` \(m,\), `x` \(n, d\) and `inside` \(n,\), got \(4, 2\), \(4,\), \(4, 3\)",
        id="face_removal_errors-wrong-features",
    ),
    pytest.param(
        lambda: alg.polytope_errors(*_polytope(inside=torch.ones(4, 1, dtype=torch.bool))),
        ValueError, r"`inside` \(n,\), got .*, \(4, 1\)", id="polytope_errors-inside-as-column",
    ),
    pytest.param(
        lambda: alg.extract_cover(_mlp()),
        TypeError, r"`net` must be a CoverNetwork, got Sequential", id="extract_cover-not-a-cover-network",
    ),
    pytest.param(
        lambda: alg.extract_cover(_cover_net(), torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 3\)", id="extract_cover-wrong-features",
    ),
    pytest.param(
        lambda: alg.extract_cover(_cover_net(), X, Y[:2]),
        ValueError, r"`y` must have one label per point of `x`, got \(2,\) for 4 points", id="extract_cover-short-labels",
    ),
    pytest.param(
        lambda: alg.finalise_(_cover_net(), X, max_rounds=-1),
        ValueError, r"`max_rounds` must be >= 0, got -1", id="finalise_-negative-rounds",
    ),
    pytest.param(
        lambda: alg.finalise_(_cover_net(), X, lam_scale=1.0),
        ValueError, r"`lam_scale` must be > 1, got 1.0", id="finalise_-lam-scale-one",
    ),
    pytest.param(
        lambda: alg.finalise_(_cover_net(), torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 3\)", id="finalise_-wrong-features",
    ),
    pytest.param(
        lambda: alg.compress_(_cover_net(), X, lam_scale=0.5),
        ValueError, r"`lam_scale` must be > 1, got 0.5", id="compress_-lam-scale-below-one",
    ),
    pytest.param(
        lambda: alg.compress_(_cover_net(), _with(X, (3, 1), INF)),
        ValueError, r"`x` must be finite, got 1 NaN/inf entries out of 8", id="compress_-inf-input",
    ),
    pytest.param(
        lambda: alg.cover_condition_fraction(_cover_net(), torch.zeros(4, 5)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 5\)", id="cover_condition_fraction-wrong-features",
    ),
    pytest.param(
        lambda: alg.redundant_neurons(torch.rand(1, 4, 3), torch.ones(1, 3, dtype=torch.bool)),
        ValueError, r"`active` and `live` must be bool tensors, got torch.float32 and torch.bool",
        id="redundant_neurons-float-activations",
    ),
    pytest.param(
        lambda: alg.redundant_neurons(torch.ones(1, 4, 3, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)),
        ValueError, r"expected `active` \(J, n, m\) and `live` \(J, m\), got \(1, 4, 3\) and \(2, 3\)",
        id="redundant_neurons-mismatched-pieces",
    ),
    pytest.param(
        lambda: alg.polytope_hinge_refit(*_polytope(inside=torch.ones(4, dtype=torch.bool))),
        ValueError, r"`inside` must mark some points inside and some outside, got all one kind",
        id="polytope_hinge_refit-one-class",
    ),
    pytest.param(
        lambda: alg.polytope_hinge_refit(*_polytope(b=_with(ONES4, (2,), INF))),
        ValueError, r"`a`, `b` and `x` must be finite", id="polytope_hinge_refit-inf-offset",
    ),
    pytest.param(
        lambda: alg.polytope_hinge_refit(*_polytope(), band=-1.0),
        ValueError, r"`band` must be a finite number >= 0, got -1.0", id="polytope_hinge_refit-negative-band",
    ),
    pytest.param(
        lambda: alg.polytope_hinge_loss(SQUARE, ONES4, X, torch.zeros(2, 3)),
        ValueError, r"expected `a` \(m, d\), `b` \(m,\), `x_in` \(n_in, d\) and `x_out` \(n_out, d\), got .*, \(2, 3\)",
        id="polytope_hinge_loss-wrong-features",
    ),
    pytest.param(
        lambda: alg.polytope_widths_feasible([3, 0], m=3, d=2),
        ValueError, r"`widths\[i\]` must be an integer >= 1, got 0", id="polytope_widths_feasible-width-zero",
    ),
    pytest.param(
        lambda: alg.polytope_widths_feasible([], m=3, d=2),
        ValueError, r"`widths` must list at least one hidden width, got \[\]", id="polytope_widths_feasible-no-widths",
    ),
    pytest.param(
        lambda: alg.polytope_width_lower_bound(0, 2),
        ValueError, r"`m` must be an integer >= 1, got 0", id="polytope_width_lower_bound-no-faces",
    ),
    pytest.param(
        lambda: alg.complex_first_width_bound({3: 1}, d=2),
        ValueError, r"`facets_by_dim` must map dimensions 0\.\.2 to counts >= 0, got \{3: 1\}",
        id="complex_first_width_bound-dimension-above-d",
    ),
    pytest.param(
        lambda: alg.betti_architecture(2, 6, []),
        ValueError, r"`betti` must be beta_0 >= 1, \.\.\., beta_2 \(at most 3 values\), got \[\]",
        id="betti_architecture-no-betti",
    ),
    pytest.param(
        lambda: alg.betti_widths_feasible([4], [1, -1]),
        ValueError, r"`betti\[i\]` must be an integer >= 0, got -1", id="betti_widths_feasible-negative-betti",
    ),
    pytest.param(
        lambda: alg.two_layer_cover(_deep(), X),
        ValueError, r"Algorithm 3 needs a two-layer network d -> m -> 1, got Linear widths \[3, 3, 1\]",
        id="two_layer_cover-three-layers",
    ),
    pytest.param(lambda: alg.two_layer_cover(_tanh(), X), TypeError, TANH, id="two_layer_cover-tanh"),
    pytest.param(
        lambda: alg.two_layer_cover(_mlp(), torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\), got \(4, 3\)", id="two_layer_cover-wrong-features",
    ),
    pytest.param(
        lambda: alg.two_layer_cover(_nan_weights(), X),
        ValueError, r"`network` must have finite weights, got 1 NaN/inf entries in the weight of linear layer 0",
        id="two_layer_cover-nan-weights",
    ),
    pytest.param(
        lambda: alg.two_layer_cover(_mlp(), X, max_polytopes=1),
        ValueError, r"`max_polytopes` must be an integer >= 2, got 1", id="two_layer_cover-one-polytope",
    ),
    pytest.param(lambda: alg.balance_(_conv()), TypeError, CONV, id="balance_-conv2d"),
    pytest.param(
        lambda: alg.layer_inputs(_mlp(), X, 5),
        ValueError, r"`layer` must be in 0\.\.1, got 5", id="layer_inputs-layer-out-of-range",
    ),
    pytest.param(
        lambda: alg.layer_inputs(_mlp(), torch.zeros(4, 3), 1),
        ValueError, r"`x` must be \(n, 2\): 2 features per sample for the model's first layer, got \(4, 3\)",
        id="layer_inputs-wrong-features",
    ),
    pytest.param(
        lambda: alg.equalising_scales(torch.ones(2), torch.ones(3), torch.ones(2)),
        ValueError, r"`n1`, `n2` and `n3` must have one shape, got \(2,\), \(3,\), \(2,\)",
        id="equalising_scales-mismatched-shapes",
    ),
    pytest.param(
        lambda: alg.equalising_scales(torch.ones(2), torch.tensor([1.0, 0.0]), torch.ones(2)),
        ValueError, r"`n2` must hold finite norms > 0, got 1 of 2 entries <= 0 or NaN/inf", id="equalising_scales-zero-norm",
    ),
    pytest.param(
        lambda: alg.optimal_scales(torch.ones(3, 2), torch.ones(1, 4)),
        ValueError, r"expected `w_in` \(m, d\) and `w_out` \(k, m\) of consecutive layers, got \(3, 2\) and \(1, 4\)",
        id="optimal_scales-not-consecutive",
    ),
    pytest.param(
        lambda: alg.neuron_sample_cosines(torch.ones(3, 2), torch.ones(3), torch.zeros(4, 3)),
        ValueError, r"`inputs` must have shape \(n, 2\) to match `weight` \(m, d\), got inputs \(4, 3\)",
        id="neuron_sample_cosines-wrong-features",
    ),
    pytest.param(
        lambda: alg.neuron_sample_cosines(torch.ones(3, 2), torch.full((3,), NAN), X),
        ValueError, r"`bias` must be finite, got 3 NaN/inf", id="neuron_sample_cosines-nan-bias",
    ),
    pytest.param(
        lambda: alg.polish_layer(torch.ones(3, 2), None, torch.zeros(4, 3)),
        ValueError, r"`inputs` must have shape \(n, 2\) to match `weight` \(m, d\), got inputs \(4, 3\)",
        id="polish_layer-wrong-features",
    ),
    pytest.param(
        lambda: alg.polish_layer(torch.ones(3, 2), None, _with(X, (0, 0), NAN)),
        ValueError, r"`inputs` must be finite, got 1 NaN/inf", id="polish_layer-nan-inputs",
    ),
    pytest.param(
        lambda: alg.polish_layer(torch.ones(3, 2), torch.ones(2), X),
        ValueError, r"`bias` must have shape \(3,\), got \(2,\)", id="polish_layer-bias-wrong-length",
    ),
    pytest.param(
        lambda: alg.polish_layer(torch.ones(3, 2), None, X, chunk_size=0),
        ValueError, r"`chunk_size` must be an integer >= 1, got 0", id="polish_layer-chunk-zero",
    ),
    pytest.param(
        lambda: alg.polish_layer_reference(_with(torch.ones(3, 2), (0, 0), INF), None, X),
        ValueError, r"`weight` must be finite, got 1 NaN/inf", id="polish_layer_reference-inf-weight",
    ),
    pytest.param(
        lambda: alg.polish_layer_reference(torch.ones(3, 2), None, torch.ones(4, 2)),
        ValueError, r"polishing needs inputs of rank >= 2 \(after augmentation\), got rank 1",
        id="polish_layer_reference-rank-one-inputs",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, Y, layers=[1]),
        ValueError, r"`layers` must be hidden layer indices in 0\.\.0, got 1", id="polish_network-last-layer",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, Y.float(), loss="hinge"),
        ValueError, r"`loss` must be one of \('squared', 'logistic', 'cross_entropy'\), got 'hinge'",
        id="polish_network-unknown-loss",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, Y, loss="cross_entropy"),
        ValueError, r"refit loss 'cross_entropy' needs C >= 2 outputs", id="polish_network-loss-does-not-fit-head",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, torch.zeros(4, dtype=torch.long), loss="logistic"),
        ValueError, r"the targets hold one class only \(\[0\]\)", id="polish_network-one-class",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, Y.float()[:3]),
        ValueError, r"`y` must have one target per point of `x`, got 3 for 4 points", id="polish_network-short-targets",
    ),
    pytest.param(
        lambda: alg.polish_network(_mlp(), X, Y.float(), l2=0.0),
        ValueError, r"`l2` must be a finite number > 0, got 0.0", id="polish_network-l2-zero",
    ),
    pytest.param(
        lambda: alg.polish_conv2d(nn.Conv2d(2, 4, 3, groups=2), torch.zeros(2, 2, 5, 5)),
        ValueError, r"`conv` must have groups=1, got groups=2: each group is a layer of its own",
        id="polish_conv2d-grouped",
    ),
    pytest.param(
        lambda: alg.polish_conv2d(nn.Conv2d(1, 4, 3), torch.zeros(2, 3, 5, 5)),
        ValueError, r"`inputs` must have shape \(n, 1, H, W\) for `conv`, got \(2, 3, 5, 5\)",
        id="polish_conv2d-wrong-channels",
    ),
    pytest.param(
        lambda: alg.polish_conv2d(nn.Conv2d(1, 4, 3), torch.zeros(2, 1, 5, 5), max_patches=1),
        ValueError, r"`max_patches` must be an integer >= 2, got 1", id="polish_conv2d-one-patch",
    ),
    pytest.param(
        lambda: alg.polish_conv2d_reference(nn.Linear(2, 3), torch.zeros(2, 2)),  # type: ignore[arg-type]
        TypeError, r"`conv` must be an nn.Conv2d, got Linear", id="polish_conv2d_reference-not-a-conv",
    ),
    pytest.param(
        lambda: alg.cnn_layers(_mlp()),
        ValueError, r"applies no Conv2d to its input; polish an MLP with polish_network", id="cnn_layers-an-mlp",
    ),
    pytest.param(
        lambda: alg.polish_cnn(_cnn(nn.Tanh), torch.zeros(4, 1, 4, 4), Y),
        ValueError, r"layer '1' \(Tanh\), which pwl_regions does not support", id="polish_cnn-tanh",
    ),
    pytest.param(
        lambda: alg.polish_cnn(_cnn(), torch.zeros(4, 1, 4, 4), Y, loss="cross_entropy", max_patches=0),
        ValueError, r"`max_patches` must be an integer >= 2, got 0", id="polish_cnn-no-patches",
    ),
    pytest.param(
        lambda: alg.polish_cnn_and_evaluate(_cnn(), torch.zeros(4, 1, 4, 4), Y, eval_y=Y),
        ValueError, r"`eval_x` and `eval_y` go together: give both or neither",
        id="polish_cnn_and_evaluate-eval-y-alone",
    ),
    pytest.param(
        lambda: alg.polish_and_evaluate(_mlp(), X, Y.float(), eval_x=X),
        ValueError, r"`eval_x` and `eval_y` go together: give both or neither", id="polish_and_evaluate-eval-x-alone",
    ),
    pytest.param(
        lambda: alg.polish_and_evaluate(_mlp(), X, Y.float(), eval_x=X, eval_y=Y.float()[:3]),
        ValueError, r"`eval_y` must have one target per point of `eval_x`, got 3 for 4 points",
        id="polish_and_evaluate-short-eval-targets",
    ),
    pytest.param(
        lambda: lpnn.module_outputs(_mlp(), X, chunk=0),
        ValueError, r"`chunk` must be an integer >= 1, got 0", id="module_outputs-chunk-zero",
    ),
    # == lightning_poly.solvers ====================================================================
    pytest.param(
        lambda: solvers.maximize(np.ones(2), np.ones((2, 3)), np.ones(2)),
        ValueError, r"expected `a_ub` \(m, 2\) and `b_ub` \(m,\) for `c` \(2,\), got \(2, 3\) and \(2,\)",
        id="maximize-a_ub-wrong-width",
    ),
    pytest.param(
        lambda: solvers.maximize(np.ones(2), np.eye(2), np.ones(3)),
        ValueError, r"expected `a_ub` \(m, 2\) and `b_ub` \(m,\) for `c` \(2,\), got \(2, 2\) and \(3,\)",
        id="maximize-b_ub-wrong-length",
    ),
    pytest.param(
        lambda: solvers.maximize(np.array([NAN, 1.0]), np.eye(2), np.ones(2)),
        ValueError, r"`c` and `a_ub` must be finite", id="maximize-nan-objective",
    ),
    pytest.param(
        lambda: solvers.maximize(np.ones(2), np.eye(2), np.ones(2), a_eq=np.ones((1, 2))),
        ValueError, r"`a_eq` and `b_eq` must be given together", id="maximize-a_eq-without-b_eq",
    ),
    pytest.param(
        lambda: solvers.maximize(np.ones(1), np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0])),
        solvers.LPFailure, r"HiGHS returned Infeasible \(expected Optimal\)", id="LPFailure-infeasible-lp",
    ),
    # == lightning_poly.nn =========================================================================
    pytest.param(
        lambda: lpnn.ConvexReLU(torch.tensor([[1.0, 0.0], [0.0, 0.0]])),
        ValueError, r"`gates` must be \(P, d\) non-zero rows, got shape \(2, 2\)", id="ConvexReLU-zero-gate",
    ),
    pytest.param(
        lambda: lpnn.ConvexReLU(torch.tensor([[1.0, NAN]])),
        ValueError, r"`gates` must be finite, got 1 NaN/inf", id="ConvexReLU-nan-gate",
    ),
    pytest.param(
        lambda: lpnn.cover_loss(torch.zeros(3), Y, loss="hinge"),
        ValueError, r"`loss` must be one of \('bce', 'mse', 'weighted_bce'\), got 'hinge'", id="cover_loss-unknown-loss",
    ),
    pytest.param(
        lambda: lpnn.cover_loss(torch.zeros(3), Y),
        ValueError, r"`out` and `y` must have one entry per sample, got 3 and 4", id="cover_loss-mismatched-lengths",
    ),
    pytest.param(
        lambda: lpnn.cover_loss(torch.zeros(4), Y, "weighted_bce", class_weights=(1.0, -10.0)),
        ValueError, r"`class_weights\[i\]` must be a finite number >= 0, got -10.0", id="cover_loss-negative-weight",
    ),
    pytest.param(
        lambda: lpnn.CoverNetwork(2, pieces=0, width=3),
        ValueError, r"`pieces` must be an integer >= 1, got 0", id="CoverNetwork-no-pieces",
    ),
    pytest.param(
        lambda: lpnn.CoverNetwork(2, pieces=2, width=[3, 4, 5]),
        ValueError, r"`width` must be one int or 2 ints \(one per piece\), got \[3, 4, 5\]", id="CoverNetwork-widths",
    ),
    pytest.param(
        lambda: lpnn.CoverNetwork(2, pieces=2, width=3, signs=[1, 0]),
        ValueError, r"`signs` must be 2 values in \{-1, \+1\}, got \[1, 0\]", id="CoverNetwork-sign-zero",
    ),
    pytest.param(
        lambda: _cover_net().polytope_faces(piece=3),
        ValueError, r"`piece` must be below 1, got 3", id="CoverNetwork.polytope_faces-piece-out-of-range",
    ),
    pytest.param(
        lambda: lpnn.GatedReLU(torch.ones(3)),
        ValueError, r"`gates` must have shape \(m, d\), got \(3,\)", id="GatedReLU-1d-gates",
    ),
    pytest.param(
        lambda: lpnn.GatedReLU(torch.tensor([[INF, 1.0]])),
        ValueError, r"`gates` must be finite, got 1 NaN/inf", id="GatedReLU-inf-gate",
    ),
    pytest.param(
        lambda: lpnn.GatedReLU(torch.ones(2, 3), rho=torch.tensor([1.0, -1.0])),
        ValueError, r"`rho` must be \(2,\) positive weights", id="GatedReLU-negative-rho",
    ),
    pytest.param(
        lambda: _gated()(torch.zeros(4, 3)),
        ValueError, r"inputs must have 2 features to match the gates, got 3", id="GatedReLU.forward-wrong-features",
    ),
    pytest.param(
        lambda: lpnn.get_relu_network(_conv()), TypeError, CONV + r"\(1, 1, kernel_size", id="get_relu_network-conv2d"
    ),
    pytest.param(
        lambda: lpnn.get_relu_network(_mlp(nn.Linear(2, 3), nn.ReLU())),
        TypeError, r"the ReLU network must end with an nn.Linear layer", id="get_relu_network-ends-with-relu",
    ),
    pytest.param(
        lambda: lpnn.get_relu_network(nn.Linear(2, 1)),
        TypeError, r"expected an nn.Sequential of Linear/ReLU layers .*, got Linear", id="get_relu_network-bare-linear",
    ),
    pytest.param(
        lambda: lpnn.initialise_linear(nn.Linear(2, 3), "he"),
        ValueError, r"`init` must be one of \('xavier_uniform', .*\), got 'he'", id="initialise_linear-unknown-init",
    ),
    pytest.param(
        lambda: lpnn.initialise_linear(nn.Conv2d(1, 1, 3), "orthogonal"),
        TypeError, r"`layer` must be an nn.Linear, got Conv2d", id="initialise_linear-conv2d",
    ),
    pytest.param(lambda: lpnn.linear_layers(_tanh()), TypeError, TANH, id="linear_layers-tanh"),
    pytest.param(
        lambda: lpnn.ReLUMLP([2]),
        ValueError, r"`widths` must list at least input and output sizes, got \[2\]", id="ReLUMLP-one-width",
    ),
    pytest.param(
        lambda: lpnn.ReLUMLP([2, 0, 1]),
        ValueError, r"`widths\[1\]` must be an integer >= 1, got 0", id="ReLUMLP-width-zero",
    ),
    pytest.param(
        lambda: lpnn.ReLUMLP([2, 3, 1], init="glorot"),
        ValueError, r"`init` must be one of .*, got 'glorot'", id="ReLUMLP-unknown-init",
    ),
    pytest.param(
        lambda: lpnn.gated_to_relu(_gated(), torch.zeros(4, 3)),
        ValueError, r"`x_train` must have shape \(n, 2\), got \(4, 3\)", id="gated_to_relu-wrong-features",
    ),
    pytest.param(
        lambda: lpnn.gated_to_relu(_gated(), X, margin=0.5),
        ValueError, r"`margin` must be a finite number >= 1 \(the conversion is exact only then\), got 0.5",
        id="gated_to_relu-margin-below-one",
    ),
    pytest.param(
        lambda: lpnn.gated_to_relu(_mlp(), X),
        TypeError, r"`gated` must be a GatedReLU, got Sequential", id="gated_to_relu-not-gated",
    ),
    pytest.param(
        lambda: lpnn.gated_to_relu(_gated(), torch.tensor([[-0.5, 0.0]])),
        ValueError, r"1 \(point, gate\) pairs lie on a gate's hyperplane \(first: gate 0\)",
        id="gated_to_relu-point-on-gate",
    ),
    pytest.param(
        lambda: lpnn.relu_to_gated(_deep()),
        ValueError, r"relu_to_gated needs a two-layer network, got 3 linear layers", id="relu_to_gated-three-layers",
    ),
    pytest.param(lambda: lpnn.relu_to_gated(_tanh()), TypeError, TANH, id="relu_to_gated-tanh"),
    # == lightning_poly.data =======================================================================
    pytest.param(
        lambda: data.fit_pca_whitening(torch.randn(10, 3), 2)(torch.zeros(4, 5)),
        ValueError, r"`x` must have shape \(n, 3\) like the fitted data, got \(4, 5\)", id="PCAWhitening-wrong-features",
    ),
    pytest.param(
        lambda: data.fit_pca_whitening(torch.randn(10, 3), 4),
        ValueError, r"`pca_components` must be <= the feature dimension 3, got 4", id="fit_pca_whitening-too-many",
    ),
    pytest.param(
        lambda: data.fit_pca_whitening(torch.randn(10), 1),
        ValueError, r"`x` must be \(n, features\) with n >= 2 samples, got shape \(10,\)", id="fit_pca_whitening-1d",
    ),
    pytest.param(
        lambda: data.fit_pca_whitening(_with(torch.randn(10, 3), (0, 0), NAN), 2),
        ValueError, r"`x` must be finite, got 1 NaN/inf entries out of 30", id="fit_pca_whitening-nan",
    ),
    pytest.param(
        lambda: data.add_label_noise(Y, 1.5, torch.Generator()),
        ValueError, r"`rate` must lie in \[0, 1\], got 1.5", id="add_label_noise-rate-above-one",
    ),
    pytest.param(
        lambda: data.add_label_noise(torch.tensor([0, 1, 2]), 0.5, torch.Generator()),
        ValueError, r"`y` must hold binary labels in \{0, 1\} for label noise, got classes \[0, 1, 2\]",
        id="add_label_noise-three-classes",
    ),
    pytest.param(
        lambda: data.select_task(Y, "ovr"),
        ValueError, r"`task` must be one of \('all', 'one_vs_rest', 'pair'\), got 'ovr'", id="select_task-unknown-task",
    ),
    pytest.param(
        lambda: data.select_task(Y, "one_vs_rest", positive_class=7),
        ValueError, r"`positive_class` must be one of \[0, 1\], got 7", id="select_task-absent-class",
    ),
    pytest.param(
        lambda: data.select_task(Y, "pair", pair=(1, 1)),
        ValueError, r"`pair` must be two different classes among \[0, 1\], got \(1, 1\)", id="select_task-same-pair",
    ),
    pytest.param(
        lambda: data.make_synthetic("moons"),
        ValueError, r"`name` must be one of \('swiss_roll', .*\), got 'moons'", id="make_synthetic-unknown-name",
    ),
    pytest.param(
        lambda: data.make_synthetic("xor", radius=2),
        TypeError, r"xor\(\) got an unexpected keyword argument 'radius'", id="make_synthetic-unknown-option",
    ),
    pytest.param(
        lambda: data.alternating_circle(1),
        ValueError, r"`n_samples` must be an integer >= 2, got 1", id="alternating_circle-one-point",
    ),
    pytest.param(
        lambda: data.friedman1(d=4),
        ValueError, r"`d` must be an integer >= 5, got 4", id="friedman1-fewer-than-five-features",
    ),
    pytest.param(
        lambda: data.friedman1(noise=-1.0),
        ValueError, r"`noise` must be a finite number >= 0, got -1.0", id="friedman1-negative-noise",
    ),
    pytest.param(
        lambda: data.cube_parity(n_samples=10),  # type: ignore[call-arg]
        TypeError, r"cube_parity\(\) got an unexpected keyword argument 'n_samples'", id="cube_parity-has-fixed-size",
    ),
    pytest.param(
        lambda: data.hexagon_with_hole(0),
        ValueError, r"`n_samples` must be an integer >= 2, got 0", id="hexagon_with_hole-no-points",
    ),
    pytest.param(
        lambda: data.spiral(noise=-0.1),
        ValueError, r"`noise` must be a finite number >= 0, got -0.1", id="spiral-negative-noise",
    ),
    pytest.param(
        lambda: data.swiss_roll(turns=0),
        ValueError, r"`turns` must be a finite number > 0, got 0", id="swiss_roll-no-turns",
    ),
    pytest.param(
        lambda: data.swiss_roll(noise=NAN),
        ValueError, r"`noise` must be a finite number >= 0, got nan", id="swiss_roll-nan-noise",
    ),
    pytest.param(
        lambda: data.teacher_relu(d=0), ValueError, r"`d` must be an integer >= 1, got 0", id="teacher_relu-d-zero"
    ),
    pytest.param(
        lambda: data.teacher_relu(task="ranking"),
        ValueError, r"`task` must be one of \('regression', 'classification'\), got 'ranking'",
        id="teacher_relu-unknown-task",
    ),
    pytest.param(
        lambda: data.two_circles(factor=1.5),
        ValueError, r"`factor` must lie in \(0, 1\), got 1.5", id="two_circles-factor-above-one",
    ),
    pytest.param(
        lambda: data.two_moons(n_samples=1),
        ValueError, r"`n_samples` must be an integer >= 2, got 1", id="two_moons-one-point",
    ),
    pytest.param(
        lambda: data.two_triangles(n_samples=2.5),
        ValueError, r"`n_samples` must be an integer >= 2, got 2.5", id="two_triangles-float-size",
    ),
    pytest.param(
        lambda: data.xor(n_samples=3),
        ValueError, r"`n_samples` must be an integer >= 4, got 3", id="xor-fewer-than-four-points",
    ),
    # == lightning_poly.datamodules ================================================================
    pytest.param(
        lambda: dms.ArrayDataModule(_with(X, (0, 0), INF), Y),
        ValueError, r"`ArrayDataModule.x` must be finite, got 1 NaN/inf", id="ArrayDataModule-inf-input",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, Y[:3]),
        ValueError, r"ArrayDataModule: `y` must have shape \(4,\) or \(4, k\) to match `x`, got \(3,\)",
        id="ArrayDataModule-short-labels",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, torch.ones(4, dtype=torch.long)),
        ValueError, r"ArrayDataModule: classification needs at least two classes, got only \[1\]",
        id="ArrayDataModule-one-class",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, torch.tensor([0.0, 0.5, 1.0, 1.0])),
        ValueError, r"ArrayDataModule: classification labels must be integers, got non-integer floats",
        id="ArrayDataModule-float-labels",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(torch.zeros(0, 2), torch.zeros(0), task="regression"),
        ValueError, r"ArrayDataModule: `x` and `y` hold no samples, got `x` of shape \(0, 2\)",
        id="ArrayDataModule-empty",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, ["a", "b", "a", "b"]),
        ValueError, r"`y` must be array-like \(numpy array, tensor or nested lists\), got list",
        id="ArrayDataModule-string-labels",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, Y, x_test=X),
        ValueError, r"`x_test` and `y_test` must be given together", id="ArrayDataModule-test-inputs-only",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, Y, x_test=torch.zeros(4, 3), y_test=Y),
        ValueError, r"`x_test` samples must have shape \(2,\), got \(3,\)", id="ArrayDataModule-test-wrong-features",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, Y, batch_size=-1),
        ValueError, r"`batch_size` must be an integer >= 0, got -1", id="ArrayDataModule-negative-batch",
    ),
    pytest.param(
        lambda: dms.CIFAR10DataModule(pca_components=0),
        ValueError, r"`pca_components` must be an integer >= 1, got 0", id="CIFAR10DataModule-pca-zero",
    ),
    pytest.param(
        lambda: dms.FashionMNISTDataModule(task="one_vs_rest", positive_class=10),
        ValueError, r"`positive_class` must be in 0\.\.9 for one_vs_rest, got 10", id="FashionMNISTDataModule-class-10",
    ),
    pytest.param(
        lambda: dms.FashionMNISTDataModule(label_noise=0.2),
        ValueError, r"`label_noise` needs a binary task \('one_vs_rest' or 'pair'\), got task='all'",
        id="FashionMNISTDataModule-noise-on-ten-classes",
    ),
    pytest.param(
        lambda: dms.MNISTDataModule(task="pair", pair=(3, 3)),
        ValueError, r"`pair` must be two different classes in 0\.\.9, got \(3, 3\)", id="MNISTDataModule-same-pair",
    ),
    pytest.param(
        lambda: dms.MNISTDataModule(scale="minmax"),
        ValueError, r"`scale` must be one of \('unit', 'standardize', 'none'\), got 'minmax'",
        id="MNISTDataModule-unknown-scale",
    ),
    pytest.param(
        lambda: dms.SyntheticDataModule("moons"),
        ValueError, r"`name` must be one of \('swiss_roll', .*\), got 'moons'", id="SyntheticDataModule-unknown-name",
    ),
    pytest.param(
        lambda: dms.SyntheticDataModule("xor", n_samples=1),
        ValueError, r"`n_samples` must be an integer >= 2, got 1", id="SyntheticDataModule-one-point",
    ),
    pytest.param(
        lambda: dms.SyntheticDataModule("xor", n_samples=8, options={"radius": 2}).setup(),
        ValueError, r"`options` \{'radius': 2\} do not fit the generator of 'xor'", id="SyntheticDataModule-bad-option",
    ),
    pytest.param(
        lambda: _Tensors(val_fraction=0.6, test_fraction=0.4),
        ValueError, r"`val_fraction \+ test_fraction` must be < 1, got 0.6 \+ 0.4", id="TensorDataModule-no-train-left",
    ),
    pytest.param(
        lambda: _Tensors(task="ranking"),
        ValueError, r"`task` must be one of \('classification', 'regression'\), got 'ranking'",
        id="TensorDataModule-unknown-task",
    ),
    pytest.param(
        lambda: dms.VisionDataModule(task="pair", pair=None),
        ValueError, r"`pair` must be two different classes in 0\.\.9, got None", id="VisionDataModule-pair-missing",
    ),
    pytest.param(
        lambda: dms.validate_xy(X, Y, "classify"),
        ValueError, r"`task` must be one of \('classification', 'regression'\), got 'classify'",
        id="validate_xy-unknown-task",
    ),
    pytest.param(
        lambda: dms.validate_xy(X, _with(Y, (0,), NAN), "regression"),
        ValueError, r"`data.y` must be finite, got 1 NaN/inf", id="validate_xy-nan-targets",
    ),
    pytest.param(
        lambda: dms.validate_xy(torch.zeros(3), torch.zeros(3), "regression"),
        ValueError, r"data: `x` must have shape \(n_samples, \.\.\.\), got shape \(3,\)", id="validate_xy-1d-inputs",
    ),
    # == lightning_poly.modules ====================================================================
    pytest.param(
        lambda: mods.ConvexGatedReLUModule(n_gates=0),
        ValueError, r"`n_gates` must be an integer >= 1, got 0", id="ConvexGatedReLUModule-no-gates",
    ),
    pytest.param(
        lambda: mods.ConvexGatedReLUModule(n_outputs=0),
        ValueError, r"`n_outputs` must be an integer >= 1, got 0", id="ConvexGatedReLUModule-no-outputs",
    ),
    pytest.param(
        lambda: mods.ConvexGatedReLUModule(loss="cross_entropy", n_outputs=1),
        ValueError, r"`n_outputs` must be the number of classes \(>= 2\) with cross_entropy, got 1",
        id="ConvexGatedReLUModule-one-class",
    ),
    pytest.param(
        lambda: mods.ConvexGatedReLUModule(gates="random"),
        ValueError, r"`gates` must be one of \('gaussian', 'data'\), got 'random'", id="ConvexGatedReLUModule-gates",
    ),
    pytest.param(
        lambda: mods.ConvexGatedReLUModule(lam=-1.0),
        ValueError, r"`lam` must be a finite number >= 0, got -1.0", id="ConvexGatedReLUModule-negative-lam",
    ),
    pytest.param(
        lambda: mods.PolytopeCoverModule(loss="hinge"),
        ValueError, r"`loss` must be one of \('bce', 'mse', 'weighted_bce'\), got 'hinge'",
        id="PolytopeCoverModule-unknown-loss",
    ),
    pytest.param(
        lambda: mods.PolytopeCoverModule(pieces=2, head="piece"),
        ValueError, r"`head='piece'` trains one piece T\(x\) and needs `pieces=1`, got 2",
        id="PolytopeCoverModule-piece-head-two-pieces",
    ),
    pytest.param(
        lambda: mods.PolytopeCoverModule(class_weights=(1.0, 2.0, 3.0)),
        ValueError, r"`class_weights` must be \(lambda_0, lambda_1\), got \(1.0, 2.0, 3.0\)",
        id="PolytopeCoverModule-three-weights",
    ),
    pytest.param(
        lambda: mods.PolytopeCoverModule(pieces=0, width=3),
        ValueError, r"`pieces` must be an integer >= 1, got 0", id="PolytopeCoverModule-no-pieces",
    ),
    pytest.param(
        lambda: mods.ReLUMLPModule(output_dim=2, loss="bce"),
        ValueError, r"`output_dim` must be 1 with loss='bce', got 2", id="ReLUMLPModule-bce-two-outputs",
    ),
    pytest.param(
        lambda: mods.ReLUMLPModule(hidden=[8, 0]),
        ValueError, r"`hidden\[1\]` must be an integer >= 1, got 0", id="ReLUMLPModule-hidden-width-zero",
    ),
    pytest.param(
        lambda: mods.ReLUMLPModule(lr=0.0),
        ValueError, r"`lr` must be a finite number > 0, got 0.0", id="ReLUMLPModule-lr-zero",
    ),
    pytest.param(
        lambda: mods.ReLUMLPModule(optimizer="lbfgs"),
        ValueError, r"`optimizer` must be one of \('adam', 'adamw', 'sgd'\), got 'lbfgs'", id="ReLUMLPModule-unknown-optimizer",
    ),
    pytest.param(
        lambda: pipes.sequential_cover(X, Y[:3]),
        ValueError, r"`x` must be \(n, d\) and `y` \(n,\), got \(4, 2\) and \(3,\)", id="sequential_cover-short-labels",
    ),
    pytest.param(
        lambda: pipes.sequential_cover(_with(X, (0, 0), NAN), Y),
        ValueError, r"`x` must be finite, got 1 NaN/inf", id="sequential_cover-nan-input",
    ),
    pytest.param(
        lambda: pipes.sequential_cover(X, Y, acc_th=1.5),
        ValueError, r"`acc_th` must lie in \[0, 1\], got 1.5", id="sequential_cover-accuracy-above-one",
    ),
    pytest.param(
        lambda: pipes.sequential_cover(X, Y, pipes.PolytopeTraining(width=4), max_width=3),
        ValueError, r"`max_width` must be an integer >= 4, got 3", id="sequential_cover-max-width-below-width",
    ),
    pytest.param(
        lambda: pipes.train_polytope(X, Y, pipes.PolytopeTraining(width=0)),
        ValueError, r"`width` must be an integer >= 1, got 0", id="PolytopeTraining-width-zero",
    ),
    pytest.param(
        lambda: pipes.train_polytope(X, Y[:2], pipes.PolytopeTraining()),
        ValueError, r"`target` must have one label per point of `x`, got \(2,\) for 4 points",
        id="train_polytope-short-target",
    ),
    pytest.param(
        lambda: pipes.train_polytope(X, torch.zeros(4, dtype=torch.long), pipes.PolytopeTraining()),
        ValueError, r"`target` must mark at least one point to cover \(target > 0\), got none",
        id="train_polytope-nothing-to-cover",
    ),
    pytest.param(
        lambda: pipes.train_polytope(_with(X, (1, 1), INF), Y, pipes.PolytopeTraining()),
        ValueError, r"`x` must be finite, got 1 NaN/inf", id="train_polytope-inf-input",
    ),
    pytest.param(
        lambda: pipes.PolytopeTraining(lam_scale=1.0),
        ValueError, r"`lam_scale` must be > 1, got 1.0", id="PolytopeTraining-lam-scale-one",
    ),
    pytest.param(
        lambda: pipes.fit_polytope(X, Y, {"width": 2}),
        TypeError, r"`training` must be a PolytopeTraining, got dict", id="fit_polytope-not-training",
    ),
    pytest.param(
        lambda: pipes.quiet_trainer(0),
        ValueError, r"`max_epochs` must be an integer >= 1, got 0", id="quiet_trainer-zero-epochs",
    ),
    pytest.param(
        lambda: pipes.refined_polytope(X, Y, inside_weights=()),
        ValueError, r"`inside_weights` must hold at least one weight, got an empty ladder",
        id="refined_polytope-empty-ladder",
    ),
    pytest.param(
        lambda: pipes.two_polytope_cover(X, Y, target=1.5),
        ValueError, r"`target` must lie in \[0, 1\], got 1.5", id="two_polytope_cover-target-above-one",
    ),
    pytest.param(
        lambda: pipes.TaskProgress(0),
        ValueError, r"`total` must be an integer >= 1, got 0", id="TaskProgress-no-tasks",
    ),
    pytest.param(
        lambda: pipes.CoverTraining(widths=(3, 3), signs=(1,)),
        ValueError, r"`signs` must be one \+1 or -1 per piece \(2\), got \(1,\)", id="CoverTraining-short-signs",
    ),
    pytest.param(
        lambda: pipes.CoverTraining(widths=(3, 0)),
        ValueError, r"`widths\[1\]` must be an integer >= 1, got 0", id="CoverTraining-empty-piece",
    ),
    pytest.param(
        lambda: pipes.compressed_cover(X, Y, {"widths": (2,)}),  # type: ignore[arg-type]
        TypeError, r"`training` must be a CoverTraining, got dict", id="compressed_cover-not-training",
    ),
    pytest.param(
        lambda: pipes.compressed_cover(X, Y[:3], pipes.CoverTraining(widths=(2,))),
        ValueError, r"`target` must have one label per point of `x`, got \(3,\) for 4 points",
        id="compressed_cover-short-labels",
    ),
    pytest.param(
        lambda: pipes.MLPTraining(hidden=()),
        ValueError, r"`hidden` must hold at least one integer >= 1, got none", id="MLPTraining-no-hidden-layer",
    ),
    pytest.param(
        lambda: pipes.MLPTraining(optimizer="lbfgs"),  # type: ignore[arg-type]
        ValueError, r"`optimizer` must be one of \('adam', 'adamw', 'sgd'\), got 'lbfgs'", id="MLPTraining-unknown-optimizer",
    ),
    pytest.param(
        lambda: pipes.compare_to_optimum(X, Y.double(), beta=0.0),
        ValueError, r"`beta` must be a finite number > 0, got 0.0", id="compare_to_optimum-zero-beta",
    ),
    pytest.param(
        lambda: pipes.compare_to_optimum(X, Y.double(), 1e-3, pipes.MLPTraining(hidden=(4, 4), loss="mse")),
        ValueError, r"`training` must be a two-layer network with loss='mse', got hidden=\(4, 4\)",
        id="compare_to_optimum-deep-network",
    ),
    pytest.param(
        lambda: pipes.train_and_polish(dms.ArrayDataModule(X, Y), 2, {"hidden": (4,)}),  # type: ignore[arg-type]
        TypeError, r"`training` must be an MLPTraining, got dict", id="train_and_polish-not-training",
    ),
    pytest.param(lambda: mods.mlp_module_from_sequential(_tanh()), TypeError, TANH, id="mlp_module_from_sequential-tanh"),
    pytest.param(
        lambda: mods.mlp_module_from_sequential(_mlp(), loss="l1"),
        ValueError, r"`loss` must be one of \('bce', 'cross_entropy', 'mse'\), got 'l1'", id="mlp_module_from_sequential-unknown-loss",
    ),
    # == lightning_poly.callbacks ==================================================================
    pytest.param(
        lambda: cbs.ActivationDriftCallback(every_n_epochs=0),
        ValueError, r"`every_n_epochs` must be an integer >= 1, got 0", id="ActivationDriftCallback-every-zero",
    ),
    pytest.param(
        lambda: cbs.ActivationDriftCallback(ntk_points=-1),
        ValueError, r"`ntk_points` must be an integer >= 0, got -1", id="ActivationDriftCallback-negative-ntk",
    ),
    pytest.param(
        lambda: _setup(cbs.ActivationDriftCallback(data=X), _TanhModule()),
        MisconfigurationException, r"ActivationDriftCallback needs a ReLU network: .*'Tanh'",
        id="ActivationDriftCallback-setup-tanh-model",
    ),
    pytest.param(
        lambda: cbs.ActivationDriftCallback(input_shape=(1, -2)),
        ValueError, r"`input_shape\[1\]` must be an integer >= 1, got -2", id="ActivationDriftCallback-bad-input-shape",
    ),
    pytest.param(
        lambda: _setup(cbs.ActivationDriftCallback(data=torch.zeros(4, 1, 4, 4), input_shape=(1, 4, 4)),
                       _CNNModule(nn.Tanh)),
        MisconfigurationException, r"ActivationDriftCallback needs a piecewise-linear network .*'net.1' \(Tanh\)",
        id="ActivationDriftCallback-setup-tanh-cnn",
    ),
    pytest.param(
        lambda: cbs.CompressionCallback(lam_scale=1.0),
        ValueError, r"`lam_scale` must be > 1, got 1.0", id="CompressionCallback-lam-scale-one",
    ),
    pytest.param(
        lambda: cbs.CompressionCallback(max_samples=0),
        ValueError, r"`max_samples` must be an integer >= 1, got 0", id="CompressionCallback-no-samples",
    ),
    pytest.param(
        lambda: _setup(cbs.CompressionCallback(data=(X, Y)), mods.ReLUMLPModule(hidden=[3])),
        MisconfigurationException, r"CompressionCallback needs a module with `cover_network\(\)` returning a "
        r"CoverNetwork \(e.g. PolytopeCoverModule\), got ReLUMLPModule",
        id="CompressionCallback-setup-no-cover-network",
    ),
    pytest.param(
        lambda: geo.region_complex(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), box=-1.0),
        ValueError, r"`box` must be a finite number > 0, got -1.0", id="region_complex-box-negative",
    ),
    pytest.param(
        lambda: geo.region_complex(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), max_regions=0),
        ValueError, r"`max_regions` must be an integer >= 1, got 0", id="region_complex-max-regions-zero",
    ),
    pytest.param(
        lambda: geo.region_complex(nn.Sequential(nn.Linear(7, 3), nn.ReLU(), nn.Linear(3, 1)), volumes=True),
        ValueError, r"`volumes=True` is offered for d <= 6 .* got d = 7", id="region_complex-volumes-d7",
    ),
    pytest.param(
        lambda: cbs.DecisionBoundaryCallback(complex_box=0.0),
        ValueError, r"`complex_box` must be a finite number > 0, got 0.0", id="DecisionBoundaryCallback-complex-box-zero",
    ),
    pytest.param(
        lambda: cbs.DecisionBoundaryCallback(resolution=1),
        ValueError, r"`resolution` must be an integer >= 2, got 1", id="DecisionBoundaryCallback-resolution-one",
    ),
    pytest.param(
        lambda: cbs.DecisionBoundaryCallback(every_n_epochs=-1),
        ValueError, r"`every_n_epochs` must be an integer >= 0, got -1", id="DecisionBoundaryCallback-every-negative",
    ),
    pytest.param(
        lambda: cbs.CrossSectionCallback(extent=0),
        ValueError, r"`extent` must be a finite number > 0, got 0", id="CrossSectionCallback-extent-zero",
    ),
    pytest.param(
        lambda: cbs.CrossSectionCallback(anchor=-1),
        ValueError, r"`anchor` must be an integer >= 0, got -1", id="CrossSectionCallback-negative-anchor",
    ),
    pytest.param(
        lambda: _setup(cbs.CrossSectionCallback(data=X, anchor=4), mods.ReLUMLPModule(hidden=[3])),
        MisconfigurationException, r"CrossSectionCallback: `anchor` is sample 4, but the training data holds 4",
        id="CrossSectionCallback-anchor-beyond-the-data",
    ),
    pytest.param(
        lambda: _setup(cbs.CrossSectionCallback(data=torch.zeros(4, 1, 4, 4), input_shape=(1, 4, 4)),
                       _CNNModule(nn.Tanh)),
        MisconfigurationException, r"CrossSectionCallback needs a piecewise-linear network .*'net.1' \(Tanh\)",
        id="CrossSectionCallback-setup-tanh-cnn",
    ),
    pytest.param(
        lambda: cbs.FaceHistogramCallback(points="grid"),
        ValueError, r"`points` must be one of \('uniform', 'train'\), got 'grid'", id="FaceHistogramCallback-points",
    ),
    pytest.param(
        lambda: cbs.FaceHistogramCallback(box=0.0),
        ValueError, r"`box` must be a finite number > 0, got 0.0", id="FaceHistogramCallback-box-zero",
    ),
    pytest.param(
        lambda: cbs.FaceHistogramCallback(method="lp"),
        ValueError, r"`method` must be one of .*, got 'lp'", id="FaceHistogramCallback-unknown-method",
    ),
    pytest.param(
        lambda: cbs.FaceHistogramCallback(input_shape=(1, 0, 28)),
        ValueError, r"`input_shape\[1\]` must be an integer >= 1, got 0", id="FaceHistogramCallback-empty-input-shape",
    ),
    pytest.param(
        lambda: cbs.FaceHistogramCallback(input_shape=(1, 28, 28), method="clarkson"),
        ValueError, r"`method` must be 'auto' or 'estimate' for a network that is not a ReLU MLP",
        id="FaceHistogramCallback-exact-count-of-a-cnn",
    ),
    pytest.param(
        lambda: _setup(cbs.FaceHistogramCallback(n_points=10), _TanhModule()),
        MisconfigurationException, r"FaceHistogramCallback needs a ReLU network: .*'Tanh'",
        id="FaceHistogramCallback-setup-tanh-model",
    ),
    pytest.param(
        lambda: cbs.PolishingCallback(layers=[]),
        ValueError, r"`layers` must name at least one hidden layer, got \[\]", id="PolishingCallback-no-layers",
    ),
    pytest.param(
        lambda: cbs.PolishingCallback(monitor="val_f1"),
        ValueError, r"`monitor` must be one of \('val_loss', 'val_acc', 'train_loss', 'train_acc'\), got 'val_f1'",
        id="PolishingCallback-unknown-monitor",
    ),
    pytest.param(
        lambda: cbs.PolishingCallback(l2=0.0),
        ValueError, r"`l2` must be a finite number > 0, got 0.0", id="PolishingCallback-l2-zero",
    ),
    pytest.param(
        lambda: _setup(cbs.PolishingCallback(data=(X, Y), monitor="train_loss"), _TanhModule()),
        MisconfigurationException, r"PolishingCallback needs a ReLU network: .*'Tanh'",
        id="PolishingCallback-setup-tanh-model",
    ),
    pytest.param(
        lambda: cbs.PolishingCallback(max_patches=1),
        ValueError, r"`max_patches` must be an integer >= 2, got 1", id="PolishingCallback-one-patch",
    ),
    pytest.param(
        lambda: _setup(cbs.PolishingCallback(data=(torch.zeros(4, 1, 4, 4), Y)), _CNNModule(nn.Tanh)),
        MisconfigurationException, r"PolishingCallback needs a piecewise-linear CNN: .*'net.1' \(Tanh\)",
        id="PolishingCallback-setup-tanh-cnn",
    ),
    # == lightning_poly.plotting ===================================================================
    pytest.param(
        lambda: plotting.grid_2d(torch.zeros(4, 3)),
        ValueError, r"`x` must have shape \(n, 2\) with n >= 1 for a 2-D plot, got \(4, 3\)", id="grid_2d-3d-points",
    ),
    pytest.param(
        lambda: plotting.plot_cross_section(torch.zeros(3, 3)),
        TypeError, r"`section` must be a CrossSection \(from geometry.cross_section\), got Tensor",
        id="plot_cross_section-a-tensor",
    ),
    pytest.param(
        lambda: plotting.grid_2d(torch.zeros(0, 2)),
        ValueError, r"`x` must have shape \(n, 2\) with n >= 1 for a 2-D plot, got \(0, 2\)", id="grid_2d-no-points",
    ),
    pytest.param(
        lambda: plotting.grid_2d(X, resolution=0),
        ValueError, r"`resolution` must be an integer >= 2, got 0", id="grid_2d-resolution-zero",
    ),
    pytest.param(
        lambda: plotting.grid_2d(_with(X, (0, 0), INF)),
        ValueError, r"`x` must be finite, got 1 NaN/inf", id="grid_2d-inf-point",
    ),
    pytest.param(
        lambda: plotting.plot_decision_regions(lambda p: p[:, 0], X, Y[:3], resolution=5),
        ValueError, r"`y` must have one label per point of `x`, got \(3,\) for `x` of shape \(4, 2\)",
        id="plot_decision_regions-short-labels",
    ),
    pytest.param(
        lambda: plotting.plot_decision_regions(lambda p: p[:3, 0], X, Y, resolution=5),
        ValueError, r"`score` must return one value per point \(25 grid points\), got \(3,\)",
        id="plot_decision_regions-score-wrong-size",
    ),
    pytest.param(
        lambda: plotting.plot_model_decision_regions(_mlp(), X, Y[:3], resolution=5),
        ValueError, r"`y` must have one label per point of `x`, got \(3,\) for `x` of shape \(4, 2\)",
        id="plot_model_decision_regions-short-labels",
    ),
    pytest.param(
        lambda: plotting.plot_cover(_cover(3), X, Y),
        ValueError, r"`cover` must be a 2-D cover to plot, got a cover in dimension 3", id="plot_cover-3d-cover",
    ),
    pytest.param(
        lambda: plotting.plot_cover(_cover(), X, Y[:2]),
        ValueError, r"`y` must have one label per point of `x`, got \(2,\)", id="plot_cover-short-labels",
    ),
    # == lightning_poly.media ====================================================================
    pytest.param(
        lambda: lplog.local_log_dir(mods.ReLUMLPModule(hidden=[3])),
        TypeError, r"`trainer` must be a Lightning Trainer, got ReLUMLPModule", id="local_log_dir-module-not-trainer",
    ),
    pytest.param(
        lambda: lplog.media_dir(None),
        TypeError, r"`trainer` must be a Lightning Trainer, got NoneType", id="media_dir-none",
    ),
    pytest.param(
        lambda: lplog.pin_wandb_run_dir("runs"),
        TypeError, r"`trainer` must be a Lightning Trainer, got str", id="pin_wandb_run_dir-path-not-trainer",
    ),
    pytest.param(
        lambda: lplog.log_figure(_trainer(), "fig", "figure.png"),
        TypeError, r"`figure` must be a matplotlib Figure, got str", id="log_figure-not-a-figure",
    ),
    pytest.param(
        lambda: lplog.log_figure(None, "fig", None),
        TypeError, r"`trainer` must be a Lightning Trainer, got NoneType", id="log_figure-no-trainer",
    ),
    pytest.param(
        lambda: lplog.log_histogram(_trainer(), "h", counts=[1, 2], edges=[0.0, 1.0]),
        ValueError, r"`edges` must have len\(counts\) \+ 1 = 3 entries, got \(2,\)", id="log_histogram-short-edges",
    ),
    pytest.param(
        lambda: lplog.log_table(_trainer(), "t", ["a", "b"], [[1, 2], [3]]),
        ValueError, r"row 1 of table 't' has 1 cells, expected 2 \(\['a', 'b'\]\)", id="log_table-short-row",
    ),
    # == activation-pattern search (zonotope paper) ====================================================
    pytest.param(
        lambda: cbs.VertexSearchCallback(max_steps=0),
        ValueError, r"`max_steps` must be an integer >= 1, got 0", id="VertexSearchCallback-no-steps",
    ),
    pytest.param(
        lambda: cbs.VertexSearchCallback(loss="hinge"),  # type: ignore[arg-type]
        ValueError, r"`loss` must be one of \('auto', 'squared', 'logistic'\), got 'hinge'",
        id="VertexSearchCallback-unknown-loss",
    ),
    pytest.param(
        lambda: geo.activation_pattern(torch.ones(2, 3), LINE), ValueError,
        r"`weight` must be \(m, 2\) \(bias as last column\), got \(2, 3\)",
        id="activation_pattern-weight-without-bias",
    ),
    pytest.param(
        lambda: geo.cone_margin(torch.zeros(0, 1), torch.ones(1, 0, dtype=torch.bool)),
        ValueError, r"`x` must be \(N, d\) with N >= 1, got shape \(0, 1\)", id="cone_margin-no-data",
    ),
    pytest.param(
        lambda: geo.general_position(LINE, tol=0.0),
        ValueError, r"`tol` must be a finite number > 0, got 0.0", id="general_position-tol-zero",
    ),
    pytest.param(
        lambda: geo.is_vertex(LINE, torch.ones(1, 3)),
        ValueError, r"`pattern` must be a bool tensor \(N,\) or \(m, N\) with N = 4 examples, got torch.float32",
        id="is_vertex-float-pattern",
    ),
    pytest.param(
        lambda: geo.random_vertex(LINE, m=0),
        ValueError, r"`m` must be an integer >= 1, got 0", id="random_vertex-no-units",
    ),
    pytest.param(
        lambda: geo.unit_flips(LINE, torch.tensor([[True, False, True, False]])),
        ValueError, r"`pattern` is not a vertex of the zonotope: the cones of units \[0\] have no interior",
        id="unit_flips-not-a-vertex",
    ),
    pytest.param(
        lambda: geo.unit_vertices(LINE, max_vertices=2),
        ValueError, r"more than `max_vertices`=2 vertices; this data has 8 in general position",
        id="unit_vertices-too-many",
    ),
    pytest.param(
        lambda: geo.vertex_neighbors(torch.tensor([[NAN], [0.0]]), torch.ones(1, 2, dtype=torch.bool)),
        ValueError, r"`x` must be finite", id="vertex_neighbors-nan-data",
    ),
    pytest.param(
        lambda: geo.zonotope_vertex_count(0, 2),
        ValueError, r"`n` must be an integer >= 1, got 0", id="zonotope_vertex_count-no-examples",
    ),
    pytest.param(
        lambda: solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1), loss="hinge"),
        ValueError, r"`loss` must be one of \('squared', 'logistic'\), got 'hinge'", id="vertex_program-unknown-loss",
    ),
    pytest.param(
        lambda: solvers.vertex_program(LINE, LINE_Y[:3], LINE_PATTERN, torch.ones(1)),
        ValueError, r"`y` must have shape \(4,\) like `x`, got \(3,\)", id="vertex_program-short-y",
    ),
    pytest.param(
        lambda: solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1), start=torch.zeros(1, 1, 2)),
        ValueError, r"`start` must be strictly inside every region", id="vertex_program-start-on-boundary",
    ),
    pytest.param(
        lambda: solvers.vertex_program_cvxpy(LINE, LINE_Y, LINE_PATTERN, torch.ones(2)),
        ValueError, r"`v` must have shape \(1,\), one output weight per unit, got \(2,\)",
        id="vertex_program_cvxpy-v-wrong-length",
    ),
    pytest.param(
        lambda: solvers.vertex_loss(torch.zeros(3), torch.zeros(3), "hinge"),  # type: ignore[arg-type]
        ValueError, r"`loss` must be one of \('squared', 'logistic'\), got 'hinge'", id="vertex_loss-unknown-loss",
    ),
    pytest.param(
        lambda: solvers.gated_step_size(nn.Linear(2, 1), X),  # type: ignore[arg-type]
        TypeError, r"`net` must be a GatedReLU network, got Linear", id="gated_step_size-not-gated",
    ),
    pytest.param(
        lambda: solvers.gated_certificate(_gated(), X, Y[:3], lam=0.1),
        ValueError, r"`y` must hold one target per sample of `x` \(4\), got 3", id="gated_certificate-short-y",
    ),
    pytest.param(
        lambda: solvers.gated_certificate(_gated(), torch.zeros(4, 3), Y, lam=0.1),
        ValueError, r"`x` must be \(n, 2\) the training inputs: 2 features per sample for the gates, got \(4, 3\)",
        id="gated_certificate-wrong-features",
    ),
    pytest.param(
        lambda: alg.exact_erm(LINE, LINE_Y, torch.ones(3), max_programs=10),
        ValueError, r"more than `max_vertices`=10 vertices|exact ERM needs 8\^3 = 512 programs",
        id="exact_erm-too-many-programs",
    ),
    pytest.param(
        lambda: alg.exact_fit_network(torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 1.0]]), torch.zeros(4)),
        ValueError, r"Theorem 4.3 needs data in general position", id="exact_fit_network-collinear",
    ),
    pytest.param(
        lambda: alg.greedy_local_search(LINE[:2], LINE_Y[:2], torch.ones(1)),
        ValueError, r"`x` must be \(N, d\) with N > d \+ 1 examples \(the paper's assumption\), got shape \(2, 1\)",
        id="greedy_local_search-too-few-examples",
    ),
    pytest.param(
        lambda: alg.modified_greedy_local_search(LINE, LINE_Y, torch.ones(1), batch=0),
        ValueError, r"`batch` must be an integer >= 1, got 0", id="modified_greedy_local_search-batch-zero",
    ),
    pytest.param(
        lambda: alg.neighbour_programs(
            LINE, LINE_Y, LINE_PATTERN, solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1)),
            [geo.Flip(0, (3,))], torch.ones(1),
        ),
        ValueError, r"flip Flip\(unit=0, examples=\(3,\)\) of `pattern` does not lead to a vertex: it is not an edge",
        id="neighbour_programs-not-an-edge",
    ),
    pytest.param(
        lambda: alg.neighbour_programs(
            LINE, LINE_Y, LINE_PATTERN, solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1)),
            [geo.Flip(0, (1,))], torch.ones(1), pull=1.0,
        ),
        ValueError, r"`pull` must lie in \[0, 1\), got 1.0", id="neighbour_programs-pull-one",
    ),
    pytest.param(
        lambda: solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1), rows=torch.ones(1, 3, dtype=torch.bool)),
        ValueError, r"`rows` must be bool \(1, 4\) or \(1, 1, 4\) like `patterns`, got torch.bool \(1, 3\)",
        id="vertex_program-rows-wrong-shape",
    ),
    pytest.param(
        lambda: solvers.vertex_program(LINE, LINE_Y, LINE_PATTERN, torch.ones(1), mu_factor=1.0),
        ValueError, r"`mu_factor` must be a number > 1, got 1.0", id="vertex_program-mu-factor-one",
    ),
    pytest.param(
        lambda: dms.ArrayDataModule(X, Y, order="shuffled"),
        ValueError, r"`order` must be one of \('seeded', 'file'\), got 'shuffled'", id="ArrayDataModule-unknown-order",
    ),
    pytest.param(
        lambda: geo.facet_rows([geo.Flip(1, (0,))], (1, 4)),
        ValueError, r"flip Flip\(unit=1, examples=\(0,\)\) lies outside patterns of shape \(1, 4\)",
        id="facet_rows-flip-outside",
    ),
    pytest.param(
        lambda: geo.flip_margins(LINE, LINE_PATTERN[0], [(4,)]),
        ValueError, r"a group must hold example indices in 0..3, got \(4,\)", id="flip_margins-index-outside",
    ),
    pytest.param(
        lambda: dms.pullover_coat_first(0),
        ValueError, r"`n` must be an integer >= 1, got 0", id="pullover_coat_first-no-examples",
    ),
    pytest.param(
        lambda: alg.VertexSearch(LINE, LINE_Y, torch.ones(1), algorithm="annealing"),
        ValueError, r"`algorithm` must be one of", id="VertexSearch-unknown-algorithm",
    ),
    pytest.param(
        lambda: alg.VertexSearch(LINE, LINE_Y, torch.ones(1), pattern=LINE_PATTERN.float()),
        ValueError, r"`pattern` must be a bool tensor \(1, 4\), got torch.float32", id="VertexSearch-float-pattern",
    ),
    pytest.param(
        lambda: alg.shallow_gradient_descent(LINE, LINE_Y[:3], 2),
        ValueError, r"`x` must be \(N, d\) and `y` \(N,\), got \(4, 1\) and \(3,\)",
        id="shallow_gradient_descent-short-targets",
    ),
    pytest.param(
        lambda: alg.shallow_gradient_descent(LINE, LINE_Y, 2, v=torch.ones(3)),
        ValueError, r"`v` must have shape \(2,\), one output weight per unit, got \(3,\)",
        id="shallow_gradient_descent-wrong-second-layer",
    ),
    pytest.param(
        lambda: alg.random_vertex_alternating(_with(LINE, (0, 0), NAN), LINE_Y, 1),
        ValueError, r"`x` must be finite", id="random_vertex_alternating-nan-input",
    ),
    pytest.param(
        lambda: alg.face_angle_matching(_cover(), _cover(), polytope_b=1),
        ValueError, r"`polytope_b` must be below the 1 polytopes of `cover_b`, got 1",
        id="face_angle_matching-no-such-polytope",
    ),
    pytest.param(
        lambda: alg.face_angle_matching(_cover(), "cover"),  # type: ignore[arg-type]
        TypeError, r"`cover_b` must be a PolytopeBasisCover, got str", id="face_angle_matching-not-a-cover",
    ),
    pytest.param(
        lambda: alg.shallow_gradient_descent(LINE, LINE_Y, 2, bias_init="kaiming"),  # type: ignore[arg-type]
        ValueError, r"`bias_init` must be one of .*'zero'.*'glorot'.*, got 'kaiming'",
        id="shallow_gradient_descent-unknown-bias-init",
    ),
    pytest.param(
        lambda: alg.random_vertex_alternating(LINE, LINE_Y, 1, start="zeros"),  # type: ignore[arg-type]
        ValueError, r"`start` must be one of .*'random_signs'.*'least_squares'.*, got 'zeros'",
        id="random_vertex_alternating-unknown-start",
    ),
    pytest.param(
        lambda: data.loss_jump_program(float("nan")),
        ValueError, r"`eps` must be a finite number >= 0, got nan", id="loss_jump_program-nan",
    ),
    pytest.param(
        lambda: data.loss_jump_new_vertex(-0.1),
        ValueError, r"`eps` must be a finite number >= 0, got -0.1", id="loss_jump_new_vertex-negative",
    ),
    pytest.param(
        lambda: mods.VertexSearchModule(input_dim=2, width=4, max_moves=-1),
        ValueError, r"`max_moves` must be an integer >= 0, got -1", id="VertexSearchModule-negative-moves",
    ),
    pytest.param(
        lambda: solvers.IncrementalLP(2).add_rows(np.eye(3), np.ones(3)),
        ValueError, r"expected `a` \(k, 2\) and `b` \(k,\) without NaN, got \(3, 3\) and \(3,\)",
        id="IncrementalLP-wrong-width",
    ),
    pytest.param(
        lambda: pipes.FitOptions(epochs=0), ValueError, r"`epochs` must be an integer >= 1, got 0",
        id="FitOptions-epochs-zero",
    ),
    pytest.param(
        lambda: pipes.FitOptions(trainer_kwargs=["cpu"]), TypeError,  # type: ignore[arg-type]
        r"`trainer_kwargs` must be a dict of Trainer arguments, got list", id="FitOptions-trainer-kwargs-list",
    ),
    pytest.param(
        lambda: pipes.CompressionFitOptions(lam_scale=1.0), ValueError, r"`lam_scale` must be > 1, got 1.0",
        id="CompressionFitOptions-lam-scale-one",
    ),
    pytest.param(
        lambda: mods.NetworkModule(nn.Linear(2, 3), loss="hinge"),  # type: ignore[arg-type]
        ValueError, r"`loss` must be one of .*bce.*cross_entropy.*mse.*, got 'hinge'", id="NetworkModule-loss",
    ),
    pytest.param(
        lambda: pipes.train_network(nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), epochs=0,
                                    seed=0),
        ValueError, r"`epochs` must be an integer >= 1, got 0", id="train_network-epochs-zero",
    ),
    pytest.param(
        lambda: geo.average_faces_cone(3, 2, 4), ValueError, r"`n` must be an integer >= 3, got 2",
        id="average_faces_cone-n-two",
    ),
    pytest.param(
        lambda: geo.maximum_faces_polygon(5, 6), ValueError, r"`k` must be an integer in \[1, n = 5\].*got 6",
        id="maximum_faces_polygon-k-above-n",
    ),
    pytest.param(
        lambda: geo.mean_faces_bound_low_rank_one_layer(10, 3, 0), ValueError, r"`rank`.*got 0",
        id="mean_faces_bound_low_rank_one_layer-rank-zero",
    ),
    pytest.param(
        lambda: geo.mean_faces_bound_low_rank_zero_bias(3, 1), ValueError,
        r"`rank` must be an integer in \[2, d = 3\], got 1", id="mean_faces_bound_low_rank_zero_bias-rank-one",
    ),
    pytest.param(
        lambda: geo.numerical_rank(torch.zeros(3)), ValueError, r"`weight` must be a 2-D tensor, got torch.Size\(\[3\]\)",
        id="numerical_rank-vector",
    ),
]
# fmt: on


@pytest.mark.parametrize(("call", "exc", "match"), CASES)
def test_bad_input_gives_a_clear_error(call: Any, exc: type[BaseException], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


SKIPPED = {
    "FaceMethod", "FacetMethod", "FACE_METHODS", "NetworkView", "InputShapeNeeded", "SolverLoss", "ModuleLoss", "SOLVER_LOSSES", "MODULE_LOSSES",
    "solver_loss_of_module",  # any object: a module's declared loss or None, nothing to refuse
    "InitName", "CoverLoss", "HasReLUNetwork", "LossName", "SyntheticName", "TaskName",
    "SYNTHETIC_DATASETS", "SYNTHETIC_DIMS", "DATA_ENV_VAR", "FacetCounts", "RayEstimate", "Regions", "FaceHistogram",
    "CoverRefineReport", "FaceEliminationReport", "CompressReport", "FinaliseReport", "HingeRefitReport",
    "PolishReport", "PolishResult", "LevelSetCover", "GeneralPosition", "Flip", "VertexSolution", "SearchRecord",
    "ExactFit", "VertexLoss", "GatedCertificate", "PolishEvaluation", "ActivationDrift", "MinimalNetworkReport",
    "FittedPolytope", "TwoPolytopeCover", "SMOOTH_HEAD_TRAINING", "quiet_lightning", "RegionSimplices",
    "CompressedCover", "OptimumComparison", "PolishedTraining", "SPIRAL_TRAINING", "BaselineRecord", "SimplexFacets",
    "PWLRegions", "ConvPolishResult", "ConvPolishReport", "CrossSection", "SectionCount",
    "RegionComplex",  # a result: region_complex validates
    "FaceMatching",  # a result: face_angle_matching validates
    "ConeConstruction", "PolygonConstruction", "RANK_RTOL",  # built by the constructions; a constant
    "boston_housing", "BOSTON_FEATURES",  # no arguments; a constant
}  # fmt: skip


def test_every_public_name_has_a_case_or_is_skipped_on_purpose() -> None:
    import importlib

    covered = {p.id.split("-")[0].split(".")[0] for p in CASES}  # type: ignore[union-attr]
    public = set()
    for sub in ("geometry", "algorithms", "solvers", "nn", "data", "datamodules", "modules", "callbacks",
                "pipelines", "plotting", "media"):  # fmt: skip
        public |= set(importlib.import_module(f"lightning_poly.{sub}").__all__)
    assert sorted(public - covered - SKIPPED) == []
