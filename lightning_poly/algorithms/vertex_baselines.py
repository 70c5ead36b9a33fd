r"""The baselines the zonotope paper compares vertex search with (appendix H.1.2 and H.2.2).

* :func:`shallow_gradient_descent` — full-batch gradient descent on :math:`f(x) = v^\top \phi(W \bar x) + c`
  from Glorot (Xavier uniform) initialisations, many seeds at once (one tensor per parameter with a
  leading seed dimension, gradients written out by hand: the networks are tiny and the paper runs
  :math:`4 \cdot 10^5` to :math:`10^6` steps). With ``v`` given, the second layer is frozen to it
  (appendix H.2.2: half ``+1``, half ``-1``); otherwise every parameter trains (H.1.2).
* :func:`random_vertex_alternating` — appendix H.1.2's "random vertex": the pattern of Gaussian
  weights, ``v`` uniform in :math:`\{-1, 1\}`, then alternately program (3) for :math:`(W, c)` with
  ``v`` fixed (:func:`~lightning_poly.solvers.vertex_program`) and least squares for :math:`(v, c)`
  with ``W`` fixed, until the loss stops falling. Neither half-step can raise the loss by more than
  program (3)'s ridge term (the previous parameters are feasible for both). In fact the first least
  squares already finds nothing to improve: the activation cone is closed under scaling, so at
  program (3)'s optimum :math:`w_j^\top \nabla_{w_j} L = 0`, which is :math:`v_j\, \partial L / \partial v_j`;
  ``v`` is then a stationary point, hence the optimum, of the convex least squares. The alternation
  ends after one round (up to the ridge and solver tolerance): the baseline is program (3) at a random
  vertex with a random :math:`\pm 1` second layer. A round is kept only if it lowers the loss, so the
  trace is non-increasing even where a solve with the new ``v`` goes wrong.

Reading chosen: Glorot initialisation of the first layer's weight and of ``v`` with zero biases (the
framework default the paper's "parameter initialization scheme from Glorot & Bengio (2010)" refers to).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_finite, check_int, check_positive
from lightning_poly.geometry.zonotope import random_vertex
from lightning_poly.nn.homogeneous import augment, homogeneous_points
from lightning_poly.solvers.vertex_program import VertexLoss, vertex_loss, vertex_program

__all__ = ["BaselineRecord", "random_vertex_alternating", "shallow_gradient_descent"]


@dataclass
class BaselineRecord:
    """Final losses and parameters of a baseline, one entry per seed.

    Attributes:
        loss: ``(S,)`` final training loss of each seed.
        weight: ``(S, m, d + 1)`` first layers (bias last).
        v: ``(S, m)`` second layers.
        output_bias: ``(S,)`` the output biases ``c``.
        trace: ``(T, S)`` training loss every ``log_every`` steps (or every alternation), the start first.
        steps: steps (or alternations) run.
        seconds: wall time.
    """

    loss: torch.Tensor
    weight: torch.Tensor
    v: torch.Tensor
    output_bias: torch.Tensor
    trace: torch.Tensor
    steps: int
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _check_data(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"`x` must be (N, d) and `y` (N,), got {tuple(x.shape)} and {tuple(y.shape)}")
    check_finite("x", x)
    check_finite("y", y)


def _loss_grad(pred: torch.Tensor, y: torch.Tensor, loss: VertexLoss) -> torch.Tensor:
    """d(mean loss)/d(pred), last dimension the examples."""
    n = pred.shape[-1]
    if loss == "squared":
        return 2 * (pred - y) / n
    return (torch.sigmoid(pred) - y) / n


def shallow_gradient_descent(
    x: torch.Tensor,
    y: torch.Tensor,
    m: int,
    steps: int = 400_000,
    lr: float = 1e-3,
    seeds: int = 8,
    loss: VertexLoss = "squared",
    v: torch.Tensor | None = None,
    log_every: int = 1000,
    seed: int = 0,
    bias_init: Literal["zero", "glorot"] = "zero",
) -> BaselineRecord:
    """Full-batch gradient descent on a shallow ReLU network, ``seeds`` initialisations at once.

    Args:
        x: ``(N, d)`` data, or ``(S, N, d)``: one dataset per seed (then ``seeds = S``).
        y: ``(N,)`` targets (``{0, 1}`` for the logistic loss), or ``(S, N)``.
        m: hidden units.
        steps: gradient steps (the paper: 400,000 on synthetic data, 1,000,000 on the image pairs).
        lr: learning rate (the paper: 1e-3).
        seeds: initialisations trained together (ignored for ``(S, N, d)`` data).
        loss: ``"squared"`` or ``"logistic"``, as program (3).
        v: ``(m,)`` a frozen second layer (appendix H.2.2); ``None`` trains it.
        log_every: steps between entries of the trace.
        seed: seed of the first initialisation's generator.
        bias_init: ``"zero"``: Glorot uniform on the ``(m, d)`` weight and zero biases (PyTorch's
            ``xavier_uniform_`` on a ``Linear``'s weight); ``"glorot"``: Glorot uniform on the ``(m, d + 1)``
            matrix :math:`W` of the paper's :math:`\\phi(W\\bar x)`, the bias column included (the other literal
            reading of appendix H.1.2).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(12, 2, generator=g, dtype=torch.float64)
        >>> rec = shallow_gradient_descent(x, torch.relu(x[:, 0]), m=4, steps=2000, lr=1e-2, seeds=3)
        >>> rec.loss.shape, bool((rec.trace[-1] <= rec.trace[0]).all())
        (torch.Size([3]), True)
    """
    if x.ndim == 3:  # one dataset per seed
        if y.shape != x.shape[:2]:
            raise ValueError(f"`x` (S, N, d) needs `y` (S, N), got {tuple(x.shape)} and {tuple(y.shape)}")
        check_finite("x", x)
        check_finite("y", y)
        seeds = x.shape[0]
    else:
        _check_data(x, y)
    check_int("m", m, minimum=1)
    check_int("steps", steps, minimum=0)
    check_int("seeds", seeds, minimum=1)
    check_int("log_every", log_every, minimum=1)
    check_positive("lr", lr)
    if loss not in ("squared", "logistic"):
        raise ValueError(f"`loss` must be one of 'squared', 'logistic', got {loss!r}")
    check_choice("bias_init", bias_init, ("zero", "glorot"))
    if v is not None and v.shape != (m,):
        raise ValueError(f"`v` must have shape ({m},), one output weight per unit, got {tuple(v.shape)}")
    t0 = time.perf_counter()
    xb = homogeneous_points(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], x.shape[-1] + 1)
    xb = xb.expand(seeds, *xb.shape[-2:]) if x.ndim == 2 else xb
    yd = y.detach().double().to(xb.device).expand(seeds, xb.shape[1])
    k = xb.shape[-1]
    g = torch.Generator().manual_seed(seed)
    cols = k - 1 if bias_init == "zero" else k  # Glorot uniform on the (m, d) weight (biases 0) or on (m, d + 1)
    bound_w = math.sqrt(6.0 / (cols + m))
    w = torch.zeros(seeds, m, k, dtype=torch.float64)
    w[..., :cols] = (torch.rand(seeds, m, cols, generator=g, dtype=torch.float64) * 2 - 1) * bound_w
    if v is None:
        bound_v = math.sqrt(6.0 / (m + 1))
        vs = (torch.rand(seeds, m, generator=g, dtype=torch.float64) * 2 - 1) * bound_v
    else:
        check_finite("v", v)
        vs = v.detach().double().expand(seeds, m).clone()
    w, vs = w.to(xb.device), vs.to(xb.device)
    c = torch.zeros(seeds, dtype=torch.float64, device=xb.device)
    trace = []
    for step in range(steps + 1):
        pre = torch.einsum("smk,snk->smn", w, xb)
        h = pre.clamp_min(0)
        pred = torch.einsum("sm,smn->sn", vs, h) + c[:, None]
        if step % log_every == 0 or step == steps:
            trace.append(vertex_loss(pred, yd, loss))
        if step == steps:
            break
        gp = _loss_grad(pred, yd, loss)  # (S, N)
        gw = torch.einsum("smn,snk->smk", (pre > 0) * vs[..., None] * gp[:, None, :], xb)
        if v is None:
            vs = vs - lr * torch.einsum("smn,sn->sm", h, gp)
        c = c - lr * gp.sum(dim=1)
        w = w - lr * gw
    final = trace[-1]
    return BaselineRecord(final, w.cpu(), vs.cpu(), c.cpu(), torch.stack(trace).cpu(), steps, time.perf_counter() - t0)


def random_vertex_alternating(
    x: torch.Tensor,
    y: torch.Tensor,
    m: int,
    seeds: int = 8,
    max_rounds: int = 100,
    tol: float = 1e-10,
    ridge: float = 1e-8,
    seed: int = 0,
    start: Literal["random_signs", "least_squares"] = "random_signs",
) -> BaselineRecord:
    """Appendix H.1.2's random-vertex baseline (squared loss): a Gaussian vertex, then alternate program (3)
    for ``(W, c)`` and least squares for ``(v, c)`` until the loss falls by less than ``tol * (1 + loss)``.

    Args:
        x: ``(N, d)`` data.
        y: ``(N,)`` targets.
        m: hidden units.
        seeds: independent vertices (seed ``seed + i`` for the ``i``-th).
        max_rounds: most alternations per vertex.
        tol: relative decrease below which the alternation stops.
        ridge: ridge of program (3) (:mod:`~lightning_poly.solvers.vertex_program`).
        seed: first seed.
        start: the first ``v``: ``"random_signs"``, uniform in :math:`\\{-1, 1\\}` (the paper's words), then
            program (3); ``"least_squares"``: ``(v, c)`` by least squares on the features
            :math:`\\phi(W\\bar x)` of the vertex's own Gaussian weights first (the alternation begun at its
            other half-step).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(10, 2, generator=g, dtype=torch.float64)
        >>> rec = random_vertex_alternating(x, torch.relu(x[:, 0]) - torch.relu(x[:, 1]), m=2, seeds=2)
        >>> rec.trace.shape[0], bool((rec.trace[-1] <= rec.trace[0]).all())
        (1, True)
    """
    _check_data(x, y)
    check_int("m", m, minimum=1)
    check_int("seeds", seeds, minimum=1)
    check_int("max_rounds", max_rounds, minimum=1)
    check_positive("tol", tol)
    check_choice("start", start, ("random_signs", "least_squares"))
    t0 = time.perf_counter()
    xb = homogeneous_points(x)
    yd = y.detach().double().to(xb.device)
    weights, vs, cs, traces = [], [], [], []
    rounds = 0
    for i in range(seeds):
        pattern, w0 = random_vertex(x, m, seed=seed + i)
        if start == "random_signs":
            g = torch.Generator().manual_seed(seed + i)
            v = torch.randint(0, 2, (m,), generator=g).double().mul(2).sub(1).to(xb.device)
        else:
            feats = augment((w0.to(xb) @ xb.T).clamp_min(0).T)
            v = torch.linalg.lstsq(feats, yd[:, None]).solution[:-1, 0]
        sol = vertex_program(x, yd, pattern, v, loss="squared", output_bias=True, ridge=ridge)
        w, c = sol.weight[0], float(sol.output_bias[0])
        trace = [float(sol.loss[0])]
        for _ in range(max_rounds):
            rounds += 1
            feats = augment((w @ xb.T).clamp_min(0).T)
            coef = torch.linalg.lstsq(feats, yd[:, None]).solution[:, 0]
            v_new = coef[:-1]
            sol = vertex_program(x, yd, pattern, v_new, loss="squared", output_bias=True, ridge=ridge, warn=False)
            new = float(sol.loss[0])
            if not new < trace[-1] - tol * (1 + trace[-1]):  # no gain (or a solve that failed): keep the last
                break
            w, c, v = sol.weight[0], float(sol.output_bias[0]), v_new
            trace.append(new)
        weights.append(w.cpu())
        vs.append(v.cpu())
        cs.append(c)
        traces.append(trace)
    length = max(len(t) for t in traces)
    trace = torch.tensor([t + [t[-1]] * (length - len(t)) for t in traces], dtype=torch.float64).T
    return BaselineRecord(
        trace[-1].clone(), torch.stack(weights), torch.stack(vs), torch.tensor(cs, dtype=torch.float64), trace,
        rounds, time.perf_counter() - t0,
    )  # fmt: skip
