"""Polish a trained ReLU MLP in place, keep the result only when it helps (DDP-safe, resumable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import Callback

from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.algorithms.polish_network import PolishReport, polish_network
from lightning_poly.callbacks._history import HistoryState
from lightning_poly.logging import log_table
from lightning_poly.nn.relu_network import get_relu_network, linear_layers
from lightning_poly.solvers.refit import RefitLoss

__all__ = ["PolishingCallback"]

Monitor = Literal["val_loss", "val_acc", "train_loss", "train_acc"]
_LOSS_OF_MODULE = {"bce": "logistic", "cross_entropy": "cross_entropy", "mse": "squared"}


class PolishingCallback(HistoryState, Callback):
    """Polishing (wedge-products paper, Section 4.1) as a callback: the work is
    :func:`lightning_poly.algorithms.polish_network`.

    At fit end (default) or every ``every_n_epochs`` epochs: polish the chosen hidden layers, refit the
    last layer convexly on the training split, rescale, then compare the monitored metric (computed
    on the data module's split with the refit's loss, or accuracy) before and after. With
    ``accept="if_better"`` a result that does not improve it is undone exactly (the original tensors
    are copied back); ``"always"`` keeps it. Weights change in place (same tensors, so DDP and the
    optimizer keep pointing at them); every rank computes from identical inputs and rank zero's
    tensors are then broadcast (every rank reaches the broadcast); the optimizer state of changed
    parameters is reset. A failure restores the model and re-raises.

    Args:
        layers: hidden ``Linear`` layers to polish (indices; default the first).
        refit: ``"auto"`` (from the module's ``loss`` hyperparameter: bce → logistic,
            cross_entropy → cross_entropy, mse → squared) or a :data:`RefitLoss`.
        accept: ``"if_better"`` or ``"always"``.
        monitor: ``val_loss``/``val_acc``/``train_loss``/``train_acc``.
        l2: ridge weight of the refit.
        every_n_epochs: also polish every this many epochs (0: only at fit end).
        at_fit_end: polish at fit end.
        max_samples: polish on at most this many training samples (the first ones), to bound cost.

    Example:
        >>> PolishingCallback(accept="always").accept
        'always'
    """

    def __init__(
        self,
        layers: Sequence[int] = (0,),
        refit: Literal["auto", "squared", "logistic", "cross_entropy"] = "auto",
        accept: Literal["if_better", "always"] = "if_better",
        monitor: Monitor = "val_loss",
        l2: float = 1e-6,
        every_n_epochs: int = 0,
        at_fit_end: bool = True,
        max_samples: int | None = None,
        rescale: bool = True,
    ) -> None:
        self.layers = [check_int("layers[i]", int(i), minimum=0) for i in layers]
        if not self.layers:
            raise ValueError("`layers` must name at least one hidden layer, got []")
        self.refit = check_choice("refit", refit, ("auto", "squared", "logistic", "cross_entropy"))
        self.accept = check_choice("accept", accept, ("if_better", "always"))
        self.monitor = check_choice("monitor", monitor, ("val_loss", "val_acc", "train_loss", "train_acc"))
        self.l2 = check_positive("l2", l2)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.at_fit_end = bool(at_fit_end)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=2)
        self.rescale = bool(rescale)
        self.history: list[dict[str, Any]] = []
        self.last_report: PolishReport | None = None

    # -- hooks decide ---------------------------------------------------------------------------
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        try:
            n = len(linear_layers(get_relu_network(pl_module)))
        except TypeError as err:
            raise MisconfigurationException(f"PolishingCallback needs a ReLU network: {err}") from err
        if max(self.layers) > n - 2:
            raise MisconfigurationException(f"`layers` must be hidden layers in 0..{n - 2}, got {self.layers}")
        if not hasattr(trainer.datamodule, "train_tensors"):
            raise MisconfigurationException(
                "PolishingCallback needs a data module with `train_tensors()` (e.g. lightning_poly's)"
            )

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._polish(trainer, pl_module, "epoch")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_fit_end:
            self._polish(trainer, pl_module, "fit_end")

    def summary(self) -> str:
        if not self.history:
            return ""
        h = self.history[-1]
        return f"{self.monitor} {h['metric_before']:.4g} -> {h['metric_after']:.4g}, {'kept' if h['accepted'] else 'undone'}"

    # -- private methods compute ----------------------------------------------------------------
    def _loss(self, pl_module: pl.LightningModule) -> RefitLoss:
        if self.refit != "auto":
            return self.refit  # type: ignore[return-value]
        name = getattr(pl_module, "hparams", {}).get("loss")
        if name not in _LOSS_OF_MODULE:
            raise MisconfigurationException(
                f"refit='auto' needs the module's `loss` hyperparameter in {sorted(_LOSS_OF_MODULE)}, got {name!r}; pass `refit`"
            )
        return _LOSS_OF_MODULE[name]  # type: ignore[return-value]

    def _split(self, trainer: pl.Trainer, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        dm: Any = trainer.datamodule
        if which == "train":
            x, y = dm.train_tensors()
        else:
            if getattr(dm, "data_val", None) is None:
                raise MisconfigurationException(f"monitor={self.monitor!r} needs a validation split")
            x, y = dm.data_val.tensors
        return x.flatten(1), y

    @torch.no_grad()
    def _metric(self, net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: RefitLoss) -> float:
        out = net(x.to(next(net.parameters())).flatten(1)).double()
        kind = self.monitor.split("_")[1]
        if loss == "squared":
            t = y.double().reshape(out.shape)
            return (
                float(((out - t) ** 2).sum(1).mean())
                if kind == "loss"
                else float(((out > 0.5) == (t > 0.5)).double().mean())
            )
        if loss == "logistic":
            if kind == "loss":
                return float(F.binary_cross_entropy_with_logits(out[:, 0], (y > 0).double()))
            return float(((out[:, 0] > 0) == (y > 0)).double().mean())
        return float(F.cross_entropy(out, y.long())) if kind == "loss" else float((out.argmax(1) == y).double().mean())

    def _polish(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        net = get_relu_network(pl_module)
        params = [p for lin in linear_layers(net) for p in lin.parameters()]
        snapshot = [p.detach().clone() for p in params]
        loss = self._loss(pl_module)
        x, y = self._split(trainer, "train")
        if self.max_samples is not None:
            x, y = x[: self.max_samples], y[: self.max_samples]
        mx, my = self._split(trainer, self.monitor.split("_")[0])
        was_training = pl_module.training
        pl_module.eval()
        try:
            before = self._metric(net, mx, my, loss)
            report = polish_network(
                net, x.to(params[0]), y.to(params[0].device), self.layers, loss, self.l2, self.rescale
            )
            after = self._metric(net, mx, my, loss)
        except Exception:
            self._restore(params, snapshot)
            raise
        finally:
            pl_module.train(was_training)
        better = after < before if self.monitor.endswith("loss") else after > before
        accepted = self.accept == "always" or better
        if not accepted:
            self._restore(params, snapshot)
        if trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for p in params:  # every rank reaches every broadcast; tensors, not pickled objects
                torch.distributed.broadcast(p.data, src=0)
        if accepted:
            for opt in trainer.optimizers:
                for p in params:
                    opt.state.pop(p, None)
        self.last_report = report
        record = {
            "when": when, "epoch": trainer.current_epoch, "step": trainer.global_step, "monitor": self.monitor,
            "metric_before": before, "metric_after": after, "accepted": accepted,
            "objective_before": report.objective_before, "objective_after": report.objective_after,
            "grad_norm": report.grad_norm,
        }  # fmt: skip
        self.history.append(record)
        if trainer.is_global_zero:
            scalars = {
                f"polish/{k}": float(v)
                for k, v in record.items()
                if isinstance(v, int | float | bool) and k not in ("epoch", "step")
            }
            for logger in trainer.loggers:
                logger.log_metrics(scalars, step=trainer.global_step)
            res = report.results[0]
            rows = [
                [j, " ".join(map(str, res.indices[j].tolist())), float(res.residual[j])]
                for j in range(len(res.indices))
            ]
            log_table(
                trainer, f"polish/layer{report.layers[0]}_explanations", ["neuron", "sample indices", "residual"], rows
            )

    @staticmethod
    @torch.no_grad()
    def _restore(params: list[torch.Tensor], snapshot: list[torch.Tensor]) -> None:
        for p, s in zip(params, snapshot):
            p.copy_(s)
