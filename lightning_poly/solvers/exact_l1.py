r"""The exact convex programs of the ℓ1-regularised (p = 1) two-layer ReLU network: Theorems 4 and 16.

Problem (2) with :math:`p = 1`, written :math:`\frac{1}{n}\sum_i \ell(f(x_i), y_i) + \frac{\beta}{2}\sum_j
(\|w_j\|_1^2 + |v_j|^2)` (so the Lasso weight after balancing, eq. (96)–(98), is :math:`\beta`; the paper's
:math:`\lambda = \beta/2`), equals the Lasso

.. math::
    \min_{z, t} \ \frac{1}{n}\sum_i \ell((Kz)_i + t, y_i) + \beta \|z\|_1

* Theorem 4 (no biases, any :math:`d`; eq. (14)–(15)): the training set is augmented with :math:`e_1, \dots, e_d`
  (Section 2's augmented data matrix); every :math:`(d - 1)`-subset of the augmented rows gives the generalised
  cross product :math:`c = \times(x_{j_1}, \dots, x_{j_{d-1}})`, the neuron :math:`u = c / \|c\|_1` and the columns
  :math:`(X u)_+`, :math:`(-X u)_+` (both orientations: the ordering of the subset sets the sign). No intercept.
* Theorem 16 (biases, :math:`d = 2`; eq. (45)–(47)) through the proof's reduction (87): for every anchor
  :math:`x_j` (the bias :math:`-u^\top x_j`), Theorem 4 on :math:`X - 1 x_j^\top` augmented with the :math:`e_k`:
  neurons :math:`(u^\top (x - x_j))_+` with :math:`u \perp x_{j_2} - x_j` or :math:`u \perp e_k`, and an unpenalised
  output bias :math:`t` (the dual constraint :math:`1^\top v = 0`). The same construction is applied for
  :math:`d > 2` (the proof of Theorem 16 repeats Theorem 4 per anchor), but only :math:`d = 2` is the stated theorem.

The columns number :math:`\binom{n + d}{d - 1}` (Theorem 4) or :math:`n \binom{n - 1 + d}{d - 1}` (biases), times 2
orientations; above ``max_columns`` the programs refuse with the count. The Lasso is solved to a certified duality
gap (squared loss: the QP of :func:`~lightning_poly.solvers.lasso_qp.squared_lasso_qp`, exact up to HiGHS's
tolerances 1e-10, ~0.2 s for n = 40, d = 2 with biases at 1 thread; logistic: proximal Newton steps on the same
QP, :func:`~lightning_poly.solvers.lasso_qp.logistic_lasso_qp`; FISTA stalls on these degenerate dictionaries):
``dual <= p* <= objective``, so the value is a certified
optimum of problem (2) with :math:`p = 1` up to ``gap``, and :attr:`ExactL1Result.network` attains ``objective``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from lightning_poly._validation import check_finite, check_int, check_positive
from lightning_poly.solvers.lasso import weighted_lasso
from lightning_poly.solvers.lasso_qp import logistic_lasso_qp, squared_lasso_qp
from lightning_poly.solvers.losses import SolverLoss

__all__ = ["ExactL1Result", "l1_dictionary", "l1_network_optimum", "problem2_objective"]


@dataclass
class ExactL1Result:
    """The certified optimum of problem (2) with p = 1 and a network that attains it.

    Attributes:
        objective: the Lasso's (= the network's problem (2)) value, an upper bound on the optimum.
        dual: a certified lower bound (``objective - dual`` is the gap).
        gap: ``objective - dual``.
        network: ``Sequential(Linear(d, s), ReLU, Linear(s, 1))`` of the ``s`` neurons with :math:`z_j \\ne 0`,
            balanced by eq. (98) in the ℓ1 norm.
        n_columns: columns of the dictionary :math:`K`.
    """

    objective: float
    dual: float
    gap: float
    network: nn.Sequential
    n_columns: int


def _cross_products(rows: torch.Tensor) -> torch.Tensor:
    """Generalised cross products ``(C, d)`` of ``(C, d - 1, d)`` row sets: :math:`c_k = \\det[A; e_k]`."""
    c_count, dm1, d = rows.shape
    eye = torch.eye(d, dtype=rows.dtype, device=rows.device)
    full = torch.cat([rows[:, None].expand(c_count, d, dm1, d), eye[None, :, None, :].expand(c_count, d, 1, d)], 2)
    return torch.linalg.det(full)  # (C, d)


def _count(n: int, d: int, bias: bool) -> int:
    return 2 * (n * math.comb(n - 1 + d, d - 1) if bias else math.comb(n + d, d - 1))


def l1_dictionary(
    x: torch.Tensor, bias: bool, max_columns: int = 200_000
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The dictionary of Theorem 4 (``bias=False``) or 16 (``bias=True``): ``(K, U, b)``.

    Args:
        x: ``(n, d)`` training inputs, ``d >= 2``.
        bias: neurons with biases (Theorem 16's anchors).
        max_columns: refuse above this many columns.

    Returns:
        ``K`` ``(n, C)`` with ``K[:, j] = (x U_j + b_j)_+``, neurons ``U`` ``(C, d)`` with :math:`\\|U_j\\|_1 = 1`, biases ``b``.

    Raises:
        ValueError: for ``d < 2`` or more than ``max_columns`` columns (with the count).

    Example:
        >>> K, U, b = l1_dictionary(torch.tensor([[1.0, -1.0], [2.0, 0.0]]), bias=False)
        >>> K.shape, U.abs().sum(1).tolist()[:2]
        (torch.Size([2, 3]), [1.0, 1.0])
    """
    check_finite("x", x)
    check_int("max_columns", max_columns, minimum=1)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"`x` must be (n, d) with d >= 2, got {tuple(x.shape)}")
    n, d = x.shape
    count = _count(n, d, bias)
    if count > max_columns:
        kind = (
            f"n * C(n - 1 + d, d - 1) = {n} * C({n - 1 + d}, {d - 1})"
            if bias
            else f"C(n + d, d - 1) = C({n + d}, {d - 1})"
        )
        raise ValueError(f"the dictionary has 2 * {kind} = {count} columns, above `max_columns` = {max_columns}")
    xd = x.detach().double()
    eye = torch.eye(d, dtype=xd.dtype, device=xd.device)
    anchors = range(n) if bias else [None]
    us, bs = [], []
    for j in anchors:
        base = torch.cat([torch.cat([xd[:j], xd[j + 1 :]]) - xd[j], eye]) if j is not None else torch.cat([xd, eye])
        subsets = torch.tensor(list(itertools.combinations(range(len(base)), d - 1)), device=xd.device)
        c = _cross_products(base[subsets])
        norm = c.abs().sum(1)
        keep = norm > 1e-12 * norm.max().clamp_min(1e-300)
        u = c[keep] / norm[keep, None]
        u = torch.cat([u, -u])
        us.append(u)
        bs.append(-(u @ xd[j]) if j is not None else torch.zeros(len(u), dtype=xd.dtype, device=xd.device))
    u, b = torch.cat(us), torch.cat(bs)
    k_mat = torch.relu(xd @ u.T + b)
    # equal columns (the same neuron from two anchors or subsets) are one Lasso variable: keep the first
    key = torch.round(k_mat.T * 1e9) / 1e9
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(inverse), dtype=torch.long).scatter_reduce(
        0, inverse, torch.arange(len(inverse)), reduce="amin"
    )
    keep = first.sort().values
    keep = keep[k_mat[:, keep].abs().amax(0) > 0]
    return k_mat[:, keep], u[keep], b[keep]


def problem2_objective(
    net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, loss: SolverLoss, beta: float, p: int = 1
) -> float:
    """Problem (2)'s value :math:`\\frac{1}{n}\\sum_i\\ell + \\frac{\\beta}{2}\\sum_j(\\|w_j\\|_p^2 + |v_j|^2)` of a two-layer net.

    Example:
        >>> net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 1, bias=False))
        >>> with torch.no_grad(): _ = net[0].weight.fill_(1.0); _ = net[2].weight.fill_(2.0)
        >>> problem2_objective(net, torch.tensor([[1.0]]), torch.tensor([2.0]), "squared", 1.0)
        2.5
    """
    from lightning_poly.solvers.lasso import _data_grad, _targets

    out = net(x.to(net[0].weight)).detach().double()
    data = float(_data_grad(out, _targets(y, loss, len(y), 1), loss)[0])
    w1, w2 = net[0].weight.detach().double(), net[2].weight.detach().double()
    return data + beta / 2 * float((w1.norm(p=p, dim=1) ** 2).sum() + (w2.norm(p=p, dim=0) ** 2).sum())


@torch.no_grad()
def l1_network_optimum(
    x: torch.Tensor,
    y: torch.Tensor,
    loss: SolverLoss = "squared",
    beta: float = 1e-3,
    bias: bool = True,
    max_columns: int = 200_000,
    tol: float = 1e-9,
) -> ExactL1Result:
    """The certified global optimum of problem (2) with p = 1 (Theorem 4 / 16) and a network attaining it.

    Args:
        x: ``(n, d)`` inputs.
        y: targets (squared) or 0/1 labels (logistic).
        loss: ``"squared"`` or ``"logistic"`` (one output).
        beta: the weight decay :math:`\\beta` (the Lasso weight; the paper's :math:`\\lambda = \\beta / 2`).
        bias: neurons and output with biases (Theorem 16) or none (Theorem 4).
        max_columns: refuse dictionaries with more columns (see :func:`l1_dictionary`).
        tol: relative duality gap of the Lasso solve.

    Raises:
        ValueError: for arguments outside those above.

    Example:
        >>> x = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]); y = torch.tensor([0.0, 1.0, 1.0, 0.0])
        >>> res = l1_network_optimum(x, y, beta=1e-2)
        >>> res.gap < 1e-8, abs(problem2_objective(res.network, x, y, "squared", 1e-2) - res.objective) < 1e-6
        (True, True)
    """
    if loss not in ("squared", "logistic"):
        raise ValueError(f"`loss` must be one of ('squared', 'logistic') (one output), got {loss!r}")
    check_positive("beta", beta)
    if len(y) != len(x):
        raise ValueError(f"`y` must have one target per point of `x`, got {len(y)} for {len(x)} points")
    k_mat, u, b = l1_dictionary(x, bias, max_columns)
    if loss == "squared":  # exact: an active-set QP (FISTA stalls on these column-rich, degenerate dictionaries)
        sol = squared_lasso_qp(k_mat, y, beta, fit_intercept=bias)
        if sol.gap > tol * max(1.0, abs(sol.objective)):  # refine from the QP's point; keep the better certificate
            more = weighted_lasso(k_mat, y, loss, beta, p=1, fit_intercept=bias, tol=tol, init=sol.weight)
            sol = more if more.gap < sol.gap else sol
    else:  # proximal Newton with the same QP as subproblem
        sol = logistic_lasso_qp(k_mat, y, beta, fit_intercept=bias, tol=tol)
    z = sol.weight[0]
    live = z != 0
    s = int(live.sum())
    net = nn.Sequential(nn.Linear(x.shape[1], s, bias=bias), nn.ReLU(), nn.Linear(s, 1, bias=bias)).double()
    alpha = z[live].abs().sqrt()  # eq. (98) with ||u||_1 = 1: alpha = sqrt(|z| / 1)
    net[0].weight.copy_(u[live] * alpha[:, None])
    net[2].weight.copy_((z[live] / alpha)[None, :])
    if bias:
        net[0].bias.copy_(b[live] * alpha)
        net[2].bias.copy_(sol.bias)
    return ExactL1Result(sol.objective, sol.dual, sol.gap, net, k_mat.shape[1])
