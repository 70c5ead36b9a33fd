from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from lightning_poly.algorithms.covers.compress import cover_condition_fraction
from lightning_poly.callbacks import CompressionCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.geometry import PolytopeBasisCover
from lightning_poly.modules import PolytopeCoverModule, ReLUMLPModule
from tests.helpers.ddp import assert_same_tensors, run_ddp_fit


def _dm(name: str = "two_circles", n: int = 200, batch: int = 50) -> SyntheticDataModule:
    return SyntheticDataModule(name, n_samples=n, batch_size=batch, val_fraction=0.0)


def _module(**kw) -> PolytopeCoverModule:  # type: ignore[no-untyped-def]
    pl.seed_everything(0)
    kw = {"input_dim": 2, "pieces": 2, "width": 8, "lr": 0.02, **kw}
    return PolytopeCoverModule(**kw)


def _fit(model, dm, callbacks, tmp_path, ckpt_path=None, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("logger", False)
    trainer = pl.Trainer(
        max_epochs=kw.pop("max_epochs", 6), callbacks=callbacks, default_root_dir=tmp_path, accelerator="cpu",
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=kw.pop("ckpt", False), **kw,
    )  # fmt: skip
    trainer.fit(model, dm, ckpt_path=ckpt_path)
    return trainer


def test_gradient_descent_from_init_8_keeps_v_negative(tmp_path: Path) -> None:
    # full-batch gradient descent (the paper's setting), no hard constraint: (5) must hold at every step
    model = _module(optimizer="sgd", lr=0.05, hard_sign=False, width=6)
    worst: list[float] = []

    class Probe(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):  # type: ignore[no-untyped-def]
            net = pl_module.net
            worst.append(float((net.v.detach() + (net.w.pow(2).sum(-1) + net.b.pow(2)).sqrt()).max()))

    trainer = _fit(model, _dm(batch=0), [Probe()], tmp_path, max_epochs=300)
    assert len(worst) == 300 and max(worst) < 0  # (8) itself is preserved, hence v < 0
    assert not bool(model.net.sign_lost().any())
    x, y = trainer.datamodule.train_tensors()
    assert float((model.predict_labels(x) == y).double().mean()) > 0.9  # and it did learn


def test_callback_compresses_finalises_and_logs_the_cover(tmp_path: Path) -> None:
    model = _module(hard_sign=True)
    cb = CompressionCallback(every_n_steps=8, start_step=8)
    logger = CSVLogger(tmp_path, name="csv")
    trainer = _fit(model, _dm(), [cb], tmp_path, logger=logger, max_epochs=20)
    steps = [h["step"] for h in cb.history if h["when"] == "step"]
    assert steps == list(range(8, 81, 8))
    assert [h["live"] for h in cb.history] == sorted([h["live"] for h in cb.history], reverse=True)
    final = cb.history[-1]
    assert final["when"] == "fit_end" and final["converged"] and final["cover_condition_fraction"] == 1.0
    x, y = trainer.datamodule.train_tensors()
    assert cover_condition_fraction(model.net, x) == 1.0
    cover = cb.cover
    assert isinstance(cover, PolytopeBasisCover) and cover.faces == model.net.live_widths()
    assert cover.accuracy(x, y) == final["cover_accuracy"] == final["network_accuracy"]
    assert torch.equal(cover.predict(x), model.predict_labels(x))
    assert all(n <= f for n, f in zip(final["nonredundant_faces"], cover.faces))
    media = Path(logger.log_dir) / "media"
    assert (media / "cover.pt").exists() and any(media.glob("compress_cover_figure*.png"))
    assert PolytopeBasisCover.load(media / "cover.pt").faces == cover.faces
    metrics = (Path(logger.log_dir) / "metrics.csv").read_text()
    for key in (
        "compress/live",
        "compress/cover_condition_fraction",
        "compress/final_cover_accuracy",
        "cover/live_piece1",
    ):
        assert key in metrics
    assert "cover" in cb.summary()


def test_optimizer_state_of_changed_neurons_is_reset(tmp_path: Path) -> None:
    model = _module(hard_sign=True)
    cb = CompressionCallback(every_n_steps=4, finalise=False)
    trainer = _fit(model, _dm(), [cb], tmp_path, max_epochs=20)
    opt = trainer.optimizers[0]
    before_state = {k: v.clone() for k, v in opt.state[model.net.v].items() if k != "step"}
    v_before, mask_before = model.net.v.detach().clone(), model.net.mask.clone()
    cb._run(trainer, model, "step")
    changed = (model.net.v != v_before) | (model.net.mask != mask_before)
    assert bool(changed.any()) and not bool(changed.all())
    for key, old in before_state.items():
        new = opt.state[model.net.v][key]
        assert bool((new[changed] == 0).all()), key
        assert torch.equal(new[~changed], old[~changed]), key
    assert bool((opt.state[model.net.w]["exp_avg"][changed] == 0).all())


def test_failure_leaves_the_network_as_it_was(tmp_path: Path) -> None:
    model = _module()
    cb = CompressionCallback(every_n_steps=0, finalise=False)
    trainer = _fit(model, _dm(), [cb], tmp_path, max_epochs=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cb.max_rounds = -1  # the finalising loop refuses it
    with pytest.raises(ValueError, match="`max_rounds` must be >= 0"):
        cb._run(trainer, model, "fit_end")
    assert_same_tensors(before, model.state_dict())


def test_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`lam_scale` must be > 1"):
        CompressionCallback(lam_scale=1.0)
    with pytest.raises(ValueError, match="`every_n_steps` must be"):
        CompressionCallback(every_n_steps=-1)
    with pytest.raises(MisconfigurationException, match="needs a module with `cover_network\\(\\)`"):
        _fit(ReLUMLPModule(input_dim=2, hidden=[4]), _dm(), [CompressionCallback()], tmp_path, max_epochs=1)
    with pytest.raises(ValueError, match="`head='piece'` trains one piece"):
        PolytopeCoverModule(pieces=2, head="piece")


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path: Path) -> None:
    def cb() -> CompressionCallback:
        return CompressionCallback(every_n_steps=6, count_facets=False)

    # the uninterrupted run keeps the checkpoint of every epoch; the resumed one starts from the third's
    full = cb()
    m_full = _module(hard_sign=True)
    every = ModelCheckpoint(dirpath=tmp_path / "ck", save_top_k=-1, every_n_epochs=1, filename="{epoch}")
    _fit(m_full, _dm(), [full, every], tmp_path / "full", max_epochs=6, ckpt=True)
    resumed = cb()
    m_res = _module(hard_sign=True)
    _fit(m_res, _dm(), [resumed], tmp_path / "b", max_epochs=6, ckpt_path=str(tmp_path / "ck" / "epoch=2.ckpt"))
    assert torch.equal(m_res.net.mask, m_full.net.mask)
    for name in ("w", "b", "v"):
        assert torch.allclose(getattr(m_res.net, name), getattr(m_full.net, name), atol=1e-6), name
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in full.history]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed.history] == strip
    assert resumed.cover is not None and resumed.cover.faces == full.cover.faces  # type: ignore[union-attr]


@pytest.mark.ddp
def test_two_process_ddp_masks_optimizer_state_and_weights_identical(tmp_path: Path) -> None:
    cb = CompressionCallback(every_n_steps=2, count_facets=False, plot=False)
    states = run_ddp_fit(_module(hard_sign=True), _dm(), tmp_path, callbacks=[cb], max_epochs=4)
    assert_same_tensors(states[0]["model"], states[1]["model"])
    assert int(states[0]["model"]["net.mask"].sum()) < 16  # compression removed neurons
    o0, o1 = (s["optimizer"][0]["state"] for s in states)
    assert o0.keys() == o1.keys()
    for k in o0:
        assert_same_tensors(o0[k], o1[k])
    h0, h1 = (s["callbacks"]["CompressionCallback"]["history"] for s in states)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(h0) == strip(h1) and h0[-1]["when"] == "fit_end"
