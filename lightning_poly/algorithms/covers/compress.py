r"""The compressing algorithm (polytope-basis-covers paper, Algorithm 1), vectorised over pieces.

For every piece :math:`T_j` at once, from the boolean activation matrix ``A`` (points × neurons):

1. implication test: neuron :math:`k \in K` if some other live neuron :math:`l` that activates at least
   one point satisfies "every point activating :math:`l` also activates :math:`k`" — all pairs at once as
   ``(A^T ¬A)[l, k] == 0``;
2. remove (mask) one neuron of :math:`K` with the smallest :math:`|v_k|\,\|w_k\|`;
3. scale by :math:`\lambda_\text{scale}` every live neuron that activates a point with
   :math:`T_j(x_i) > 0` (such a point has :math:`T_j(x_i) < \lambda`, since all :math:`v < 0`).

Readings chosen where the paper is ambiguous:

* Algorithm 1 writes :math:`0 < T(x_i) < 1`; Appendix C.1 says a neuron is scaled when it activates a
  point with :math:`T_j(x_i) \ne \lambda`; condition (7) asks :math:`\sigma(T_j(x_i)) \in \{0, \lambda\}` with
  :math:`\lambda = 5` in the experiments. We reconcile them as "activated and :math:`T_j(x_i) > \text{tol}`":
  an activated point has :math:`T_j < \lambda` (that is the appendix's :math:`T \ne \lambda`, and the "1"
  of Algorithm 1 is :math:`\lambda`), and :math:`0 <` excludes points already outside. The goal is the
  appendix's (9), :math:`\{T_j > 0\} \cap D = \{T_j = \lambda\} \cap D`, which implies (7) *exactly* for
  points inside (no live neuron active, so :math:`T_j = \lambda` in any arithmetic) and within ``tol``
  for points outside. A tolerance on the :math:`\lambda` side ("within tol of :math:`\lambda`") would
  accept neurons with tiny :math:`|v|` that activate a point far outside their face, and the
  geometric cover would then disagree with the network; the exact reading avoids that.
* A neuron :math:`l` that activates no point would make the implication hold vacuously for every
  :math:`k`; such dead neurons are removed first (they do not change :math:`T_j` on the data) and are not
  used as :math:`l`.

The tests compare step 1 with a per-pair loop over neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_poly._validation import check_points, check_positive
from lightning_poly.nn.cover_net import CoverNetwork

__all__ = [
    "CompressReport",
    "FinaliseReport",
    "compress_",
    "cover_condition_fraction",
    "finalise_",
    "redundant_neurons",
]


@dataclass
class CompressReport:
    """``removed``: ``(J,)`` neuron removed per piece (-1: none); ``scaled``: ``(J, m)`` neurons scaled."""

    removed: torch.Tensor
    scaled: torch.Tensor


def _check_net_x(net: CoverNetwork, x: torch.Tensor) -> None:
    if not isinstance(net, CoverNetwork):
        raise TypeError(f"`net` must be a CoverNetwork, got {type(net).__name__}")
    check_points("x", x, net.w.shape[2])


def _check_lam_scale(lam_scale: float) -> None:
    check_positive("lam_scale", lam_scale)
    if lam_scale <= 1:
        raise ValueError(f"`lam_scale` must be > 1, got {lam_scale}")


def redundant_neurons(active: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """``(J, m)`` the set ``K`` of step 1 for every piece; ``active`` is ``(J, n, m)`` bool.

    Args:
        active: ``(J, n, m)`` bool, which points activate each neuron of each piece.
        live: ``(J, m)`` bool, the neurons not removed (the mask).

    Example:
        >>> act = torch.tensor([[[True, True], [False, True]]])  # neuron 0's points also activate 1
        >>> redundant_neurons(act, torch.ones(1, 2, dtype=torch.bool)).tolist()
        [[False, True]]
    """
    if active.dtype != torch.bool or live.dtype != torch.bool:
        raise ValueError(f"`active` and `live` must be bool tensors, got {active.dtype} and {live.dtype}")
    if active.ndim != 3 or live.shape != (active.shape[0], active.shape[2]):
        raise ValueError(
            f"expected `active` (J, n, m) and `live` (J, m), got {tuple(active.shape)} and {tuple(live.shape)}"
        )
    a = (active & live[:, None, :]).float()
    counter = torch.einsum("jil,jik->jlk", a, 1 - a)  # points activating l but not k
    implies = counter == 0
    m = live.shape[1]
    valid_l = live & (a.sum(dim=1) > 0)  # l must be live and active somewhere
    implies &= valid_l[:, :, None] & live[:, None, :] & ~torch.eye(m, dtype=torch.bool, device=live.device)
    return implies.any(dim=1)


@torch.no_grad()
def cover_condition_fraction(net: CoverNetwork, x: torch.Tensor, tol: float = 1e-3) -> float:
    """Fraction of (point, piece) pairs meeting (7) in the form (9) (module docstring): the point activates
    no live neuron of the piece (:math:`T_j = \\lambda` exactly), or :math:`T_j(x_i) \\le` ``tol``.

    Args:
        net: the cover network.
        x: ``(n, d)`` training inputs.
        tol: tolerance of (9) on :math:`T_j`.
    """
    _check_net_x(net, x)
    return _condition_fraction(net, x, tol)


def _condition_fraction(net: CoverNetwork, x: torch.Tensor, tol: float) -> float:
    """:func:`cover_condition_fraction` on checked input (the finalising loop checks ``x`` once, not each round:
    a finiteness scan of 70,000 × 784 pixels costs more than the round)."""
    if len(x) == 0:
        return 1.0
    z = torch.einsum("nd,jmd->njm", x.to(net.w), net.w) + net.b
    active = ((z > 0) & net.mask).any(dim=2)
    ok = ~active | (net.pieces_out(x) <= tol)
    return float(ok.float().mean())


@torch.no_grad()
def compress_(
    net: CoverNetwork, x: torch.Tensor, lam_scale: float = 2.0, tol: float = 1e-3, remove: bool = True
) -> CompressReport:
    """One call of Algorithm 1 on every piece of ``net`` in place (masks and ``copy_``; shapes unchanged).

    ``remove=False`` skips Part 1 (the removal of a redundant neuron); dead neurons are still removed.

    Args:
        net: the cover network (changed in place).
        x: ``(n, d)`` training inputs.
        lam_scale: :math:`\\lambda_\\text{scale} > 1` of Algorithm 1.
        tol: tolerance of (9) on :math:`T_j`.
        remove: run Part 1, the removal of a redundant neuron.
    """
    _check_lam_scale(lam_scale)
    _check_net_x(net, x)
    return _compress(net, x, lam_scale, tol, remove)


def _compress(net: CoverNetwork, x: torch.Tensor, lam_scale: float, tol: float, remove: bool) -> CompressReport:
    """:func:`compress_` on checked input."""
    z = torch.einsum("nd,jmd->jnm", x.to(net.w), net.w) + net.b[:, None, :]
    active = (z > 0) & net.mask[:, None, :]
    live = net.mask.clone()
    pieces, m = live.shape
    dead = live & ~active.any(dim=1)
    score = net.v.abs() * net.w.norm(dim=2)
    cand = (redundant_neurons(active, live) if remove else torch.zeros_like(live)) | dead
    # dead neurons first (score -1), then the smallest |v| ||w|| in K
    score = torch.where(dead, torch.full_like(score, -1.0), score)
    score = torch.where(cand, score, torch.full_like(score, float("inf")))
    best = score.argmin(dim=1)
    has = cand.any(dim=1)
    removed = torch.where(has, best, torch.full_like(best, -1))
    net.mask[torch.arange(pieces, device=live.device)[has], best[has]] = False
    # step 3 with the updated network
    t = net.pieces_out(x)  # (n, J)
    bad = t > tol  # (n, J): with an active neuron below, these points violate (9)
    act_now = active & net.mask[:, None, :]
    scaled = (act_now & bad.T[:, :, None]).any(dim=1) & net.mask  # (J, m)
    factor = torch.where(scaled, lam_scale, 1.0).to(net.w)
    net.w.mul_(factor[..., None])
    net.b.mul_(factor)
    net.v.mul_(factor)
    return CompressReport(removed, scaled)


@dataclass
class FinaliseReport:
    """Outcome of :func:`finalise_`.

    Attributes:
        rounds: calls of Algorithm 1 made. converged: condition (7) holds on every point and piece.
        fraction: fraction of (point, piece) pairs meeting (7) at the end. removed: neurons masked.
        reason: ``"condition (7) holds"``, ``"round bound hit"`` or ``"sign lost"`` (some live
        :math:`v_{jk} \\ge 0`, so :math:`T_j` can exceed :math:`\\lambda` and (7) cannot be reached by
        compression alone).
    """

    rounds: int
    converged: bool
    fraction: float
    removed: int
    reason: str


@torch.no_grad()
def finalise_(
    net: CoverNetwork,
    x: torch.Tensor,
    lam_scale: float = 2.0,
    tol: float = 1e-4,
    max_rounds: int = 200,
    remove: bool = True,
) -> FinaliseReport:
    """The finalising loop at the end of Algorithm 2: repeat Algorithm 1 until (7) holds or ``max_rounds``.

    Condition (7) is checked with tolerance ``tol`` on :math:`\\sigma(T_j(x_i))` (values within ``tol`` of 0 or
    :math:`\\lambda` count as meeting it; float32 arithmetic near :math:`\\lambda = 5` is exact to ~1e-6).
    Algorithm 2 writes "0 < T_j(x_i) < 1" and "σ(T_j) is 0 or 1"; we read 1 as :math:`\\lambda`, as in
    :func:`compress_`. ``remove=False`` repeats only Part 2 (scaling; dead neurons still go): the
    literal loop also removes one redundant neuron per round with no gradient steps in between, which
    can remove neurons the fit needs; scaling alone is what reaches (7), so the termination argument
    of Proposition C.2 still applies. The report says which of the three endings happened; it never
    claims (7) silently.

    Args:
        net: the cover network (changed in place).
        x: ``(n, d)`` training inputs.
        lam_scale: :math:`\\lambda_\\text{scale} > 1` of Algorithm 1.
        tol: tolerance of (9) on :math:`T_j`.
        max_rounds: most rounds of Algorithm 1.
        remove: also remove redundant neurons (Part 1) in each round.

    Example:
        >>> net = CoverNetwork(2, pieces=2, width=6, seed=0)
        >>> rep = finalise_(net, torch.randn(200, 2))
        >>> rep.converged, rep.reason
        (True, 'condition (7) holds')
    """
    if max_rounds < 0:
        raise ValueError(f"`max_rounds` must be >= 0, got {max_rounds}")
    _check_lam_scale(lam_scale)
    _check_net_x(net, x)
    before = int(net.mask.sum())
    rounds = 0
    while True:
        frac = _condition_fraction(net, x, tol)
        if frac == 1.0:
            return FinaliseReport(rounds, True, frac, before - int(net.mask.sum()), "condition (7) holds")
        if bool(net.sign_lost().any()):
            return FinaliseReport(rounds, False, frac, before - int(net.mask.sum()), "sign lost")
        if rounds >= max_rounds:
            return FinaliseReport(rounds, False, frac, before - int(net.mask.sum()), "round bound hit")
        _compress(net, x, lam_scale, tol, remove)
        rounds += 1
