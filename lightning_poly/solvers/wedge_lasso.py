r"""The convex Lasso over wedge-product neurons for weight decay (p = 2): an ε-optimal UPPER BOUND (Theorems 3, 15).

For two-layer ReLU networks trained with weight decay :math:`\beta`,

.. math::
    J(\theta) = \frac1n \sum_i \big(f_\theta(x_i) - y_i\big)^2 + \beta \sum_j \|W^{(1)}_j\|_2^2 + \|W^{(2)}_j\|_2^2 ,

balancing the layers (Equation (98)) turns the penalty into :math:`2\beta\sum_j \|W^{(1)}_j\| |W^{(2)}_j|`,
so with unit-norm (ℓ2) neurons it is a Lasso over neurons. We build the dictionary :math:`K` of unit normals to the
lines through pairs of training points (with biases: :math:`\kappa(x, x', x'') = \mathrm{dist}_+(x,
\mathrm{Aff}(x', x''))`, Theorem 3 / eq. (13), both orientations; bias-free: normals to the span of ``d - 1`` points)
and solve

.. math::
    \min_{z, t} \frac1n \|K z + t\mathbf 1 - y\|_2^2 + 2\beta \|z\|_1

with cvxpy (Clarabel by default). Its value :math:`\hat p` is :math:`J` of the network built from the non-zero
entries (:meth:`WedgeLassoResult.network`), a feasible network, so :math:`\hat p \ge p^*` — an **upper bound** on
the global optimum :math:`p^*` of :math:`J`, not the optimum. Theorems 3 and 15 (Definition 1, eq. (11)) make it
ε-optimal, :math:`p^* \le \hat p \le (1 + \epsilon) p^*`, when the data are locally ε-dispersed (Definition 2,
eq. (12): for every :math:`j`, consecutive angles of :math:`x_i - x_j` modulo π at most επ apart, ε ≤ 1/2);
:func:`local_dispersion` measures that ε in the plane and the result carries :math:`\hat p / (1 + \epsilon)` as a
lower bound when ε ≤ 1/2 (our reading: the theorem's dictionary is the pairs of training points, as built here).
The p = 1 programs are exact (Theorems 4, 16: :mod:`lightning_poly.solvers.exact_l1`) and give certified bounds on
:math:`p^*` for every data set (:func:`~lightning_poly.pipelines.compare_to_optimum`). Small problems only: the
number of columns is ``2 C(n, d)``; beyond ``max_columns`` the solver refuses and says how many there would be.
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

__all__ = ["WedgeLassoResult", "local_dispersion", "two_layer_objective", "wedge_dictionary", "wedge_lasso"]


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


def two_layer_objective(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, beta: float, *, p: int = 2) -> float:
    """:math:`J` above for a two-layer ``Linear-ReLU-Linear`` network, after optimal balancing
    (so it is the smallest penalty of the same function: :math:`2\\beta\\sum_j\\|W^{(1)}_j\\|_p|W^{(2)}_j|`);
    ``p=1`` gives problem (2)'s ℓ1 objective :math:`J_1 = \\text{MSE} + \\beta\\sum_j \\|W^{(1)}_j\\|_1^2 + |W^{(2)}_j|^2`.

    Args:
        net: a ``Linear-ReLU-Linear`` network.
        x: ``(n, d)`` inputs.
        y: ``(n,)`` targets.
        beta: weight decay :math:`\\beta`.
        p: the first layer's norm, 1 or 2.
    """
    with torch.no_grad():
        out = net(x.to(net[0].weight)).double().flatten()
        mse = float(((out - y.double().flatten()) ** 2).mean())
        norms = net[0].weight.double().norm(p=p, dim=1)
        pen = 2 * beta * float((norms * net[2].weight.double().abs().flatten()).sum())
    return mse + pen


def local_dispersion(x: torch.Tensor) -> float:
    """The smallest ε for which planar data are locally ε-dispersed (Definition 2, eq. (12)).

    For every anchor :math:`x_j`, the angles modulo π of :math:`x_i - x_j` (:math:`i \\ne j`) sorted, the largest
    gap between consecutive ones (the last to the first plus π included), over π; the maximum over anchors.

    Args:
        x: ``(n, 2)`` distinct points, ``n >= 3``.

    Raises:
        ValueError: for points not in the plane or fewer than 3.

    Example:
        >>> round(local_dispersion(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), 4)
        0.5
    """
    if x.ndim != 2 or x.shape[1] != 2 or len(x) < 3:
        raise ValueError(f"`x` must be (n, 2) with n >= 3, got {tuple(x.shape)}")
    check_finite("x", x)
    xd = x.detach().double()
    diff = xd[None, :, :] - xd[:, None, :]  # (j, i, 2)
    off = ~torch.eye(len(xd), dtype=torch.bool, device=xd.device)
    ang = torch.remainder(torch.atan2(diff[..., 1], diff[..., 0]), torch.pi)[off].reshape(len(xd), -1)
    ang = ang.sort(dim=1).values
    gaps = torch.cat([ang.diff(dim=1), (ang[:, :1] + torch.pi - ang[:, -1:])], 1)
    return float(gaps.max()) / torch.pi


@dataclass
class WedgeLassoResult:
    """Solution of the wedge Lasso: weights ``z``, intercept ``t``, neurons and tuples, and its value.

    Attributes:
        objective: the Lasso's value :math:`\\hat p`, :math:`J` of :meth:`network`: an upper bound on the global
            optimum :math:`p^*` of :math:`J` (ε-optimal under local ε-dispersion, Theorem 3).
        epsilon: the local dispersion ε of the data (:func:`local_dispersion`; ``None`` unless ``d = 2`` with biases).
        lower_bound: :math:`\\hat p / (1 + \\epsilon)`, the lower bound on :math:`p^*` that Theorem 3 gives when
            ``epsilon <= 1/2`` (else ``None``).
    """

    objective: float
    z: np.ndarray
    t: float
    u: torch.Tensor
    c: torch.Tensor
    tuples: torch.Tensor
    status: str
    epsilon: float | None = None
    lower_bound: float | None = None

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
    """Solve the wedge-product Lasso (module docstring) for small data: an upper bound on :math:`J`'s optimum.

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
    eps = local_dispersion(x) if bias and d == 2 and n >= 3 else None
    low = float(prob.value) / (1 + eps) if eps is not None and eps <= 0.5 else None
    return WedgeLassoResult(
        float(prob.value), np.asarray(z.value), float(t.value), u, c, tuples, str(prob.status), eps, low
    )
