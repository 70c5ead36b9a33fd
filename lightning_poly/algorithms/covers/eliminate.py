r"""Fewer faces for one polytope: drop the cheapest face, refit the others, repeat while the errors fit.

:func:`~lightning_poly.algorithms.drop_cover_faces` drops faces of a fixed polytope; every face it
keeps was placed for a polytope that had all of them. Here each drop is followed by a refit
of the remaining faces (:func:`~lightning_poly.algorithms.polytope_hinge_refit`, warm-started), so the
faces left move to do the dropped face's work. This is backward elimination with refitting, our
addition: the paper's Algorithm 1 removes a neuron only when its removal changes no prediction, and
Table 1's face counts (e.g. 4 faces for Trouser, {1}) are what a smaller polytope reaches, not what
dropping from a larger fixed one reaches.

Each round scores the removal of every face at once from the ``(n, m)`` violation matrix (a point
enters the polytope when the dropped face is the only one it violates), drops the face whose removal
leaves the fewest errors, and refits. The round is kept when the refit polytope has at most
``max_errors`` errors; otherwise the elimination stops and the last kept polytope is returned.

:func:`eliminate_cover_faces` runs it on a cover ``P`` or ``P - Q``, one polytope at a time with the
other held fixed, against the cover's error budget (:func:`error_budget`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from lightning_poly._validation import check_fraction, check_int, check_positive
from lightning_poly.algorithms.covers.hinge_refit import polytope_hinge_refit
from lightning_poly.algorithms.covers.refine import polytope_targets
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover, check_cover

__all__ = [
    "FaceEliminationReport",
    "eliminate_cover_faces",
    "eliminate_faces",
    "error_budget",
    "face_removal_errors",
    "polytope_errors",
]


@dataclass
class FaceEliminationReport:
    """What :func:`eliminate_faces` did: faces before/after, errors of the result, each round, why it stopped."""

    faces_before: int
    faces_after: int
    errors: int  # points on the wrong side of the returned polytope
    rounds: list[dict[str, float]] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0


def _check_shapes(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, inside: torch.Tensor) -> None:
    if a.ndim != 2 or b.shape != a.shape[:1] or x.ndim != 2 or x.shape[1] != a.shape[1] or inside.shape != x.shape[:1]:
        raise ValueError(
            f"expected `a` (m, d), `b` (m,), `x` (n, d) and `inside` (n,), got {tuple(a.shape)}, {tuple(b.shape)},"
            f" {tuple(x.shape)}, {tuple(inside.shape)}"
        )


@torch.no_grad()
def polytope_errors(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, inside: torch.Tensor) -> int:
    r"""Points of ``x`` on the wrong side of :math:`\{x : a x \le b\}` (``inside`` marks those that belong in it).

    Example:
        >>> polytope_errors(torch.tensor([[1.0, 0.0]]), torch.zeros(1), torch.tensor([[1.0, 0.0], [-1.0, 0.0]]),
        ...                 torch.tensor([True, True]))
        1
    """
    _check_shapes(a, b, x, inside)
    return int((((x.to(a.dtype) @ a.T - b) > 0).any(1) == inside.to(device=x.device, dtype=torch.bool)).sum())


@torch.no_grad()
def face_removal_errors(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """``(m,)`` errors of the polytope :math:`\\{x : a x \\le b\\}` on ``(x, inside)`` with face ``f`` removed, all ``f`` at once.

    A point's membership changes only if ``f`` is the one face it violates; those points enter.

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # the square |x|_inf <= 1
        >>> x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])
        >>> face_removal_errors(a, torch.ones(4), x, torch.tensor([True, False, False])).tolist()
        [1, 1, 0, 0]
    """
    _check_shapes(a, b, x, inside)
    viol = (x.to(a.dtype) @ a.T - b) > 0
    count = viol.sum(1)
    inside = inside.to(device=x.device, dtype=torch.bool)
    base = int(((count == 0) != inside).sum())  # polytope_errors, from the count already at hand
    enters = (count[:, None] == 1) & viol
    return base + (enters & ~inside[:, None]).sum(0) - (enters & inside[:, None]).sum(0)


def eliminate_faces(
    a: torch.Tensor,
    b: torch.Tensor,
    x: torch.Tensor,
    inside: torch.Tensor,
    max_errors: int,
    inside_weight: float = 1.0,
    min_faces: int = 1,
    max_iter: int = 200,
    tries: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, FaceEliminationReport]:
    """Drop faces of :math:`\\{x : a x \\le b\\}` one at a time, refitting the rest after each drop, while the
    polytope has at most ``max_errors`` points of ``x`` on the wrong side (``inside`` marks the points
    that must lie in it).

    Args:
        a: ``(m, d)`` face normals. b: ``(m,)`` offsets.
        x: ``(n, d)`` points. inside: ``(n,)`` bool.
        max_errors: errors allowed (points of ``inside`` outside plus the others inside).
        inside_weight: the refit's weight on its inside term (:func:`polytope_hinge_refit`).
        min_faces: fewest faces to keep.
        max_iter: L-BFGS iterations per refit round.
        tries: faces tried per round, cheapest first, before the elimination stops (a refit can fail
            for the cheapest face and succeed for the next).

    Returns:
        ``(a, b, report)``: the smallest polytope found that fits ``max_errors`` (the input itself if
        none smaller does), and a :class:`FaceEliminationReport` of each round.

    Raises:
        ValueError: for mismatched shapes, a negative ``max_errors``, or a start that already has more
            than ``max_errors`` errors (there is nothing to keep).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(600, 2, generator=g) * 4 - 2
        >>> x = x[(x.abs().max(1).values - 1).abs() > 0.1]  # a gap around the square [-1, 1]^2
        >>> inside = (x.abs() < 1).all(1)
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
        >>> a = torch.cat([sq, torch.tensor([[1.0, 1.0], [1.0, -1.0]])])  # two corner cuts to spare
        >>> b = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.9, 1.9])
        >>> a2, b2, rep = eliminate_faces(a * 5, b * 5, x, inside, max_errors=0)
        >>> rep.faces_after, rep.errors
        (4, 0)
    """
    check_int("max_errors", max_errors, minimum=0)
    check_int("min_faces", min_faces, minimum=1)
    check_int("max_iter", max_iter, minimum=1)
    check_int("tries", tries, minimum=1)
    check_positive("inside_weight", inside_weight)
    _check_shapes(a, b, x, inside)
    if not (torch.isfinite(a).all() and torch.isfinite(b).all() and torch.isfinite(x).all()):
        raise ValueError("`a`, `b` and `x` must be finite")
    inside = inside.to(device=x.device, dtype=torch.bool)
    start = time.perf_counter()
    errors = polytope_errors(a, b, x, inside)
    if errors > max_errors:
        raise ValueError(f"the starting polytope must have at most `max_errors`={max_errors} errors, it has {errors}")
    report = FaceEliminationReport(faces_before=len(a), faces_after=len(a), errors=errors, reason="min_faces reached")
    while len(a) > min_faces:
        removal = face_removal_errors(a, b, x, inside)
        failed: list[int] = []
        for f in removal.argsort(stable=True)[:tries].tolist():  # cheapest first
            keep = torch.arange(len(a), device=a.device) != f
            a2, b2, rep = polytope_hinge_refit(
                a[keep], b[keep], x, inside, max_iter=max_iter, inside_weight=inside_weight
            )
            after = rep.outside_inside_points + rep.inside_outside_points
            report.rounds.append({"faces": len(a2), "errors_dropped": int(removal[f]), "errors_refit": after,
                                  "seconds": rep.seconds})  # fmt: skip
            if after <= max_errors:
                a, b, errors = a2, b2, after
                break
            failed.append(after)
        else:
            report.reason = (
                f"dropping any of the {len(failed)} cheapest faces left {failed} errors after the refit"
                f" (> max_errors={max_errors})"
            )
            break
    report.faces_after, report.errors, report.seconds = len(a), errors, time.perf_counter() - start
    return a, b, report


def error_budget(target: float, n: int) -> int:
    r"""Errors allowed at accuracy ``target`` on ``n`` points: :math:`\lfloor (1 - \text{target})\, n \rfloor`.

    Args:
        target: the accuracy to keep, in ``[0, 1]``.
        n: the number of points.

    Example:
        >>> error_budget(0.9999, 70000)
        7
    """
    check_fraction("target", target, closed_right=True)
    check_int("n", n, minimum=0)
    return int((1 - target) * n + 1e-9)


def eliminate_cover_faces(
    cover: PolytopeBasisCover,
    x: torch.Tensor,
    y: torch.Tensor,
    budget: int,
    inside_weights: list[float],
    tries: int = 3,
    passes: int = 4,
) -> tuple[PolytopeBasisCover, list[dict[str, Any]]]:
    r"""Fewer faces for a cover ``P`` or ``P - Q`` (signs ``[1]`` or ``[1, -1]``) at most ``budget`` errors, by
    :func:`eliminate_faces` on one polytope at a time, the other held fixed.

    The cover's errors split exactly (:func:`~lightning_poly.algorithms.polytope_targets`): with ``Q``
    fixed, a class-1 point in ``Q`` is wrong whatever ``P`` does and a class-0 point in ``Q`` is right
    whatever ``P`` does, so ``P`` is refit on the points outside ``Q`` with the rest of the budget; with
    ``P`` fixed, ``Q`` matters only inside ``P`` (class 0 to hold), and a class-1 point outside ``P`` is
    wrong whatever ``Q`` does. ``P`` and ``Q`` take turns (up to ``passes`` each) while a turn removes a
    face: a refit of one often frees budget for the other. The faces start at the cover's unit length,
    so each refit's margin is 1 in input units.

    Args:
        cover: the cover ``P`` or ``P - Q``.
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``).
        budget: errors the cover may have (:func:`error_budget`).
        inside_weights: the refits' inside weight (:func:`polytope_hinge_refit`), one per polytope.
        tries: faces tried per round before a polytope stops (:func:`eliminate_faces`).
        passes: bound on the turns of each polytope.

    Returns:
        ``(smaller, rounds)``: the smaller cover (the input itself if the result misses the budget on the
        cover's own membership, i.e. with its tolerance ``atol``) and one record per turn taken.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(600, 2, generator=g) * 4 - 2
        >>> x = x[(x.abs().max(1).values - 1).abs() > 0.1]  # a gap around the square [-1, 1]^2
        >>> y = (x.abs() < 1).all(1).long()
        >>> sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1]])  # one corner cut to spare
        >>> cover = PolytopeBasisCover([sq], [torch.tensor([1.0, 1, 1, 1, 1.9])], [1])
        >>> smaller, rounds = eliminate_cover_faces(cover, x, y, budget=0, inside_weights=[1.0])
        >>> smaller.faces, smaller.accuracy(x, y)
        ([4], 1.0)
    """
    check_cover(cover)
    if cover.signs not in ([1], [1, -1]):
        raise ValueError(f"expected a cover P or P - Q (signs [1] or [1, -1]), got signs {cover.signs}")
    check_int("budget", budget, minimum=0)
    check_int("tries", tries, minimum=1)
    check_int("passes", passes, minimum=1)
    if len(inside_weights) != len(cover):
        raise ValueError(
            f"`inside_weights` must hold one weight per polytope ({len(cover)}), got {len(inside_weights)}"
        )
    target = cover.binary_labels(x, y)
    xf = x.float()
    a = [ai.float() for ai in cover.a]
    b = [bi.float() for bi in cover.b]
    rounds: list[dict[str, Any]] = []
    # a turn is worth taking only if the other polytope changed since this one's last turn
    stale = [False] * len(cover)
    for turn in range(passes * len(cover)):
        k = turn % len(cover)
        if stale[k]:
            if all(stale):
                break
            continue
        # P: the points outside Q, class 1 inside; Q: the points inside P, class 0 inside
        keep, inside, fixed = polytope_targets(PolytopeBasisCover(a, b, cover.signs, cover.atol), k, xf, target)
        before = len(a[k])
        start = polytope_errors(a[k], b[k], xf[keep], inside)  # at most budget - fixed, unless atol differs
        if start <= budget - fixed and bool(inside.any()) and not bool(inside.all()):
            a[k], b[k], rep = eliminate_faces(
                a[k], b[k], xf[keep], inside, budget - fixed, inside_weights[k], tries=tries
            )
            rounds.append({"sign": cover.signs[k], "faces_before": rep.faces_before, "faces_after": rep.faces_after,
                           "errors": rep.errors + fixed, "reason": rep.reason, "seconds": rep.seconds})  # fmt: skip
        stale[k] = True  # until the other polytope changes
        if len(a[k]) != before:
            stale = [j == k for j in range(len(cover))]
    smaller = PolytopeBasisCover(a, b, cover.signs, cover.atol, cover.meta)
    if smaller.accuracy(x, y) < 1 - budget / len(y) - 1e-12:
        return cover, rounds
    return smaller, rounds
