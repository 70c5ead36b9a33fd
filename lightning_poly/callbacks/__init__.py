"""Lightning callbacks (thin: when to run, DDP, logging; the work lives in the core)."""

from lightning_poly.callbacks.activation_drift import ActivationDriftCallback
from lightning_poly.callbacks.compression import CompressionCallback
from lightning_poly.callbacks.cross_section import CrossSectionCallback
from lightning_poly.callbacks.decision_boundary import DecisionBoundaryCallback
from lightning_poly.callbacks.face_histogram import FaceHistogramCallback
from lightning_poly.callbacks.polishing import PolishingCallback
from lightning_poly.callbacks.vertex_search import VertexSearchCallback

__all__ = [
    "ActivationDriftCallback",
    "CompressionCallback",
    "CrossSectionCallback",
    "DecisionBoundaryCallback",
    "FaceHistogramCallback",
    "PolishingCallback",
    "VertexSearchCallback",
]
