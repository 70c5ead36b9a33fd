r"""Tabular regression data: Boston Housing as the wedge-products paper uses it, and a synthetic stand-in.

The paper's Figure 10 polishes two-layer networks on Boston Housing (506 samples, 13 features).
:func:`boston_housing` reads the table shipped with this package (``data/files/boston_house_prices.csv``, the file
scikit-learn 1.1 and earlier shipped as ``sklearn/datasets/data/boston_house_prices.csv``, taken from its 1.1.3
wheel on PyPI, SHA-256 ``d9821263...80f2d6``; originally Harrison and Rubinfeld, 1978, via StatLib and UCI).
scikit-learn removed it in 1.2 because the feature ``B`` encodes a racial proportion; it is kept here only to run
the paper's experiment as published. :func:`friedman1` is a synthetic regression of the same shape.
"""

from __future__ import annotations

import csv
import math
from importlib import resources

import torch

from lightning_poly._validation import check_int, check_positive

__all__ = ["BOSTON_FEATURES", "boston_housing", "friedman1"]

BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")


def boston_housing() -> tuple[torch.Tensor, torch.Tensor]:
    """Boston Housing (Harrison and Rubinfeld, 1978): 506 towns, the 13 features of :data:`BOSTON_FEATURES`, and
    the median home value MEDV in $1000s (the wedge-products paper's Figure 10), as shipped with the package.

    Returns:
        ``(x, y)``: float32 ``(506, 13)`` features as recorded (not standardised) and ``(506,)`` targets.

    Example:
        >>> x, y = boston_housing()
        >>> x.shape, round(float(y.mean()), 3), round(float(x[0, 5]), 3)  # RM of the first town
        (torch.Size([506, 13]), 22.533, 6.575)
    """
    text = resources.files("lightning_poly.data").joinpath("files/boston_house_prices.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    n, d = int(rows[0][0]), int(rows[0][1])
    if tuple(rows[1][:d]) != BOSTON_FEATURES or len(rows) != n + 2:
        raise RuntimeError("the shipped boston_house_prices.csv does not have the expected header and 506 rows")
    table = torch.tensor([[float(v) for v in r[: d + 1]] for r in rows[2:]], dtype=torch.float64)
    return table[:, :d].float(), table[:, d].float()


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
