r"""Fewer faces for one polytope: drop the cheapest face, refit the others, repeat while the errors fit.

:meth:`~lightning_poly.geometry.PolytopeBasisCover.drop_faces` drops faces of a fixed polytope; every
face it keeps was placed for a polytope that had all of them. Here each drop is followed by a refit
of the remaining faces (:func:`~lightning_poly.algorithms.refine_polytope`, warm-started), so the
faces left move to do the dropped face's work. This is backward elimination with refitting, our
addition: the paper's Algorithm 1 removes a neuron only when its removal changes no prediction, and
Table 1's face counts (e.g. 4 faces for Trouser, {1}) are what a smaller polytope reaches, not what
dropping from a larger fixed one reaches (greedy dropping alone left 15 faces on {1}; with refits 5).

Each round scores the removal of every face at once from the ``(n, m)`` violation matrix (a point
enters the polytope when the dropped face is the only one it violates), drops the face whose removal
leaves the fewest errors, and refits. The round is kept when the refit polytope has at most
``max_errors`` errors; otherwise the elimination stops and the last kept polytope is returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from lightning_poly._validation import check_int, check_positive
from lightning_poly.algorithms.polytope_margin import refine_polytope

__all__ = ["FaceEliminationReport", "eliminate_faces", "face_removal_errors", "polytope_errors"]


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
        inside_weight: the refit's weight on its inside term (:func:`refine_polytope`).
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
            a2, b2, rep = refine_polytope(a[keep], b[keep], x, inside, max_iter=max_iter, inside_weight=inside_weight)
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
