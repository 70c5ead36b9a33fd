r"""Appendix D of the zonotope paper: data not in general position whose optimal loss jumps under an
arbitrarily small perturbation (Section 4.1: the vertex correspondence, and the continuity of the
optimal loss, need general position).

Both sets are fitted by one ReLU with its output weight 1 and no output bias, under the mean absolute
(L1) loss, as the appendix states:

* :func:`loss_jump_program` (D.1) — five points on the line :math:`x_2 = 0` in :math:`\mathbb R^2`, an
  *affine* ReLU :math:`\phi(w^\top x + b)`. The best vertex activates every point and its program
  has optimum 0.1; moving the third point to :math:`x_2 = \epsilon` lets the same vertex fit all five
  exactly (:math:`w = (1, -1/(2\epsilon))`, :math:`b = 0`): the program of one vertex is
  discontinuous in the data.
* :func:`loss_jump_new_vertex` (D.2) — four points in the plane :math:`x_3 = 0` of
  :math:`\mathbb R^3`, a *linear* ReLU :math:`\phi(w^\top x)`. The optimum 1.25 activates
  :math:`\{x_2, x_3\}`; moving :math:`x_2` to :math:`x_3 = \epsilon` creates the vertex that activates
  all four points, whose optimum 0.625 (:math:`w = (-3/2, 1/2, 11/(2\epsilon))`) does not exist before.

Reading chosen: "L1 loss" is the mean absolute error (the appendix's values 0.1, 1.25 and 0.625 are
means over the points: the sums are 0.5, 5 and 2.5).
"""

from __future__ import annotations

import torch

from lightning_poly._validation import check_positive

__all__ = ["loss_jump_new_vertex", "loss_jump_program"]


def _check_eps(eps: float) -> float:
    check_positive("eps", eps, strict=False)
    return float(eps)


def loss_jump_program(eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Appendix D.1: ``(x, y)`` with ``x`` ``(5, 2)`` (the paper's :math:`X^\\top`, third point lifted by ``eps``).

    Args:
        eps: the perturbation :math:`\\epsilon \\ge 0` of the third point's second coordinate.

    Example:
        >>> x, y = loss_jump_program()
        >>> x[:, 0].tolist(), y.tolist()
        ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 2.5, 4.0, 5.0])
    """
    e = _check_eps(eps)
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, e], [4.0, 0.0], [5.0, 0.0]], dtype=torch.float64)
    return x, torch.tensor([1.0, 2.0, 2.5, 4.0, 5.0], dtype=torch.float64)


def loss_jump_new_vertex(eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Appendix D.2, Equation (10): ``(x, y)`` with ``x`` ``(4, 3)``, the second point lifted by ``eps``.

    Args:
        eps: the perturbation :math:`\\epsilon \\ge 0` of the second point's third coordinate.

    Example:
        >>> x, y = loss_jump_new_vertex(0.5)
        >>> x[1].tolist(), y.tolist()
        ([2.0, 1.0, 0.5], [4.0, 3.0, 2.0, 1.0])
    """
    e = _check_eps(eps)
    x = torch.tensor([[-1.0, 0.0, 0.0], [2.0, 1.0, e], [-1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]], dtype=torch.float64)
    return x, torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=torch.float64)
