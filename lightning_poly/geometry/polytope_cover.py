r"""Polytope-basis covers (polytope-basis-covers paper, Definition 3.2, Theorems 3.4 and 3.7).

A cover is a list of convex polytopes :math:`C_i = \{x : A_i x \le b_i\}` with signs
:math:`s_i = +1` (the :math:`P`'s) or :math:`-1` (the :math:`Q`'s). It classifies a point as class 1
iff :math:`\#\{P \ni x\} - \#\{Q \ni x\} > 0`; it is a *polytope-basis cover* of labelled data when
this holds for every class-1 point and fails for every class-0 point (Definition 3.2).

Membership uses unit-norm rows and a distance tolerance ``atol`` (a point at distance ``<= atol``
outside a face counts as inside), because a network satisfying (7) within a tolerance can leave a
point a hair outside a face while :math:`T_j(x) = \lambda` to that tolerance.

Algorithms on a cover live in :mod:`lightning_poly.algorithms`: pruning and greedy dropping of
polytopes and faces (:mod:`~lightning_poly.algorithms.covers.prune`), Theorem 3.4's network
(:mod:`~lightning_poly.algorithms.covers.to_network`), face elimination with refits
(:func:`~lightning_poly.algorithms.eliminate_cover_faces`); the figure is
:func:`lightning_poly.plotting.plot_cover`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lightning_poly._io import from_json, load_plain, to_json
from lightning_poly._validation import check_finite, check_positive

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
    def stacked_faces(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All faces in one H-representation: ``(total faces, d)`` normals, ``(total faces,)`` offsets and
        the ``(total faces,)`` index of the polytope owning each face (float64 on ``device``)."""
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
        a, b, _ = self.stacked_faces(x.device)
        return x.double() @ a.T - b

    @torch.no_grad()
    def membership(self, x: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """``(n, K)`` bool: point ``i`` lies in polytope ``k`` (within ``atol``). Batched over faces."""
        self._check_x(x)
        a, b, owner = self.stacked_faces(x.device)
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
        return float((self.predict(x) == self.binary_labels(x, y)).double().mean())

    def is_cover(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        """Definition 3.2 on the data: class 1 lies in more P's than Q's, class 0 does not."""
        return bool((self.predict(x) == self.binary_labels(x, y)).all())

    def binary_labels(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(n,)`` labels ``y`` as ``{0, 1}`` on ``x``'s device (class 1: ``y > 0``), checked against ``x``."""
        if y.shape != x.shape[:1]:
            raise ValueError(f"`x` and `y` must have one entry per point, got {tuple(x.shape)} and {tuple(y.shape)}")
        return (y.to(x.device) > 0).long()

    def covered_fraction(self, x: torch.Tensor, k: int) -> float:
        """Fraction of ``x`` inside polytope ``k``."""
        return float(self.membership(x)[:, k].double().mean())

    @torch.no_grad()
    def outside_distance(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, K)`` largest face slack of each point for each polytope (``<= atol``: inside; ``-inf``: no faces)."""
        self._check_x(x)
        a, b, owner = self.stacked_faces(x.device)
        worst = torch.full((len(x), len(self)), -torch.inf, dtype=torch.float64, device=x.device)
        if len(a):
            worst = worst.scatter_reduce(1, owner.expand(len(x), -1), x.double() @ a.T - b, reduce="amax")
        return worst

    # -- persistence -------------------------------------------------------------------------
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


def check_cover(cover: Any, name: str = "cover") -> PolytopeBasisCover:
    """Return ``cover`` if it is a :class:`PolytopeBasisCover`; otherwise say what it is.

    Example:
        >>> check_cover([1])
        Traceback (most recent call last):
        ...
        TypeError: `cover` must be a PolytopeBasisCover, got list
    """
    if not isinstance(cover, PolytopeBasisCover):
        raise TypeError(f"`{name}` must be a PolytopeBasisCover, got {type(cover).__name__}")
    return cover
