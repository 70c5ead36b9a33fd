"""Algorithm 4 (``pipelines.sequential_cover``) on the paper's swiss roll: a nested, alternating cover."""

import warnings

import torch

from lightning_poly.algorithms import network_from_cover, prune_cover
from lightning_poly.data import make_synthetic
from lightning_poly.pipelines import PolytopeTraining, sequential_cover


def _inside(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, atol: float) -> torch.Tensor:
    """Point-by-face loop: ``x`` lies in ``{a x <= b}`` iff no face is violated by more than ``atol``."""
    inside = torch.ones(len(x), dtype=torch.bool)
    for face, offset in zip(a.double(), b.double()):
        inside &= (x.double() @ face - offset) <= atol
    return inside


def test_algorithm4_covers_the_swiss_roll_with_few_alternating_polytopes() -> None:
    x, y = make_synthetic("swiss_roll", n_samples=1000, seed=0)
    x = x.float()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training = PolytopeTraining(width=4, epochs=600, class_weights=(1.0, 100.0))
        cover = sequential_cover(x, y, training, max_width=12, width_step=2, restarts=1, max_polytopes=6)
    # Definition 3.2 checked by a face loop, independently of the cover's batched membership
    count = torch.zeros(len(x), dtype=torch.long)
    for a, b, s in zip(cover.a, cover.b, cover.signs):
        count += s * _inside(a, b, x, cover.atol).long()
    assert torch.equal((count > 0).long(), y.long())
    assert cover.meta["reason"].startswith("accuracy")
    # steps alternate P, Q, P, ...; the paper finds 4 polytopes (2-17-4-1), we allow 6
    assert cover.signs == [1 - 2 * (k % 2) for k in range(len(cover))]
    assert 2 <= len(cover) <= 6
    # each polytope was kept only once it held every point its step had to cover (cover_th = 1)
    kept = [s for s in cover.meta["steps"] if s["covered"] == 1.0]
    assert len(kept) >= len(cover) - 1
    # the pruned cover is Theorem 3.4's network and classifies every point
    net = network_from_cover(prune_cover(cover, x), x)
    with torch.no_grad():
        assert torch.equal((net(x.double()).squeeze(-1) > 0).long(), y.long())
