"""What a callback takes from the user's Trainer: the data it already has and the network inside the model.

Data, in this order: an explicit ``data=`` (tensors, a Dataset or a DataLoader); else a data module
with ``train_tensors()`` (the suite's); else the Trainer's own train (or val) dataloaders, from any
DataModule, from the LightningModule's ``*_dataloader`` hooks, or from loaders passed to ``fit``.
At most ``max_samples`` samples are read, in the dataset's order (see
:func:`lightning_poly.data.samples.read_samples`), and under DDP every rank then holds rank zero's
samples (one ``strategy.broadcast``, reached by every rank), so decisions are taken on identical data.

The network: :func:`lightning_poly.nn.find_relu_network`, then checked against the module's forward
(:func:`lightning_poly.nn.check_network_is_model`). Both happen at ``setup``, so a misconfiguration
stops the run before training, not after it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from lightning_poly._compat import MisconfigurationException, destroy_process_group_at_exit, fit_dataloader
from lightning_poly.data.samples import BatchToXY, read_samples
from lightning_poly.geometry.pwl_regions import pwl_activation_patterns
from lightning_poly.geometry.regions import sample_box
from lightning_poly.media import pin_wandb_run_dir
from lightning_poly.nn.outputs import eval_mode
from lightning_poly.nn.relu_network import check_network_is_model, find_relu_network, linear_layers

if TYPE_CHECKING:
    import pytorch_lightning as pl

__all__ = [
    "Split",
    "analysed_network",
    "check_data_input_dim",
    "labelled_data",
    "network_of",
    "piecewise_linear_network_of",
    "prepare_trainer",
    "resolve_analysed_network",
    "trainer_dataloader",
    "user_inputs",
]

Split = Literal["train", "val"]


def prepare_trainer(trainer: pl.Trainer) -> None:
    """What every suite callback does first in ``setup``, on every rank: the process group is destroyed
    at exit (:func:`~lightning_poly._compat.destroy_process_group_at_exit`) and a re-attached wandb
    run keeps its files in the logger's folder (:func:`~lightning_poly.media.pin_wandb_run_dir`).

    Args:
        trainer: the Trainer.
    """
    if trainer.world_size > 1:
        destroy_process_group_at_exit()
    pin_wandb_run_dir(trainer)


def check_data_input_dim(trainer: pl.Trainer, input_dim: int) -> None:
    """Refuse a data module that declares another ``input_dim`` than the model's (at ``on_fit_start``).

    Args:
        trainer: the Trainer.
        input_dim: the model's input features.

    Raises:
        MisconfigurationException: naming both dimensions.
    """
    dim = getattr(getattr(trainer, "datamodule", None), "input_dim", None)
    if dim is not None and dim != input_dim:
        raise MisconfigurationException(
            f"`input_dim` of the model is {input_dim} but the data module serves {dim} features"
        )


def _first_loader(loaders: Any) -> Any:
    """The first loader of a collection of loaders (list, tuple or dict), or the loader itself."""
    if isinstance(loaders, dict):
        return next(iter(loaders.values()), None)
    if isinstance(loaders, list | tuple):
        return loaders[0] if loaders else None
    return loaders


def trainer_dataloader(trainer: pl.Trainer, split: Split) -> Any | None:
    """The ``split`` dataloader the Trainer would use in ``fit``, or ``None`` if it has none.

    Read from the fit loop's data source (a DataModule's or LightningModule's ``*_dataloader()``,
    or the loaders given to ``fit``): available from ``setup`` on, before Lightning loads them.

    Args:
        trainer: the Trainer.
        split: ``"train"`` or ``"val"``.
    """
    loader = _first_loader(fit_dataloader(trainer, split))
    return loader if loader not in ([], ()) else None


def _user_data(
    trainer: pl.Trainer,
    data: Any,
    split: Split,
    max_samples: int | None,
    batch_to_xy: BatchToXY | None,
    who: str,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(x, y)`` for a callback, identical on every rank (see the module docstring); ``y`` may be ``None``.

    Raises:
        MisconfigurationException: if neither ``data`` nor the Trainer gives the ``split``.
        ValueError: if the data cannot be read (the message says why).
    """
    dm: Any = trainer.datamodule
    if data is not None:
        x, y = read_samples(data, max_samples, batch_to_xy)
    elif split == "train" and callable(getattr(dm, "train_tensors", None)):
        x, y = dm.train_tensors()
        x, y = x[:max_samples], y[:max_samples]
    else:
        loader = trainer_dataloader(trainer, split)
        if loader is None:
            raise MisconfigurationException(
                f"{who} needs {'training' if split == 'train' else 'validation'} data: pass "
                f"`{'data' if split == 'train' else 'val_data'}=` "
                f"(tensors, a Dataset or a DataLoader) or give the Trainer a {split} dataloader "
                f"(a DataModule, `{split}_dataloader()`, or `trainer.fit(..., {split}_dataloaders=...)`)"
            )
        x, y = read_samples(loader, max_samples, batch_to_xy)
    if trainer.world_size > 1:  # every rank reaches this collective
        x, y = trainer.strategy.broadcast((x.cpu(), None if y is None else y.cpu()), src=0)
    return x, y


def user_inputs(
    trainer: pl.Trainer, data: Any, split: Split, max_samples: int | None, batch_to_xy: BatchToXY | None, who: str
) -> torch.Tensor:
    """The inputs of :func:`_user_data` (targets, if any, are not needed).

    Args:
        trainer: the Trainer.
        data: explicit data (tensors, a Dataset or a DataLoader), or ``None``.
        split: ``"train"`` or ``"val"``.
        max_samples: read at most this many samples (``None``: all).
        batch_to_xy: splits a batch into ``(x, y)`` (``None``: the default).
        who: the callback's name, in the error messages.
    """
    return _user_data(trainer, data, split, max_samples, batch_to_xy, who)[0]


def labelled_data(
    trainer: pl.Trainer, data: Any, split: Split, max_samples: int | None, batch_to_xy: BatchToXY | None, who: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` of :func:`_user_data`, refusing data without targets.

    Args:
        trainer: the Trainer.
        data: explicit data (tensors, a Dataset or a DataLoader), or ``None``.
        split: ``"train"`` or ``"val"``.
        max_samples: read at most this many samples (``None``: all).
        batch_to_xy: splits a batch into ``(x, y)`` (``None``: the default).
        who: the callback's name, in the error messages.

    Raises:
        MisconfigurationException: if the data holds inputs only.
    """
    x, y = _user_data(trainer, data, split, max_samples, batch_to_xy, who)
    if y is None:
        raise MisconfigurationException(f"{who} needs targets in the {split} data, got inputs only")
    return x, y


def network_of(
    pl_module: nn.Module, name: str | None, x: torch.Tensor | None, who: str, own_tensors: bool = True
) -> nn.Sequential:
    """The ReLU MLP of ``pl_module``, checked to compute its forward on ``x`` (on 64 seeded uniform points
    in ``[-1, 1]^d`` when there is no data to check on) and, with ``own_tensors``, to be its own tensors.

    Weight-changing callbacks need ``own_tensors``; analysis callbacks call this at every run without it,
    so a derived network (a module's export of itself) is accepted while it computes the forward, and a
    stale copy is caught the first time it stops doing so.

    Args:
        pl_module: the module.
        name: the submodule holding the network (``None``: found).
        x: inputs to check the network on (``None``: 64 uniform points).
        who: the callback's name, in the error messages.
        own_tensors: require the network's parameters to be the module's own.

    Raises:
        MisconfigurationException: naming the callback and what is wrong.
    """
    try:
        net = find_relu_network(pl_module, name)
        first = linear_layers(net)[0]
        if x is None:
            x = sample_box(64, first.in_features).to(first.weight.dtype)
        check_network_is_model(pl_module, net, x[:64].to(first.weight.device), own_tensors=own_tensors)
    except TypeError as err:
        raise MisconfigurationException(f"{who} needs a ReLU network: {err}") from err
    return net


def piecewise_linear_network_of(
    pl_module: nn.Module, name: str | None, x: torch.Tensor | None, input_shape: tuple[int, ...], who: str
) -> nn.Module:
    """The module (or its ``name`` submodule) as a piecewise-linear network of points of ``input_shape`` (a
    CNN), traced by :func:`~lightning_poly.geometry.pwl_activation_patterns` in eval mode on the first 64 of
    ``x`` (64 seeded uniform points in ``[-1, 1]^d`` when there is no data), which also checks that its
    forward is the traced map.

    Args:
        pl_module: the module.
        name: the submodule to analyse (``None``: the module itself).
        x: inputs to check on, ``(n, ...)`` with ``prod(input_shape)`` values each, or ``None``.
        input_shape: a point's shape, e.g. ``(1, 28, 28)``.
        who: the callback's name, in the error messages.

    Raises:
        MisconfigurationException: for samples of another size than ``input_shape``, for a network that
            ``pwl_regions`` refuses (the layer named by its name and type), and for a ``name`` submodule that
            does not compute the module's forward.
    """
    net = pl_module if name is None else pl_module.get_submodule(name)
    d = math.prod(input_shape)
    pts = sample_box(64, d).float() if x is None else x[:64].flatten(1)
    if pts.shape[1] != d:
        raise MisconfigurationException(
            f"{who}: `input_shape` {input_shape} holds {d} values, the training samples "
            f"{tuple(x.shape[1:]) if x is not None else ()} hold {pts.shape[1]}"
        )
    try:
        with eval_mode(pl_module):
            pwl_activation_patterns(net, pts.reshape(-1, *input_shape))
    except ValueError as err:
        raise MisconfigurationException(
            f"{who} needs a piecewise-linear network that takes points of `input_shape` {input_shape} "
            f"(batches of shape (n, *input_shape)): {err}"
        ) from err
    if net is not pl_module:  # a submodule named by the user: it must compute the module's forward
        params = next(net.parameters(), None)
        batch = pts.reshape(-1, *input_shape)  # the module, too, takes batches of `input_shape`
        batch = batch.to(params) if params is not None else batch
        try:
            check_network_is_model(pl_module, net, batch, own_tensors=False, input_shape=input_shape)
        except (TypeError, RuntimeError) as err:
            raise MisconfigurationException(
                f"{who}: `network` {name!r} is not what the module computes: {err}"
            ) from err
    return net


def analysed_network(
    pl_module: nn.Module, name: str | None, x: torch.Tensor | None, input_shape: tuple[int, ...] | None, who: str
) -> nn.Module:
    """What an analysis callback measures: the ReLU MLP of :func:`network_of` (read-only, checked against the
    forward on ``x``) without ``input_shape``, else :func:`piecewise_linear_network_of`.

    Args:
        pl_module: the module.
        name: the submodule (``None``: found for an MLP, the module itself with ``input_shape``).
        x: inputs to check on, or ``None``.
        input_shape: a point's shape for a network that is not a ReLU MLP; ``None``: a ReLU MLP.
        who: the callback's name, in the error messages.
    """
    if input_shape is None:
        return network_of(pl_module, name, x, who, own_tensors=False)
    return piecewise_linear_network_of(pl_module, name, x, input_shape, who)


def resolve_analysed_network(
    pl_module: nn.Module, name: str | None, x: torch.Tensor | None, input_shape: tuple[int, ...] | None, who: str
) -> tuple[nn.Module, tuple[int, ...] | None]:
    """:func:`analysed_network`, and the input shape it analyses: ``input_shape`` when given; else ``None`` for a
    ReLU MLP; else, when the training samples ``x`` are not vectors (images: ``x.ndim > 2``), their shape
    ``x.shape[1:]``, still checked by tracing the module on them (:func:`piecewise_linear_network_of`). Vector
    samples are not read as a shape: a network on vectors that is not a ReLU MLP as found (a user's
    ``relu_network()`` that is not one, say) stays an error rather than being analysed as something else.

    Args:
        pl_module: the module.
        name: the submodule (``None``: found for an MLP, the module itself otherwise).
        x: a sample of the training inputs, or ``None``.
        input_shape: a point's shape given by the user, or ``None``.
        who: the callback's name, in the error messages.

    Returns:
        ``(network, input_shape)`` with ``input_shape`` ``None`` for a ReLU MLP.

    Raises:
        MisconfigurationException: for a network that is neither a ReLU MLP nor traceable on the samples' shape
            (both reasons named), or one that is not a ReLU MLP when there is no data to take a shape from.
    """
    if input_shape is not None:
        return piecewise_linear_network_of(pl_module, name, x, input_shape, who), input_shape
    try:
        return network_of(pl_module, name, x, who, own_tensors=False), None
    except MisconfigurationException as mlp_error:
        if x is None or x.ndim <= 2:
            raise MisconfigurationException(
                f"{mlp_error}; for another piecewise-linear network (a CNN) give `input_shape` or training data "
                f"whose samples have the network's input shape"
            ) from mlp_error
        shape = tuple(int(s) for s in x.shape[1:])
        try:
            return piecewise_linear_network_of(pl_module, name, x, shape, who), shape
        except MisconfigurationException as err:
            raise MisconfigurationException(
                f"{mlp_error}; taken as a piecewise-linear network of the training samples' shape {shape}: {err}"
            ) from err


def training_data_and_layers(
    trainer: pl.Trainer,
    pl_module: pl.LightningModule,
    data: Any,
    max_samples: int | None,
    batch_to_xy: BatchToXY | None,
    network: str | None,
    who: str,
) -> tuple[tuple[torch.Tensor, torch.Tensor], list[nn.Linear]]:
    """What a weight-changing callback reads at ``setup``: the labelled training data (once) and the
    linear layers of the module's own ReLU network, checked against its forward on that data."""
    prepare_trainer(trainer)
    train = labelled_data(trainer, data, "train", max_samples, batch_to_xy, who)
    return train, linear_layers(network_of(pl_module, network, train[0], who))
