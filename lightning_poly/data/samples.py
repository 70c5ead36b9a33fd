"""Read a bounded number of ``(inputs, targets)`` from whatever a user holds: tensors, a Dataset or a DataLoader.

Callbacks and functions that need data take it in one of these forms; batches of any loader are
split into inputs and targets by :func:`default_batch_to_xy` (tuple/list batches: first two
entries; dict batches: the first of :data:`INPUT_KEYS` and of :data:`TARGET_KEYS`; a bare tensor:
inputs only) or by a user's own ``batch_to_xy(batch) -> (x, y)``.

Samples are read in the dataset's own order (a map-style dataset is read through a non-shuffled
loader with the user's ``collate_fn``), so the same call returns the same samples on every process
and after a resume, whatever sampler the training loader shuffles with. Reading leaves the global
random state untouched (a loader draws a seed when iterated), so it never changes a training run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from lightning_poly._validation import check_int

__all__ = ["INPUT_KEYS", "TARGET_KEYS", "BatchToXY", "DataLike", "default_batch_to_xy", "read_samples"]

INPUT_KEYS = ("x", "input", "inputs", "image", "images", "features", "data")
TARGET_KEYS = ("y", "target", "targets", "label", "labels")

BatchToXY: TypeAlias = Callable[[Any], tuple[torch.Tensor, torch.Tensor | None]]
DataLike: TypeAlias = "torch.Tensor | tuple[torch.Tensor, torch.Tensor] | Dataset | DataLoader"


def default_batch_to_xy(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split a batch into ``(inputs, targets)``; targets are ``None`` when the batch has none.

    Args:
        batch: a tuple, list or dict batch (or a tensor of inputs).

    Example:
        >>> x, y = default_batch_to_xy({"image": torch.zeros(2, 3), "label": torch.tensor([0, 1])})
        >>> x.shape, y.tolist()
        (torch.Size([2, 3]), [0, 1])
        >>> default_batch_to_xy(torch.ones(2, 3))[1] is None
        True
        >>> default_batch_to_xy({"pixels": torch.zeros(1)})
        Traceback (most recent call last):
        ...
        ValueError: a dict batch needs an input key in ('x', 'input', 'inputs', 'image', 'images', 'features', 'data'), got keys ['pixels']; pass `batch_to_xy`
    """
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, Mapping):
        xk = next((k for k in INPUT_KEYS if k in batch), None)
        if xk is None:
            raise ValueError(
                f"a dict batch needs an input key in {INPUT_KEYS}, got keys {sorted(map(str, batch))}; pass `batch_to_xy`"
            )
        yk = next((k for k in TARGET_KEYS if k in batch), None)
        return batch[xk], (batch[yk] if yk is not None else None)
    if isinstance(batch, Sequence) and not isinstance(batch, str) and len(batch) >= 1:
        return batch[0], (batch[1] if len(batch) > 1 else None)
    raise ValueError(
        f"cannot split a batch of type {type(batch).__name__} into inputs and targets; "
        "expected a tensor, a tuple/list (x, y, ...) or a dict; pass `batch_to_xy`"
    )


def _as_loader(data: Dataset | DataLoader, batch_size: int) -> DataLoader:
    if isinstance(data, DataLoader):
        if isinstance(data.dataset, IterableDataset):
            return data  # no order to restore: read it as it comes
        return DataLoader(
            data.dataset, batch_size=data.batch_size or batch_size, shuffle=False, collate_fn=data.collate_fn
        )
    if isinstance(data, IterableDataset):
        return DataLoader(data, batch_size=batch_size)
    return DataLoader(data, batch_size=batch_size, shuffle=False)


def read_samples(
    data: Any,
    max_samples: int | None = None,
    batch_to_xy: BatchToXY | None = None,
    batch_size: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The first ``max_samples`` ``(inputs, targets)`` of ``data`` (all of them for ``None``), on the CPU.

    Args:
        data: a tensor of inputs, a tuple ``(x, y)`` of tensors, a ``Dataset`` or a ``DataLoader``
            (its dataset is read in order with its ``collate_fn``; an iterable dataset as it comes).
        max_samples: at most this many samples.
        batch_to_xy: splits a batch into ``(x, y)``; default :func:`default_batch_to_xy`.
        batch_size: batch size used to read a bare ``Dataset``.

    Returns:
        ``(x, y)`` with ``y`` ``None`` when the data has no targets.

    Raises:
        ValueError: if ``data`` is empty, of an unsupported type, or its batches cannot be split.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> ds = TensorDataset(torch.arange(10.0)[:, None], torch.arange(10))
        >>> loader = DataLoader(ds, batch_size=3, shuffle=True)
        >>> x, y = read_samples(loader, max_samples=4)
        >>> y.tolist()
        [0, 1, 2, 3]
    """
    if max_samples is not None:
        check_int("max_samples", max_samples, minimum=1)
    split = batch_to_xy or default_batch_to_xy
    if isinstance(data, torch.Tensor):
        x, y = data, None
    elif isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = data
        if len(x) != len(y):
            raise ValueError(f"`data` as (x, y) needs as many targets as inputs, got {len(x)} and {len(y)}")
    elif isinstance(data, Dataset | DataLoader):
        xs: list[torch.Tensor] = []
        ys: list[torch.Tensor] = []
        n = 0
        with torch.random.fork_rng(devices=[]):  # iterating a loader draws a seed: the caller's RNG stays as it was
            for batch in _as_loader(data, batch_size):
                bx, by = split(batch)
                if not isinstance(bx, torch.Tensor):
                    raise ValueError(f"`batch_to_xy` must return tensors as inputs, got {type(bx).__name__}")
                xs.append(bx.detach().cpu())
                if by is not None:
                    ys.append(torch.as_tensor(by).detach().cpu())
                n += len(bx)
                if max_samples is not None and n >= max_samples:
                    break
        if not xs:
            raise ValueError("`data` holds no samples")
        x = torch.cat(xs)
        y = torch.cat(ys) if ys and len(ys) == len(xs) else None
    else:
        raise ValueError(
            f"`data` must be a tensor, a tuple (x, y) of tensors, a Dataset or a DataLoader, got {type(data).__name__}"
        )
    if len(x) == 0:
        raise ValueError("`data` holds no samples")
    if max_samples is not None:
        x = x[:max_samples]
        y = None if y is None else y[:max_samples]
    return x, y
