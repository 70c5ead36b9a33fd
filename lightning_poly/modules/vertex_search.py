"""A shallow ReLU network trained by search over activation patterns: one move per training step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import nn
from typing_extensions import override

from lightning_poly._compat import MisconfigurationException
from lightning_poly._user import labelled_data
from lightning_poly._validation import check_choice, check_int, check_positive
from lightning_poly.algorithms.vertex_search import VertexSearch
from lightning_poly.geometry.zonotope import activation_pattern, is_vertex
from lightning_poly.nn.relu_network import write_shallow_weights
from lightning_poly.solvers.vertex_program import VertexLoss, vertex_loss

__all__ = ["VertexSearchModule"]


class VertexSearchModule(pl.LightningModule):
    r"""Train :math:`f(x) = v^\top \phi(W \bar x) + c` by vertex search (zonotope paper, Algorithms 2-3).

    The second layer ``v`` is fixed (appendix H: half ``+1``, half ``-1``); the first layer starts at
    Gaussian weights, whose activation pattern on the training data is the paper's random starting
    vertex. Each training step makes one move of mGLS (or GLS) over the whole training set (program
    (3) is a full-batch problem; the batch of the step is not used) and writes the vertex's optimal
    ``W`` and ``c`` into ``self.net`` in place. When no neighbour improves (a local minimum of the
    zonotope's 1-skeleton), or after ``max_moves``, the module asks the Trainer to stop. Optimisation is
    manual and there is no optimizer (the parameters keep ``requires_grad``, so that DDP can wrap the
    module, but no gradient ever moves them): the Trainer, its loggers and checkpoints, and the suite's analysis callbacks
    (face histograms, activation drift) see an ordinary module with ``self.net`` a
    ``Linear-ReLU-Linear`` network.

    The training data are the Trainer's (``train_tensors()`` of a DataModule, else the train
    dataloader, read once at the first step, identical on every rank). Under DDP every rank runs the
    same deterministic search and rank zero's weights are broadcast after each move. A checkpoint holds
    the weights (hence the vertex: they lie strictly inside its region) and the search's state, so a
    resumed run continues the same search.

    Logged per step: ``train_loss`` (the network's loss), ``objective`` (program (3)'s), ``programs``,
    ``vertices``.

    Args:
        input_dim: ``d``.
        width: hidden units ``m`` (even for the default second layer).
        loss: ``"squared"`` or ``"logistic"`` (0/1 targets).
        algorithm: ``"mgls"`` or ``"gls"``.
        second_layer: ``"halves"`` (``+1`` for the first half of the units, ``-1`` for the rest) or ``m`` values.
        ridge: program (3)'s ridge (:mod:`~lightning_poly.solvers.vertex_program`).
        tight_tol: mGLS's tightness tolerance (:class:`~lightning_poly.algorithms.VertexSearch`).
        batch: mGLS's neighbours solved together.
        max_samples: read at most this many training samples.
        max_moves: stop the Trainer after this many moves (``None``: at the local minimum, or when the
            Trainer's ``max_epochs`` ends). The Trainer's ``max_steps`` counts optimizer steps, and this
            module has no optimizer, so it does not bound the search.
        seed: seed of the Gaussian first layer and of mGLS's order.

    Example:
        >>> VertexSearchModule(input_dim=2, width=4).net
        Sequential(
          (0): Linear(in_features=2, out_features=4, bias=True)
          (1): ReLU()
          (2): Linear(in_features=4, out_features=1, bias=True)
        )
    """

    def __init__(
        self,
        input_dim: int,
        width: int,
        loss: VertexLoss = "squared",
        algorithm: Literal["mgls", "gls"] = "mgls",
        second_layer: str | Sequence[float] = "halves",
        ridge: float = 1e-8,
        tight_tol: float = 1e-6,
        batch: int = 16,
        max_samples: int | None = 2000,
        max_moves: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_int("input_dim", input_dim, minimum=1)
        check_int("width", width, minimum=1)
        check_choice("loss", loss, ("squared", "logistic"))
        check_choice("algorithm", algorithm, ("mgls", "gls"))
        check_positive("ridge", ridge)
        check_positive("tight_tol", tight_tol)
        check_int("batch", batch, minimum=1)
        if max_samples is not None:
            check_int("max_samples", max_samples, minimum=3)
        if max_moves is not None:
            check_int("max_moves", max_moves, minimum=0)
        if isinstance(second_layer, str):
            check_choice("second_layer", second_layer, ("halves",))
            if width % 2:
                raise ValueError(f"`second_layer='halves'` needs an even `width`, got {width}")
            v = torch.cat([torch.ones(width // 2), -torch.ones(width // 2)])
        else:
            v = torch.as_tensor(list(second_layer), dtype=torch.float32)
            if v.shape != (width,) or not bool(torch.isfinite(v).all()):
                raise ValueError(
                    f"`second_layer` must hold {width} finite values (one per unit), got {list(second_layer)}"
                )
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.net = nn.Sequential(nn.Linear(input_dim, width), nn.ReLU(), nn.Linear(width, 1))
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.net[0].weight.copy_(torch.randn(width, input_dim, generator=g))
            self.net[0].bias.copy_(torch.randn(width, generator=g))
            self.net[2].weight.copy_(v[None])
            self.net[2].bias.zero_()
        self.search: VertexSearch | None = None
        self._resumed: dict[str, Any] | None = None

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(-1)

    @override
    def configure_optimizers(self) -> None:
        return None

    def _start(self) -> VertexSearch:
        hp = self.hparams
        x, y = labelled_data(self.trainer, None, "train", hp.max_samples, None, type(self).__name__)
        x, y = x.flatten(1).double().cpu(), y.reshape(-1).double().cpu()
        if x.shape[1] != hp.input_dim:
            raise MisconfigurationException(
                f"{type(self).__name__}: training inputs have {x.shape[1]} features, expected {hp.input_dim}"
            )
        if hp.loss == "logistic" and not bool(((y == 0) | (y == 1)).all()):
            raise MisconfigurationException(
                f"{type(self).__name__}: loss='logistic' needs 0/1 targets, got values {y.unique()[:5].tolist()}"
            )
        first, second = self.net[0], self.net[2]
        weight = torch.cat([first.weight, first.bias[:, None]], 1).double().cpu()
        pattern = activation_pattern(weight, x)
        if not bool(is_vertex(x, pattern).all()):
            raise MisconfigurationException(
                f"{type(self).__name__}: the first layer's activation pattern on the training data is not a vertex "
                "(a unit's hyperplane passes through a data point); the search needs a start strictly inside a region"
            )
        search = VertexSearch(
            x, y, second.weight[0].double().cpu(), pattern, hp.algorithm, loss=hp.loss, ridge=hp.ridge,
            tight_tol=hp.tight_tol, batch=hp.batch, seed=hp.seed,
        )  # fmt: skip
        if self._resumed is not None:
            search.trace = list(self._resumed["trace"])
            search.programs, search.steps = self._resumed["programs"], self._resumed["steps"]
            search.generator.set_state(self._resumed["generator"])
            self._resumed = None
        return search

    def _write(self, search: VertexSearch) -> None:
        weight = search.solution.weight[0]
        c = search.solution.output_bias[0].reshape(1)
        if self.trainer.world_size > 1:  # every rank reaches the collective
            weight, c = self.trainer.strategy.broadcast((weight, c), src=0)
        write_shallow_weights(self.net[0], self.net[2], weight, c)

    @override
    def training_step(self, batch: Any, batch_idx: int) -> None:
        if self.search is None:
            self.search = self._start()
            self._write(self.search)  # program (3) at the starting vertex
        limit = self.hparams.max_moves
        moved = (limit is None or self.search.steps < limit) and self.search.step()
        if moved:
            self._write(self.search)
        if not moved or (limit is not None and self.search.steps >= limit):
            self.trainer.should_stop = True
        sol = self.search.solution
        self.log("train_loss", float(sol.loss[0]), prog_bar=True, on_step=True, on_epoch=False)
        self.log("objective", float(sol.objective[0]), on_step=True, on_epoch=False)
        self.log("programs", float(self.search.programs), on_step=True, on_epoch=False)
        self.log("vertices", float(len(self.search.seen)), on_step=True, on_epoch=False)

    def loss_on(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """The network's training loss (:func:`~lightning_poly.solvers.vertex_loss`) on ``(x, y)``."""
        with torch.no_grad():
            pred = self(x.to(self.device)).double().cpu()
        return float(vertex_loss(pred, y.reshape(-1).double().cpu(), self.hparams.loss))

    @override
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.search is not None:
            checkpoint["vertex_search"] = {
                "trace": list(self.search.trace), "programs": self.search.programs, "steps": self.search.steps,
                "generator": self.search.generator.get_state(),
            }  # fmt: skip

    @override
    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._resumed = checkpoint.get("vertex_search")
        self.search = None
