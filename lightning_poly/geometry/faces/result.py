"""What a face count returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["STATUS", "FacetCounts", "polytope_status"]

STATUS = ("ok", "empty_interior", "infeasible")


def polytope_status(depth: torch.Tensor, infeasible: torch.Tensor, interior_tol: float) -> torch.Tensor:
    """``(R,)`` index into :data:`STATUS` on the CPU: ``"infeasible"`` where a zero row proved the polytope empty,
    else ``"empty_interior"`` where its interior point's depth is at most ``interior_tol``, else ``"ok"``.

    Example:
        >>> polytope_status(torch.tensor([0.5, 0.0, 0.5]), torch.tensor([False, False, True]), 1e-9).tolist()
        [0, 1, 2]
    """
    status = torch.zeros(len(depth), dtype=torch.long)
    status[(depth <= interior_tol).cpu()] = 1
    status[infeasible.cpu()] = 2
    return status


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
