"""Lightning data module over the papers' synthetic sets."""

from __future__ import annotations

from typing import Any

import torch

from lightning_poly._validation import check_choice, check_int
from lightning_poly.data.synthetic import SYNTHETIC_DATASETS, SYNTHETIC_DIMS, SyntheticName, make_synthetic
from lightning_poly.datamodules.tensor import TensorDataModule

__all__ = ["SyntheticDataModule"]

_FIXED_SIZE = ("cube_parity",)


class SyntheticDataModule(TensorDataModule):
    """One of the papers' synthetic sets (see :mod:`lightning_poly.data.synthetic`), split with a seed.

    Args:
        name: the set, e.g. ``"swiss_roll"`` (polytope-cover paper, Figure 1).
        n_samples: number of points (ignored by ``cube_parity``, which has 8).
        data_seed: seed of the generator (the split uses ``seed``).
        options: extra keyword arguments of the generator (e.g. ``{"noise": 0.1}``).
        **kwargs: see :class:`~lightning_poly.datamodules.TensorDataModule`.

    Example:
        >>> dm = SyntheticDataModule("swiss_roll", n_samples=100, val_fraction=0.2)
        >>> dm.setup("fit")
        >>> len(dm.data_train), dm.input_dim
        (80, 2)
    """

    def __init__(
        self,
        name: SyntheticName = "swiss_roll",
        n_samples: int = 1000,
        data_seed: int = 0,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        check_choice("name", name, SYNTHETIC_DATASETS)
        if name == "teacher_relu":
            want = (options or {}).get("task", "regression")
            kwargs.setdefault("task", want)
        super().__init__(**kwargs)
        self.name = name
        self.n_samples = check_int("n_samples", n_samples, minimum=2)
        self.data_seed = int(data_seed)
        self.options = dict(options or {})

    @property
    def input_dim(self) -> int:
        """Input dimension of the set."""
        return int(self.options.get("d", SYNTHETIC_DIMS[self.name]))

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        kwargs: dict[str, Any] = {"seed": self.data_seed, **self.options}
        if self.name not in _FIXED_SIZE:
            kwargs["n_samples"] = self.n_samples
        try:
            return make_synthetic(self.name, **kwargs)
        except TypeError as err:
            raise ValueError(f"`options` {self.options} do not fit the generator of {self.name!r}: {err}") from err
