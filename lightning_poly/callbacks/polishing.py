"""Polish a trained ReLU MLP or CNN in place, keep the result only when it helps (DDP-safe, resumable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn
from typing_extensions import override

from lightning_poly._compat import MisconfigurationException
from lightning_poly._user import labelled_data, training_data_and_layers
from lightning_poly._validation import check_choice, check_int
from lightning_poly.algorithms.polishing.cnn import cnn_layers, polish_cnn_and_evaluate
from lightning_poly.algorithms.polishing.conv import ConvPolishReport, ConvPolishResult
from lightning_poly.algorithms.polishing.evaluation import PolishEvaluation
from lightning_poly.algorithms.polishing.mlp import PolishReport, polish_and_evaluate
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.callbacks._inplace import edit_in_place
from lightning_poly.data.samples import BatchToXY
from lightning_poly.media import log_table
from lightning_poly.nn.outputs import module_outputs
from lightning_poly.nn.relu_network import find_relu_network, linear_layers
from lightning_poly.solvers.losses import solver_loss_of_module
from lightning_poly.solvers.refit import (
    RefitLoss,
    RefitPenalty,
    check_refit_loss,
    check_refit_penalty,
    infer_refit_loss,
)

__all__ = ["PolishingCallback"]

Monitor = Literal["val_loss", "val_acc", "train_loss", "train_acc"]


class PolishingCallback(SuiteCallback):
    """Polishing (wedge-products paper, Section 4.1) as a callback: the work is
    :func:`lightning_poly.algorithms.polish_network`.

    At the end of training (default; in ``on_train_end``, before the strategy's teardown, so the polished
    weights and the record are in ``last.ckpt``) or every ``every_n_epochs`` epochs: polish the chosen hidden
    layers, refit the last layer convexly on the training data, rescale, then compare the monitored metric
    before and after. The metric is computed by the module itself: its ``forward`` on the monitored data, scored
    with the refit's loss (or accuracy), so "kept" always means the model as the Trainer holds it got
    better. With ``accept="if_better"`` a result that does not improve it is undone exactly;
    ``"always"`` keeps it. Weights change in place (same tensors, so DDP and the optimizer keep
    pointing at them) through :func:`lightning_poly.callbacks._inplace.edit_in_place`: every rank
    computes from identical data, rank zero's tensors and decision are broadcast, the optimizer state
    of changed parameters is reset, and a failure on any rank restores every rank and re-raises.

    A module that holds a ``Conv2d`` is taken as a CNN (:func:`lightning_poly.algorithms.polish_cnn`): the
    chosen ``Conv2d`` layers are polished on their patches, every layer between them and the head stays
    fixed, and the head (the ``Linear`` layer whose output the forward returns) is refitted convexly; no
    rescaling. The module's forward (or the ``network`` submodule's, checked against it) is traced at
    ``setup``, and a layer that is not piecewise linear is refused by name.

    Everything is checked at ``setup``: the network (found in the module, checked against its
    forward), the data (read once), and that the refit loss fits the head and targets.

    Args:
        layers: layers to polish (indices; default the first): hidden ``Linear`` layers of an MLP, ``Conv2d``
            layers of a CNN (in the order of its forward).
        refit: ``"auto"`` or a :data:`RefitLoss`. ``"auto"`` takes the module's ``loss`` hyperparameter
            when it has one (bce → logistic, cross_entropy → cross_entropy, mse → squared), else follows
            the head (:func:`~lightning_poly.solvers.infer_refit_loss`: one logit and binary labels →
            logistic, C logits and labels → cross-entropy, real targets → squared). Either way a loss
            that does not fit the head is an error at setup, and so is data with one class.
        accept: ``"if_better"`` or ``"always"``.
        monitor: ``val_loss``/``val_acc``/``train_loss``/``train_acc``.
        l2: ridge weight of the refit (``refit_penalty="ridge"`` only; default 1e-6).
        refit_penalty: ``"l1"`` (default: the paper's procedure — polished neurons with :math:`\\|w\\|_p = 1`, the head
            refitted by the weighted Lasso that weight decay becomes after balancing, eq. (96)–(98), to a certified
            duality gap) or ``"ridge"`` (the earlier refit; see :func:`~lightning_poly.algorithms.polish_network`).
        weight_decay: :math:`\beta` of the ``"l1"`` refit (default 1e-6; an error with ``"ridge"``).
        p: the norm of problem (2) for ``"l1"`` (1 or 2).
        every_n_epochs: also polish every this many epochs (0: only at fit end).
        at_fit_end: polish at fit end.
        max_samples: read at most this many training (and validation) samples, in the dataset's order.
        rescale: apply the optimal scaling (Equation (98)) after the refit (MLPs).
        data: training data (tensors ``(x, y)``, a Dataset or a DataLoader); ``None``: the Trainer's.
        val_data: validation data for ``val_*`` monitors; ``None``: the Trainer's val dataloader.
        network: the submodule holding the ReLU MLP (``None``: found), or the CNN (``None``: the module).
        batch_to_xy: splits a batch into ``(x, y)`` (default: tuple, list or dict batches).
        max_patches: patches each polished ``Conv2d`` layer's filters choose from, a seeded sample of all
            of them (see :func:`~lightning_poly.algorithms.polish_conv2d`).

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
        l2: float | None = None,
        every_n_epochs: int = 0,
        at_fit_end: bool = True,
        max_samples: int | None = 20_000,
        rescale: bool = True,
        data: Any = None,
        val_data: Any = None,
        network: str | None = None,
        batch_to_xy: BatchToXY | None = None,
        max_patches: int = 100_000,
        refit_penalty: RefitPenalty = "l1",
        weight_decay: float | None = None,
        p: int = 2,
    ) -> None:
        self.layers = [check_int("layers[i]", int(i), minimum=0) for i in layers]
        if not self.layers:
            raise ValueError("`layers` must name at least one hidden layer, got []")
        self.refit = check_choice("refit", refit, ("auto", "squared", "logistic", "cross_entropy"))
        self.accept = check_choice("accept", accept, ("if_better", "always"))
        self.monitor = check_choice("monitor", monitor, ("val_loss", "val_acc", "train_loss", "train_acc"))
        self.reg = check_refit_penalty(refit_penalty, l2, weight_decay, p)
        self.refit_penalty, self.l2, self.weight_decay, self.p = refit_penalty, l2, weight_decay, p  # (the state key)
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs, minimum=0)
        self.at_fit_end = bool(at_fit_end)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=2)
        self.rescale = bool(rescale)
        self.data, self.val_data, self.network, self.batch_to_xy = data, val_data, network, batch_to_xy
        self.max_patches = check_int("max_patches", max_patches, minimum=2)
        self._cnn = False
        self.last_report: PolishReport | ConvPolishReport | None = None
        self._train: tuple[torch.Tensor, torch.Tensor] | None = None
        self._monitored: tuple[torch.Tensor, torch.Tensor] | None = None
        self._loss: RefitLoss | None = None
        self._schedule(every_n_epochs=self.every_n_epochs, at_end=self.at_fit_end)

    # -- hooks decide ---------------------------------------------------------------------------
    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        who = type(self).__name__
        self._cnn = any(isinstance(m, nn.Conv2d) for m in self._cnn_network(pl_module).modules())
        if self._cnn:
            self._train, k = self._setup_cnn(trainer, pl_module, who)
        else:
            self._train, lins = training_data_and_layers(
                trainer, pl_module, self.data, self.max_samples, self.batch_to_xy, self.network, who
            )
            if max(self.layers) > len(lins) - 2:
                raise MisconfigurationException(
                    f"`layers` must be hidden layers in 0..{len(lins) - 2}, got {self.layers}"
                )
            k = lins[-1].out_features
        self._loss = self._refit_loss(pl_module, k, self._train[1])
        if self.monitor.startswith("train"):
            self._monitored = self._train
        else:
            self._monitored = labelled_data(trainer, self.val_data, "val", self.max_samples, self.batch_to_xy, who)
        if self._monitored[1].numel() != len(self._monitored[1]) * (k if self._loss == "squared" else 1):
            raise MisconfigurationException(
                f"{who}: validation targets of shape {tuple(self._monitored[1].shape)} do not fit the head's "
                f"{k} outputs under the refit loss {self._loss!r}"
            )

    def summary(self) -> str:
        if not self.history:
            return ""
        h = self.history[-1]
        return (
            f"{self.monitor} of the model's forward ({h['loss']} loss) {h['metric_before']:.4g} -> "
            f"{h['metric_after']:.4g}, {'kept' if h['accepted'] else 'undone'}"
        )

    # -- private methods compute ----------------------------------------------------------------
    def _cnn_network(self, pl_module: pl.LightningModule) -> nn.Module:
        """The module, or its ``network`` submodule (for a CNN)."""
        if self.network is None:
            return pl_module
        try:
            return pl_module.get_submodule(self.network)
        except AttributeError as err:
            raise MisconfigurationException(f"{type(self).__name__}: `network` {self.network!r}: {err}") from err

    def _setup_cnn(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, who: str
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], int]:
        """The training data and the head's outputs of a CNN, checked: traced, its forward the module's."""
        train = labelled_data(trainer, self.data, "train", self.max_samples, self.batch_to_xy, who)
        net = self._cnn_network(pl_module)
        try:
            convs, (_, head) = cnn_layers(net, train[0])
        except ValueError as err:
            raise MisconfigurationException(f"{who} needs a piecewise-linear CNN: {err}") from err
        if net is not pl_module:
            ours, theirs = module_outputs(pl_module, train[0][:64]), module_outputs(net, train[0][:64])
            if ours.shape != theirs.shape or not torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5):
                raise MisconfigurationException(
                    f"{who}: the forward of `network` {self.network!r} is not the module's forward"
                )
        if max(self.layers) > len(convs) - 1:
            raise MisconfigurationException(
                f"`layers` must be Conv2d layers in 0..{len(convs) - 1} of the CNN, got {self.layers}"
            )
        return train, head.out_features

    def _refit_loss(self, pl_module: pl.LightningModule, n_outputs: int, y: torch.Tensor) -> RefitLoss:
        """The user's loss, else the module's declared one, else the head's; checked against head and targets."""
        loss = self.refit if self.refit != "auto" else solver_loss_of_module(pl_module)
        try:
            if loss is None:
                return infer_refit_loss(n_outputs, y)
            check_refit_loss(loss, n_outputs, y)  # type: ignore[arg-type]
        except ValueError as err:
            raise MisconfigurationException(f"{type(self).__name__}: {err}") from err
        return loss  # type: ignore[return-value]

    def _refit_options(self) -> dict[str, Any]:
        return {"refit_penalty": self.reg.penalty, "weight_decay": self.weight_decay, "p": self.reg.p}

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        assert self._train is not None and self._monitored is not None and self._loss is not None, "setup() ran"
        (x, y), (mx, my), loss = self._train, self._monitored, self._loss
        metric = self.monitor.split("_")[1]
        if self._cnn:
            cnn = self._cnn_network(pl_module)
            convs, (_, head) = cnn_layers(cnn)
            params = [p for l in self.layers for p in convs[l][1].parameters()] + list(head.parameters())

            def change() -> PolishEvaluation:
                return polish_cnn_and_evaluate(
                    pl_module, x, y, mx, my, layers=self.layers, loss=loss, l2=self.l2, max_patches=self.max_patches,
                    network=cnn, **self._refit_options(),
                )  # fmt: skip
        else:
            net = find_relu_network(pl_module, self.network)
            params = [p for lin in linear_layers(net) for p in lin.parameters()]

            def change() -> PolishEvaluation:
                return polish_and_evaluate(
                    pl_module, x, y, mx, my, layers=self.layers, loss=loss, l2=self.l2, rescale=self.rescale,
                    network=net, **self._refit_options(),
                )  # fmt: skip

        def decide(evaluation: PolishEvaluation) -> bool:
            return self.accept == "always" or evaluation.improved(metric)  # type: ignore[arg-type]

        try:
            evaluation, accepted = edit_in_place(trainer, params, change, decide, what="polishing", reset="tensors")
        except (RuntimeError, ArithmeticError) as err:  # numerical: every rank restored its tensors and raised
            rank_zero_warn(
                f"{type(self).__name__}: the polish or its refit failed numerically ({type(err).__name__}: {err}); "
                "the model is left exactly as it was and training goes on"
            )
            record = {"when": when, "epoch": trainer.current_epoch, "step": trainer.global_step, "accepted": False,
                      "refit_penalty": self.reg.penalty, "error": f"{type(err).__name__}: {err}"}  # fmt: skip
            self.history.append(record)
            self._log_scalars(trainer, pl_module, {"polish/accepted": 0.0})
            return
        report = self.last_report = evaluation.report
        record = {
            "when": when, "epoch": trainer.current_epoch, "step": trainer.global_step, "monitor": self.monitor,
            "loss": self._loss, "metric_samples": evaluation.n_samples,
            "metric_before": evaluation.before[metric], "metric_after": evaluation.after[metric], "accepted": accepted,
            "objective_before": report.objective_before, "objective_after": report.objective_after,
            "grad_norm": report.grad_norm, "refit_penalty": self.reg.penalty,
            "gap": report.gap if report.gap == report.gap else None,  # None: the ridge refit has none (NaN != NaN)
        }  # fmt: skip
        self.history.append(record)
        self._log_scalars(trainer, pl_module, self._record_scalars("polish/", record))
        if trainer.is_global_zero:
            self._log(trainer, report)

    def _log(self, trainer: pl.Trainer, report: PolishReport | ConvPolishReport) -> None:
        res = report.results[0]
        if isinstance(res, ConvPolishResult):  # a filter's patches as image:row,column of the layer's output
            cols = ["filter", "patches (image:row,column)", "residual"]
            where = [" ".join(f"{i}:{r},{c}" for i, r, c in p.tolist()) for p in res.positions]
            name = f"polish/conv{report.layers[0]}_explanations"
        else:
            cols = ["neuron", "sample indices", "residual"]
            where = [" ".join(map(str, row.tolist())) for row in res.indices]
            name = f"polish/layer{report.layers[0]}_explanations"
        log_table(trainer, name, cols, [[j, w, float(r)] for j, (w, r) in enumerate(zip(where, res.residual))])
