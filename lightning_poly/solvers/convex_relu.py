r"""The cone-constrained convex reformulation of two-layer ReLU training (Pilanci & Ergen 2020).

.. math::
    \min_{u, u'} \frac{1}{2n}\Big\|\sum_i D_i \tilde X (u_i - u'_i) - y\Big\|^2 + \lambda \sum_i \|u_i\|_2 + \|u'_i\|_2
    \quad \text{s.t.}\quad (2D_i - I)\tilde X u_i \ge 0,\ (2D_i - I)\tilde X u'_i \ge 0,

over activation patterns :math:`D_i` (sampled by gates). Its optimum equals that of the non-convex
problem :math:`\frac{1}{2n}\|f(X) - y\|^2 + \frac\lambda2 \sum_j \|w_j\|^2 + a_j^2` restricted to these
patterns, and :func:`to_relu_network` maps a solution to that network with the usual
:math:`\sqrt{\cdot}`-scaling, :math:`w = u/\sqrt{\|u\|}`, :math:`a = \pm\sqrt{\|u\|}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import torch
from torch import nn

from lightning_poly._validation import check_positive
from lightning_poly.nn.homogeneous import augment

__all__ = ["ConvexReLUSolution", "convex_relu_cvxpy", "patterns_from_gates", "to_relu_network"]


def patterns_from_gates(x: torch.Tensor, gates: torch.Tensor, bias: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct activation patterns ``D`` ``(n, P)`` of the gates on ``x`` and one gate per pattern.

    Args:
        x: ``(n, d)`` inputs.
        gates: ``(m, d~)`` gate vectors.
        bias: augment inputs with a constant 1.
    """
    act = augment(x.double(), bias) @ gates.double().T > 0  # (n, m)
    uniq, inverse = torch.unique(act.T, dim=0, return_inverse=True)
    first = torch.full((len(uniq),), len(gates), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(gates)), reduce="amin")
    return uniq.T, gates[first]


@dataclass
class ConvexReLUSolution:
    """``u``, ``u_neg``: ``(P, d~)``; objective; solver status."""

    u: torch.Tensor
    u_neg: torch.Tensor
    objective: float
    status: str


def convex_relu_cvxpy(
    x: torch.Tensor, y: torch.Tensor, patterns: torch.Tensor, lam: float, bias: bool = True, solver: str = "CLARABEL"
) -> ConvexReLUSolution:
    """Solve the cone-constrained problem above with cvxpy (squared loss).

    Args:
        x: ``(n, d)`` inputs.
        y: ``(n,)`` targets.
        patterns: ``(n, P)`` activation patterns (from :func:`patterns_from_gates`).
        lam: group-lasso weight.
        bias: augment inputs with a constant 1.
        solver: an installed cvxpy conic solver.

    Raises:
        RuntimeError: solver missing (names what to install) or not optimal (with its status).
    """
    check_positive("lam", lam)
    if solver not in cp.installed_solvers():
        raise RuntimeError(
            f"cvxpy solver {solver!r} is not installed (installed: {cp.installed_solvers()}); try `pip install {solver.lower()}`"
        )
    X = augment(x.double(), bias).numpy()
    D = patterns.double().numpy()
    Y = y.double().numpy()
    n, d = X.shape
    p = D.shape[1]
    U, V = cp.Variable((p, d)), cp.Variable((p, d))
    pred = cp.sum(cp.multiply(D, X @ (U - V).T), axis=1)
    sign = 2 * D - 1  # (n, P)
    cons = [cp.multiply(sign, X @ U.T) >= 0, cp.multiply(sign, X @ V.T) >= 0]
    obj = cp.sum_squares(pred - Y) / (2 * n) + lam * (cp.sum(cp.norm(U, 2, axis=1)) + cp.sum(cp.norm(V, 2, axis=1)))
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=solver)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"convex ReLU problem not solved: status {prob.status!r} (expected 'optimal')")
    return ConvexReLUSolution(
        torch.as_tensor(np.asarray(U.value)), torch.as_tensor(np.asarray(V.value)), float(prob.value), str(prob.status)
    )


@torch.no_grad()
def to_relu_network(sol: ConvexReLUSolution, bias: bool = True, tol: float = 1e-8) -> nn.Sequential:
    """The two-layer ReLU network of a solution (√-scaling; groups with norm <= tol dropped).

    Args:
        sol: a solution of :func:`convex_relu_cvxpy`.
        bias: whether the inputs were augmented.
        tol: groups with a relative norm at most this are dropped.

    Example:
        >>> sol = ConvexReLUSolution(torch.tensor([[4.0, 0.0]]), torch.zeros(1, 2), 0.0, "optimal")
        >>> net = to_relu_network(sol, bias=False)
        >>> net[0].weight.tolist(), net[2].weight.tolist()
        ([[2.0, 0.0]], [[2.0]])
    """
    u = torch.cat([sol.u, sol.u_neg])
    sign = torch.cat([torch.ones(len(sol.u)), -torch.ones(len(sol.u_neg))]).double()
    norms = u.norm(dim=1)
    keep = norms > tol * max(1.0, float(norms.max()) if len(norms) else 1.0)
    u, sign, norms = u[keep], sign[keep], norms[keep]
    k = max(len(u), 1)
    d = u.shape[1] - int(bias)
    net = nn.Sequential(nn.Linear(d, k, bias=bias), nn.ReLU(), nn.Linear(k, 1, bias=False)).double()
    net[0].weight.zero_()
    net[2].weight.zero_()
    if bias:
        net[0].bias.zero_()
    w = u / norms.sqrt()[:, None]
    net[0].weight[: len(u)] = w[:, :d]
    if bias:
        net[0].bias[: len(u)] = w[:, d]
    net[2].weight[0, : len(u)] = sign * norms.sqrt()
    return net
