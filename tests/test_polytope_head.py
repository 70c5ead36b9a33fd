"""The ``"polytope"`` head of PolytopeCoverModule: the smooth limit of (6) at condition (7)."""

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from lightning_poly.algorithms import extract_cover, finalise_
from lightning_poly.algorithms.covers.compress import cover_condition_fraction
from lightning_poly.datamodules import ArrayDataModule
from lightning_poly.modules import PolytopeCoverModule
from lightning_poly.nn import CoverNetwork


def _hard_membership(net: CoverNetwork, x: torch.Tensor) -> torch.Tensor:
    """Point-by-face loop over the live neurons of piece 0: inside iff no live face is violated."""
    inside = torch.ones(len(x), dtype=torch.bool)
    for k in range(net.w.shape[1]):
        if bool(net.mask[0, k]):
            inside &= (x @ net.w[0, k].detach() + net.b[0, k].detach()) <= 0
    return inside


def test_logits_are_membership_in_the_limit_ignore_masked_faces_and_whole_space() -> None:
    net = CoverNetwork(3, pieces=1, width=6, seed=2)
    x = torch.randn(400, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.mask[0, [1, 4]] = False
        net.w[0, 1] = 100.0  # a masked face that would cut every point if it counted
    logits = net.polytope_logits(x, beta=1e5)[:, 0]
    assert torch.equal(logits > 0, _hard_membership(net, x))
    soft = net.polytope_logits(x, beta=1.0)[:, 0]  # log-odds: -log sum_k exp(beta |v_k| z_k) over live k
    z = x @ net.w[0].detach().T + net.b[0].detach()
    live = net.mask[0]
    expected = -torch.log(torch.exp(net.v[0, live].detach().abs() * z[:, live]).sum(1))
    assert torch.allclose(soft, expected.clamp(max=30.0), atol=1e-4)
    with torch.no_grad():
        net.mask.zero_()
    assert bool((net.polytope_logits(x)[:, 0] == 30.0).all())  # no face: the whole space
    with pytest.raises(ValueError, match="beta"):
        net.polytope_logits(x, beta=0.0)


def test_bad_head_configurations_fail_early() -> None:
    with pytest.raises(ValueError, match="pieces=1"):
        PolytopeCoverModule(2, pieces=2, width=4, head="polytope")
    with pytest.raises(ValueError, match="'mse'"):
        PolytopeCoverModule(2, pieces=1, width=4, head="polytope", loss="mse")
    with pytest.raises(ValueError, match="head"):
        PolytopeCoverModule(2, pieces=1, width=4, head="polytopes")  # type: ignore[arg-type]


def test_trained_polytope_is_kept_by_finalising_and_becomes_the_network(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(600, 2, generator=g) * 2 - 1
    y = ((x @ torch.tensor([[1.0, 1.0], [1.0, -1.0]])).abs() < 0.7).all(1).long()  # a square rotated 45°
    pl.seed_everything(0, verbose=False)
    module = PolytopeCoverModule(2, pieces=1, width=8, head="polytope", lr=3e-2, cosine=True, seed=0)
    trainer = pl.Trainer(
        max_epochs=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, ArrayDataModule(x, y, val_fraction=0.0, batch_size=100, seed=0))
    net = module.cover_network()
    before = _hard_membership(net, x)
    assert float((before == (y > 0)).float().mean()) > 0.97  # the polytope head learned the square
    rep = finalise_(net, x, remove=True)
    assert rep.converged and cover_condition_fraction(net, x) == 1.0
    assert torch.equal(_hard_membership(net, x), before)  # removal and scaling did not move the polytope
    cover = extract_cover(net, x, y)
    assert torch.equal(cover.membership(x)[:, 0], before)
    network_says = net(x)[:, 0] > 0  # (6) with its head: at (7) the network is the cover
    assert torch.equal(network_says, before)
    assert cover.faces[0] <= 8 and cover.faces[0] >= 4  # a square needs 4 faces (Proposition 3.1)


def test_algorithm4_steps_can_train_through_the_polytope_head() -> None:
    from lightning_poly.pipelines import PolytopeTraining, train_polytope

    g = torch.Generator().manual_seed(1)
    x = torch.rand(300, 2, generator=g) * 2 - 1
    inside = (x.abs() < 0.5).all(1).long()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training = PolytopeTraining(width=6, epochs=300, class_weights=(1.0, 1.0), head="polytope")
        cover = train_polytope(x, inside, training)
    assert cover.accuracy(x, inside) > 0.97
    assert 4 <= cover.faces[0] <= 6


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_real_fashion_mnist_trousers_are_a_three_face_polytope(tmp_path: Path) -> None:
    from lightning_poly.callbacks import CompressionCallback
    from lightning_poly.datamodules import FashionMNISTDataModule

    dm = FashionMNISTDataModule(
        root=str(tmp_path), task="one_vs_rest", positive_class=1, union_train_test=True, val_fraction=0.0,
        scale="standardize",
    )  # fmt: skip
    dm.prepare_data()
    dm.setup("fit")
    x, y = dm.train_tensors()
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:4000]
    x, y = x[pick], y[pick]
    pl.seed_everything(0, verbose=False)
    module = PolytopeCoverModule(784, pieces=1, width=3, head="polytope", lr=1e-2, cosine=True, seed=0)
    cb = CompressionCallback(every_n_steps=10**6, count_facets=False, plot=False, finalise_remove=True)
    trainer = pl.Trainer(
        max_epochs=40, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, ArrayDataModule(x, y, val_fraction=0.0, batch_size=512, seed=0))
    cover = cb.cover
    assert cover is not None and cover.faces[0] <= 3
    assert cover.accuracy(x, y) >= 0.995  # paper Table 1: trousers vs the rest by one polytope with 4 faces
    network_says = (module.cover_network()(x)[:, 0] > 0).long()  # (6) at (7): the network is the cover
    assert torch.equal(network_says, cover.predict(x))


def test_mse_13_is_zero_for_the_cover_network_at_condition_7() -> None:
    from lightning_poly.nn import cover_loss

    m = PolytopeCoverModule(2, pieces=1, width=4, signs=[1], loss="mse", lam=5.0)
    square = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    with torch.no_grad():  # T = lam - 100 sum relu(|x_i| - 0.5): lam inside the square, <= 0 beyond 0.55
        m.net.w[0] = square
        m.net.b[0] = -0.5
        m.net.v[0] = -100.0
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 2, generator=g) * 2 - 1
    x = x[((x.abs().max(1).values - 0.5).abs() > 0.05)]  # off the boundary band, where (7) holds
    y = (x.abs() < 0.5).all(1).long()
    m.requires_grad_(False)
    n_out = m(x).squeeze(1)
    assert torch.allclose(n_out[y == 1], torch.tensor(2.5)) and bool((n_out[y == 0] <= -2.5 + 1e-6).all())
    assert float(cover_loss(m._loss_output(m(x)), y, "mse")) == 0.0  # (13) on 2N/lambda: zero at (7)
    unscaled = float(cover_loss(m(x), y, "mse"))  # the target 1 on N itself: (lambda/2 - 1)^2 / 2 per class-1 point
    assert abs(unscaled - 0.5 * 1.5**2 * float(y.double().mean())) < 1e-5 and unscaled > 0.1
    assert torch.equal(m.predict_labels(x), y)
