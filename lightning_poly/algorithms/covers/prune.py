r"""Smaller polytope-basis covers that keep their classification (polytope-basis-covers paper, Algorithm 1).

Algorithm 1 removes a neuron when every point that activates it activates another one, i.e. when
its removal changes no classification. On a cover (Definition 3.2) a neuron of the first layer is a
face and a neuron of the second layer a polytope (Theorem 3.4), so the test lifts to the cover:

* :func:`prune_cover` keeps every prediction on the data: it drops polytopes holding no point, faces
  redundant inside the data's bounding box (exact LPs through
  :func:`~lightning_poly.geometry.count_facets`), then every polytope and face whose removal changes
  no prediction;
* :func:`drop_cover_polytopes` and :func:`drop_cover_faces` relax "changes no prediction" to "keeps
  the accuracy at least ``min_accuracy``" and drop greedily, every candidate scored at once;
* :func:`nonredundant_cover_faces` counts the faces of each polytope that are facets inside a box.
"""

from __future__ import annotations

import torch

from lightning_poly._validation import check_fraction, check_points, check_positive
from lightning_poly.geometry.faces import count_facets
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover, check_cover

__all__ = ["drop_cover_faces", "drop_cover_polytopes", "nonredundant_cover_faces", "prune_cover"]


def _data_box(x: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The bounding box of ``x`` widened by ``margin`` (relative to its side lengths)."""
    lo, hi = x.min(dim=0).values.double(), x.max(dim=0).values.double()
    pad = (hi - lo).clamp_min(1e-6) * margin
    return lo - pad, hi + pad


def _facet_masks(cover: PolytopeBasisCover, lo: torch.Tensor, hi: torch.Tensor) -> list[torch.Tensor]:
    """Per polytope, which of its faces are facets of :math:`C_i \\cap [lo, hi]` (box rows not counted)."""
    d = int(cover.dim or 0)
    lo, hi = lo.double().cpu().reshape(d), hi.double().cpu().reshape(d)
    eye = torch.eye(d, dtype=torch.float64)
    box_a, box_b = torch.cat([eye, -eye]), torch.cat([hi, -lo])
    masks = []
    for a, b in zip(cover.a, cover.b):
        if len(a) == 0:
            masks.append(torch.zeros(0, dtype=torch.bool))
            continue
        res = count_facets(torch.cat([a, box_a]), torch.cat([b, box_b]))
        masks.append(res.facets[0, : len(a)] & res.ok[0])
    return masks


def nonredundant_cover_faces(cover: PolytopeBasisCover, x: torch.Tensor, margin: float = 0.05) -> list[int]:
    """Faces of each polytope that are facets of :math:`C_i \\cap B`, with :math:`B` the bounding box of ``x``
    widened by ``margin`` (box rows not counted).

    Exact: :func:`~lightning_poly.geometry.count_facets` (one LP system per polytope); polytopes with an
    empty interior in the box report 0.

    Args:
        cover: the cover.
        x: ``(n, d)`` points spanning the box.
        margin: widening of the box, relative to its side lengths.

    Returns:
        One count per polytope.

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1.0]])
        >>> square = PolytopeBasisCover([a], [torch.tensor([1.0, 1.0, 1.0, 1.0, 5.0])], [1])
        >>> nonredundant_cover_faces(square, torch.tensor([[-2.0, -2.0], [2.0, 2.0]]))  # x + y <= 5 is not a facet
        [4]
    """
    check_cover(cover)
    check_positive("margin", margin, strict=False)
    check_points("x", x, cover.dim)
    if not len(x):
        raise ValueError("`x` must hold at least one point to span the box, got none")
    return [int(m.sum()) for m in _facet_masks(cover, *_data_box(x, margin))]


def prune_cover(
    cover: PolytopeBasisCover, x: torch.Tensor, faces: bool = True, margin: float = 0.05, data_redundant: bool = True
) -> PolytopeBasisCover:
    """A smaller cover that classifies every point of ``x`` identically.

    Three steps, each keeping every prediction on ``x``:

    1. drop polytopes that contain no point of ``x`` (they change no count on ``x``);
    2. with ``faces``, drop faces that are redundant inside the bounding box of ``x`` widened by
       ``margin``: exact LPs, each polytope unchanged on the box;
    3. with ``data_redundant``, Algorithm 1's redundancy test lifted from neurons to the cover: drop
       polytopes, then faces, whose removal changes the classification of no point of ``x``
       (:func:`drop_cover_polytopes`, then :func:`drop_cover_faces` against the cover's own
       predictions at accuracy 1). Algorithm 1 removes a neuron only when every point activating it
       activates another one; on the cover that is "no prediction changes", tested here for every face
       at once instead of only for pairs of neurons of one piece.

    Args:
        cover: the cover to prune.
        x: ``(n, d)`` points whose predictions must not change.
        faces: run step 2 (exact LPs; cheap for small ``d``).
        margin: widening of the bounding box of step 2, relative to its side lengths.
        data_redundant: run step 3.

    Returns:
        The pruned cover (``meta["pruned"] = True``).

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> square = PolytopeBasisCover([a], [torch.ones(4)], [1])
        >>> x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])  # only x = +-2 is cut
        >>> prune_cover(square, x).faces
        [2]
    """
    check_cover(cover)
    check_positive("margin", margin, strict=False)
    keep = cover.membership(x).any(dim=0).tolist()
    a = [ai for ai, k in zip(cover.a, keep) if k]
    b = [bi for bi, k in zip(cover.b, keep) if k]
    s = [si for si, k in zip(cover.signs, keep) if k]
    out = PolytopeBasisCover(a, b, s, cover.atol, {**cover.meta, "pruned": True})
    if faces and len(out):
        masks = _facet_masks(out, *_data_box(x, margin))
        trial = PolytopeBasisCover(
            [ai[m] for ai, m in zip(out.a, masks)], [bi[m] for bi, m in zip(out.b, masks)], out.signs, cover.atol,
            out.meta,
        )  # fmt: skip
        if bool((trial.predict(x) == out.predict(x)).all()):
            out = trial
    if data_redundant and len(out):
        own = out.predict(x)
        out = drop_cover_faces(drop_cover_polytopes(out, x, own, 1.0), x, own, 1.0)
        out.meta = {**cover.meta, "pruned": True}
    if not bool((out.predict(x) == cover.predict(x)).all()):  # pragma: no cover - guarded invariant
        raise RuntimeError("pruning changed the classification of a point; please report this")
    return out


@torch.no_grad()
def drop_cover_polytopes(
    cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor, min_accuracy: float
) -> PolytopeBasisCover:
    """Greedily drop whole polytopes while the accuracy on ``(x, y)`` stays at least ``min_accuracy``.

    Each round scores the removal of every polytope at once from the membership matrix and drops the
    one leaving the highest accuracy (ties: the one with most faces); at least one polytope stays.

    Args:
        cover: the cover.
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``).
        min_accuracy: the accuracy on ``(x, y)`` that every drop must keep.

    Returns:
        The smaller cover; ``meta["dropped_polytopes"]`` counts the polytopes removed.

    Example:
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> twice = PolytopeBasisCover([sq, sq, sq], [torch.ones(4), torch.ones(4), torch.ones(4)], [1, 1, -1])
        >>> x = torch.rand(100, 2) * 4 - 2
        >>> len(drop_cover_polytopes(twice, x, twice.predict(x), 1.0))  # the Q and one of the two P's are not needed
        1
    """
    check_cover(cover)
    check_fraction("min_accuracy", min_accuracy, closed_right=True)
    target = cover.binary_labels(x, y)
    member = cover.membership(x).long()
    signs = torch.tensor(cover.signs, dtype=torch.long, device=x.device)
    faces = torch.tensor(cover.faces, dtype=torch.float64, device=x.device)
    keep = torch.ones(len(cover), dtype=torch.bool, device=x.device)
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
        [cover.a[i] for i in idx], [cover.b[i] for i in idx], [cover.signs[i] for i in idx], cover.atol,
        {**cover.meta, "dropped_polytopes": len(cover) - len(idx)},
    )  # fmt: skip


@torch.no_grad()
def drop_cover_faces(
    cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor, min_accuracy: float
) -> PolytopeBasisCover:
    """Greedily drop faces while the accuracy on ``(x, y)`` stays at least ``min_accuracy``.

    Algorithm 1 removes neuron ``l`` when every point that activates it activates another one (its
    removal changes no classification); in high dimension that almost never happens. This relaxes it:
    each round drops the face whose removal leaves the highest accuracy (every face of every polytope
    scored at once from the per-point violation counts), and stops when the next drop would fall below
    ``min_accuracy``. Each polytope keeps at least one face.

    Args:
        cover: the cover.
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``).
        min_accuracy: the accuracy on ``(x, y)`` that every drop must keep.

    Returns:
        The smaller cover; ``meta["dropped"]`` counts the faces removed.

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1.0]])
        >>> square = PolytopeBasisCover([a], [torch.tensor([1.0, 1.0, 1.0, 1.0, 5.0])], [1])
        >>> x = torch.rand(400, 2) * 4 - 2
        >>> drop_cover_faces(square, x, square.predict(x), 1.0).faces  # x + y <= 5 cuts nothing
        [4]
    """
    check_cover(cover)
    check_fraction("min_accuracy", min_accuracy, closed_right=True)
    target = cover.binary_labels(x, y)
    if not len(cover):
        return PolytopeBasisCover([], [], [], cover.atol, {**cover.meta, "dropped": 0})
    keep = [torch.ones(f, dtype=torch.bool, device=x.device) for f in cover.faces]
    signs = torch.tensor(cover.signs, dtype=torch.long, device=x.device)
    viol = (cover.slack(x) > cover.atol).split(cover.faces, dim=1)
    while True:
        member = torch.stack([~(v & k).any(1) for v, k in zip(viol, keep)], 1)
        counts = (member.long() * signs).sum(1)
        best: tuple[int, int, int] | None = None  # (correct, polytope, face)
        for i, (v, k) in enumerate(zip(viol, keep)):  # polytopes (a handful); faces batched
            if int(k.sum()) <= 1:
                continue
            live = v & k
            gains = (live.sum(1, keepdim=True) == 1) & live  # point i enters polytope if face f goes
            new_counts = counts[:, None] + gains.long() * signs[i]
            correct = ((new_counts > 0).long() == target[:, None]).sum(0)
            correct[~k] = -1
            f = int(correct.argmax())
            if best is None or int(correct[f]) > best[0]:
                best = (int(correct[f]), i, f)
        if best is None or best[0] < min_accuracy * len(x):
            break
        keep[best[1]][best[2]] = False
    dropped = sum(int((~k).sum()) for k in keep)
    keep = [k.cpu() for k in keep]
    return PolytopeBasisCover(
        [a[k] for a, k in zip(cover.a, keep)], [b[k] for b, k in zip(cover.b, keep)], cover.signs, cover.atol,
        {**cover.meta, "dropped": dropped},
    )  # fmt: skip
