r"""The convex Lasso over wedge-product neurons (wedge-products paper, Theorems 2-5 and 14).

For two-layer ReLU networks trained with weight decay :math:`\beta`,

.. math::
    J(\theta) = \frac1n \sum_i \big(f_\theta(x_i) - y_i\big)^2 + \beta \sum_j \|W^{(1)}_j\|_2^2 + \|W^{(2)}_j\|_2^2 ,

balancing the layers (Equation (98)) turns the penalty into :math:`2\beta\sum_j \|W^{(1)}_j\| |W^{(2)}_j|`,
so with unit-norm neurons the problem is a Lasso over neurons. The theorems say the optimal neurons
are normals to the affine hull of ``d`` training points (with biases: :math:`\kappa(x, x', x'') =
\mathrm{dist}_+(x, \mathrm{Aff}(x', x''))` for ``d = 2``, Theorem 3) or to the span of ``d - 1``
points (bias-free, Theorems 2/4). We build the dictionary :math:`K` of those features (both
orientations of every hyperplane, so the dictionary contains the one of Equation (13)) and solve

.. math::
    \min_{z, t} \frac1n \|K z + t\mathbf 1 - y\|_2^2 + 2\beta \|z\|_1

with cvxpy (Clarabel by default). Its optimum is the objective :math:`J` of the network built from
the non-zero entries (:meth:`WedgeLassoResult.network`), and the theorems make it (near-)optimal
among all two-layer networks (exact for ``p = 1``; :math:`\epsilon`-optimal for weight decay with
biases, Theorem 3). Small problems only: the number of columns is ``2 C(n, d)``; beyond
``max_columns`` the solver refuses and says how many there would be.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb

import cvxpy as cp
import numpy as np
import torch
from torch import nn

from lightning_poly._validation import check_finite, check_int, check_positive

__all__ = ["WedgeLassoResult", "two_layer_objective", "wedge_dictionary", "wedge_lasso"]


def wedge_dictionary(x: torch.Tensor, bias: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit normals and offsets of every hyperplane through ``d`` points (``d - 1`` and the origin if
    bias-free), both orientations, and the index tuples.

    Args:
        x: ``(n, d)`` inputs.
        bias: hyperplanes with an offset (``False``: through the origin).

    Returns:
        ``(u, c, tuples)``: neuron ``j`` is :math:`x \\mapsto (u_j^\\top x + c_j)_+`.

    Example:
        >>> u, c, t = wedge_dictionary(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        >>> u.shape, t.shape  # 3 pairs x 2 orientations
        (torch.Size([6, 2]), torch.Size([6, 2]))
    """
    n, d = x.shape
    k = d if bias else d - 1
    tuples = torch.tensor(list(itertools.combinations(range(n), k)), dtype=torch.long).reshape(-1, k)
    pts = x.double()[tuples]  # (P, k, d)
    rows = pts[:, 1:] - pts[:, :1] if bias else pts  # (P, d-1, d)
    _, s, vh = torch.linalg.svd(rows, full_matrices=True)
    u = vh[:, -1]  # normal: last right singular vector
    # tuples whose points do not span a hyperplane (collinear, repeated) define no neuron
    deg = s[:, -1] <= 1e-10 * s[:, 0].clamp_min(1e-300) if s.shape[1] else torch.zeros(len(u), dtype=torch.bool)
    keep = ~deg
    u, tuples, pts = u[keep], tuples[keep], pts[keep]
    c = -(u * pts[:, 0]).sum(1) if bias else torch.zeros(len(u), dtype=torch.float64)
    return torch.cat([u, -u]), torch.cat([c, -c]), torch.cat([tuples, tuples])


def two_layer_objective(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, beta: float) -> float:
    """:math:`J` above for a two-layer ``Linear-ReLU-Linear`` network, after optimal balancing
    (so it is the smallest penalty of the same function: :math:`2\\beta\\sum_j\\|W^{(1)}_j\\||W^{(2)}_j|`).

    Args:
        net: a ``Linear-ReLU-Linear`` network.
        x: ``(n, d)`` inputs.
        y: ``(n,)`` targets.
        beta: weight decay :math:`\\beta`.
    """
    with torch.no_grad():
        out = net(x.to(net[0].weight)).double().flatten()
        mse = float(((out - y.double().flatten()) ** 2).mean())
        pen = 2 * beta * float((net[0].weight.double().norm(dim=1) * net[2].weight.double().abs().flatten()).sum())
    return mse + pen


@dataclass
class WedgeLassoResult:
    """Solution of the wedge Lasso: optimum, weights ``z``, intercept ``t``, neurons and tuples."""

    objective: float
    z: np.ndarray
    t: float
    u: torch.Tensor
    c: torch.Tensor
    tuples: torch.Tensor
    status: str

    def network(self, tol: float = 1e-8) -> nn.Sequential:
        """The two-layer ReLU network of the non-zero entries, balanced (``|w1| = |w2|``)."""
        nz = np.flatnonzero(np.abs(self.z) > tol * max(1.0, float(np.abs(self.z).max())))
        k, d = max(len(nz), 1), self.u.shape[1]
        net = nn.Sequential(nn.Linear(d, k), nn.ReLU(), nn.Linear(k, 1)).double()
        with torch.no_grad():
            net[0].weight.zero_()
            net[0].bias.zero_()
            net[2].weight.zero_()
            zs = torch.as_tensor(self.z[nz])
            a = zs.abs().sqrt()
            net[0].weight[: len(nz)] = self.u[nz] * a[:, None]
            net[0].bias[: len(nz)] = self.c[nz] * a
            net[2].weight[0, : len(nz)] = zs.sign() * a
            net[2].bias.fill_(self.t)
        return net


def wedge_lasso(
    x: torch.Tensor,
    y: torch.Tensor,
    beta: float,
    bias: bool = True,
    max_columns: int = 20_000,
    solver: str = "CLARABEL",
) -> WedgeLassoResult:
    """Solve the wedge-product Lasso (module docstring) for small data.

    Args:
        x: ``(n, d)`` inputs.
        y: ``(n,)`` targets.
        beta: weight decay :math:`\\beta`.
        bias: networks with biases.
        max_columns: refuse dictionaries larger than this.
        solver: an installed cvxpy conic solver.

    Raises:
        ValueError: if the dictionary would exceed ``max_columns`` (the count is in the message), or
            for bad input.
        RuntimeError: if the solver does not reach an optimal status (with the status).

    Example:
        >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = torch.tensor([0.0, 1.0, 1.0, 0.0])
        >>> res = wedge_lasso(x, y, beta=1e-3)
        >>> abs(two_layer_objective(res.network(), x, y, 1e-3) - res.objective) < 1e-5
        True
    """
    check_positive("beta", beta)
    check_int("max_columns", max_columns, minimum=1)
    if x.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"`x` must be (n, d) and `y` (n,), got {tuple(x.shape)} and {tuple(y.shape)}")
    check_finite("x", x)
    check_finite("y", y)
    n, d = x.shape
    cols = 2 * comb(n, d if bias else d - 1)
    if cols > max_columns:
        raise ValueError(
            f"the wedge dictionary would have {cols} columns (2 C({n}, {d if bias else d - 1})), over `max_columns`={max_columns}; use fewer points or raise the limit"
        )
    u, c, tuples = wedge_dictionary(x, bias)
    k = torch.relu(x.double() @ u.T + c).numpy()
    yy = y.double().flatten().numpy()
    z, t = cp.Variable(k.shape[1]), cp.Variable()
    prob = cp.Problem(cp.Minimize(cp.sum_squares(k @ z + t - yy) / n + 2 * beta * cp.norm1(z)))
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError as err:
        if solver not in cp.installed_solvers():
            raise RuntimeError(
                f"solver {solver!r} is not installed (installed: {cp.installed_solvers()}); `pip install {solver.lower()}`"
            ) from err
        raise RuntimeError(f"solver {solver} failed: {err}") from err
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"wedge Lasso not solved: status {prob.status!r} (expected 'optimal')")
    return WedgeLassoResult(float(prob.value), np.asarray(z.value), float(t.value), u, c, tuples, str(prob.status))
