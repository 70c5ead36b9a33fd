"""Label tasks, label noise, scaling and PCA whitening for image data sets (pure torch).

These are the functional twins of the vision data modules' options, so the same
transformations can be applied to any tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from lightning_poly._validation import check_choice, check_finite, check_fraction, check_int

__all__ = ["PCAWhitening", "TaskName", "add_label_noise", "fit_pca_whitening", "select_task"]

TaskName = Literal["all", "one_vs_rest", "pair"]


def select_task(
    y: torch.Tensor,
    task: TaskName,
    positive_class: int | None = None,
    complement: bool = False,
    pair: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn multi-class labels into the labels of a task.

    Args:
        y: int64 class labels.
        task: ``"all"`` keeps every class; ``"one_vs_rest"`` labels ``positive_class`` 1 and the
            rest 0 (``complement=True`` swaps the roles, as the polytope-cover paper's Table 1
            covers both a class and its complement); ``"pair"`` keeps two classes ``(a, b)`` and
            labels ``b`` as 1.
        positive_class: the class of ``one_vs_rest``.
        complement: swap positives and negatives of ``one_vs_rest``.
        pair: the two classes of ``pair``.

    Returns:
        ``(keep, labels)``: a boolean mask of the samples kept and their new labels.

    Example:
        >>> keep, lab = select_task(torch.tensor([0, 1, 2, 1]), "one_vs_rest", positive_class=1)
        >>> keep.tolist(), lab.tolist()
        ([True, True, True, True], [0, 1, 0, 1])
        >>> keep, lab = select_task(torch.tensor([0, 1, 2, 1]), "pair", pair=(2, 0))
        >>> keep.tolist(), lab.tolist()
        ([True, False, True, False], [1, 0])
    """
    check_choice("task", task, ("all", "one_vs_rest", "pair"))
    classes = set(torch.unique(y).tolist())
    if task == "all":
        return torch.ones_like(y, dtype=torch.bool), y.clone()
    if task == "one_vs_rest":
        if positive_class not in classes:
            raise ValueError(f"`positive_class` must be one of {sorted(classes)}, got {positive_class!r}")
        lab = (y == positive_class).long()
        return torch.ones_like(y, dtype=torch.bool), (1 - lab if complement else lab)
    if pair is None or len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= classes:
        raise ValueError(f"`pair` must be two different classes among {sorted(classes)}, got {pair!r}")
    keep = (y == pair[0]) | (y == pair[1])
    return keep, (y[keep] == pair[1]).long()


def add_label_noise(y: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Class-size-preserving label noise for binary labels (polytope-cover paper, Table 2).

    A fraction ``rate`` of the positives is swapped with as many randomly chosen negatives, so the
    noisy positive class keeps its size: at ``rate = 0.9`` it holds 10% of the original class and
    90% random other samples, as in the paper's ``{1}_noise r`` classes.

    Args:
        y: binary labels.
        rate: fraction of the positives swapped, in [0, 1].
        generator: the random source.

    Example:
        >>> y = torch.tensor([1] * 10 + [0] * 90)
        >>> z = add_label_noise(y, 0.3, torch.Generator().manual_seed(0))
        >>> int(z.sum()), int((z[:10] == 1).sum())
        (10, 7)
    """
    check_fraction("rate", rate, closed_right=True)
    if not set(torch.unique(y).tolist()) <= {0, 1}:
        raise ValueError(
            f"`y` must hold binary labels in {{0, 1}} for label noise, got classes {torch.unique(y).tolist()}"
        )
    pos = torch.nonzero(y == 1).flatten()
    neg = torch.nonzero(y == 0).flatten()
    k = round(rate * len(pos))
    if k > len(neg):
        raise ValueError(f"label noise {rate} needs {k} negatives to swap in, only {len(neg)} exist")
    flip_pos = pos[torch.randperm(len(pos), generator=generator)[:k]]
    flip_neg = neg[torch.randperm(len(neg), generator=generator)[:k]]
    out = y.clone()
    out[flip_pos] = 0
    out[flip_neg] = 1
    return out


@dataclass
class PCAWhitening:
    """An affine map ``x -> (x - mean) @ components.T / scale`` onto the first ``d`` components.

    Zonotope paper, Appendix H.2.1: images are projected on the leading principal components fitted
    on the training split and whitened to unit variance per component.
    """

    mean: torch.Tensor
    components: torch.Tensor
    scale: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"`x` must have shape (n, {self.mean.shape[0]}) like the fitted data, got {tuple(x.shape)}"
            )
        return (x - self.mean) @ self.components.T / self.scale


def fit_pca_whitening(x: torch.Tensor, d: int, eps: float = 1e-8) -> PCAWhitening:
    """Fit PCA whitening to the first ``d`` components of ``x`` (rows are samples).

    Args:
        x: ``(n, D)`` samples.
        d: components kept.
        eps: added to the variances before the square root.

    Example:
        >>> x = torch.randn(500, 5, generator=torch.Generator().manual_seed(0)) * torch.tensor([5., 3., 1., .5, .1])
        >>> w = fit_pca_whitening(x, 2)
        >>> z = w(x)
        >>> torch.allclose(z.T @ z / (len(z) - 1), torch.eye(2), atol=1e-4)
        True
    """
    check_int("pca_components", d, minimum=1)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"`x` must be (n, features) with n >= 2 samples, got shape {tuple(x.shape)}")
    check_finite("x", x)
    if d > x.shape[1]:
        raise ValueError(f"`pca_components` must be <= the feature dimension {x.shape[1]}, got {d}")
    x64 = x.double()
    mean = x64.mean(dim=0)
    _, s, vh = torch.linalg.svd(x64 - mean, full_matrices=False)
    std = s[:d] / max(len(x) - 1, 1) ** 0.5
    if (std < eps).any():
        raise ValueError(f"PCA component variances {std.tolist()} include one below {eps}: the data has rank < {d}")
    return PCAWhitening(mean.to(x.dtype), vh[:d].to(x.dtype), std.to(x.dtype))
