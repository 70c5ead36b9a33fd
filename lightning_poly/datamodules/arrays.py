"""A data module for any user arrays or tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lightning_poly.datamodules.tensor import TaskType, TensorDataModule, validate_xy

__all__ = ["ArrayDataModule"]


def _as_tensor(a: Any, name: str) -> torch.Tensor:
    try:
        return torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"`{name}` must be array-like (numpy array, tensor or nested lists), got {type(a).__name__}"
        ) from err


class ArrayDataModule(TensorDataModule):
    """Serve user data (classification or regression) with seeded splits.

    Args:
        x: inputs ``(n, ...)``, array-like.
        y: labels ``(n,)`` (classification: integers) or targets ``(n,)``/``(n, k)`` (regression).
        x_test: inputs of an optional separate test split.
        y_test: its labels or targets.
        task: ``"classification"`` or ``"regression"`` (see :class:`TensorDataModule`).
        **kwargs: see :class:`TensorDataModule` (fractions, batch size, seed, ...).

    Raises:
        ValueError: at construction, for NaN/inf, mismatched shapes or a single class.

    Example:
        >>> dm = ArrayDataModule(torch.randn(10, 2), torch.tensor([0, 1] * 5), val_fraction=0.2)
        >>> dm.setup("fit")
        >>> len(dm.data_train), len(dm.data_val), dm.input_dim
        (8, 2, 2)
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        x_test: Any | None = None,
        y_test: Any | None = None,
        task: TaskType = "classification",
        **kwargs: Any,
    ) -> None:
        super().__init__(task=task, **kwargs)
        self.x, self.y = _as_tensor(x, "x"), _as_tensor(y, "y")
        validate_xy(self.x, self.y, task, "ArrayDataModule")
        self._test: tuple[torch.Tensor, torch.Tensor] | None = None
        if (x_test is None) != (y_test is None):
            raise ValueError("`x_test` and `y_test` must be given together")
        if x_test is not None:
            self._test = (_as_tensor(x_test, "x_test"), _as_tensor(y_test, "y_test"))
            validate_xy(*self._test, task, "ArrayDataModule test split")
            if self._test[0].shape[1:] != self.x.shape[1:]:
                raise ValueError(
                    f"`x_test` samples must have shape {tuple(self.x.shape[1:])}, got {tuple(self._test[0].shape[1:])}"
                )

    @property
    def input_dim(self) -> int:
        """Number of input features (flattened)."""
        return int(np.prod(self.x.shape[1:]))

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x, self.y

    def load_test(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self._test
