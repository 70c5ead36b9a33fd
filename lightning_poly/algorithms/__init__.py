"""Algorithms on networks and tensors (framework-free core: no Lightning import)."""

from lightning_poly.algorithms.compress import CompressReport, compress_, condition7_fraction, redundant_neurons
from lightning_poly.algorithms.polish import PolishResult, polish_layer, polish_layer_reference
from lightning_poly.algorithms.polish_network import PolishReport, layer_inputs, polish_network
from lightning_poly.algorithms.scaling import balance_, lemma27_scales, optimal_scales

__all__ = [
    "CompressReport",
    "compress_",
    "condition7_fraction",
    "redundant_neurons",
    "PolishReport",
    "PolishResult",
    "balance_",
    "layer_inputs",
    "lemma27_scales",
    "optimal_scales",
    "polish_layer",
    "polish_layer_reference",
    "polish_network",
]
