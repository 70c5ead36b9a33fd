"""Three-layer polytope-cover networks (polytope-basis-covers paper, Equation (6)) as a LightningModule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
import torchmetrics
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn
from typing_extensions import override

from lightning_poly._compat import LightningModule
from lightning_poly._user import check_data_input_dim
from lightning_poly._validation import check_choice, check_positive
from lightning_poly.modules._steps import StageSteps
from lightning_poly.nn.cover_losses import CoverLoss, cover_loss
from lightning_poly.nn.cover_net import CoverNetwork

__all__ = ["PolytopeCoverModule"]

Head = Literal["network", "piece", "polytope"]


class PolytopeCoverModule(StageSteps, LightningModule):
    r"""Train :math:`N(x) = -\lambda/2 + \sum_j a_j \sigma(T_j(x))` (6), ``pieces`` × ``width`` neurons.

    The network is :class:`lightning_poly.nn.CoverNetwork` (initialisation (8), neuron masks). Attach
    :class:`lightning_poly.callbacks.CompressionCallback` to run Algorithm 2 during training and get the
    cover out at the end.

    Args:
        input_dim: ``d``.
        pieces: ``J``.
        width: neurons per piece ``m`` (or one width per piece).
        lam: :math:`\lambda` (paper: 5).
        signs: :math:`a_j` (default alternating +1, -1, ...).
        loss: ``"bce"`` (14, sigmoid), ``"mse"`` (13, output ReLU) or ``"weighted_bce"`` (12). Reading for
            (13) with ``head="network"``: the target of class 1 is :math:`\lambda/2`, the value (6) takes on
            class 1 at condition (7) (:math:`N = -\lambda/2 + \lambda`), so (13) is applied to
            :math:`2N/\lambda`. With the target 1 that the paper writes for its two-layer (1), (13) has no
            zero at (7) for :math:`\lambda \ne 2`, and compression, which moves pieces to (7), would
            work against the loss.
        class_weights: :math:`(\lambda_0, \lambda_1)` of (12) (paper: (1, 10)).
        head: ``"network"`` outputs :math:`N(x)`; ``"piece"`` outputs the single piece
            :math:`T^+(x) = \lambda_\text{bias} + \sum_k v_k\sigma(\cdot)` of (10) (needs ``pieces=1``;
            ``lam`` is :math:`\lambda_\text{bias}`), as Algorithm 4 trains; ``"polytope"`` outputs the
            log-odds that ``x`` lies in the piece's polytope,
            :meth:`~lightning_poly.nn.CoverNetwork.polytope_logits` (needs ``pieces=1``; its sign
            :math:`a_1` says which class the polytope holds): the smooth limit of (6) at condition (7),
            where the cover is the network. Our addition for high-dimensional data, where a trained
            piece classifies through :math:`0 < T < \lambda` and the points it gets wrong with
            :math:`T \le 0` receive no gradient.
        hard_sign: clamp :math:`v \le -10^{-6}` after every optimiser step (else the implicit bias of (8)
            is relied on, and a lost sign is logged as ``cover/sign_lost`` and warned about once).
        init_margin: (8) holds with :math:`v = -(1 + \text{margin})\sqrt{\|w\|^2 + b^2}`.
        init_scale: scale of the first layer's initial weights (:class:`~lightning_poly.nn.CoverNetwork`).
        lr: learning rate.
        optimizer: ``"adam"`` or ``"sgd"``.
        seed: initialisation seed.
        cosine: cosine-anneal the learning rate to 0 over ``trainer.max_epochs``.
        beta: sharpness :math:`\beta` of the ``"polytope"`` head.

    Labels are ``{0, 1}`` (or ``{-1, +1}``). Logged: ``train/loss``, ``train/acc``, ``cover/live`` (total
    live neurons), ``cover/live_piece{j}``, ``cover/sign_lost``.

    Example:
        >>> m = PolytopeCoverModule(input_dim=2, pieces=4, width=5)
        >>> m(torch.zeros(3, 2)).shape, m.relu_network()[0].out_features
        (torch.Size([3, 1]), 20)
    """

    def __init__(
        self,
        input_dim: int = 2,
        pieces: int = 16,
        width: int | Sequence[int] = 20,
        lam: float = 5.0,
        signs: Sequence[int] | None = None,
        loss: CoverLoss = "bce",
        class_weights: Sequence[float] = (1.0, 10.0),
        head: Head = "network",
        hard_sign: bool = False,
        init_margin: float = 0.1,
        lr: float = 1e-2,
        optimizer: Literal["adam", "sgd"] = "adam",
        seed: int = 0,
        cosine: bool = False,
        beta: float = 4.0,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        check_choice("loss", loss, ("bce", "mse", "weighted_bce"))
        check_choice("head", head, ("network", "piece", "polytope"))
        check_positive("beta", beta)
        check_choice("optimizer", optimizer, ("adam", "sgd"))
        check_positive("lr", lr)
        if head in ("piece", "polytope") and pieces != 1:
            raise ValueError(f"`head='{head}'` trains one piece T(x) and needs `pieces=1`, got {pieces}")
        if head == "polytope" and loss == "mse":
            raise ValueError("`head='polytope'` outputs log-odds: `loss` must be 'bce' or 'weighted_bce', got 'mse'")
        if len(class_weights) != 2:
            raise ValueError(f"`class_weights` must be (lambda_0, lambda_1), got {tuple(class_weights)}")
        self.save_hyperparameters()
        self.net = CoverNetwork(
            input_dim,
            pieces,
            width,
            signs=signs,
            lam=lam,
            margin=init_margin,
            hard_sign=hard_sign,
            seed=seed,
            init_scale=init_scale,
        )
        self.train_acc = torchmetrics.Accuracy(task="binary")
        self.val_acc = torchmetrics.Accuracy(task="binary")
        self.test_acc = torchmetrics.Accuracy(task="binary")
        self._warned_sign = False

    # -- the network -----------------------------------------------------------------------------
    def cover_network(self) -> CoverNetwork:
        """The :class:`CoverNetwork` the compression callback works on (live tensors)."""
        return self.net

    def relu_network(self) -> nn.Sequential:
        """A copy as a plain ReLU MLP (``d -> sum m_j -> J -> 1``, or ``d -> m -> 1`` for ``head='piece'``),
        for the read-only analysis callbacks (e.g. face histograms); editing it does not edit the module."""
        full = self.net.export()
        if self.hparams["head"] == "network":
            return full
        return nn.Sequential(full[0], full[1], full[2])

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if self.hparams["head"] == "piece":
            return self.net.pieces_out(x)
        if self.hparams["head"] == "polytope":
            return self.net.polytope_logits(x, self.hparams.get("beta", 4.0)) * self.net.a
        return self.net(x)

    def predict_labels(self, x: torch.Tensor) -> torch.Tensor:
        """``{0, 1}`` predictions (threshold 0 for the BCE losses, 1/2 for MSE's :math:`\\sigma(N)`)."""
        return (self._loss_output(self(x)).squeeze(1) > self._threshold).long()

    def _loss_output(self, out: torch.Tensor) -> torch.Tensor:
        """What the loss sees: (13) on :math:`2N/\\lambda` for the network head (class 1 at (7) is 1)."""
        if self.hparams["loss"] == "mse" and self.hparams["head"] == "network":
            return out * (2.0 / self.hparams["lam"])
        return out

    @property
    def _threshold(self) -> float:
        return 0.5 if self.hparams["loss"] == "mse" else 0.0

    # -- Lightning -------------------------------------------------------------------------------
    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        out = self._loss_output(self(x))
        loss = cover_loss(out, y, self.hparams["loss"], tuple(self.hparams["class_weights"]))
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", sync_dist=stage != "train")
        metric = getattr(self, f"{stage}_acc")
        metric((out.squeeze(1) > self._threshold).long(), (y > 0).long())
        self.log(f"{stage}/acc", metric, prog_bar=True, on_step=False, on_epoch=True)
        return loss

    @override
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.hparams["hard_sign"]:
            self.net.enforce_sign_()

    @override
    def on_train_epoch_end(self) -> None:
        live = self.net.mask.sum(dim=1).float()
        lost = float(self.net.sign_lost().sum())
        stats = {"cover/live": live.sum(), "cover/sign_lost": torch.tensor(lost)}
        stats.update({f"cover/live_piece{j}": live[j] for j in range(len(live))})
        self.log_dict(stats, on_step=False, on_epoch=True)
        if lost and not self._warned_sign:
            self._warned_sign = True
            rank_zero_warn(
                f"{int(lost)} live neurons have v >= 0 (condition (5) lost; the implicit bias of (8) did not hold); "
                "pass `hard_sign=True` to enforce it"
            )

    @override
    def on_fit_start(self) -> None:
        check_data_input_dim(self.trainer, self.hparams["input_dim"])

    @override
    def configure_optimizers(self) -> Any:
        if self.hparams["optimizer"] == "sgd":
            opt: torch.optim.Optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])
        else:
            opt = torch.optim.Adam(self.parameters(), lr=self.hparams["lr"])
        if not self.hparams.get("cosine"):
            return opt
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, int(self.trainer.max_epochs or 1)))
        return {"optimizer": opt, "lr_scheduler": sched}
