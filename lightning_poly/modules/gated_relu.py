"""A LightningModule for convex gated two-layer ReLU networks, with a certificate of optimality."""

from __future__ import annotations

from typing import Any, Literal

import torch
from typing_extensions import override

from lightning_poly._compat import LightningModule, attached_trainer
from lightning_poly._user import labelled_data, prepare_trainer
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.geometry.cones import data_gates, gaussian_gates
from lightning_poly.nn.gated import GatedReLU
from lightning_poly.nn.homogeneous import augment
from lightning_poly.solvers.gated_certificate import (
    gated_certificate,
    gated_data_loss,
    gated_step_size,
    group_lasso_penalty,
)
from lightning_poly.solvers.proximal import GroupFISTA

__all__ = ["ConvexGatedReLUModule"]


class ConvexGatedReLUModule(LightningModule):
    r"""Train :math:`\min_W \frac1n\sum_i \ell(f(V, W, x_i), y_i) + \lambda\sum_j\|w_j\|_2` (convex in W).

    Every epoch the module logs a certificate of distance to the global optimum, computed on the
    whole training data (read once at ``setup`` from whatever the Trainer was given: a DataModule,
    the loaders passed to ``fit``; see :mod:`lightning_poly._user`) by
    :func:`~lightning_poly.solvers.gated_certificate`: ``certificate/prox_residual``
    :math:`= \|W - \mathrm{prox}_{\lambda/L}(W - \nabla f(W)/L)\| L` (zero exactly at the optimum, for
    every loss), and for the squared loss ``certificate/rel_gap``
    :math:`= (P(W) - D(u))/P(W) \ge (P(W) - P^\star)/P(W)` with ``certificate/objective`` :math:`P(W)`.

    Args:
        input_dim: input features.
        n_gates: number of gates ``m``.
        gates: ``"gaussian"`` or ``"data"`` (generalised cross products of training points, drawn in
            ``setup``).
        bias: augment inputs with a constant 1.
        loss: ``"squared"`` (the certificate's duality gap is defined for it), ``"logistic"`` or
            ``"cross_entropy"``.
        n_outputs: outputs (the number of classes for cross-entropy).
        lam: group-lasso weight.
        optimizer: ``"proximal"`` (GroupFISTA, full-batch recommended) or ``"adam"`` (subgradient of
            the penalty).
        lr: step size; ``None``: :func:`~lightning_poly.solvers.gated_step_size` (1/L of the loss on
            the training split) for ``proximal``, 1e-2 for Adam.
        seed: seed of the Gaussian gates.

    Example:
        >>> m = ConvexGatedReLUModule(input_dim=2, n_gates=8)
        >>> m(torch.zeros(3, 2)).shape
        torch.Size([3, 1])
    """

    def __init__(
        self,
        input_dim: int = 2,
        n_gates: int = 100,
        gates: Literal["gaussian", "data"] = "gaussian",
        bias: bool = True,
        loss: Literal["squared", "logistic", "cross_entropy"] = "squared",
        n_outputs: int = 1,
        lam: float = 1e-3,
        optimizer: Literal["proximal", "adam"] = "proximal",
        lr: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_int("input_dim", input_dim, minimum=1)
        check_int("n_gates", n_gates, minimum=1)
        check_int("n_outputs", n_outputs, minimum=1)
        check_choice("gates", gates, ("gaussian", "data"))
        check_choice("loss", loss, ("squared", "logistic", "cross_entropy"))
        check_choice("optimizer", optimizer, ("proximal", "adam"))
        check_positive("lam", lam, strict=False)
        if lr is not None:
            check_positive("lr", lr)
        if loss == "cross_entropy" and n_outputs < 2:
            raise ValueError(f"`n_outputs` must be the number of classes (>= 2) with cross_entropy, got {n_outputs}")
        self.save_hyperparameters()
        self.net = GatedReLU(
            gaussian_gates(n_gates, input_dim + int(bias), seed).float(), out_features=n_outputs, bias=bias
        )
        self.automatic_optimization = optimizer == "adam"
        self._lr = float(lr) if lr is not None else 1e-2
        self._train: tuple[torch.Tensor, torch.Tensor] | None = None

    @override
    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        prepare_trainer(self.trainer)
        x, y = labelled_data(self.trainer, None, "train", None, None, type(self).__name__)
        self._train = (x.flatten(1), y)
        xt = augment(x.double().flatten(1), self.hparams["bias"])
        if self.hparams["gates"] == "data":
            v = data_gates(xt, self.hparams["n_gates"], self.hparams["seed"])
            self.net.gates.copy_(v.to(self.net.gates))
        if self.hparams["lr"] is not None:
            self._lr = float(self.hparams["lr"])
        elif self.hparams["optimizer"] == "adam":
            self._lr = 1e-2
        else:
            self._lr = gated_step_size(self.net, x, self.hparams["loss"])

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

    @override
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = gated_data_loss(self(x), y, self.hparams["loss"])
        if self.automatic_optimization:
            total = loss + group_lasso_penalty(self.net.weight, self.hparams["lam"])
        else:
            opt = self.optimizers()
            opt.zero_grad()  # type: ignore[union-attr]
            self.manual_backward(loss)
            opt.step()  # type: ignore[union-attr]
            total = loss.detach() + group_lasso_penalty(self.net.weight.detach(), self.hparams["lam"])
        self.log("train/objective", total, prog_bar=True)
        return total

    @override
    def on_train_epoch_end(self) -> None:
        cert = self.certificate()
        self.log_dict({f"certificate/{k}": v for k, v in cert.items()}, sync_dist=False)

    @torch.no_grad()
    def solution(self) -> torch.Tensor:
        """The current sparse iterate (the proximal point for ``optimizer="proximal"``)."""
        if not self.automatic_optimization and attached_trainer(self) is not None and self.trainer.optimizers:
            return self.trainer.optimizers[0].solution(self.net.weight)  # type: ignore[attr-defined]
        return self.net.weight.detach()

    def certificate(self) -> dict[str, float]:
        """Certificates of optimality on the whole training split (:func:`~lightning_poly.solvers.gated_certificate`)."""
        if self._train is None:
            raise RuntimeError("the certificate needs the training data, read in `setup('fit')`")
        x, y = self._train
        hp = self.hparams
        return gated_certificate(self.net, x, y, hp["lam"], hp["loss"], step=self._lr, weight=self.solution()).scalars()

    @override
    def configure_optimizers(self) -> Any:
        if self.hparams["optimizer"] == "adam":
            return torch.optim.Adam(self.parameters(), lr=self._lr)
        return GroupFISTA([self.net.weight], lr=self._lr, lam=self.hparams["lam"])
