"""Exhaustive enumeration of all linear regions inside the box, by walking across facets.

Sampling misses small regions, and small regions have few faces, so sampled histograms are biased
towards complicated regions. For the paper's checks that need *all* regions (Theorem 8 on whole
arrangements, Table I), we walk the adjacency graph: starting from the regions of some points,
every facet that belongs to a neuron leads to the region across it. The graph of full-dimensional
regions is connected (the box is convex), so the walk finds every region.

Across neuron ``k``'s facet: in a one-hidden-layer network the pattern differs in bit ``k`` only;
in deeper networks the deeper neurons may switch too, so we step just across the facet from the
facet's Chebyshev centre (one LP) and read the pattern there.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lightning_poly._validation import check_int
from lightning_poly.geometry.faces import clean_rows, count_facets
from lightning_poly.geometry.regions import activation_patterns, region_hrep, sample_box
from lightning_poly.nn.relu_network import linear_layers
from lightning_poly.solvers.lp import LPFailure, maximize

__all__ = ["all_regions"]


def point_across_facet(a: np.ndarray, b: np.ndarray, keep: np.ndarray, i: int) -> np.ndarray | None:
    """A point just across row ``i``'s facet (rows unit norm)."""
    others = np.flatnonzero(keep & (np.arange(len(b)) != i))
    d = a.shape[1]
    c = np.zeros(d + 1)
    c[-1] = 1.0
    upper = np.full(d + 1, np.inf)
    upper[-1] = 1.0
    try:
        t, x = maximize(c, np.hstack([a[others], np.ones((len(others), 1))]), b[others],
                        a_eq=np.hstack([a[i], [0.0]])[None], b_eq=b[i : i + 1], upper=upper)  # fmt: skip
    except LPFailure:
        return None
    return x[:d] + min(t / 2, 1e-6) * a[i] if t > 0 else None


@torch.no_grad()
def all_regions(
    model: nn.Module, box: float = 1.0, seed_points: int = 1000, seed: int = 0, max_regions: int = 200_000
) -> torch.Tensor:
    """Activation patterns of every full-dimensional region of ``model`` inside ``[-box, box]^d``.

    Args:
        model: a ReLU MLP.
        box: half-width of the box.
        seed_points: uniform points that seed the search.
        seed: seed of those points.
        max_regions: stop with an error beyond this many regions.

    Returns:
        ``(R, Γ)`` bool patterns, sorted.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, -1]]))
        ...     _ = net[0].bias.copy_(torch.tensor([0.1, -0.2, 0.05, 0.3]))
        >>> len(all_regions(net, box=10.0))  # 4 lines in general position: 1 + 4 + 6 regions
        11
    """
    check_int("seed_points", seed_points, minimum=1)
    layers = linear_layers(model)
    d = layers[0].in_features
    one_layer = len(layers) == 2
    gamma = sum(lin.out_features for lin in layers[:-1])
    start = torch.unique(activation_patterns(model, sample_box(seed_points, d, box, seed)), dim=0)
    seen = {bytes(p.numpy().astype(np.uint8)) for p in start}
    frontier = list(start)
    while frontier:
        if len(seen) > max_regions:
            raise RuntimeError(f"more than `max_regions`={max_regions} regions; raise it to go on")
        batch = torch.stack(frontier)
        frontier = []
        a, b = region_hrep(model, batch, box)
        res = count_facets(a, b, "auto")
        a_n, b_n, keep, _, _ = clean_rows(a, b)
        for r in range(len(batch)):
            for i in torch.nonzero(res.facets[r, :gamma]).flatten().tolist():
                if one_layer:
                    nxt = batch[r].clone()
                    nxt[i] = ~nxt[i]
                else:
                    x = point_across_facet(a_n[r].numpy(), b_n[r].numpy(), keep[r].numpy(), i)
                    if x is None:
                        continue
                    nxt = activation_patterns(model, torch.as_tensor(x)[None])[0]
                key = bytes(nxt.numpy().astype(np.uint8))
                if key not in seen:
                    seen.add(key)
                    frontier.append(nxt)
    pats = torch.tensor(np.array([np.frombuffer(k, dtype=np.uint8) for k in seen]), dtype=torch.bool)
    return torch.unique(pats, dim=0)
