"""Saving and loading the suite's files without unpickling arbitrary objects.

Every file the suite writes (covers, face histograms) holds tensors and plain values only (numbers,
strings, lists, dicts), so it loads with ``torch.load(weights_only=True)``: a file a user downloads
cannot run code. Free-form metadata is stored as a JSON string.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch

__all__ = ["from_json", "load_plain", "to_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays
        return value.tolist()
    raise TypeError(f"metadata must hold numbers, strings, lists, dicts and tensors, got {type(value).__name__}")


def to_json(meta: dict[str, Any]) -> str:
    """``meta`` as a JSON string (tensors and numpy values become lists and numbers)."""
    return json.dumps(meta, default=_plain)


def from_json(text: str) -> dict[str, Any]:
    """The inverse of :func:`to_json`."""
    return json.loads(text)


def load_plain(path: str | Path, what: str, keys: set[str]) -> dict[str, Any]:
    """Load a ``torch.save`` file that holds tensors and plain values only, with the expected ``keys``.

    Raises:
        ValueError: the file holds pickled objects (refused, never unpickled) or not the expected keys.
    """
    try:
        state = torch.load(Path(path), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path} holds pickled objects besides tensors and plain values; a {what} file never does, so it is "
            f"not loaded (loading it could run code): {str(err).splitlines()[0]}"
        ) from None
    if not isinstance(state, dict) or not keys <= state.keys():
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not a {what} file: expected the keys {sorted(keys)}, found {found}")
    return state
