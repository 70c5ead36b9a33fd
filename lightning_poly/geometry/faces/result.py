"""What a face count returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["STATUS", "FacetCounts"]

STATUS = ("ok", "empty_interior", "infeasible")


@dataclass
class FacetCounts:
    """Facets of ``R`` polytopes.

    Attributes:
        counts: ``(R,)`` number of facets (0 where ``status != "ok"``).
        facets: ``(R, m)`` bool, which rows are facets (one row per duplicate group).
        status: ``(R,)`` index into :data:`STATUS` (``"ok"``, ``"empty_interior"``, ``"infeasible"``).
        method: ``(R,)`` method that produced each count (``"reference"``, ``"qhull"``, ``"clarkson"``).
        lps: total number of LPs solved (interior-point LPs included).
        notes: human-readable notes on degeneracies met (duplicates, zero rows, fallbacks).
        rays: ``(R,)`` rays used per polytope by the estimator (``None`` for the exact methods).
    """

    counts: torch.Tensor
    facets: torch.Tensor
    status: torch.Tensor
    method: list[str]
    lps: int = 0
    notes: list[str] = field(default_factory=list)
    rays: torch.Tensor | None = None

    @property
    def ok(self) -> torch.Tensor:
        """``(R,)`` bool: polytopes with a proper interior."""
        return self.status == 0
