"""The one in-place edit: failures restore every rank exactly, rejections undo, optimizer state is reset."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.environments.lightning import find_free_network_port

from lightning_poly.callbacks._inplace import edit_in_place
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.modules import ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors


def _state(trainer: pl.Trainer, model: pl.LightningModule) -> dict[str, torch.Tensor]:
    out = {f"p.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    opt = trainer.optimizers[0]
    for i, p in enumerate(model.parameters()):
        for k, v in opt.state.get(p, {}).items():
            out[f"opt.{i}.{k}"] = v.detach().clone() if isinstance(v, torch.Tensor) else torch.tensor(float(v))
    return out


class InjectFailure(pl.Callback):
    """At the end of epoch 0, edit the first layer in place and fail at ``stage`` on ``rank``."""

    def __init__(self, out: Path, stage: str, rank: int) -> None:
        self.out, self.stage, self.rank = Path(out), stage, rank

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch != 0:
            return
        lin = pl_module.model.net[0]
        before = _state(trainer, pl_module)
        failing = trainer.global_rank == self.rank

        def change() -> str:
            with torch.no_grad():
                lin.weight.mul_(-3.0)
                lin.bias.add_(1.0)
            if failing and self.stage == "change":
                raise ValueError("injected failure in the change")
            return "report"

        def accept(_: str) -> bool:
            if failing and self.stage == "decision":
                raise ValueError("injected failure after the change, before the broadcast")
            return True

        real_broadcast = trainer.strategy.broadcast

        def broadcast(obj, src=0):  # type: ignore[no-untyped-def]
            out = real_broadcast(obj, src)  # the collective itself completes on every rank
            if failing and self.stage == "broadcast":
                raise OSError("injected failure in the broadcast")
            return out

        trainer.strategy.broadcast = broadcast  # type: ignore[method-assign]
        try:
            edit_in_place(trainer, [lin.weight, lin.bias], change, accept, what="the injected edit")
            message = ""
        except Exception as err:  # the test reads what each rank saw
            message = f"{type(err).__name__}: {err}"
        finally:
            trainer.strategy.broadcast = real_broadcast  # type: ignore[method-assign]
        after = _state(trainer, pl_module)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.save({"before": before, "after": after, "error": message}, self.out / f"rank{trainer.global_rank}.pt")


def _trainer(tmp_path: Path, callbacks: list, **kw) -> pl.Trainer:  # type: ignore[no-untyped-def]
    kw.setdefault("max_epochs", 2)
    return pl.Trainer(
        logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, default_root_dir=tmp_path, callbacks=callbacks, **kw,
    )  # fmt: skip


def _model() -> ReLUMLPModule:
    pl.seed_everything(0)
    return ReLUMLPModule(input_dim=2, hidden=[8], loss="bce", lr=0.02)


def _data() -> SyntheticDataModule:
    return SyntheticDataModule("two_moons", n_samples=80, batch_size=20, val_fraction=0.0)


@pytest.mark.parametrize("stage", ["change", "decision"])
def test_a_failure_restores_tensors_and_optimizer_state(stage: str, tmp_path: Path) -> None:
    cb = InjectFailure(tmp_path / "out", stage, rank=0)
    _trainer(tmp_path, [cb]).fit(_model(), _data())
    seen = torch.load(tmp_path / "out" / "rank0.pt", weights_only=False)
    assert seen["error"].startswith("ValueError: injected failure")
    assert_same_tensors(seen["before"], seen["after"])


def test_rejected_change_is_undone_and_accepted_change_resets_optimizer_state(tmp_path: Path) -> None:
    model = _model()
    trainer = _trainer(tmp_path, [], max_epochs=1)
    trainer.fit(model, _data())
    lin = model.model.net[0]
    opt = trainer.optimizers[0]
    before = _state(trainer, model)

    def change() -> None:
        with torch.no_grad():
            lin.weight[0].mul_(2.0)  # one row of the weight: only its entries change
            lin.bias.add_(1.0)  # every entry of the bias

    _, accepted = edit_in_place(trainer, [lin.weight, lin.bias], change, accept=lambda _: False)
    assert accepted is False
    assert_same_tensors(before, _state(trainer, model))
    _, accepted = edit_in_place(trainer, [lin.weight, lin.bias], change)  # reset="entries"
    assert accepted is True
    moments = opt.state[lin.weight]["exp_avg"]
    assert bool((moments[0] == 0).all()) and torch.equal(moments[1:], before["opt.0.exp_avg"][1:])
    assert bool((opt.state[lin.bias]["exp_avg"] == 0).all())  # every entry changed, every entry zeroed
    assert torch.equal(opt.state[lin.bias]["step"], before["opt.1.step"])  # the state itself is kept
    out = model.model.net[2]
    _, accepted = edit_in_place(trainer, [lin.bias, out.bias], change, reset="tensors")
    assert lin.bias not in opt.state  # changed: its whole state is dropped, as for a new parameter
    assert torch.equal(opt.state[out.bias]["exp_avg"], before["opt.3.exp_avg"])  # unchanged: untouched


@pytest.mark.ddp
@pytest.mark.parametrize("stage", ["change", "decision", "broadcast"])
def test_two_process_ddp_failure_on_one_rank_restores_both(stage: str, tmp_path: Path) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(find_free_network_port())
    cb = InjectFailure(tmp_path / "out", stage, rank=1)
    _trainer(tmp_path, [cb], strategy="ddp_spawn", accelerator="cpu", devices=2).fit(_model(), _data())
    seen = [torch.load(tmp_path / "out" / f"rank{r}.pt", weights_only=False) for r in range(2)]
    if stage == "broadcast":  # rank 1 received rank 0's tensors, then failed: both undo
        assert seen[0]["error"] == (
            "RuntimeError: the broadcast after the injected edit failed on another rank; the tensors were restored"
        )
        assert seen[1]["error"] == (
            "RuntimeError: the broadcast after the injected edit failed on this rank; the tensors were restored"
        )
    else:
        assert seen[0]["error"] == (
            "RuntimeError: the injected edit failed on another rank; this rank's tensors were restored"
        )
        assert seen[1]["error"].startswith("ValueError: injected failure")
    for s in seen:
        assert_same_tensors(s["before"], s["after"])
    assert_same_tensors(seen[0]["after"], seen[1]["after"])


class _Snapshot(pl.Callback):
    """Model and optimizer state at every ``hook`` call, taken just before the callback under test runs."""

    def __init__(self, hook: str) -> None:
        self.state: dict[str, torch.Tensor] | None = None
        setattr(self, hook, self._take)

    def _take(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        self.state = _state(trainer, pl_module)


@pytest.mark.parametrize("kind", ["polishing", "compression"])
def test_a_solver_that_fails_midway_leaves_model_and_optimizer_state_as_they_were(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning_poly.callbacks import CompressionCallback, PolishingCallback
    from lightning_poly.callbacks import compression as compression_module
    from lightning_poly.modules import PolytopeCoverModule

    def failing(real):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            real(*args, **kwargs)  # the weights are changed in place ...
            raise FloatingPointError("injected solver failure")  # ... then the solver fails

        return run

    if kind == "polishing":
        polishing_module = importlib.import_module("lightning_poly.algorithms.polishing.mlp")  # what the callback runs
        monkeypatch.setattr(polishing_module, "polish_network", failing(polishing_module.polish_network))
        model, hook = _model(), "on_train_epoch_end"
        cb: pl.Callback = PolishingCallback(accept="always", every_n_epochs=1, at_fit_end=False, monitor="train_loss")
    else:
        monkeypatch.setattr(compression_module, "compress_", failing(compression_module.compress_))
        pl.seed_everything(0)
        model, hook = PolytopeCoverModule(pieces=2, width=8), "on_train_batch_end"
        cb = CompressionCallback(every_n_steps=2, count_facets=False, plot=False)
    snap = _Snapshot(hook)
    if kind == "polishing":  # a numerical failure warns, leaves the state as it was, and training goes on
        after = _Snapshot(hook)  # runs after the callback at the same hook
        trainer = _trainer(tmp_path, [snap, cb, after], max_epochs=1)
        with pytest.warns(UserWarning, match="failed numerically .*FloatingPointError: injected solver failure"):
            trainer.fit(model, _data())
        assert trainer.state.finished and cb.history[-1]["accepted"] is False  # type: ignore[attr-defined]
        assert snap.state is not None and after.state is not None and any(k.startswith("opt.") for k in snap.state)
        assert_same_tensors(snap.state, after.state)
        return
    trainer = _trainer(tmp_path, [snap, cb], max_epochs=2)
    with pytest.raises(FloatingPointError, match="injected solver failure"):
        trainer.fit(model, _data())
    assert snap.state is not None and any(k.startswith("opt.") for k in snap.state)  # Adam's moments exist
    assert_same_tensors(snap.state, _state(trainer, model))


def test_vertex_search_failing_after_writing_the_weights_leaves_the_model_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    from lightning_poly.callbacks import VertexSearchCallback
    from lightning_poly.callbacks import vertex_search as vertex_search_module
    from lightning_poly.data import teacher_relu

    real, calls = vertex_search_module.module_outputs, []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:  # the first call measures the trained network; the second follows the write
            raise FloatingPointError("injected failure after the weights were written")
        return real(*args, **kwargs)

    monkeypatch.setattr(vertex_search_module, "module_outputs", failing)
    x, y = teacher_relu(d=2, m_gen=3, seed=0)
    pl.seed_everything(0)
    model = ReLUMLPModule(input_dim=2, hidden=[4], loss="mse", lr=0.02)
    snap = _Snapshot("on_train_epoch_end")
    cb = VertexSearchCallback(max_steps=3, every_n_epochs=1, at_fit_end=False, accept="always")
    trainer = _trainer(tmp_path, [snap, cb], max_epochs=1)
    with pytest.raises(FloatingPointError, match="injected failure after the weights were written"):
        trainer.fit(model, DataLoader(TensorDataset(x.float(), y.float()), batch_size=3))
    assert snap.state is not None and any(k.startswith("opt.") for k in snap.state)
    assert_same_tensors(snap.state, _state(trainer, model))
