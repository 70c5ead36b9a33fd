"""The result of a face histogram (:func:`~lightning_poly.geometry.face_histogram`): counts, weights, the bound it is
compared with, plots, saving and loading."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightning_poly._io import load_plain
from lightning_poly.geometry.bounds import applicable_mean_faces_bound, numerical_rank
from lightning_poly.geometry.pwl_regions import (
    pwl_architecture,
)
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["FaceHistogram", "network_architecture"]


@dataclass
class FaceHistogram:
    """Face counts of the linear regions found by a set of points (face-histogram paper).

    Attributes:
        counts: ``(R,)`` faces of each region with a proper interior.
        weights: ``(R,)`` points that fell in each region (a volume estimate for uniform points).
        exact: ``True`` if counts are exact, ``False`` for the hit-and-run estimate (lower bounds).
        input_dim, hidden_widths, zero_bias: the architecture.
        box: half-width of the input box.
        n_points: points used to find the regions.
        method: the counting method.
        rays: ``(R,)`` rays used per region (estimate only).
        n_degenerate: regions left out because their interior is empty.
        notes: degeneracies met while counting.
        seconds: wall time.
        box_counts: ``(R,)`` how many of each region's faces lie on the box (the rest are network
            faces, from neurons); the paper's histograms count both.
        n_uncounted: regions found but not counted because the time budget ran out (the histogram
            is then over a seeded random subset of the regions).
        network: ``"mlp"`` (a ReLU MLP) or ``"piecewise-linear"`` (any network of
            :func:`~lightning_poly.geometry.pwl_regions`, e.g. a CNN: ``hidden_widths`` are the units of its
            (leaky) ReLU layers, ``zero_bias`` whether every linear and convolutional layer lacks a bias).
        pool_rows: the max-pool inequalities of a piecewise-linear network (part of Γ).
        regions: ``"all"``: every region of the box, from the region complex (the unbiased histogram, the
            regions the bounds of Theorems 8-10 speak of; ``weights`` are then the points that fell in each
            region, 0 for regions no point found); ``"sampled"``: the regions found by the points.
        first_layer_rank: rank of an MLP's first weight matrix (:func:`~lightning_poly.geometry.numerical_rank`),
            which selects the low-rank bounds of Theorems 11-12; ``None``: not known (taken as full).
    """

    counts: torch.Tensor
    weights: torch.Tensor
    exact: bool
    input_dim: int
    hidden_widths: list[int]
    zero_bias: bool
    box: float
    n_points: int
    method: str
    rays: torch.Tensor | None = None
    n_degenerate: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    output_dim: int = 1
    box_counts: torch.Tensor | None = None
    n_uncounted: int = 0
    network: str = "mlp"
    pool_rows: int = 0
    regions: str = "sampled"
    first_layer_rank: int | None = None

    @property
    def gamma(self) -> int:
        """Γ, the network's inequalities, the largest possible number of faces from the network: the hidden
        neurons (units), plus the max-pool rows of a piecewise-linear network."""
        return int(sum(self.hidden_widths)) + self.pool_rows

    @property
    def n_regions(self) -> int:
        return int(self.counts.numel())

    @property
    def mean(self) -> float:
        """Mean faces over regions (each region once, as in the paper)."""
        return float(self.counts.double().mean()) if self.n_regions else float("nan")

    @property
    def weighted_mean(self) -> float:
        """Mean faces weighted by the points in each region (volume-weighted)."""
        w = self.weights.double()
        return float((self.counts.double() * w).sum() / w.sum()) if self.n_regions else float("nan")

    @property
    def network_counts(self) -> torch.Tensor:
        """``(R,)`` faces from neurons only (box faces left out): what the mean-faces bounds speak of."""
        return self.counts if self.box_counts is None else self.counts - self.box_counts

    @property
    def mean_network_faces(self) -> float:
        return float(self.network_counts.double().mean()) if self.n_regions else float("nan")

    @property
    def mean_box_faces(self) -> float:
        if self.box_counts is None or not self.n_regions:
            return float("nan")
        return float(self.box_counts.double().mean())

    @property
    def architecture(self) -> str:
        """``"d-n1-...-nL-k"``, output layer included (units per activation layer, and the max-pool rows, of a
        piecewise-linear network)."""
        pools = f" (+{self.pool_rows} max-pool rows)" if self.pool_rows else ""
        return "-".join(map(str, [self.input_dim, *self.hidden_widths, self.output_dim])) + pools

    @property
    def median(self) -> float:
        return float(self.counts.double().median()) if self.n_regions else float("nan")

    @property
    def max(self) -> int:
        return int(self.counts.max()) if self.n_regions else 0

    @property
    def simple_fraction(self) -> float:
        """Fraction of regions with fewer than Γ/2 faces (the paper's Preliminary 3)."""
        return float((self.counts < self.gamma / 2).double().mean()) if self.n_regions else float("nan")

    @property
    def bound(self) -> tuple[str, float] | None:
        """The mean-faces bound of Theorems 8-12 that applies to the architecture and the first layer's rank, if any
        (MLPs only)."""
        if self.network != "mlp":
            return None
        return applicable_mean_faces_bound(
            self.input_dim, self.hidden_widths, self.zero_bias, rank=self.first_layer_rank
        )

    @classmethod
    def from_counts(
        cls,
        model: nn.Module,
        region_counts: torch.Tensor,
        counts: torch.Tensor,
        ok: torch.Tensor,
        rays: torch.Tensor,
        box: float,
        method: str,
        n_points: int,
        seconds: float,
        notes: list[str] | None = None,
        box_counts: torch.Tensor | None = None,
        counted: torch.Tensor | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> FaceHistogram:
        """Assemble the result from per-region face counts: regions with ``ok`` false (empty interior)
        and regions not ``counted`` (time budget) are left out; ``input_shape``: a piecewise-linear
        network's point shape (``None``: a ReLU MLP)."""
        rank = None
        if input_shape is None:
            (d, widths, zero_bias), k, pools = network_architecture(model), linear_layers(model)[-1].out_features, 0
            rank = numerical_rank(linear_layers(model)[0].weight)
        else:
            d, widths, zero_bias, k, pools = pwl_architecture(model, input_shape)
        counted = torch.ones_like(ok) if counted is None else counted.bool()
        keep = ok & counted
        return cls(
            counts=counts[keep], weights=region_counts.cpu()[keep], exact=method != "estimate", input_dim=d,
            hidden_widths=widths, zero_bias=zero_bias, box=float(box), n_points=int(n_points), method=method,
            rays=rays[keep] if method == "estimate" else None, n_degenerate=int((~ok & counted).sum()),
            notes=list(notes or []), seconds=seconds, output_dim=k,
            box_counts=None if box_counts is None else box_counts[keep], n_uncounted=int((~counted).sum()),
            network="mlp" if input_shape is None else "piecewise-linear", pool_rows=pools, first_layer_rank=rank,
        )  # fmt: skip

    def histogram(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(faces, regions)``: each face count from 0 to the maximum and how many regions have it."""
        n = torch.bincount(self.counts.long(), minlength=self.max + 1)
        return torch.arange(len(n)), n

    def summary(self) -> dict[str, float | int | str | bool]:
        """Scalars for logging."""
        out: dict[str, Any] = {
            "regions": self.n_regions,
            "mean_faces": self.mean,
            "weighted_mean_faces": self.weighted_mean,
            "median_faces": self.median,
            "max_faces": self.max,
            "simple_fraction": self.simple_fraction,
            "gamma": self.gamma,
            "exact": self.exact,
            "degenerate_regions": self.n_degenerate,
            "uncounted_regions": self.n_uncounted,
            "mean_network_faces": self.mean_network_faces,
            "mean_box_faces": self.mean_box_faces,
            "seconds": self.seconds,
            "whole_complex": self.regions == "all",
        }
        if self.bound is not None:
            out["bound_name"], out["bound"] = self.bound
        return out

    def save(self, path: str | Path) -> None:
        """Save to a ``torch.save`` file (plain tensors and types only)."""
        torch.save(asdict(self), path)

    @classmethod
    def load(cls, path: str | Path) -> FaceHistogram:
        """Load what :meth:`save` wrote (``weights_only``: a file holding pickled objects is refused)."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        state = load_plain(path, "face histogram", required)
        return cls(**{k: v for k, v in state.items() if k in names})


def network_architecture(model: nn.Module) -> tuple[int, list[int], bool]:
    """``(input_dim, hidden_widths, zero_bias)`` of a ReLU MLP.

    Args:
        model: a ReLU MLP.
    """
    layers = linear_layers(model)
    zero_bias = all(lin.bias is None or bool((lin.bias == 0).all()) for lin in layers[:-1])
    return layers[0].in_features, [lin.out_features for lin in layers[:-1]], zero_bias
