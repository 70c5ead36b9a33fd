r"""The NTK margin of a convex two-layer network as an SOCP (NTK-convex paper, Equation (1)).

.. math::
    \gamma_V = \max_{\|w_j\|_2 \le 1} \min_i \; y_i \sum_j \rho_j \langle x_i, w_j \rangle \mathbf 1[\langle x_i, v_j\rangle > 0],

i.e. :math:`\max t` s.t. :math:`y_i f(V, W, x_i) \ge t` for all :math:`i` and :math:`\|w_j\|_2 \le 1`,
solved with cvxpy (Clarabel by default).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import torch

__all__ = ["ntk_margin"]


def ntk_margin(
    x: torch.Tensor, y: torch.Tensor, gates: torch.Tensor, rho: torch.Tensor | None = None, solver: str = "CLARABEL"
) -> tuple[float, torch.Tensor]:
    """Exact :math:`\\gamma_V` and a maximiser :math:`W_V` ``(m, d)``.

    Args:
        x: ``(n, d)`` inputs.
        y: ``(n,)`` labels in {-1, +1}.
        gates: ``(m, d)`` gate vectors :math:`V`.
        rho: ``(m,)`` neuron weights (default :math:`1/m`).
        solver: an installed cvxpy conic solver.

    Raises:
        ValueError: labels outside {-1, +1}, or shapes that do not match.
        RuntimeError: solver missing or not optimal (with its status).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]); y = torch.tensor([1.0, -1.0])
        >>> g, w = ntk_margin(x, y, torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), rho=torch.tensor([0.5, 0.5]))
        >>> round(g, 6)
        0.5
    """
    if not set(torch.unique(y).tolist()) <= {-1.0, 1.0}:
        raise ValueError(f"labels for the margin must be in {{-1, +1}}, got {sorted(set(torch.unique(y).tolist()))}")
    if x.ndim != 2 or gates.ndim != 2 or gates.shape[1] != x.shape[1] or len(y) != len(x):
        raise ValueError(
            f"expected x (n, d), y (n,), gates (m, d); got {tuple(x.shape)}, {tuple(y.shape)}, {tuple(gates.shape)}"
        )
    if solver not in cp.installed_solvers():
        raise RuntimeError(f"cvxpy solver {solver!r} is not installed (installed: {cp.installed_solvers()})")
    X, Y = x.double().numpy(), y.double().numpy()
    V = gates.double().numpy()
    m = V.shape[0]
    r = np.full(m, 1.0 / m) if rho is None else rho.double().numpy()
    act = (X @ V.T > 0).astype(float) * r  # (n, m)
    W, t = cp.Variable((m, X.shape[1])), cp.Variable()
    f = cp.sum(cp.multiply(act, X @ W.T), axis=1)
    prob = cp.Problem(cp.Maximize(t), [cp.multiply(Y, f) >= t, cp.norm(W, 2, axis=1) <= 1])
    prob.solve(solver=solver)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"margin SOCP not solved: status {prob.status!r} (expected 'optimal')")
    return float(prob.value), torch.as_tensor(np.asarray(W.value))
