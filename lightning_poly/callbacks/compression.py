"""Algorithm 2 of the polytope-basis-covers paper as a callback: compress during training, finalise at fit end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.utilities import rank_zero_warn
from typing_extensions import override

from lightning_poly._io import from_json
from lightning_poly._user import labelled_data
from lightning_poly._validation import check_int, check_positive
from lightning_poly.algorithms.covers.compress import FinaliseReport, compress_, cover_condition_fraction, finalise_
from lightning_poly.algorithms.covers.extract import extract_cover
from lightning_poly.algorithms.covers.to_network import minimal_cover_network
from lightning_poly.callbacks._base import SuiteCallback
from lightning_poly.callbacks._inplace import edit_in_place
from lightning_poly.data.samples import BatchToXY
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.media import log_figure, log_table, media_dir
from lightning_poly.nn.cover_net import CoverNetwork
from lightning_poly.plotting import plot_cover

__all__ = ["CompressionCallback"]


class CompressionCallback(SuiteCallback):
    """Run the compressing algorithm (Algorithm 1) every ``every_n_steps`` optimiser steps and the
    finalising loop (end of Algorithm 2) at fit end; the cover (Theorem 3.7) is then :attr:`cover`.

    The work is the functions :func:`lightning_poly.algorithms.compress_`,
    :func:`~lightning_poly.algorithms.finalise_`, :func:`~lightning_poly.algorithms.extract_cover` and
    (at fit end) :func:`~lightning_poly.algorithms.minimal_cover_network` on the module's
    :class:`~lightning_poly.nn.CoverNetwork` (``pl_module.cover_network()``) and the training data
    (``data=``, else the Trainer's: see :mod:`lightning_poly._user`; at most ``max_samples``,
    read once at ``setup``).

    The finalising loop runs at the end of training in ``on_train_end``, before the strategy's teardown (on the
    training device), so ``last.ckpt`` holds the finalised weights, the fit-end record and the cover (this
    callback's state: ``ckpt["callbacks"][cb.state_key]["cover"]``, restored into :attr:`cover` on resume).
    Step triggers run once per optimizer step, whatever ``accumulate_grad_batches``.

    Multi-GPU: every rank computes from the identical full training tensors, then rank zero's
    ``w, b, v`` and mask are broadcast (every rank reaches every broadcast), so all ranks stay
    identical. Weights change in place (masks, ``mul_``): shapes, the optimiser and DDP stay valid. The
    optimiser state (e.g. Adam's moments) of every removed or scaled neuron's entries is zeroed. A
    failure restores the network exactly and re-raises. The history (and so the logged curves)
    survives checkpoint resume; the mask is a buffer of the module, so it is checkpointed with it.

    Logged (rank zero): ``compress/live``, ``compress/faces_piece{j}``, ``compress/removed``,
    ``compress/scaled``, ``compress/cover_condition_fraction``, ``compress/cover_accuracy``,
    ``compress/network_accuracy``, ``compress/seconds``; at fit end also ``compress/final_*``, the faces
    table, the cover file (``cover.pt`` in the media folder) and, for 2-D data, the cover figure.

    Args:
        every_n_steps: compress every this many optimiser steps (paper: 1000; 0: only at fit end).
        lam_scale: :math:`\\lambda_\\text{scale} > 1` of Algorithm 1 (the paper gives no value; on the swiss
            roll 1.2 keeps more accuracy than 1.5 or 2).
        tol: tolerance of condition (7) on :math:`\\sigma(T_j)`.
        finalise: run the finalising loop at fit end.
        max_rounds: bound on its rounds (the report says whether (7) or the bound ended it).
        finalise_remove: let the finalising loop also remove redundant neurons (the literal
            Algorithm 2); the default only scales, since removal without fine-tuning in between costs
            accuracy (see :func:`~lightning_poly.algorithms.finalise_`).
        max_samples: use at most this many training samples (the first ones; ``None``: all).
        start_step: first optimiser step at which to compress (the paper compresses a *pretrained*
            network; a warm-up lets gradient descent fit the data before compression freezes regions).
        count_facets: also count non-redundant faces in the data's bounding box at fit end
            (exact LPs; cheap for small ``d``).
        plot: log the cover figure at fit end when the data is 2-D.
        data: training data (tensors ``(x, y)``, a Dataset or a DataLoader); ``None``: the Trainer's.
        batch_to_xy: splits a batch into ``(x, y)`` (default: tuple, list or dict batches).

    Example:
        >>> CompressionCallback(every_n_steps=500).every_n_steps
        500
    """

    def __init__(
        self,
        every_n_steps: int = 1000,
        lam_scale: float = 1.2,
        tol: float = 1e-4,
        finalise: bool = True,
        max_rounds: int = 200,
        max_samples: int | None = None,
        count_facets: bool = True,
        plot: bool = True,
        start_step: int = 0,
        finalise_remove: bool = False,
        data: Any = None,
        batch_to_xy: BatchToXY | None = None,
    ) -> None:
        self.every_n_steps = check_int("every_n_steps", every_n_steps, minimum=0)
        self.lam_scale = check_positive("lam_scale", lam_scale)
        if lam_scale <= 1:
            raise ValueError(f"`lam_scale` must be > 1, got {lam_scale}")
        self.tol = check_positive("tol", tol)
        self.finalise = bool(finalise)
        self.max_rounds = check_int("max_rounds", max_rounds, minimum=0)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=1)
        self.count_facets = bool(count_facets)
        self.plot = bool(plot)
        self.start_step = check_int("start_step", start_step, minimum=0)
        self.finalise_remove = bool(finalise_remove)
        self.data, self.batch_to_xy = data, batch_to_xy
        self._xy: tuple[torch.Tensor, torch.Tensor] | None = None
        self.cover: PolytopeBasisCover | None = None
        self.final_report: FinaliseReport | None = None
        self.minimal_network: torch.nn.Module | None = None
        self._schedule(every_n_steps=self.every_n_steps, at_end=self.finalise)

    # -- hooks decide ---------------------------------------------------------------------------
    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not callable(getattr(pl_module, "cover_network", None)) or not isinstance(
            pl_module.cover_network(), CoverNetwork
        ):
            raise MisconfigurationException(
                "CompressionCallback needs a module with `cover_network()` returning a CoverNetwork "
                f"(e.g. PolytopeCoverModule), got {type(pl_module).__name__}"
            )
        super().setup(trainer, pl_module, stage)

    @override
    def _setup_fit(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._xy = labelled_data(trainer, self.data, "train", self.max_samples, self.batch_to_xy, type(self).__name__)

    @override
    def _step_due(self, step: int) -> bool:
        return step > 0 and step >= self.start_step

    @override
    def _extra_state(self) -> dict[str, Any]:
        return {"cover": None if self.cover is None else self.cover.state()}

    @override
    def _load_extra_state(self, state_dict: dict[str, Any]) -> None:
        s = state_dict.get("cover")
        if s is not None:
            meta = s.get("meta", "{}")
            self.cover = PolytopeBasisCover(
                s["a"], s["b"], s["signs"], s["atol"], from_json(meta) if isinstance(meta, str) else meta
            )

    def summary(self) -> str:
        if self.cover is None:
            return ""
        m = self.cover.meta
        h = self.history[-1] if self.history else {}
        text = (
            f"cover {len(self.cover)} polytopes, {sum(self.cover.faces)} faces, accuracy {m.get('cover_accuracy', float('nan')):.4f}, "
            f"(7) {'holds' if self.final_report and self.final_report.converged else 'not reached'}"
        )
        if "minimal_architecture" in h:
            text += f"; minimal network {h['minimal_architecture']} (Theorem 3.4), accuracy {h['minimal_network_accuracy']:.4f}"
        return text

    # -- private methods compute ----------------------------------------------------------------
    def _data(self, trainer: pl.Trainer, net: CoverNetwork) -> tuple[torch.Tensor, torch.Tensor]:
        assert self._xy is not None, "setup() reads the training data"
        x, y = self._xy
        return x.flatten(1).to(net.w), y.to(net.w.device)

    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str) -> None:
        net: CoverNetwork = pl_module.cover_network()  # type: ignore[operator]
        x, y = self._data(trainer, net)
        tensors = [net.w, net.b, net.v, net.mask]
        start = time.perf_counter()

        def change() -> FinaliseReport | None:
            if when == "fit_end":
                return finalise_(net, x, self.lam_scale, self.tol, self.max_rounds, self.finalise_remove)
            compress_(net, x, self.lam_scale, self.tol)
            return None

        snap_mask = net.mask.clone()
        changed = torch.zeros_like(net.mask)

        def changed_neurons(snapshot: Sequence[torch.Tensor]) -> list[torch.Tensor]:
            """Removed or rescaled neurons: their rows of ``w``, ``b``, ``v`` lose their optimiser state."""
            changed.copy_((net.mask != snapshot[3]) | (net.v.detach() != snapshot[2]))
            return [changed[..., None].expand_as(net.w), changed, changed, changed]

        accuracy_before = _network_accuracy(net, x, y) if when == "fit_end" else None
        report, _ = edit_in_place(trainer, tensors, change, changed_entries=changed_neurons, what="compression")
        seconds = time.perf_counter() - start
        cover = extract_cover(net, x, y, self.tol)
        live = net.mask.sum(dim=1)
        record: dict[str, Any] = {
            "when": when, "step": trainer.global_step, "epoch": trainer.current_epoch,
            "live": int(live.sum()), "faces": live.tolist(),
            "removed": int((snap_mask & ~net.mask).sum()), "scaled": int((changed & net.mask).sum()),
            "cover_condition_fraction": cover_condition_fraction(net, x, self.tol),
            "cover_accuracy": cover.meta["cover_accuracy"], "network_accuracy": cover.meta["network_accuracy"],
            "seconds": seconds,
        }  # fmt: skip
        if report is not None:
            record.update(rounds=report.rounds, converged=report.converged, reason=report.reason)
            record["network_accuracy_before"] = accuracy_before
            self._warn_if_accuracy_fell(trainer, record)
            self.final_report = report
            self.cover = cover
            if len(cover):  # Theorem 3.4's network from the pruned cover alone
                minimal = minimal_cover_network(cover, x, y, exact_faces=self.count_facets and x.shape[1] <= 10)
                if minimal.nonredundant_faces is not None:
                    record["nonredundant_faces"] = minimal.nonredundant_faces
                if minimal.network is not None:
                    record["minimal_architecture"] = minimal.architecture
                    record["minimal_network_accuracy"] = minimal.accuracy
                    self.minimal_network = minimal.network
        self.history.append(record)
        prefix = "compress/final_" if record["when"] == "fit_end" else "compress/"
        scalars = self._record_scalars(prefix, record)
        scalars.update({f"{prefix}faces_piece{j}": float(f) for j, f in enumerate(record["faces"])})
        self._log_scalars(trainer, pl_module, scalars)
        if trainer.is_global_zero:
            self._log(trainer, record, cover, x, y)

    @staticmethod
    def _warn_if_accuracy_fell(trainer: pl.Trainer, record: dict[str, Any]) -> None:
        """Say so when the finalising loop cost the network more than one point of training accuracy."""
        before, after = record["network_accuracy_before"], record["network_accuracy"]
        if before - after > 0.01:
            rank_zero_warn(
                f"CompressionCallback: the finalising loop (end of Algorithm 2) lowered the network's training "
                f"accuracy from {before:.4f} to {after:.4f}: it scales neurons until condition (7) holds "
                f"({record['rounds']} rounds), with no gradient step in between. Compress during training too "
                f"(`every_n_steps`, Algorithm 2's 'once every thousand iterations'), so gradient descent adapts "
                f"before the end, or set `finalise=False`"
            )

    def _log(
        self, trainer: pl.Trainer, record: dict[str, Any], cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor
    ) -> None:
        if record["when"] != "fit_end":
            return
        nonred = record.get("nonredundant_faces", [None] * len(cover))
        rows = [
            [j, "P" if s > 0 else "Q", f, nonred[j], cover.covered_fraction(x.detach().cpu(), j)]
            for j, (s, f) in enumerate(zip(cover.signs, cover.faces))
        ]
        log_table(
            trainer,
            "compress/cover",
            ["polytope", "type", "faces", "non-redundant faces", "fraction of data inside"],
            rows,
        )
        if not trainer.fast_dev_run:  # (Lightning's promise: a dev run writes nothing)
            cover.save(media_dir(trainer) / "cover.pt")
        if self.plot and x.shape[1] == 2:
            fig = plot_cover(cover, x.detach().cpu(), y.detach().cpu())
            log_figure(trainer, "compress/cover_figure", fig)


@torch.no_grad()
def _network_accuracy(net: CoverNetwork, x: torch.Tensor, y: torch.Tensor) -> float:
    """The training accuracy of the cover network's sign, as :func:`~lightning_poly.algorithms.extract_cover`
    reports it (``network_accuracy``)."""
    pred = (net(x.to(net.w)).squeeze(1) > 0).long().cpu()
    return float((pred == (y.detach().cpu() > 0).long()).double().mean())
