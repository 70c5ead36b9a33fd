"""Algorithms on networks and tensors (framework-free core: no Lightning import)."""

from lightning_poly.algorithms.covers.compress import (
    CompressReport,
    FinaliseReport,
    compress_,
    cover_condition_fraction,
    finalise_,
    redundant_neurons,
)
from lightning_poly.algorithms.covers.eliminate import (
    FaceEliminationReport,
    eliminate_cover_faces,
    eliminate_faces,
    error_budget,
    face_removal_errors,
    polytope_errors,
)
from lightning_poly.algorithms.covers.extract import LevelSetCover, extract_cover, two_layer_cover
from lightning_poly.algorithms.covers.hinge_refit import HingeRefitReport, polytope_hinge_loss, polytope_hinge_refit
from lightning_poly.algorithms.covers.prune import (
    drop_cover_faces,
    drop_cover_polytopes,
    nonredundant_cover_faces,
    prune_cover,
)
from lightning_poly.algorithms.covers.refine import CoverRefineReport, polytope_targets, refine_cover
from lightning_poly.algorithms.covers.to_network import (
    MinimalNetworkReport,
    minimal_cover_network,
    multiclass_cover_network,
    network_from_cover,
)
from lightning_poly.algorithms.covers.uniqueness import FaceMatching, face_angle_matching
from lightning_poly.algorithms.covers.width_bounds import (
    betti_architecture,
    betti_widths_feasible,
    complex_first_width_bound,
    polytope_width_lower_bound,
    polytope_widths_feasible,
)
from lightning_poly.algorithms.exact_fit import ExactFit, exact_fit_network
from lightning_poly.algorithms.polishing.cnn import cnn_layers, polish_cnn, polish_cnn_and_evaluate
from lightning_poly.algorithms.polishing.conv import (
    ConvPolishReport,
    ConvPolishResult,
    polish_conv2d,
    polish_conv2d_reference,
)
from lightning_poly.algorithms.polishing.evaluation import PolishEvaluation
from lightning_poly.algorithms.polishing.layer import (
    PolishResult,
    neuron_sample_cosines,
    polish_layer,
    polish_layer_reference,
)
from lightning_poly.algorithms.polishing.mlp import (
    PolishReport,
    layer_inputs,
    polish_and_evaluate,
    polish_network,
)
from lightning_poly.algorithms.polishing.scaling import balance_, equalising_scales, optimal_scales
from lightning_poly.algorithms.vertex_baselines import (
    BaselineRecord,
    random_vertex_alternating,
    shallow_gradient_descent,
)
from lightning_poly.algorithms.vertex_search import (
    SearchRecord,
    VertexSearch,
    exact_erm,
    greedy_local_search,
    modified_greedy_local_search,
    neighbour_programs,
)

__all__ = [
    "BaselineRecord",
    "FaceMatching",
    "face_angle_matching",
    "CoverRefineReport",
    "polytope_targets",
    "refine_cover",
    "FaceEliminationReport",
    "eliminate_cover_faces",
    "eliminate_faces",
    "error_budget",
    "face_removal_errors",
    "polytope_errors",
    "CompressReport",
    "FinaliseReport",
    "LevelSetCover",
    "extract_cover",
    "MinimalNetworkReport",
    "network_from_cover",
    "minimal_cover_network",
    "multiclass_cover_network",
    "drop_cover_faces",
    "drop_cover_polytopes",
    "nonredundant_cover_faces",
    "prune_cover",
    "finalise_",
    "polytope_widths_feasible",
    "polytope_width_lower_bound",
    "complex_first_width_bound",
    "betti_architecture",
    "betti_widths_feasible",
    "two_layer_cover",
    "compress_",
    "cover_condition_fraction",
    "redundant_neurons",
    "HingeRefitReport",
    "polytope_hinge_loss",
    "polytope_hinge_refit",
    "PolishEvaluation",
    "PolishReport",
    "PolishResult",
    "ConvPolishReport",
    "ConvPolishResult",
    "cnn_layers",
    "polish_cnn",
    "polish_cnn_and_evaluate",
    "polish_conv2d",
    "polish_conv2d_reference",
    "balance_",
    "layer_inputs",
    "equalising_scales",
    "optimal_scales",
    "neuron_sample_cosines",
    "polish_layer",
    "polish_and_evaluate",
    "polish_layer_reference",
    "polish_network",
    "ExactFit",
    "SearchRecord",
    "VertexSearch",
    "exact_erm",
    "exact_fit_network",
    "greedy_local_search",
    "modified_greedy_local_search",
    "random_vertex_alternating",
    "shallow_gradient_descent",
    "neighbour_programs",
]
