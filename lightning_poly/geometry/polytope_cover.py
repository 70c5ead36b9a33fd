r"""Polytope-basis covers (polytope-basis-covers paper, Definition 3.2, Theorems 3.4 and 3.7).

A cover is a list of convex polytopes :math:`C_i = \{x : A_i x \le b_i\}` with signs
:math:`s_i = +1` (the :math:`P`'s) or :math:`-1` (the :math:`Q`'s). It classifies a point as class 1
iff :math:`\#\{P \ni x\} - \#\{Q \ni x\} > 0`; it is a *polytope-basis cover* of labelled data when
this holds for every class-1 point and fails for every class-0 point (Definition 3.2).

Membership uses unit-norm rows and a distance tolerance ``atol`` (a point at distance ``<= atol``
outside a face counts as inside), because a network satisfying (7) within a tolerance can leave a
point a hair outside a face while :math:`T_j(x) = \lambda` to that tolerance.

:meth:`PolytopeBasisCover.to_network` is Theorem 3.4's construction (proof in Appendix E.2 via
Proposition 3.1): one first-layer neuron per face, one second-layer neuron per polytope,

.. math:: T_i(x) = 1 - M \sum_{k \in C_i} \sigma(a_k^\top x - b_k - \text{atol}),\qquad
          N(x) = -\tfrac12 + \sum_i s_i\,\sigma(T_i(x)),

so :math:`\sigma(T_i) = 1` on :math:`C_i` and :math:`0` at distance :math:`\ge 1/M` outside it. The
indicator is discontinuous and no continuous network equals it everywhere; our reading of
"feasible" is the paper's: exact outside an :math:`\varepsilon`-band, and we choose :math:`M` from
the data so the band contains none of the given points (then ``to_network`` classifies every given
point exactly as the cover does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightning_poly._io import from_json, load_plain, to_json
from lightning_poly._validation import check_finite, check_fraction, check_positive

__all__ = ["PolytopeBasisCover"]


@dataclass
class PolytopeBasisCover:
    """Polytopes ``{x : A_i x <= b_i}`` with signs ``+1`` (P) / ``-1`` (Q).

    Args:
        a: list of ``(m_i, d)`` face normals (rows are normalised to unit length on construction).
        b: list of ``(m_i,)`` offsets.
        signs: ``+1`` / ``-1`` per polytope.
        atol: membership tolerance (a distance).
        meta: free-form provenance (algorithm, network widths, ...), saved with the cover.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> cover = PolytopeBasisCover([sq], [torch.ones(4)], [1])
        >>> cover.predict(torch.tensor([[0.0, 0.0], [2.0, 0.0]])).tolist()
        [1, 0]
        >>> cover.architecture()
        (2, 4, 1, 1)
    """

    a: list[torch.Tensor]
    b: list[torch.Tensor]
    signs: list[int]
    atol: float = 1e-6
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.a) == len(self.b) == len(self.signs)):
            raise ValueError(
                f"`a`, `b` and `signs` must have one entry per polytope, got {len(self.a)}, {len(self.b)}, {len(self.signs)}"
            )
        if any(s not in (-1, 1) for s in self.signs):
            raise ValueError(f"`signs` must be +1 (P) or -1 (Q), got {list(self.signs)}")
        check_positive("atol", self.atol, strict=False)
        dims = {int(a.shape[1]) for a in self.a if a.ndim == 2}
        if len(dims) > 1 or any(a.ndim != 2 or bb.shape != a.shape[:1] for a, bb in zip(self.a, self.b)):
            raise ValueError(
                "every `a[i]` must be (m_i, d) with one d and `b[i]` (m_i,), got "
                f"{[tuple(a.shape) for a in self.a]} and {[tuple(bb.shape) for bb in self.b]}"
            )
        a_new, b_new = [], []
        for i, (a, bb) in enumerate(zip(self.a, self.b)):
            a, bb = a.detach().cpu().double(), bb.detach().cpu().double()
            if not (torch.isfinite(a).all() and torch.isfinite(bb).all()):
                raise ValueError(f"`a` and `b` (the cover's faces) must be finite, got NaN/inf in polytope {i}")
            norm = a.norm(dim=1)
            if bool((norm == 0).any()):
                raise ValueError(
                    f"`a` must have non-zero rows: a face normal is zero in polytope {i}; drop dead neurons before "
                    "building a cover"
                )
            a_new.append(a / norm[:, None])
            b_new.append(bb / norm)
        self.a, self.b = a_new, b_new
        self.signs = [int(s) for s in self.signs]
        self._dim = dims.pop() if dims else None

    # -- structure ------------------------------------------------------------------------------
    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def faces(self) -> list[int]:
        """Number of faces (inequalities) of each polytope."""
        return [int(a.shape[0]) for a in self.a]

    @property
    def n_positive(self) -> int:
        return sum(1 for s in self.signs if s > 0)

    def __len__(self) -> int:
        return len(self.a)

    def architecture(self) -> tuple[int, int, int, int]:
        """Theorem 3.4's feasible architecture ``(d, total faces, polytopes, 1)``."""
        return (int(self._dim or 0), sum(self.faces), len(self), 1)

    def describe(self) -> str:
        """Faces per polytope in the paper's notation, e.g. ``"9+3"`` (P's first), ``"-"`` for none."""
        pos = [str(f) for f, s in zip(self.faces, self.signs) if s > 0]
        neg = [str(f) for f, s in zip(self.faces, self.signs) if s < 0]
        return "+".join(pos) + ("" if not neg else " - " + "-".join(neg)) if pos or neg else "-"

    # -- membership and classification ----------------------------------------------------------
    def _stacked(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not self.a:
            return torch.zeros(0, 0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64), torch.zeros(0)
        a = torch.cat(self.a).to(device)
        b = torch.cat(self.b).to(device)
        owner = torch.repeat_interleave(
            torch.arange(len(self.a), device=device), torch.tensor(self.faces, device=device)
        )
        return a, b, owner

    @torch.no_grad()
    def slack(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, total faces)`` signed distances :math:`a_k^\\top x - b_k` (positive: outside that face)."""
        self._check_x(x)
        a, b, _ = self._stacked(x.device)
        return x.double() @ a.T - b

    @torch.no_grad()
    def membership(self, x: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """``(n, K)`` bool: point ``i`` lies in polytope ``k`` (within ``atol``). Batched over faces."""
        self._check_x(x)
        a, b, owner = self._stacked(x.device)
        out = []
        for xs in x.split(chunk):
            viol = ((xs.double() @ a.T - b) > self.atol).double() if len(a) else torch.zeros(len(xs), 0)
            hits = torch.zeros(len(xs), len(self), dtype=torch.float64, device=x.device)
            if len(a):
                hits.index_add_(1, owner, viol)
            out.append(hits == 0)
        return torch.cat(out) if out else torch.zeros(0, len(self), dtype=torch.bool)

    def counts(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,)`` :math:`\\#\\{P \\ni x\\} - \\#\\{Q \\ni x\\}`."""
        s = torch.tensor(self.signs, dtype=torch.long, device=x.device)
        return (self.membership(x).long() * s).sum(dim=1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,)`` class 1 where the count is positive (Definition 3.2)."""
        return (self.counts(x) > 0).long()

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of points classified as labelled (``y`` in ``{0, 1}`` or ``{-1, +1}``)."""
        return float((self.predict(x) == self._targets(x, y)).double().mean())

    def is_cover(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        """Definition 3.2 on the data: class 1 lies in more P's than Q's, class 0 does not."""
        return bool((self.predict(x) == self._targets(x, y)).all())

    def _targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y.shape != x.shape[:1]:
            raise ValueError(f"`x` and `y` must have one entry per point, got {tuple(x.shape)} and {tuple(y.shape)}")
        return (y.to(x.device) > 0).long()

    def covered_fraction(self, x: torch.Tensor, k: int) -> float:
        """Fraction of ``x`` inside polytope ``k``."""
        return float(self.membership(x)[:, k].double().mean())

    # -- faces -----------------------------------------------------------------------------------
    def nonredundant_faces(self, lo: torch.Tensor, hi: torch.Tensor) -> list[int]:
        """Faces of each polytope that are facets of ``C_i ∩ box[lo, hi]`` (box rows not counted).

        Uses :func:`lightning_poly.geometry.count_facets` (the face-histogram facet machinery);
        polytopes with an empty interior in the box report 0.
        """
        from lightning_poly.geometry.facets import count_facets

        return [int(m.sum()) for m in self._facet_masks(lo, hi, count_facets)]

    def _facet_masks(self, lo: torch.Tensor, hi: torch.Tensor, count_facets: Any) -> list[torch.Tensor]:
        d = int(self._dim or 0)
        lo, hi = lo.double().cpu().reshape(d), hi.double().cpu().reshape(d)
        eye = torch.eye(d, dtype=torch.float64)
        box_a, box_b = torch.cat([eye, -eye]), torch.cat([hi, -lo])
        masks = []
        for a, b in zip(self.a, self.b):
            if len(a) == 0:
                masks.append(torch.zeros(0, dtype=torch.bool))
                continue
            res = count_facets(torch.cat([a, box_a]), torch.cat([b, box_b]))
            masks.append(res.facets[0, : len(a)] & res.ok[0])
        return masks

    def prune(
        self, x: torch.Tensor, faces: bool = True, margin: float = 0.05, data_redundant: bool = True
    ) -> PolytopeBasisCover:
        """A smaller cover that classifies every point of ``x`` identically.

        Three steps, each keeping every prediction on ``x``:

        1. drop polytopes that contain no point of ``x`` (they change no count on ``x``);
        2. with ``faces``, drop faces that are redundant inside the bounding box of ``x`` widened by
           ``margin`` (relative): exact LPs, each polytope unchanged on the box;
        3. with ``data_redundant``, Algorithm 1's redundancy test lifted from neurons to the cover: drop
           polytopes, then faces, whose removal changes the classification of no point of ``x``
           (:meth:`drop_polytopes`, then :meth:`drop_faces` against the cover's own predictions at
           accuracy 1). Algorithm 1 removes a neuron only when every point activating it activates
           another one; on the cover that is "no prediction changes", tested here for every face at
           once instead of only for pairs of neurons of one piece.

        Example:
            >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
            >>> square = PolytopeBasisCover([a], [torch.ones(4)], [1])
            >>> x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])  # only x = +-2 is cut
            >>> square.prune(x).faces
            [2]
        """
        keep = self.membership(x).any(dim=0).tolist()
        a = [ai for ai, k in zip(self.a, keep) if k]
        b = [bi for bi, k in zip(self.b, keep) if k]
        s = [si for si, k in zip(self.signs, keep) if k]
        out = PolytopeBasisCover(a, b, s, self.atol, {**self.meta, "pruned": True})
        if faces and len(out):
            from lightning_poly.geometry.facets import count_facets

            lo, hi = x.min(dim=0).values.double(), x.max(dim=0).values.double()
            pad = (hi - lo).clamp_min(1e-6) * margin
            masks = out._facet_masks(lo - pad, hi + pad, count_facets)
            trial = PolytopeBasisCover(
                [ai[m] for ai, m in zip(out.a, masks)],
                [bi[m] for bi, m in zip(out.b, masks)],
                out.signs,
                self.atol,
                out.meta,
            )
            if bool((trial.predict(x) == out.predict(x)).all()):
                out = trial
        if data_redundant and len(out):
            own = out.predict(x)
            out = out.drop_polytopes(x, own, 1.0).drop_faces(x, own, 1.0)
            out.meta = {**self.meta, "pruned": True}
        if not bool((out.predict(x) == self.predict(x)).all()):  # pragma: no cover - guarded invariant
            raise RuntimeError("pruning changed the classification of a point; please report this")
        return out

    @torch.no_grad()
    def drop_polytopes(self, x: torch.Tensor, y: torch.Tensor, min_accuracy: float) -> PolytopeBasisCover:
        """Greedily drop whole polytopes while the accuracy on ``(x, y)`` stays at least ``min_accuracy``.

        Each round scores the removal of every polytope at once from the membership matrix and drops
        the one leaving the highest accuracy (ties: the one with most faces). ``meta["dropped_polytopes"]``
        counts them.

        Example:
            >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
            >>> twice = PolytopeBasisCover([sq, sq, sq], [torch.ones(4), torch.ones(4), torch.ones(4)], [1, 1, -1])
            >>> x = torch.rand(100, 2) * 4 - 2
            >>> len(twice.drop_polytopes(x, twice.predict(x), 1.0))  # the Q and one of the two P's are not needed
            1
        """
        check_fraction("min_accuracy", min_accuracy, closed_right=True)
        target = (y.to(x.device) > 0).long()
        if len(target) != len(x):
            raise ValueError(f"`x` and `y` must have one entry per point, got {len(x)} and {len(target)}")
        member = self.membership(x).long()
        signs = torch.tensor(self.signs, dtype=torch.long, device=x.device)
        faces = torch.tensor(self.faces, dtype=torch.float64, device=x.device)
        keep = torch.ones(len(self), dtype=torch.bool, device=x.device)
        while int(keep.sum()) > 1:
            counts = (member * signs * keep).sum(1)
            new_counts = counts[:, None] - member * signs  # column k: the counts without polytope k
            correct = ((new_counts > 0).long() == target[:, None]).sum(0).double()
            score = torch.where(keep, correct + faces / (faces.sum() + 1), torch.full_like(correct, -1.0))
            k = int(score.argmax())
            if not bool(keep[k]) or float(correct[k]) < min_accuracy * len(x):
                break
            keep[k] = False
        idx = keep.nonzero().flatten().tolist()
        return PolytopeBasisCover(
            [self.a[i] for i in idx], [self.b[i] for i in idx], [self.signs[i] for i in idx], self.atol,
            {**self.meta, "dropped_polytopes": len(self) - len(idx)},
        )  # fmt: skip

    # -- Theorem 3.4 ------------------------------------------------------------------------------
    @torch.no_grad()
    def drop_faces(self, x: torch.Tensor, y: torch.Tensor, min_accuracy: float) -> PolytopeBasisCover:
        """Greedily drop faces while the accuracy on ``(x, y)`` stays at least ``min_accuracy``.

        Algorithm 1 removes neuron ``l`` when every point that activates it activates another one (its
        removal changes no classification); in high dimension that almost never happens. This relaxes
        it: each round drops the face whose removal leaves the highest accuracy (every face of every
        polytope scored at once from the per-point violation counts), and stops when the next drop
        would fall below ``min_accuracy``. Each polytope keeps at least one face. ``meta["dropped"]``
        counts the faces removed.

        Example:
            >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1.0]])
            >>> square = PolytopeBasisCover([a], [torch.tensor([1.0, 1.0, 1.0, 1.0, 5.0])], [1])
            >>> x = torch.rand(400, 2) * 4 - 2
            >>> square.drop_faces(x, square.predict(x), 1.0).faces  # x + y <= 5 cuts nothing
            [4]
        """
        check_fraction("min_accuracy", min_accuracy, closed_right=True)
        self._check_x(x)
        target = (y.to(x.device) > 0).long()
        if len(target) != len(x):
            raise ValueError(f"`x` and `y` must have one entry per point, got {len(x)} and {len(target)}")
        keep = [torch.ones(f, dtype=torch.bool) for f in self.faces]
        signs = torch.tensor(self.signs, dtype=torch.long, device=x.device)
        viol = [(x.double() @ a.to(x.device).T - b.to(x.device)) > self.atol for a, b in zip(self.a, self.b)]
        while True:
            member = torch.stack([~(v & k.to(x.device)).any(1) for v, k in zip(viol, keep)], 1)
            counts = (member.long() * signs).sum(1)
            best: tuple[int, int, int] | None = None  # (correct, polytope, face)
            for i, (v, k) in enumerate(zip(viol, keep)):  # polytopes (a handful); faces batched
                if int(k.sum()) <= 1:
                    continue
                live = v & k.to(x.device)
                gains = (live.sum(1, keepdim=True) == 1) & live  # point i enters polytope if face f goes
                new_counts = counts[:, None] + gains.long() * signs[i]
                correct = ((new_counts > 0).long() == target[:, None]).sum(0)
                correct[~k.to(x.device)] = -1
                f = int(correct.argmax())
                if best is None or int(correct[f]) > best[0]:
                    best = (int(correct[f]), i, f)
            if best is None or best[0] < min_accuracy * len(x):
                break
            keep[best[1]][best[2]] = False
        dropped = sum(int((~k).sum()) for k in keep)
        return PolytopeBasisCover(
            [a[k] for a, k in zip(self.a, keep)], [b[k] for b, k in zip(self.b, keep)], self.signs, self.atol,
            {**self.meta, "dropped": dropped},
        )  # fmt: skip

    @torch.no_grad()
    def outside_distance(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, K)`` largest face slack of each point for each polytope (``<= atol``: inside; ``-inf``: no faces)."""
        self._check_x(x)
        a, b, owner = self._stacked(x.device)
        worst = torch.full((len(x), len(self)), -torch.inf, dtype=torch.float64, device=x.device)
        if len(a):
            worst = worst.scatter_reduce(1, owner.expand(len(x), -1), x.double() @ a.T - b, reduce="amax")
        return worst

    @torch.no_grad()
    def steepness(self, x: torch.Tensor | None = None, resolution: float = 1e-3) -> float:
        """The constant :math:`M` of :meth:`to_network`: ``2 / resolution``, or smaller gaps found in ``x``
        (the smallest distance beyond ``atol`` of a point outside a polytope), so no point of ``x`` is in a band."""
        check_positive("resolution", resolution)
        if x is None or not len(self):
            return 2.0 / resolution
        s = self.outside_distance(x) - self.atol
        outside = s[s > 0]
        gap = float(outside.min()) if len(outside) else resolution
        return 2.0 / min(gap, resolution)

    @torch.no_grad()
    def to_network(self, x: torch.Tensor | None = None, resolution: float = 1e-3) -> nn.Sequential:
        """Theorem 3.4's network ``d -> total faces -> polytopes -> 1`` built from the cover alone.

        ``N(x) > 0`` exactly where the cover says class 1, for every point at distance ``>= resolution``
        outside each polytope it is not in, and for every point of ``x`` when ``x`` is given. The network
        is float64 (the steepness :math:`M` can be large); ``.float()`` it for speed when the gaps allow.

        Example:
            >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
            >>> net = PolytopeBasisCover([sq], [torch.ones(4)], [1]).to_network()
            >>> (net(torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)) > 0).flatten().tolist()
            [True, False]
        """
        if not len(self):
            raise ValueError("the cover has no polytopes; there is no network to build")
        a, b, owner = self._stacked(torch.device("cpu"))
        m_total, k = len(a), len(self)
        big = self.steepness(None if x is None else x.detach().cpu(), resolution)
        h = max(m_total, 1)
        net = nn.Sequential(nn.Linear(self._dim, h), nn.ReLU(), nn.Linear(h, k), nn.ReLU(), nn.Linear(k, 1)).double()
        net[0].weight.zero_()
        net[0].bias.zero_()
        net[2].weight.zero_()
        if m_total:
            net[0].weight[:m_total] = a
            net[0].bias[:m_total] = -b - self.atol
            net[2].weight[owner, torch.arange(m_total)] = -big
        net[2].bias.fill_(1.0)
        net[4].weight[0] = torch.tensor(self.signs, dtype=torch.float64)
        net[4].bias.fill_(-0.5)
        return net

    # -- persistence and plots ------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Tensors and plain values only (``meta`` as a JSON string): see :mod:`lightning_poly._io`."""
        return {
            "a": self.a,
            "b": self.b,
            "signs": list(self.signs),
            "atol": float(self.atol),
            "meta": to_json(self.meta),
        }

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state` with ``torch.save``; :meth:`load` reads it without unpickling objects."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state(), path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> PolytopeBasisCover:
        """Read what :meth:`save` wrote (``weights_only``: a file holding pickled objects is refused)."""
        s = load_plain(path, "cover", {"a", "b", "signs", "atol"})
        meta = s.get("meta", "{}")
        return cls(s["a"], s["b"], s["signs"], s["atol"], from_json(meta) if isinstance(meta, str) else meta)

    def plot(self, x: torch.Tensor, y: torch.Tensor, title: str = "", max_panels: int = 8) -> Any:
        """Paper Figures 4 and 10 for 2-D data: see :func:`lightning_poly.plotting.plot_cover`."""
        from lightning_poly.plotting import plot_cover

        return plot_cover(self, x, y, title=title, max_panels=max_panels)

    @classmethod
    def concat(cls, covers: Sequence[PolytopeBasisCover], meta: dict[str, Any] | None = None) -> PolytopeBasisCover:
        """All polytopes of several covers in one (counts add)."""
        a = [ai for c in covers for ai in c.a]
        b = [bi for c in covers for bi in c.b]
        s = [si for c in covers for si in c.signs]
        atol = max((c.atol for c in covers), default=1e-6)
        return cls(a, b, s, atol, meta or {})

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or (self._dim is not None and x.shape[1] != self._dim):
            raise ValueError(f"`x` must be (n, {self._dim}), got {tuple(x.shape)}")
        check_finite("x", x)
