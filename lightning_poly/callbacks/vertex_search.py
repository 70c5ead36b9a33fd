"""Improve a trained shallow ReLU network by search over activation patterns, in place, only when it helps."""

from __future__ import annotations

from typing import Any, Literal

import pytorch_lightning as pl
import torch
from typing_extensions import override

from lightning_poly._compat import MisconfigurationException
from lightning_poly._user import training_data_and_layers
from lightning_poly._validation import check_choice, check_int
from lightning_poly.algorithms.vertex_search import SearchRecord, greedy_local_search, modified_greedy_local_search
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.callbacks._inplace import edit_in_place
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.zonotope import activation_pattern, is_vertex
from lightning_poly.media import log_figure
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.nn.relu_network import find_relu_network, linear_layers, write_shallow_weights
from lightning_poly.solvers.losses import solver_loss_of_module
from lightning_poly.solvers.vertex_program import VertexLoss, vertex_loss, vertex_program

__all__ = ["VertexSearchCallback"]


class VertexSearchCallback(SuiteCallback):
    """Activation-pattern search (zonotope paper, Algorithms 2-3) from the network the Trainer trained.

    At the end of training (default; before the strategy's teardown, so ``last.ckpt`` holds the result) or
    every ``every_n_epochs`` epochs: take the activation pattern of the
    module's one-hidden-layer ReLU network on its training data, solve program (3) there with the
    network's own second layer ``v`` fixed (and its output bias optimised), run mGLS (or GLS) from that
    vertex, and write the first layer and output bias back in place if the training loss of the
    module's forward falls (``accept="if_better"``; undone exactly otherwise) or always
    (``"always"``). The work is :func:`~lightning_poly.algorithms.modified_greedy_local_search`; the
    in-place edit is :func:`~lightning_poly.callbacks._inplace.edit_in_place` (identical data on every
    rank, rank zero's tensors broadcast, optimizer state of the changed tensors reset, every rank
    restored on a failure).

    Logged: the trained network's loss, program (3)'s loss at its own vertex, the loss after the
    search, vertices visited, programs solved, time, and a figure of the loss along the search.

    Args:
        algorithm: ``"mgls"`` or ``"gls"``.
        loss: ``"auto"`` (the module's ``loss`` hyperparameter, bce → logistic and mse → squared, else
            logistic for 0/1 targets and squared otherwise), ``"squared"`` or ``"logistic"``.
        accept: ``"if_better"`` or ``"always"``.
        max_steps: most moves of the search.
        every_n_epochs: also search every this many epochs (0: only at fit end).
        at_fit_end: search at fit end.
        max_samples: read at most this many training samples (every program has ``m * N`` constraints).
        data: training data (tensors ``(x, y)``, a Dataset or a DataLoader); ``None``: the Trainer's.
        network: the submodule holding the network (``None``: found).
        batch_to_xy: splits a batch into ``(x, y)``.

    Example:
        >>> VertexSearchCallback(max_steps=10).max_steps
        10
    """

    def __init__(
        self,
        algorithm: Literal["mgls", "gls"] = "mgls",
        loss: Literal["auto", "squared", "logistic"] = "auto",
        accept: Literal["if_better", "always"] = "if_better",
        max_steps: int = 100,
        every_n_epochs: int = 0,
        at_fit_end: bool = True,
        max_samples: int | None = 1000,
        data: Any = None,
        network: str | None = None,
        batch_to_xy: BatchToXY | None = None,
    ) -> None:
        self.algorithm = check_choice("algorithm", algorithm, ("mgls", "gls"))
        self.loss = check_choice("loss", loss, ("auto", "squared", "logistic"))
        self.accept = check_choice("accept", accept, ("if_better", "always"))
        self.max_steps = check_int("max_steps", max_steps, minimum=1)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.at_fit_end = bool(at_fit_end)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=3)
        self.data, self.network, self.batch_to_xy = data, network, batch_to_xy
        self.last_search: SearchRecord | None = None
        self._train: tuple[torch.Tensor, torch.Tensor] | None = None
        self._loss: VertexLoss | None = None
        self._schedule(every_n_epochs=self.every_n_epochs, at_end=self.at_fit_end)

    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        who = type(self).__name__
        self._train, lins = training_data_and_layers(
            trainer, pl_module, self.data, self.max_samples, self.batch_to_xy, self.network, who
        )
        if len(lins) != 2 or lins[1].out_features != 1 or lins[0].bias is None or lins[1].bias is None:
            shape = "-".join([str(lins[0].in_features)] + [str(lin.out_features) for lin in lins])
            raise MisconfigurationException(
                f"{who} needs a one-hidden-layer ReLU network with biases and one output (Linear-ReLU-Linear), "
                f"got a {shape} network with {len(lins)} linear layers"
            )
        x, y = self._train
        n, d = len(x), x[0].numel()
        if n <= d + 1:
            raise MisconfigurationException(f"{who} needs more than d + 1 = {d + 1} training samples, got {n}")
        binary = bool(((y == 0) | (y == 1)).all())
        declared = solver_loss_of_module(pl_module)  # program (3) knows two of the solvers' losses
        default = declared if declared in ("squared", "logistic") else ("logistic" if binary else "squared")
        loss = self.loss if self.loss != "auto" else default
        if loss == "logistic" and not binary:
            raise MisconfigurationException(
                f"{who}: loss='logistic' needs 0/1 targets, got values {y.unique()[:5].tolist()}"
            )
        self._loss = loss  # type: ignore[assignment]

    def summary(self) -> str:
        if not self.history:
            return ""
        h = self.history[-1]
        return (
            f"training {h['loss']} loss {h['loss_trained']:.4g} -> {h['loss_search']:.4g} after {h['steps']} moves "
            f"({h['programs']} programs), {'kept' if h['accepted'] else 'undone'}"
        )

    def _module_loss(self, pl_module: pl.LightningModule, x: torch.Tensor, y: torch.Tensor) -> float:
        assert self._loss is not None
        out = module_outputs(pl_module, x)
        return float(vertex_loss(out.reshape(-1).double(), y.to(out.device).double(), self._loss))

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        assert self._train is not None and self._loss is not None, "setup() ran"
        net = find_relu_network(pl_module, self.network)
        first, second = linear_layers(net)
        x, y = self._train
        x = x.flatten(1).to(first.weight.device)
        xd, yd = x.double().cpu(), y.double().cpu()
        before = self._module_loss(pl_module, x, y)
        weight = torch.cat([first.weight, first.bias[:, None]], 1).detach().double().cpu()
        v = second.weight[0].detach().double().cpu()
        pattern = activation_pattern(weight, xd)
        record: dict[str, Any] = {"when": when, "epoch": trainer.current_epoch, "step": trainer.global_step}
        if not bool(is_vertex(xd, pattern).all()):  # a unit exactly on a data point's hyperplane
            record.update(loss=self._loss, loss_trained=before, accepted=False, reason="pattern is not a vertex")
            self.history.append(record)
            return
        own = vertex_program(xd, yd, pattern, v, loss=self._loss)
        search = modified_greedy_local_search if self.algorithm == "mgls" else greedy_local_search
        found: dict[str, Any] = {}

        def change() -> SearchRecord:
            rec = search(xd, yd, v, pattern=pattern, max_steps=self.max_steps, loss=self._loss)  # type: ignore[operator]
            write_shallow_weights(first, second, rec.weight, rec.output_bias)
            found["after"] = self._module_loss(pl_module, x, y)
            return rec

        def decide(_: SearchRecord) -> bool:
            return self.accept == "always" or found["after"] < before

        tensors = [first.weight, first.bias, second.bias]
        rec, accepted = edit_in_place(trainer, tensors, change, decide, what="vertex search", reset="tensors")
        self.last_search = rec
        record.update(
            loss=self._loss, loss_trained=before, loss_own_vertex=float(own.loss[0]), loss_search=rec.loss,
            loss_after=found["after"] if accepted else before, accepted=accepted, vertices=rec.vertices,
            programs=rec.programs, steps=rec.steps, stopped=rec.stopped, seconds=rec.seconds,
        )  # fmt: skip
        self.history.append(record)
        self._log_scalars(trainer, pl_module, self._record_scalars("vertex_search/", record))
        if trainer.is_global_zero:
            self._log(trainer, record, rec)

    def _log(self, trainer: pl.Trainer, record: dict[str, Any], rec: SearchRecord) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        ax.plot(range(len(rec.trace)), rec.trace, marker="o", ms=3, label="program (3) along the search")
        ax.axhline(record["loss_trained"], color="grey", ls="--", label="trained network")
        if min([*rec.trace, record["loss_trained"]]) > 0:
            ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("move (0: the trained network's own vertex)")
        ax.set_ylabel(f"program (3) objective ({record['loss']})")
        ax.set_title(f"{self.algorithm.upper()} from the trained network's vertex")
        ax.legend()
        fig.tight_layout()
        log_figure(trainer, f"vertex_search/loss_{record['when']}", fig)
