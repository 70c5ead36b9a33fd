"""A model's own outputs, computed in eval mode and handed back with its training mode as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from lightning_poly._validation import check_int

__all__ = ["eval_mode", "module_device", "module_outputs"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block, its training mode restored after (also on an error).

    Args:
        model: any module.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def module_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model that holds neither.

    Args:
        model: any module.
    """
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


@torch.no_grad()
def module_outputs(model: nn.Module, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """The model's own ``forward`` on ``x`` in eval mode, ``chunk`` samples at a time, on its device.

    Args:
        model: any module.
        x: a batch of inputs as the model takes them.
        chunk: samples per forward call.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> module_outputs(net, torch.zeros(5, 2), chunk=2).shape
        torch.Size([5, 1])
    """
    check_int("chunk", chunk, minimum=1)
    if not isinstance(x, torch.Tensor) or x.ndim == 0:
        got = "a scalar" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"`x` must be a tensor of samples (n, ...), got {got}")
    device = module_device(model)
    with eval_mode(model):
        return torch.cat([model(xb.to(device)).detach() for xb in x.split(chunk)])
