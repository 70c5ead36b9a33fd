"""A LightningModule for convex gated two-layer ReLU networks, with a certificate of optimality."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from typing_extensions import override

from lightning_poly._lightning import LightningModule
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.callbacks._user import labelled_data, prepare_trainer
from lightning_poly.geometry.cones import data_gates, gaussian_gates
from lightning_poly.nn.gated import GatedReLU, augment
from lightning_poly.solvers.gated_lasso import lipschitz, relative_gap
from lightning_poly.solvers.proximal import GroupFISTA, group_prox

__all__ = ["ConvexGatedReLUModule"]


class ConvexGatedReLUModule(LightningModule):
    r"""Train :math:`\min_W \frac1n\sum_i \ell(f(V, W, x_i), y_i) + \lambda\sum_j\|w_j\|_2` (convex in W).

    Every epoch the module logs a certificate of distance to the global optimum, computed on the
    whole training data (read once at ``setup`` from whatever the Trainer was given: a DataModule,
    the loaders passed to ``fit``; see :mod:`lightning_poly.callbacks._user`): ``certificate/prox_residual`` :math:`= \|W - \mathrm{prox}_{\lambda/L}(W - \nabla f(W)/L)\| L`
    (zero exactly at the optimum, for every loss), and for the squared loss
    ``certificate/rel_gap`` :math:`= (P(W) - D(u))/P(W) \ge (P(W) - P^\star)/P(W)`.

    Args:
        input_dim: features. n_gates: gates ``m``. gates: ``"gaussian"`` or ``"data"`` (generalised
            cross products of training points, drawn in ``setup``). bias: augment inputs.
        loss: ``"squared"`` (the certificate's duality gap is defined for it), ``"logistic"``,
            ``"cross_entropy"``. n_outputs: outputs (classes for cross-entropy).
        lam: group-lasso weight. optimizer: ``"proximal"`` (GroupFISTA, full-batch recommended) or
            ``"adam"`` (subgradient of the penalty). lr: step size; ``None``: 1/L of the loss on the
            training split for ``proximal`` (1e-2 for Adam). seed: gate seed.

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
        if self.hparams["lr"] is None:
            if self.hparams["optimizer"] == "adam":
                self._lr = 1e-2
            else:  # 1/L: squared loss L = ||A||^2/n; logistic and cross-entropy curvatures are <= 1/4, <= 1/2
                mask = (xt @ self.net.gates.double().T > 0).double()
                factor = {"squared": 1.0, "logistic": 4.0, "cross_entropy": 2.0}[self.hparams["loss"]]
                self._lr = factor / lipschitz(xt, mask)
        else:
            self._lr = float(self.hparams["lr"])

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

    def data_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        kind = self.hparams["loss"]
        if kind == "squared":
            return 0.5 * ((out - y.reshape(out.shape).to(out)) ** 2).sum(dim=1).mean()
        if kind == "logistic":
            return F.binary_cross_entropy_with_logits(out[:, 0], (y > 0).to(out))
        return F.cross_entropy(out, y.long())

    def penalty(self) -> torch.Tensor:
        return self.hparams["lam"] * self.net.weight.pow(2).sum(dim=(0, 2)).sqrt().sum()

    @override
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.data_loss(self(x), y)
        if self.automatic_optimization:
            total = loss + self.penalty()
        else:
            opt = self.optimizers()
            opt.zero_grad()  # type: ignore[union-attr]
            self.manual_backward(loss)
            opt.step()  # type: ignore[union-attr]
            total = loss.detach() + self.penalty().detach()
        self.log("train/objective", total, prog_bar=True)
        return total

    @override
    def on_train_epoch_end(self) -> None:
        cert = self.certificate()
        self.log_dict({f"certificate/{k}": v for k, v in cert.items()}, sync_dist=False)

    @torch.no_grad()
    def solution(self) -> torch.Tensor:
        """The current sparse iterate (the proximal point for ``optimizer="proximal"``)."""
        if not self.automatic_optimization and self._trainer is not None and self.trainer.optimizers:
            return self.trainer.optimizers[0].solution(self.net.weight)  # type: ignore[attr-defined]
        return self.net.weight.detach()

    def certificate(self) -> dict[str, float]:
        """Certificates of optimality on the whole training split (see the class docstring)."""
        if self._train is None:
            raise RuntimeError("the certificate needs the training data, read in `setup('fit')`")
        x, y = self._train
        x, y = x.to(self.device, torch.float64), y.to(self.device)
        w = self.solution().double().clone().requires_grad_(True)
        xt = augment(x, self.hparams["bias"])
        mask = (xt @ self.net.gates.double().T > 0).double() * self.net.rho.double()
        with torch.enable_grad():
            out = torch.einsum("nd,kmd->nkm", xt, w).mul(mask[:, None, :]).sum(dim=2)
            f = self.data_loss(out, y.double() if self.hparams["loss"] == "squared" else y)
            (grad,) = torch.autograd.grad(f, w)
        lr = self._lr
        res = float((w.detach() - group_prox(w.detach() - lr * grad, lr * self.hparams["lam"])).norm() / lr)
        out_d: dict[str, float] = {"prox_residual": res}
        if self.hparams["loss"] == "squared" and w.shape[0] == 1 and self.hparams["lam"] > 0:
            # P(W) = 1/(2n)||r||^2 + lam sum ||w_j|| matches data_loss + penalty for one output
            p, gap = relative_gap(xt, mask, y.double(), w.detach()[0], self.hparams["lam"])
            out_d["rel_gap"], out_d["objective"] = gap, p
        return out_d

    @override
    def configure_optimizers(self) -> Any:
        if self.hparams["optimizer"] == "adam":
            return torch.optim.Adam(self.parameters(), lr=self._lr)
        return GroupFISTA([self.net.weight], lr=self._lr, lam=self.hparams["lam"])
