r"""The compressing algorithm (polytope-basis-covers paper, Algorithm 1), vectorised over pieces.

For every piece :math:`T_j` at once, from the boolean activation matrix ``A`` (points × neurons):

1. implication test: neuron :math:`k \in K` if some other live neuron :math:`l` that activates at least
   one point satisfies "every point activating :math:`l` also activates :math:`k`" — all pairs at once as
   ``(A^T ¬A)[l, k] == 0``;
2. remove (mask) one neuron of :math:`K` with the smallest :math:`|v_k|\,\|w_k\|`;
3. scale by :math:`\lambda_\text{scale}` every live neuron that activates a point with
   :math:`0 < T_j(x_i) < \lambda`.

Readings chosen where the paper is ambiguous:

* Algorithm 1 writes :math:`0 < T(x_i) < 1`, while condition (7) asks :math:`\sigma(T_j(x_i)) \in \{0, \lambda\}`
  with :math:`\lambda = 5` in the experiments. We use :math:`0 < T < \lambda` (with tolerance ``tol``):
  those are exactly the points that violate (7), so repeating the step until none is left is what
  Proposition C.2's iteration needs; with :math:`\lambda = 1` both readings agree.
* A neuron :math:`l` that activates no point would make the implication hold vacuously for every
  :math:`k`; such dead neurons are removed first (they do not change :math:`T_j` on the data) and are not
  used as :math:`l`.

The tests compare step 1 with a per-pair loop over neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_poly._validation import check_positive
from lightning_poly.nn.cover_net import CoverNetwork

__all__ = ["CompressReport", "compress_", "condition7_fraction", "redundant_neurons"]


@dataclass
class CompressReport:
    """``removed``: ``(J,)`` neuron removed per piece (-1: none); ``scaled``: ``(J, m)`` neurons scaled."""

    removed: torch.Tensor
    scaled: torch.Tensor


def redundant_neurons(active: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """``(J, m)`` the set ``K`` of step 1 for every piece; ``active`` is ``(J, n, m)`` bool.

    Example:
        >>> act = torch.tensor([[[True, True], [False, True]]])  # neuron 0's points also activate 1
        >>> redundant_neurons(act, torch.ones(1, 2, dtype=torch.bool)).tolist()
        [[False, True]]
    """
    a = (active & live[:, None, :]).float()
    counter = torch.einsum("jil,jik->jlk", a, 1 - a)  # points activating l but not k
    implies = counter == 0
    m = live.shape[1]
    valid_l = live & (a.sum(dim=1) > 0)  # l must be live and active somewhere
    implies &= valid_l[:, :, None] & live[:, None, :] & ~torch.eye(m, dtype=torch.bool, device=live.device)
    return implies.any(dim=1)


@torch.no_grad()
def condition7_fraction(net: CoverNetwork, x: torch.Tensor, tol: float = 1e-3) -> float:
    """Fraction of (point, piece) pairs meeting (7): :math:`\\sigma(T_j(x_i)) \\in \\{0, \\lambda\\}` within ``tol``."""
    t = torch.relu(net.pieces_out(x))
    ok = (t <= tol) | ((t - net.lam).abs() <= tol)
    return float(ok.float().mean())


@torch.no_grad()
def compress_(net: CoverNetwork, x: torch.Tensor, lam_scale: float = 2.0, tol: float = 1e-3) -> CompressReport:
    """One call of Algorithm 1 on every piece of ``net`` in place (masks and ``copy_``; shapes unchanged)."""
    check_positive("lam_scale", lam_scale)
    if lam_scale <= 1:
        raise ValueError(f"`lam_scale` must be > 1, got {lam_scale}")
    z = torch.einsum("nd,jmd->jnm", x.to(net.w), net.w) + net.b[:, None, :]
    active = (z > 0) & net.mask[:, None, :]
    live = net.mask.clone()
    pieces, m = live.shape
    dead = live & ~active.any(dim=1)
    score = net.v.abs() * net.w.norm(dim=2)
    cand = redundant_neurons(active, live) | dead
    # dead neurons first (score -1), then the smallest |v| ||w|| in K
    score = torch.where(dead, torch.full_like(score, -1.0), score)
    score = torch.where(cand, score, torch.full_like(score, float("inf")))
    best = score.argmin(dim=1)
    has = cand.any(dim=1)
    removed = torch.where(has, best, torch.full_like(best, -1))
    net.mask[torch.arange(pieces, device=live.device)[has], best[has]] = False
    # step 3 with the updated network
    t = net.pieces_out(x)  # (n, J)
    bad = (t > tol) & (t < net.lam - tol)  # (n, J): points violating (7)
    act_now = active & net.mask[:, None, :]
    scaled = (act_now & bad.T[:, :, None]).any(dim=1) & net.mask  # (J, m)
    factor = torch.where(scaled, lam_scale, 1.0).to(net.w)
    net.w.mul_(factor[..., None])
    net.b.mul_(factor)
    net.v.mul_(factor)
    return CompressReport(removed, scaled)
