"""Lightning callbacks (thin: when to run, DDP, logging; the work lives in the core)."""

from lightning_poly.callbacks.decision_boundary import DecisionBoundaryCallback

__all__ = ["DecisionBoundaryCallback"]
