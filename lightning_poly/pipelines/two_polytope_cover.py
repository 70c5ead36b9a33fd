r"""Covers of at most two polytopes at a target accuracy (polytope-basis-covers paper, Section 4.2, Tables 1-2).

The recipe behind ``examples/papers/fashion_covers.py`` (our reading of Section 4.2; the paper gives
no training details):

1. ``P``: one piece of (6) trained by a Lightning ``Trainer`` through its ``"polytope"`` head (the
   smooth limit of the network at condition (7), where the cover *is* the network; BCE (14), Adam),
   then its faces refined on the squared-hinge polytope objective
   (:func:`~lightning_poly.algorithms.polytope_hinge_refit`, the convex polytope machine of Kantchelian et
   al. 2014 that the paper cites), which drives down the last errors the mean BCE no longer sees;
2. if ``P`` misses the target, ``Q`` (sign -1, Algorithm 4's Q step) trained the same way on the
   points inside ``P``: the paper's "a+b";
3. polytopes and faces dropped greedily while the accuracy stays on target
   (:func:`~lightning_poly.algorithms.drop_cover_polytopes`,
   :func:`~lightning_poly.algorithms.drop_cover_faces`: Algorithm 1's redundancy test relaxed to
   "costs no accuracy below the target"), then faces eliminated with refits
   (:func:`~lightning_poly.algorithms.eliminate_cover_faces`).

Training the literal piece ``T`` (``head="piece"``) leaves more errors: points it misclassifies with
:math:`T \le 0` get no gradient.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from lightning_poly.algorithms.covers.eliminate import eliminate_cover_faces, error_budget
from lightning_poly.algorithms.covers.hinge_refit import polytope_hinge_refit
from lightning_poly.algorithms.covers.prune import drop_cover_faces, drop_cover_polytopes
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.pipelines.training import PolytopeTraining, check_training, fit_polytope

__all__ = ["SMOOTH_HEAD_TRAINING", "TwoPolytopeCover", "refined_polytope", "two_polytope_cover"]

SMOOTH_HEAD_TRAINING = PolytopeTraining(
    width=64, epochs=20, batch_size=1024, lr=1e-2, loss="bce", head="polytope", hard_sign=False, compress=False
)
"""The fit of step 1: the ``"polytope"`` head, BCE (14), Adam lr 1e-2, batches of 1024, 20 epochs, no compression."""


def refined_polytope(
    x: torch.Tensor,
    y: torch.Tensor,
    training: PolytopeTraining = SMOOTH_HEAD_TRAINING,
    inside_weights: Sequence[float] = (1.0,),
    max_missed: int = 0,
    max_errors: int | None = None,
    unit_margin: bool = False,
    refine_iter: int = 400,
) -> tuple[PolytopeBasisCover, dict[str, Any]]:
    """One polytope of at most ``training.width`` faces holding the points with ``y == 1``.

    1. :func:`~lightning_poly.pipelines.fit_polytope` fits one piece of (6) (by default through its
       ``"polytope"`` head: the smooth limit of the network at condition (7); BCE (14), Adam). No
       compression here: its finalising loop scales faces by powers of :math:`\\lambda_\\mathrm{scale}`,
       which keeps the polytope but not the faces' relative scale, and that scale is the margin of
       step 2; redundant faces go in the last step of :func:`two_polytope_cover`;
    2. :func:`~lightning_poly.algorithms.polytope_hinge_refit` refines the faces on the squared-hinge polytope
       objective (L-BFGS on the points near their margin). It runs with each weight of
       ``inside_weights`` in turn, each starting from the last one's faces, until at most ``max_missed``
       points of class 1 are left outside (a later polytope ``Q`` can take points out of ``P`` but never
       bring one back) and, with ``max_errors``, at most that many points are on the wrong side in all; if
       no weight gets there, the faces with the fewest such errors are kept (without ``max_errors``, the
       last weight's).

    Args:
        x: ``(n, d)`` points.
        y: ``(n,)`` labels; ``> 0`` marks the points to hold.
        training: the fit of step 1 (default :data:`SMOOTH_HEAD_TRAINING`).
        inside_weights: the ladder of the refinement's inside weights.
        max_missed: points of class 1 that may stay outside.
        max_errors: points that may be on the wrong side in all (``None``: no bound).
        unit_margin: scale the faces to unit length before each refinement, so that the margin is 1 in
            input units rather than in units of the smooth head's log-odds.
        refine_iter: L-BFGS iterations of each refinement.

    Returns:
        ``(cover, info)``: the one-polytope cover and what each rung of the ladder left (``info["ladder"]``),
        with the kept rung's figures at the top level.
    """
    training = check_training(training)
    if not inside_weights:
        raise ValueError("`inside_weights` must hold at least one weight, got an empty ladder")
    fit = fit_polytope(x, y, training)
    a, b = fit.module.cover_network().polytope_faces(0, training.beta)
    a, b, xf, inside = a.float(), b.float(), x.float(), y > 0
    refined: list[dict[str, Any]] = []
    faces: list[tuple[torch.Tensor, torch.Tensor]] = []
    for weight in inside_weights:
        if unit_margin:
            norm = a.norm(dim=1)
            a, b = a / norm[:, None], b / norm
        a, b, rep = polytope_hinge_refit(a, b, xf, inside, max_iter=refine_iter, inside_weight=weight)
        missed, errors = rep.outside_inside_points, rep.outside_inside_points + rep.inside_outside_points
        refined.append({"inside_weight": weight, "refine_s": rep.seconds, "missed": missed,
                        "wrongly_inside": rep.inside_outside_points, "working_set": rep.active_max})  # fmt: skip
        faces.append((a, b))
        if missed <= max_missed and (max_errors is None or errors <= max_errors):
            pick = len(refined) - 1
            break
    else:  # no weight got there: the fewest errors (without max_errors, the last weight's)
        total = [r["missed"] + r["wrongly_inside"] for r in refined]
        pick = total.index(min(total)) if max_errors is not None else len(refined) - 1
    a, b = faces[pick]
    info = {"trained_s": fit.seconds, "bce_faces": len(a), **refined[pick],
            "refine_s": sum(r["refine_s"] for r in refined), "ladder": refined}  # fmt: skip
    return PolytopeBasisCover([a], [b], [1], meta={"step": info}), info


@dataclass
class TwoPolytopeCover:
    """What :func:`two_polytope_cover` found.

    Attributes:
        cover: the cover ``P`` or ``P - Q``.
        accuracy: its accuracy on the data.
        before_drop: faces per polytope before dropping.
        after_drop: faces per polytope after greedy dropping (before face elimination).
        elimination: the face-elimination turns (:func:`~lightning_poly.algorithms.eliminate_cover_faces`).
        seconds: wall time.
        steps: per polytope trained, its sign and :func:`refined_polytope`'s ``info``.
    """

    cover: PolytopeBasisCover
    accuracy: float
    before_drop: list[int]
    after_drop: list[int]
    elimination: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def faces(self) -> list[int]:
        """Faces per polytope of the result."""
        return self.cover.faces

    @property
    def signs(self) -> list[int]:
        """Signs of the result's polytopes."""
        return self.cover.signs

    def summary(self) -> dict[str, Any]:
        """Plain values only (no cover), e.g. for a JSON table."""
        return {"faces": self.faces, "signs": self.signs, "accuracy": self.accuracy, "before_drop": self.before_drop,
                "after_drop": self.after_drop, "elimination": self.elimination, "seconds": self.seconds,
                "steps": self.steps}  # fmt: skip


def two_polytope_cover(
    x: torch.Tensor,
    y: torch.Tensor,
    target: float,
    training: PolytopeTraining = SMOOTH_HEAD_TRAINING,
    second_width: int = 64,
    second_batch_size: int = 256,
    two: bool = True,
    inside_weights: Sequence[float] = (1.0, 10.0, 100.0),
    second_weights: Sequence[float] = (1.0, 0.5, 0.25, 0.1, 0.05, 0.03, 0.02, 0.015, 0.01),
    eliminate: bool = True,
) -> TwoPolytopeCover:
    r"""A cover of at most two polytopes reaching accuracy ``target`` (Section 4.2's "a+b").

    ``P`` holds class 1 (:func:`refined_polytope`); if ``P`` alone misses the target, ``Q`` (sign -1,
    Algorithm 4's Q step) holds the class-0 points inside ``P`` and not the class-1 ones; then unneeded
    polytopes and faces are dropped greedily while the accuracy stays at ``target``
    (:func:`~lightning_poly.algorithms.drop_cover_polytopes`,
    :func:`~lightning_poly.algorithms.drop_cover_faces`: Algorithm 1's redundancy test relaxed to "costs
    no accuracy below the target").

    With a ``Q`` to come, points wrongly inside ``P`` can still be removed but points left outside cannot.
    ``P``'s inside term is therefore weighted up the ladder ``inside_weights`` (Algorithm 4 weights the
    points to cover by 10, :math:`\lambda = (1, 10)`), each refinement starting from the last, until ``P``
    leaves out at most half of the error budget :math:`\lfloor (1 - \text{target})\, n \rfloor`
    (:func:`~lightning_poly.algorithms.error_budget`); the lowest weight that does so leaves the fewest
    other points for ``Q`` to remove. ``Q``'s errors all count (a point of class 0 in ``P`` left out of
    ``Q``, a point of class 1 in ``Q``), so its ladder ``second_weights`` goes down, each refinement again
    starting from the last, until the cover's errors fit the budget; the refinement with the fewest
    errors is kept. ``Q`` is refined at a margin of 1 in input units (``unit_margin``). Last, with
    ``eliminate``, :func:`~lightning_poly.algorithms.eliminate_cover_faces` drops faces one at a time and
    refits the others after each drop while the errors fit the budget. Without ``two`` there is no
    ``Q``: ``P``'s ladder stops at the first weight whose errors (missed and wrongly inside) fit the
    budget, else keeps the fewest.

    Args:
        x: ``(n, d)`` points.
        y: ``(n,)`` labels (``{0, 1}``).
        target: the accuracy to reach, in ``[0, 1]``.
        training: ``P``'s fit (default :data:`SMOOTH_HEAD_TRAINING`); ``Q``'s is the same with
            ``second_width`` and ``second_batch_size``.
        second_width: ``Q``'s faces before dropping.
        second_batch_size: ``Q``'s batch size (it trains on the fewer points inside ``P``).
        two: allow ``Q``.
        inside_weights: ``P``'s ladder.
        second_weights: ``Q``'s ladder.
        eliminate: run face elimination after dropping.

    Returns:
        The cover and what each step did.
    """
    training = check_training(training)
    start = time.perf_counter()
    if y.shape != x.shape[:1]:
        raise ValueError(f"`x` and `y` must have one entry per point, got {tuple(x.shape)} and {tuple(y.shape)}")
    budget = error_budget(target, len(y))
    if two:  # Q can remove what P holds wrongly, not bring back what it misses: half the budget
        p, info_p = refined_polytope(x, y, training, inside_weights, max_missed=budget // 2)
    else:  # P alone: every error counts, so the ladder stops at the first weight whose errors fit
        p, info_p = refined_polytope(x, y, training, inside_weights, max_missed=budget, max_errors=budget)
    steps: list[dict[str, Any]] = [{"sign": 1, **info_p}]
    cover = p
    keep = p.membership(x)[:, 0]
    if two and p.accuracy(x, y) < target and bool((y[keep] > 0).any()) and bool((y[keep] <= 0).any()):
        second = replace(training, width=second_width, batch_size=second_batch_size)
        q, info_q = refined_polytope(
            x[keep], (y[keep] <= 0).long(), second, second_weights, max_missed=len(y),
            max_errors=budget - info_p["missed"], unit_margin=True,
        )  # fmt: skip
        steps.append({"sign": -1, **info_q})
        cover = PolytopeBasisCover.concat([p, PolytopeBasisCover(q.a, q.b, [-1], q.atol)])
    before, accuracy = cover.faces, cover.accuracy(x, y)
    dropped, rounds = before, []
    if accuracy >= target:
        cover = drop_cover_faces(drop_cover_polytopes(cover, x, y, target), x, y, target)
        dropped = cover.faces
        if eliminate and cover.signs in ([1], [1, -1]):
            weights = [s["inside_weight"] for s in steps]
            cover.meta["inside_weights"] = [weights[0] if g > 0 else weights[-1] for g in cover.signs]
            cover, rounds = eliminate_cover_faces(cover, x, y, budget, cover.meta["inside_weights"])
        accuracy = cover.accuracy(x, y)
    return TwoPolytopeCover(cover, accuracy, before, dropped, rounds, time.perf_counter() - start, steps)
