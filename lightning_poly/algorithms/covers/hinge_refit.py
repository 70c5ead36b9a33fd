r"""Margin refinement of one polytope: the squared-hinge "convex polytope machine" objective.

A single polytope :math:`C = \{x : a_k^\top x \le b_k,\ k = 1..m\}` classifies a point as "inside" when
every face holds. Trained through the smooth head of (6) at condition (7)
(:meth:`lightning_poly.nn.CoverNetwork.polytope_logits`) with BCE, a polytope in high dimension is left
with a few hundred errors on Fashion-MNIST even after 300 epochs: the mean BCE over 70,000 points gives
the last errors almost no weight. This refines such a polytope by minimising, over all faces at once,

.. math::

    L(A, b) = \frac{1}{|I|}\sum_{i \in I}\sum_k \big[1 + a_k^\top x_i - b_k\big]_+^2
            + \frac{1}{|O|}\sum_{j \in O}\big[1 - \max_k (a_k^\top x_j - b_k)\big]_+^2
            + \mu \|A\|_F^2,

the squared-hinge form of the convex polytope machine of Kantchelian et al. (2014), which the
polytope-basis-covers paper cites for convex-polytope classifiers (Appendix B): points that must lie
inside (:math:`I`) need every face with margin 1, points that must lie outside (:math:`O`) need their
most violated face with margin 1. Points meeting their margin contribute neither loss nor gradient, so
the last errors are all that is left to fit. Full-batch L-BFGS minimises it; with ``working_set`` it
runs on the points within ``band`` of their margin only and re-checks all points between rounds (the
shrinking of SVM solvers): the result is a stationary point of the full objective, not of the subset,
because it stops only when no point left out has a positive hinge.

Reading chosen: this step is ours, not the paper's Algorithm 2 (whose BCE training we keep as the warm
start); the margin is on the faces' own scale, so the start's face norms (the smooth head's
:math:`\beta |v_k| w_k`) set how wide the margin is in input units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lightning_poly._validation import check_int, check_positive

__all__ = ["HingeRefitReport", "polytope_hinge_loss", "polytope_hinge_refit"]


@dataclass
class HingeRefitReport:
    """What :func:`polytope_hinge_refit` did: objective before/after, errors left, rounds, time."""

    loss_before: float
    loss_after: float
    outside_inside_points: int  # points of I outside the refined polytope
    inside_outside_points: int  # points of O inside it
    rounds: int
    active_max: int  # largest working set used
    seconds: float


def polytope_hinge_loss(
    a: torch.Tensor,
    b: torch.Tensor,
    x_in: torch.Tensor,
    x_out: torch.Tensor,
    l2: float = 1e-4,
    inside_weight: float = 1.0,
    n_in: int | None = None,
    n_out: int | None = None,
) -> torch.Tensor:
    r"""The objective :math:`L(A, b)` of the module docstring, its first term weighted by ``inside_weight``.

    The two sums are divided by ``n_in`` and ``n_out`` (default: ``len(x_in)``, ``len(x_out)``, i.e. means);
    a working set passes the full counts so that its objective is the full one restricted to its points.

    Args:
        a: ``(m, d)`` face normals.
        b: ``(m,)`` offsets.
        x_in: points that must lie inside.
        x_out: points that must lie outside.
        l2: weight of :math:`\|A\|_F^2`.
        inside_weight: weight of the inside term.
        n_in: divisor of the inside sum (default ``len(x_in)``).
        n_out: divisor of the outside sum (default ``len(x_out)``).

    Example:
        >>> a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([0.0])  # the half-plane x_1 <= 0
        >>> x_in, x_out = torch.tensor([[-2.0, 0.0]]), torch.tensor([[3.0, 1.0]])
        >>> float(polytope_hinge_loss(a, b, x_in, x_out, l2=0.0))  # both points meet margin 1
        0.0
    """
    if (
        a.ndim != 2
        or b.shape != a.shape[:1]
        or x_in.ndim != 2
        or x_out.ndim != 2
        or {x_in.shape[1], x_out.shape[1]} != {a.shape[1]}
    ):
        raise ValueError(
            f"expected `a` (m, d), `b` (m,), `x_in` (n_in, d) and `x_out` (n_out, d), got {tuple(a.shape)}, "
            f"{tuple(b.shape)}, {tuple(x_in.shape)}, {tuple(x_out.shape)}"
        )
    loss = a.new_zeros(())
    if len(x_in):
        loss = loss + inside_weight * F.relu(1 + x_in @ a.T - b).pow(2).sum() / (n_in or len(x_in))
    if len(x_out):
        loss = loss + F.relu(1 - (x_out @ a.T - b).max(1).values).pow(2).sum() / (n_out or len(x_out))
    return loss + l2 * a.pow(2).sum()


def _lbfgs_round(
    a: torch.Tensor,
    b: torch.Tensor,
    x_in: torch.Tensor,
    x_out: torch.Tensor,
    n_in: int,
    n_out: int,
    l2: float,
    inside_weight: float,
    max_iter: int,
) -> None:
    """One L-BFGS run on a subset, weighted as the full objective (sums over ``n_in``/``n_out`` points)."""
    opt = torch.optim.LBFGS(
        [a, b], lr=1, max_iter=max_iter, history_size=30, line_search_fn="strong_wolfe",
        tolerance_grad=1e-10, tolerance_change=1e-14,
    )  # fmt: skip

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = polytope_hinge_loss(a, b, x_in, x_out, l2, inside_weight, n_in, n_out)
        loss.backward()
        return loss

    opt.step(closure)


@torch.no_grad()
def _worst_slack(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""``(n,)`` each point's largest face slack :math:`\max_k a_k^\top x - b_k` (``> 0``: outside)."""
    return (x @ a.T - b).max(1).values


def _near_margin(worst: torch.Tensor, inside: torch.Tensor, band: float) -> torch.Tensor:
    """Points within ``band`` of their margin (``band = 0``: those with a positive hinge)."""
    return torch.where(inside, worst > -1 - band, worst < 1 + band)


def polytope_hinge_refit(
    a: torch.Tensor,
    b: torch.Tensor,
    x: torch.Tensor,
    inside: torch.Tensor,
    l2: float = 1e-4,
    max_iter: int = 400,
    working_set: bool = True,
    band: float = 1.0,
    max_rounds: int = 20,
    inside_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, HingeRefitReport]:
    r"""Refine the polytope :math:`\{x : a x \le b\}` so that ``x[inside]`` lies in it and ``x[~inside]`` does not.

    Args:
        a: ``(m, d)`` face normals (their norms set the margin's width).
        b: ``(m,)`` offsets.
        x: ``(n, d)`` points.
        inside: ``(n,)`` bool, which points must lie inside.
        l2: :math:`\mu`, the weight of :math:`\|A\|_F^2`.
        max_iter: L-BFGS iterations per round (all of them without ``working_set``).
        working_set: optimise on the points within ``band`` of their margin and re-check all points
            between rounds (exact: stops only when no point left out has a positive hinge).
        band: how far beyond its margin a point stays in the working set.
        max_rounds: bound on the working-set rounds.
        inside_weight: weight of the inside term (Algorithm 4's :math:`\lambda_1/\lambda_0`, paper: 10, when a
            second polytope :math:`Q` can still remove points wrongly inside, but nothing can bring back a
            point left outside).

    Returns:
        ``(a, b, report)``: the refined faces (same shapes and dtype) and a :class:`HingeRefitReport`; never
        an objective above the start's (if the rounds end higher, the start is returned).

    Raises:
        ValueError: for mismatched shapes, non-finite input, or an ``inside`` that is all ``True`` or all ``False``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(400, 2, generator=g) * 4 - 2
        >>> x = x[(x.abs().max(1).values - 1).abs() > 0.1]  # a gap around the square's boundary
        >>> inside = (x.abs() < 1).all(1)  # the square [-1, 1]^2
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> a2, b2, rep = polytope_hinge_refit(a, torch.full((4,), 0.5), x, inside)
        >>> rep.outside_inside_points, rep.inside_outside_points, rep.loss_after < rep.loss_before
        (0, 0, True)
    """
    check_positive("l2", l2, strict=False)
    check_int("max_iter", max_iter, minimum=1)
    check_positive("band", band, strict=False)
    check_int("max_rounds", max_rounds, minimum=1)
    check_positive("inside_weight", inside_weight)
    if a.ndim != 2 or b.shape != a.shape[:1] or x.ndim != 2 or x.shape[1] != a.shape[1]:
        raise ValueError(
            f"expected `a` (m, d), `b` (m,) and `x` (n, d), got {tuple(a.shape)}, {tuple(b.shape)}, {tuple(x.shape)}"
        )
    inside = inside.to(device=x.device, dtype=torch.bool).reshape(-1)
    if len(inside) != len(x):
        raise ValueError(f"`inside` must have one entry per point, got {len(inside)} for {len(x)} points")
    if bool(inside.all()) or not bool(inside.any()):
        raise ValueError("`inside` must mark some points inside and some outside, got all one kind")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all() and torch.isfinite(x).all()):
        raise ValueError("`a`, `b` and `x` must be finite")
    start = time.perf_counter()
    dtype = a.dtype
    x = x.to(dtype)
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    aa = a.detach().clone().requires_grad_(True)
    bb = b.detach().clone().to(dtype).requires_grad_(True)

    def full_loss() -> float:
        with torch.no_grad():
            return float(polytope_hinge_loss(aa, bb, x[inside], x[~inside], l2, inside_weight))

    before = full_loss()
    worst = _worst_slack(aa, bb, x)
    active = _near_margin(worst, inside, band) if working_set else torch.ones_like(inside)
    rounds, active_max = 0, 0
    while rounds < max_rounds:
        rounds += 1
        active_max = max(active_max, int(active.sum()))
        # the subset objective keeps the full problem's weights (means over all of I and O)
        _lbfgs_round(aa, bb, x[active & inside], x[active & ~inside], n_in, n_out, l2, inside_weight, max_iter)
        worst = _worst_slack(aa, bb, x)  # one product per round serves the check, the new set and the report
        if not working_set or not bool((_near_margin(worst, inside, 0.0) & ~active).any()):
            break
        active = active | _near_margin(worst, inside, band)
    after = full_loss()
    if not after <= before:  # a working-set round can raise the full objective (faces of large norm): keep the start
        aa.data.copy_(a.detach().to(dtype))
        bb.data.copy_(b.detach().to(dtype))
        worst, after = _worst_slack(aa, bb, x), before
    a_out, b_out = aa.detach(), bb.detach()
    report = HingeRefitReport(
        loss_before=before, loss_after=after,
        outside_inside_points=int((inside & (worst > 0)).sum()), inside_outside_points=int((~inside & (worst <= 0)).sum()),
        rounds=rounds, active_max=active_max, seconds=time.perf_counter() - start,
    )  # fmt: skip
    return a_out, b_out, report
