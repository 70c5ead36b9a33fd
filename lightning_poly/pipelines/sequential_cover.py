r"""Algorithm 4 of the polytope-basis-covers paper: a small cover found by training one polytope at a time.

Each step trains a single convex piece :math:`T^+` (10) with a Lightning ``Trainer``
(:func:`~lightning_poly.pipelines.fit_polytope`: :class:`~lightning_poly.modules.PolytopeCoverModule` with
``head="piece"``, loss (12) with :math:`\lambda = (\lambda_0, \lambda_1)`, :math:`\lambda_\text{bias}`, and
:class:`~lightning_poly.callbacks.CompressionCallback`, Algorithm 2's fine-tuning), takes the polytope
:math:`\{T = \lambda_\text{bias}\}`, and grows the width by ``width_step`` until the polytope covers the
points it must cover. Steps alternate between :math:`P` (cover class 1) and :math:`Q` (cover class 0).

Readings chosen:

* *What each step trains on.* The listing says "train :math:`T^+` on :math:`D \cap C_P^c`", the text (Figure 10)
  "train :math:`T_2` on :math:`(D_0 \cap C_1) \cup D_1`" and ":math:`T_3` on :math:`D_0 \cup (D_1 \cap C_2)`". We
  follow the text in its general form: with the current count :math:`o(x) = \#P - \#Q`, a P step must
  cover the misclassified class-1 points (:math:`o \le 0`) and avoid the class-0 points it would turn
  wrong (:math:`o = 0`); a Q step must cover the misclassified class-0 points (:math:`o \ge 1`) and avoid the
  class-1 points at :math:`o = 1`. Other points cannot change correctness by one polytope and are left
  out. On Figure 10's sequence this gives exactly the text's training sets.
* *:math:`T^-` (11).* :math:`T^-(x) = -\lambda_\text{bias} + \sum v_k\sigma(\cdot)` with :math:`v > 0` is
  :math:`-T^+` for :math:`v \to -v`, and :math:`\mathrm{BCE}(\mathrm{SIG}(T^-), y) = \mathrm{BCE}(\mathrm{SIG}(T^+), 1 - y)`:
  a Q step trains a :math:`T^+` with the points to cover labelled 1; :math:`\lambda_1` always weights the
  points to cover (the text uses :math:`\lambda = (1, 10)` for both kinds of step).
* *:math:`\lambda_1`.* :class:`~lightning_poly.pipelines.PolytopeTraining` keeps the paper's :math:`\lambda = (1, 10)` as its default; the text
  says a large :math:`\lambda_1` is what makes a step cover its whole class. On our 1.5-turn swiss roll
  (1,000 points) :math:`\lambda_1 = 10` is too small for the first step: the hull of class 1 holds 354
  of the 500 class-0 points, so with :math:`\lambda_\text{bias} = 5` a polytope containing class 1 costs at
  least :math:`10\log(1+e^{-5}) + 0.708\log(1+e^{5}) = 3.61` in (12), while the constant
  :math:`T \equiv \log 10` costs :math:`10\log 1.1 + \log 11 = 3.35`; gradient descent finds the constant
  (every step then covers nothing). With :math:`\lambda_1 = 100` the order flips (4.21 against 5.61) and
  Algorithm 4 finds 4 polytopes at accuracy 1 (``examples/papers/polytope_covers.py swiss_roll`` uses it).
* *Termination.* The listing grows the width without bound; we stop growing at ``max_width`` and keep
  the widest attempt's polytope (reported in ``meta``), and stop adding polytopes at ``max_polytopes``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import torch

from lightning_poly._validation import check_finite, check_fraction, check_int, check_points
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.pipelines.training import PolytopeTraining, check_training, fit_polytope

__all__ = ["sequential_cover", "train_polytope"]

log = logging.getLogger(__name__)


def train_polytope(x: torch.Tensor, target: torch.Tensor, training: PolytopeTraining) -> PolytopeBasisCover:
    """Train one piece :math:`T^+` of ``training.width`` neurons to contain the points with ``target == 1``; return
    its polytope :math:`\\{T = \\lambda_\\text{bias}\\}` as a one-polytope cover (sign +1).

    The fit is :func:`~lightning_poly.pipelines.fit_polytope` with compression on (Algorithm 2's
    fine-tuning); when every point is to be covered the whole space (no face) is returned without
    training.

    Args:
        x: ``(n, d)`` points.
        target: ``(n,)`` labels; ``> 0`` marks the points to cover.
        training: the fit's options (``compress`` is forced on: the polytope is the compressed piece's).

    Returns:
        The one-polytope cover.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> x = torch.rand(200, 2) * 2 - 1
        >>> inside = (x.abs() < 0.5).all(1).long()
        >>> c = train_polytope(x, inside, PolytopeTraining(width=4, epochs=600))
        >>> c.covered_fraction(x[inside == 1], 0) > 0.9
        True
    """
    training = check_training(training)
    check_points("x", x)
    if target.shape != x.shape[:1]:
        raise ValueError(
            f"`target` must have one label per point of `x`, got {tuple(target.shape)} for {len(x)} points"
        )
    if not bool((target > 0).any()):
        raise ValueError("`target` must mark at least one point to cover (target > 0), got none")
    if bool((target > 0).all()):
        d = x.shape[1]
        return PolytopeBasisCover([torch.zeros(0, d)], [torch.zeros(0)], [1], meta={"whole_space": True})
    fit = fit_polytope(x, target, replace(training, compress=True))
    assert fit.cover is not None
    return fit.cover


def sequential_cover(
    x: torch.Tensor,
    y: torch.Tensor,
    training: PolytopeTraining | None = None,
    max_width: int = 30,
    width_step: int = 1,
    max_polytopes: int = 8,
    acc_th: float = 1.0,
    cover_th: float = 1.0,
    restarts: int = 2,
) -> PolytopeBasisCover:
    """Algorithm 4: alternate P and Q steps until the cover's accuracy on ``(x, y)`` reaches ``acc_th``.

    Each training run is logged (``logging.INFO`` on this module's logger): step kind, width, fraction
    covered, faces.

    Args:
        x: ``(n, d)`` data.
        y: ``(n,)`` labels (``{0, 1}`` or ``{-1, +1}``).
        training: each step's fit (:func:`train_polytope`; default :class:`PolytopeTraining`'s, i.e. the
            paper's :math:`\\lambda = (1, 10)`, :math:`\\lambda_\\text{bias} = 5`); ``training.width`` is the
            first width tried at each step and ``training.seed`` the first seed (one more per run).
        max_width: the width grows by ``width_step`` up to this until the polytope contains a ``cover_th``
            fraction of the points it must cover.
        width_step: growth of the width.
        max_polytopes: bound on the polytopes added.
        acc_th: stop when the cover reaches this accuracy (the paper's :math:`\\text{acc}_\\text{th}`).
        cover_th: fraction of its points a step's polytope must cover before the width stops growing.
        restarts: training runs (seeds) per width before the width grows (gradient descent from one
            initialisation can miss a polytope that exists at that width).

    Returns:
        The cover; ``meta["steps"]`` lists every training run (sign, width, fraction covered, faces,
        seconds), ``meta["accuracy"]`` the final accuracy and ``meta["reason"]`` why it stopped.

    Example:
        >>> from lightning_poly.data import two_circles
        >>> x, y = two_circles(300, seed=0)
        >>> cover = sequential_cover(x, y, PolytopeTraining(width=4), max_width=6, restarts=1, max_polytopes=2)
        >>> cover.accuracy(x, y) > 0.95
        True
    """
    training = check_training(training)
    width = training.width
    check_int("max_width", max_width, minimum=width)
    check_int("width_step", width_step, minimum=1)
    check_int("max_polytopes", max_polytopes, minimum=1)
    check_int("restarts", restarts, minimum=1)
    check_fraction("acc_th", acc_th, closed_right=True)
    check_fraction("cover_th", cover_th, closed_right=True)
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"`x` must be (n, d) and `y` (n,), got {tuple(x.shape)} and {tuple(y.shape)}")
    check_finite("x", x)
    x = x.detach().cpu().float()
    lab = (y.detach().cpu() > 0).long()
    cover = PolytopeBasisCover([], [], [], meta={"algorithm": "algorithm 4", "steps": []})
    polys: list[PolytopeBasisCover] = []
    counts = torch.zeros(len(x), dtype=torch.long)
    sign = 1
    reason = "round bound hit"
    idle = 0
    while len(polys) < max_polytopes:
        acc = float(((counts > 0).long() == lab).double().mean())
        if acc >= acc_th:
            reason = f"accuracy {acc:.6f} >= acc_th"
            break
        if sign > 0:
            cover_mask, avoid_mask = (lab == 1) & (counts <= 0), (lab == 0) & (counts == 0)
        else:
            cover_mask, avoid_mask = (lab == 0) & (counts >= 1), (lab == 1) & (counts == 1)
        if not bool(cover_mask.any()):
            sign, idle = -sign, idle + 1
            if idle >= 2:
                reason = "no misclassified point can be fixed by one polytope"
                break
            continue
        idle = 0
        keep = cover_mask | avoid_mask
        xs, ts = x[keep], cover_mask[keep].long()
        best: tuple[float, PolytopeBasisCover] | None = None
        m, tries = width, 0
        while m <= max_width:
            start = time.perf_counter()
            piece = train_polytope(xs, ts, replace(training, width=m, seed=training.seed + len(cover.meta["steps"])))
            tries += 1
            inside = piece.membership(x)[:, 0]
            frac = float(inside[cover_mask].double().mean())
            cover.meta["steps"].append(
                {"sign": sign, "width": m, "covered": frac, "faces": piece.faces[0],
                 "wrongly_included": int((inside & avoid_mask).sum()), "seconds": time.perf_counter() - start}
            )  # fmt: skip
            log.info("%s step, width %d: covers %.4f, %d faces", "P" if sign > 0 else "Q", m, frac, piece.faces[0])
            if best is None or frac > best[0]:
                best = (frac, piece)
            if frac >= cover_th:
                break
            if tries % restarts == 0:
                m += width_step
        assert best is not None
        piece = best[1]
        polys.append(PolytopeBasisCover(piece.a, piece.b, [sign], piece.atol))
        counts += sign * piece.membership(x)[:, 0].long()
        sign = -sign
    result = PolytopeBasisCover.concat(polys, meta=cover.meta) if polys else cover
    result.meta["accuracy"] = result.accuracy(x, lab) if polys else float((lab == 0).double().mean())
    if len(polys) >= max_polytopes and result.meta["accuracy"] < acc_th:
        reason = f"max_polytopes={max_polytopes} reached"
    elif result.meta["accuracy"] >= acc_th:
        reason = f"accuracy {result.meta['accuracy']:.6f} >= acc_th"
    result.meta["reason"] = reason
    return result
