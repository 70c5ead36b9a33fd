r"""How far a convex gated network is from its global optimum, and the step size of its proximal solver.

The training problem of a gated ReLU network :class:`~lightning_poly.nn.GatedReLU` is convex in its
weights :math:`W` (NTK-convex paper, Section 3; Mishkin et al. 2022, Eq. (4)):

.. math::
    \min_W \ F(W) = f(W) + \lambda \sum_j \|w_j\|_2 , \qquad
    f(W) = \frac1n \sum_i \ell\big(f(V, W, x_i), y_i\big),

so two numbers certify a solution:

* the proximal-gradient residual :math:`\|W - \mathrm{prox}_{t\lambda}(W - t\nabla f(W))\| / t`, zero
  exactly at a minimiser, for every loss;
* for the squared loss with one output, the relative duality gap
  :math:`(P(W) - D(u)) / P(W) \ge (P(W) - P^\star) / P(W)` of
  :func:`~lightning_poly.solvers.gated_lasso.relative_gap`.

The step :math:`t = 1/L` bounds the curvature of the data term: :math:`L = \|A\|_2^2 / n` for the
squared loss (:func:`~lightning_poly.solvers.gated_lasso.lipschitz`), at most a quarter of that for
the logistic loss and a half for the cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lightning_poly._validation import check_choice, check_positive
from lightning_poly.nn.gated import GatedReLU
from lightning_poly.nn.homogeneous import augment
from lightning_poly.solvers.gated_lasso import lipschitz, relative_gap
from lightning_poly.solvers.losses import SOLVER_LOSSES, SolverLoss
from lightning_poly.solvers.proximal import group_prox

__all__ = [
    "GatedCertificate",
    "GatedLoss",
    "gated_certificate",
    "gated_data_loss",
    "gated_step_size",
    "group_lasso_penalty",
]

GatedLoss = SolverLoss  # (the one vocabulary: solvers/losses.py)
_LOSSES = SOLVER_LOSSES
_CURVATURE = {"squared": 1.0, "logistic": 4.0, "cross_entropy": 2.0}  # L of the loss is 1, <= 1/4, <= 1/2


@dataclass
class GatedCertificate:
    """Certificates of optimality of a gated network's weights (module docstring).

    Attributes:
        prox_residual: proximal-gradient residual at step ``step`` (0 exactly at the optimum).
        step: the step :math:`t` of the residual.
        rel_gap: certified relative duality gap (squared loss, one output, ``lam > 0``), else ``None``.
        objective: the objective :math:`P(W)` the gap is relative to (same conditions), else ``None``.
    """

    prox_residual: float
    step: float
    rel_gap: float | None = None
    objective: float | None = None

    def scalars(self) -> dict[str, float]:
        """The certificates that are defined, by name (what the convex module logs)."""
        out = {"prox_residual": self.prox_residual}
        if self.rel_gap is not None and self.objective is not None:
            out["rel_gap"], out["objective"] = self.rel_gap, self.objective
        return out


def gated_data_loss(out: torch.Tensor, y: torch.Tensor, loss: GatedLoss = "squared") -> torch.Tensor:
    r"""The data term :math:`f` of the convex objective: the mean loss of outputs ``out`` ``(n, k)``.

    ``"squared"``: :math:`\frac1{2n}\sum_i \|o_i - y_i\|^2`; ``"logistic"``: binary cross-entropy of the
    one logit against ``y > 0``; ``"cross_entropy"``: against class indices.

    Args:
        out: ``(n, k)`` outputs.
        y: targets (labels for the logistic and cross-entropy losses).
        loss: ``"squared"``, ``"logistic"`` or ``"cross_entropy"``.

    Example:
        >>> float(gated_data_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])))
        1.25
    """
    check_choice("loss", loss, _LOSSES)
    if loss == "squared":
        return 0.5 * ((out - y.reshape(out.shape).to(out)) ** 2).sum(dim=1).mean()
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(out[:, 0], (y > 0).to(out))
    return F.cross_entropy(out, y.long())


def group_lasso_penalty(weight: torch.Tensor, lam: float) -> torch.Tensor:
    r""":math:`\lambda \sum_j \|w_j\|_2` of weights ``(k, m, d)``, groups along dimension 1 (differentiable).

    Args:
        weight: ``(k, m, d)`` weights.
        lam: :math:`\lambda`.
    """
    return lam * weight.pow(2).sum(dim=(0, 2)).sqrt().sum()


def _inputs_and_mask(net: GatedReLU, x: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(net, GatedReLU):
        raise TypeError(f"`net` must be a GatedReLU network, got {type(net).__name__}")
    d = net.gates.shape[1] - int(net.bias)
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x[0].numel() != d or len(x) == 0:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"`x` must be (n, {d}) {what}: {d} features per sample for the gates, got {got}")
    xt = augment(x.flatten(1).to(net.gates.device, torch.float64), net.bias)
    return xt, (xt @ net.gates.double().T > 0).double() * net.rho.double()


def gated_step_size(net: GatedReLU, x: torch.Tensor, loss: GatedLoss = "squared") -> float:
    """The step :math:`1/L` of proximal gradient on the data term of ``loss`` over inputs ``x``.

    Args:
        net: the gated network (its gates and neuron weights ``rho`` fix the linear map ``A``).
        x: ``(n, d)`` training inputs.
        loss: ``"squared"``, ``"logistic"`` or ``"cross_entropy"`` (module docstring).

    Example:
        >>> net = GatedReLU(torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
        >>> gated_step_size(net, torch.ones(4, 2), "logistic") == 4 * gated_step_size(net, torch.ones(4, 2))
        True
    """
    check_choice("loss", loss, _LOSSES)
    xt, mask = _inputs_and_mask(net, x, "training inputs")
    return _CURVATURE[loss] / lipschitz(xt, mask)


def gated_certificate(
    net: GatedReLU,
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    loss: GatedLoss = "squared",
    step: float | None = None,
    weight: torch.Tensor | None = None,
) -> GatedCertificate:
    """Certify how close ``weight`` (default the network's own) is to the global optimum on ``(x, y)``.

    Args:
        net: the gated network (gates, ``rho`` and the bias convention).
        x: ``(n, d)`` the whole training inputs (the objective is over all of them).
        y: ``(n,)`` targets (``(n, k)`` for ``k`` squared-loss outputs; labels for the other losses).
        lam: group-lasso weight :math:`\\lambda`.
        loss: ``"squared"``, ``"logistic"`` or ``"cross_entropy"``.
        step: the step :math:`t` of the residual; ``None``: :func:`gated_step_size`.
        weight: ``(k, m, d~)`` weights to certify (e.g. the proximal iterate of
            :class:`~lightning_poly.solvers.proximal.GroupFISTA`); ``None``: ``net.weight``.

    Raises:
        ValueError: for inputs of the wrong shape, targets of another length, a negative ``lam``,
            a step that is not positive or weights of another shape.

    Example:
        >>> net = GatedReLU(torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
        >>> x = torch.randn(20, 2, generator=torch.Generator().manual_seed(1))
        >>> cert = gated_certificate(net, x, x[:, 0].relu(), lam=0.1)
        >>> cert.prox_residual > 0, sorted(cert.scalars())
        (True, ['objective', 'prox_residual', 'rel_gap'])
    """
    check_choice("loss", loss, _LOSSES)
    check_positive("lam", lam, strict=False)
    xt, mask = _inputs_and_mask(net, x, "the training inputs")
    if not isinstance(y, torch.Tensor) or len(y) != len(x):
        got = len(y) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"`y` must hold one target per sample of `x` ({len(x)}), got {got}")
    w0 = net.weight if weight is None else weight
    if w0.shape != net.weight.shape:
        raise ValueError(f"`weight` must have the network's shape {tuple(net.weight.shape)}, got {tuple(w0.shape)}")
    t = gated_step_size(net, x, loss) if step is None else float(check_positive("step", step))
    y = y.to(xt.device)
    w = w0.detach().double().clone().requires_grad_(True)
    with torch.enable_grad():
        out = torch.einsum("nd,kmd->nkm", xt, w).mul(mask[:, None, :]).sum(dim=2)
        (grad,) = torch.autograd.grad(gated_data_loss(out, y.double() if loss == "squared" else y, loss), w)
    w = w.detach()
    cert = GatedCertificate(float((w - group_prox(w - t * grad, t * lam)).norm() / t), t)
    if loss == "squared" and w.shape[0] == 1 and lam > 0:
        # P(W) = 1/(2n)||r||^2 + lam sum ||w_j|| is the data term plus the penalty for one output
        cert.objective, cert.rel_gap = relative_gap(xt, mask, y.double(), w[0], lam)
    return cert
