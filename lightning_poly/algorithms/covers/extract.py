r"""Covers out of trained networks (polytope-basis-covers paper, Theorem 3.7 and Algorithm 3).

* :func:`extract_cover` — Theorem 3.7: when a cover network (6) satisfies (7) on the data, the sets
  :math:`C_j = \{x : T_j(x) = \lambda\} = \{x : w_{jk}^\top x + b_{jk} \le 0\ \forall \text{live } k\}`
  (all :math:`v_{jk} < 0`) form a polytope-basis cover with the network's accuracy; :math:`a_j = +1`
  pieces are the :math:`P`'s, :math:`a_j = -1` the :math:`Q`'s.
* :func:`two_layer_cover` — Algorithm 3 (Appendix C.2): any two-layer ReLU network
  :math:`N = N^+ + N^-` (convex part: :math:`v_k > 0`, concave part: :math:`v_k < 0`, each with half the
  output bias); while some point is classified differently by the cover and by :math:`N`, take the
  one with the smallest :math:`|N(x)|`, set :math:`c = \tfrac12(N^+(\hat x) - N^-(\hat x))` and add
  :math:`\{N^- > -c\}` to :math:`P` and :math:`\{N^+ < c\}` to :math:`Q`. These sets are polytopes
  (super/sub-level sets of concave/convex piecewise-linear functions) whose faces the paper leaves
  unknown; :class:`LevelSetCover` keeps them as level sets and answers membership exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lightning_poly._validation import check_finite_layers, check_int, check_points
from lightning_poly.algorithms.covers.compress import cover_condition_fraction
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.nn.cover_net import CoverNetwork
from lightning_poly.nn.relu_network import linear_layers

__all__ = ["LevelSetCover", "extract_cover", "two_layer_cover"]


@torch.no_grad()
def extract_cover(
    net: CoverNetwork, x: torch.Tensor | None = None, y: torch.Tensor | None = None, tol: float = 1e-4
) -> PolytopeBasisCover:
    """Theorem 3.7's cover of ``net``: one polytope per piece, one face per live neuron.

    With data ``x``, the membership tolerance is set so that every point with
    :math:`T_j(x) \\ge \\lambda - \\text{tol}` lies in :math:`C_j`, and ``meta`` records the fraction of
    (7) on ``x``, the agreement between the cover and the network on ``x``, and (with ``y``) both
    accuracies. Polytopes of pieces with no live neuron are the whole space (0 faces).

    Example:
        >>> from lightning_poly.algorithms.covers.compress import finalise_
        >>> net = CoverNetwork(2, pieces=2, width=5, seed=1)
        >>> x = torch.randn(300, 2)
        >>> _ = finalise_(net, x)
        >>> cover = extract_cover(net, x)
        >>> cover.meta["agreement"]
        1.0
    """
    if not isinstance(net, CoverNetwork):
        raise TypeError(f"`net` must be a CoverNetwork, got {type(net).__name__}")
    if x is not None:
        check_points("x", x, net.w.shape[2])
        if y is not None and y.shape != x.shape[:1]:
            raise ValueError(f"`y` must have one label per point of `x`, got {tuple(y.shape)} for {len(x)} points")
    w, b, mask = net.w.detach().cpu().double(), net.b.detach().cpu().double(), net.mask.cpu()
    pieces, _, d = w.shape
    a_list, b_list = [], []
    for j in range(pieces):  # J pieces (tens at most); the work inside is batched
        wj, bj = w[j, mask[j]], b[j, mask[j]]
        zero = wj.norm(dim=1) == 0
        if bool((zero & (bj > 0)).any()):  # a live constant neuron > 0: T_j < lambda everywhere, C_j empty
            e = torch.zeros(2, d, dtype=torch.float64)
            e[0, 0], e[1, 0] = 1.0, -1.0
            a_list.append(e)
            b_list.append(torch.tensor([-1.0, -1.0], dtype=torch.float64))
            continue
        a_list.append(wj[~zero])
        b_list.append(-bj[~zero])
    signs = [int(s) for s in net.a.sign().tolist()]
    atol = 1e-6
    meta: dict[str, Any] = {"algorithm": "theorem 3.7", "widths": net.live_widths(), "lam": net.lam}
    if x is not None:
        t = net.pieces_out(x.to(net.w)).cpu()
        inside = t >= net.lam - tol  # sigma(T_j) = lambda within tol: must be members of C_j
        probe = PolytopeBasisCover(a_list, b_list, signs, atol=atol)
        worst = probe.outside_distance(x.detach().cpu())[inside]
        if worst.numel():
            atol = max(atol, float(worst.max()) * (1 + 1e-9))
        meta["cover_condition_fraction"] = cover_condition_fraction(net, x.to(net.w), tol)
    cover = PolytopeBasisCover(a_list, b_list, signs, atol=atol, meta=meta)
    if x is not None:
        net_pred = (net(x.to(net.w)).squeeze(1) > 0).long().cpu()
        cover_pred = cover.predict(x.detach().cpu())
        meta["agreement"] = float((net_pred == cover_pred).double().mean())
        if y is not None:
            lab = (y.detach().cpu() > 0).long()
            meta["network_accuracy"] = float((net_pred == lab).double().mean())
            meta["cover_accuracy"] = float((cover_pred == lab).double().mean())
    return cover


@dataclass
class LevelSetCover:
    """Algorithm 3's cover: ``P_i = {N^- > -c_i}``, ``Q_i = {N^+ < c_i}`` for thresholds ``c``.

    Attributes:
        weight, bias, v, v0: the two-layer network :math:`N = v_0 + \\sum_k v_k \\sigma(w_k^\\top x + b_k)`.
        thresholds: the :math:`c_i` (one P and one Q per threshold).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    v: torch.Tensor
    v0: float
    thresholds: list[float] = field(default_factory=list)

    def halves(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N^+(x), N^-(x))``: the convex (``v > 0``) and concave (``v < 0``) parts, half the bias each."""
        h = torch.relu(x.double() @ self.weight.T + self.bias)
        pos = (h * self.v.clamp_min(0)).sum(1) + self.v0 / 2
        neg = (h * self.v.clamp_max(0)).sum(1) + self.v0 / 2
        return pos, neg

    def membership(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, 2K)`` bool: ``[P_1..P_K, Q_1..Q_K]``."""
        pos, neg = self.halves(x)
        c = torch.tensor(self.thresholds, dtype=torch.float64, device=x.device)
        return torch.cat([neg[:, None] > -c[None], pos[:, None] < c[None]], dim=1)

    def counts(self, x: torch.Tensor) -> torch.Tensor:
        m = self.membership(x).long()
        k = len(self.thresholds)
        return m[:, :k].sum(1) - m[:, k:].sum(1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return (self.counts(x) > 0).long()

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float((self.predict(x) == (y > 0).long()).double().mean())

    def __len__(self) -> int:
        return 2 * len(self.thresholds)


@torch.no_grad()
def two_layer_cover(network: nn.Module, x: torch.Tensor, max_polytopes: int = 10_000) -> LevelSetCover:
    """Algorithm 3: a cover that classifies every point of ``x`` as the two-layer ReLU ``network`` does.

    ``network`` is a ``Linear -> ReLU -> Linear(., 1)`` ReLU network (or exposes one via
    ``relu_network()``). Points with :math:`N(x) = 0` exactly have no class and are ignored. The loop
    adds one P and one Q per round; each round costs one pass over the data (tensor ops).

    Raises:
        ValueError: if the network is not two-layer with one output.
        RuntimeError: if ``max_polytopes`` is reached first (Proposition C.2 says it terminates).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> x = torch.randn(200, 2)
        >>> cover = two_layer_cover(net, x)
        >>> bool((cover.predict(x) == (net(x).squeeze(1) > 0).long()).all())
        True
    """
    check_int("max_polytopes", max_polytopes, minimum=2)
    lins = linear_layers(network)
    if len(lins) != 2 or lins[1].out_features != 1:
        raise ValueError(
            f"Algorithm 3 needs a two-layer network d -> m -> 1, got Linear widths {[l_.out_features for l_ in lins]}"
        )
    check_finite_layers("network", lins)
    first, second = lins
    check_points("x", x, first.in_features)
    weight = first.weight.detach().cpu().double()
    bias = (
        first.bias.detach().cpu().double() if first.bias is not None else torch.zeros(len(weight), dtype=torch.float64)
    )
    v0 = float(second.bias.detach()) if second.bias is not None else 0.0
    cover = LevelSetCover(weight, bias, second.weight.detach().cpu().double()[0], v0)
    xd = x.detach().cpu().double()
    pos, neg = cover.halves(xd)
    out = pos + neg
    target = out > 0
    valid = out != 0
    o = torch.zeros(len(xd), dtype=torch.long)
    while True:
        wrong = valid & ((o > 0) != target)
        if not bool(wrong.any()):
            return cover
        if len(cover) + 2 > max_polytopes:
            raise RuntimeError(
                f"Algorithm 3 reached `max_polytopes`={max_polytopes} with {int(wrong.sum())} points left"
            )
        conf = torch.where(wrong, out.abs(), torch.full_like(out, torch.inf))
        i = int(conf.argmin())
        c = 0.5 * float(pos[i] - neg[i])
        cover.thresholds.append(c)
        o += (neg > -c).long() - (pos < c).long()
