r"""Tabular regression data generated offline (pure torch), in place of tables that are not shipped.

The wedge-products paper's Figure 10 polishes two-layer networks on Boston Housing (506 samples, 13
features); that table is not available offline, so the examples use :func:`friedman1`, a standard
synthetic regression benchmark of the same shape.
"""

from __future__ import annotations

import math

import torch

from lightning_poly._validation import check_int, check_positive

__all__ = ["friedman1"]


def friedman1(
    n_samples: int = 506, d: int = 13, noise: float = 1.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Friedman #1 regression (J. H. Friedman, "Multivariate adaptive regression splines", Ann. Statist. 19(1), 1991).

    ``d`` features uniform in ``[0, 1]``, of which the first five matter:

    .. math::
        y = 10 \sin(\pi x_1 x_2) + 20 (x_3 - 0.5)^2 + 10 x_4 + 5 x_5 + \varepsilon,
        \qquad \varepsilon \sim \mathcal N(0, \mathrm{noise}^2).

    The defaults give Boston Housing's shape (506 x 13, Figure 10 of the wedge-products paper).

    Args:
        n_samples: number of samples.
        d: number of features (at least the five that matter).
        noise: standard deviation of the Gaussian noise on ``y``.
        seed: seed of the samples.

    Returns:
        ``(x, y)``: float32 ``(n, d)`` features and ``(n,)`` targets.

    Example:
        >>> x, y = friedman1(4, d=5, noise=0.0)
        >>> x.shape, bool(torch.allclose(y, 10 * torch.sin(torch.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2
        ...                                 + 10 * x[:, 3] + 5 * x[:, 4]))
        (torch.Size([4, 5]), True)
    """
    check_int("n_samples", n_samples, minimum=1)
    check_int("d", d, minimum=5)
    check_positive("noise", noise, strict=False)
    g = torch.Generator().manual_seed(int(seed))
    x = torch.rand(n_samples, d, generator=g, dtype=torch.float64)
    y = 10 * torch.sin(math.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    return x.float(), (y + noise * torch.randn(n_samples, generator=g, dtype=torch.float64)).float()
