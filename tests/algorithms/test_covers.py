"""Polytope-basis covers: Definition 3.2, Theorems 3.4/3.7, Algorithm 3, bounds, losses, multi-class."""

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lightning_poly.algorithms import (
    betti_architecture,
    betti_widths_feasible,
    complex_first_width_bound,
    drop_cover_faces,
    drop_cover_polytopes,
    eliminate_cover_faces,
    extract_cover,
    finalise_,
    minimal_cover_network,
    multiclass_cover_network,
    network_from_cover,
    nonredundant_cover_faces,
    polytope_width_lower_bound,
    polytope_widths_feasible,
    prune_cover,
    two_layer_cover,
)
from lightning_poly.algorithms.covers.compress import cover_condition_fraction
from lightning_poly.data import make_synthetic
from lightning_poly.geometry import PolytopeBasisCover, complement, multiclass_predict
from lightning_poly.nn import CoverNetwork, cover_loss


def _random_cover(seed: int, k: int = 4, d: int = 2) -> PolytopeBasisCover:
    g = torch.Generator().manual_seed(seed)
    a, b, s = [], [], []
    for i in range(k):
        m = int(torch.randint(3, 7, (1,), generator=g))
        a.append(torch.randn(m, d, generator=g, dtype=torch.float64))
        b.append(torch.rand(m, generator=g, dtype=torch.float64) * 0.8 + 0.1)
        s.append(1 if i % 2 == 0 else -1)
    return PolytopeBasisCover(a, b, s)


def _counts_by_loops(cover: PolytopeBasisCover, x: torch.Tensor) -> list[int]:
    """Definition 3.2's counts, one point and one polytope at a time, from the raw H-representations."""
    out = []
    for p in x.double():
        c = 0
        for a, b, s in zip(cover.a, cover.b, cover.signs):
            if all(float(a[r] @ p - b[r]) <= cover.atol for r in range(len(a))):
                c += s
        out.append(c)
    return out


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_membership_counts_match_a_point_by_point_loop(seed: int) -> None:
    cover = _random_cover(seed)
    x = torch.randn(60, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert cover.counts(x).tolist() == _counts_by_loops(cover, x)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_theorem34_network_classifies_every_point_as_the_cover(seed: int) -> None:
    cover = _random_cover(seed, k=5)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(400, 2, generator=g, dtype=torch.float64) * 1.5
    # points on and a hair outside faces: the hardest for a continuous network
    a0, b0 = cover.a[0][0], cover.b[0][0]
    x = torch.cat([x, x[:50] - ((x[:50] @ a0) - b0 - 1e-7)[:, None] * a0[None]])
    net = network_from_cover(cover, x)
    assert net[0].out_features == sum(cover.faces) and net[2].out_features == len(cover)  # d -> m -> (nP + nQ) -> 1
    assert torch.equal((net(x).squeeze(1) > 0).long(), cover.predict(x))
    # without data: exact at distance >= resolution from the faces
    far = torch.randn(300, 2, generator=g, dtype=torch.float64)
    dist = (cover.slack(far) - cover.atol).abs().min(dim=1).values
    far = far[dist > 1e-2]
    assert torch.equal((network_from_cover(cover, resolution=1e-2)(far).squeeze(1) > 0).long(), cover.predict(far))


def test_prop31_polytope_network_has_one_neuron_per_face() -> None:
    hexagon = torch.stack([torch.tensor([torch.cos(t), torch.sin(t)]) for t in torch.arange(6) * torch.pi / 3])
    cover = PolytopeBasisCover([hexagon], [torch.ones(6)], [1])
    x = torch.rand(2000, 2, dtype=torch.float64) * 3 - 1.5
    net = network_from_cover(cover, x)
    assert cover.architecture() == (2, 6, 1, 1)
    inside = (x @ hexagon.double().T <= 1).all(1)
    assert torch.equal(net(x).squeeze(1) > 0, inside)


def test_nonredundant_faces_prune_and_save_load(tmp_path: Path) -> None:
    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [0, 1]], dtype=torch.float64)
    b = torch.tensor([1.0, 1, 1, 1, 5, 3])  # two redundant faces
    empty = (torch.tensor([[1.0, 0.0]]), torch.tensor([-50.0]))  # contains no data
    cover = PolytopeBasisCover([sq, empty[0]], [b, empty[1]], [1, -1])
    assert cover.faces == [6, 1]
    assert nonredundant_cover_faces(cover, torch.tensor([[-2.0, -2], [2.0, 2]]), margin=0.0)[0] == 4
    x = torch.rand(500, 2, dtype=torch.float64) * 4 - 2
    small = prune_cover(cover, x)
    assert small.faces == [4] and torch.equal(small.predict(x), cover.predict(x))
    path = cover.save(tmp_path / "c.pt")
    again = PolytopeBasisCover.load(path)
    assert again.faces == cover.faces and torch.equal(again.counts(x), cover.counts(x))


def test_bad_covers_fail_early() -> None:
    with pytest.raises(ValueError, match="`signs` must be"):
        PolytopeBasisCover([torch.eye(2)], [torch.ones(2)], [2])
    with pytest.raises(ValueError, match="one entry per polytope"):
        PolytopeBasisCover([torch.eye(2)], [], [1])
    with pytest.raises(ValueError, match="face normal is zero"):
        PolytopeBasisCover([torch.zeros(1, 2)], [torch.ones(1)], [1])
    with pytest.raises(ValueError, match=r"`x` must be \(n, 2\)"):
        PolytopeBasisCover([torch.eye(2)], [torch.ones(2)], [1]).predict(torch.zeros(3, 3))


@pytest.mark.parametrize(
    "name", ["xor", "two_circles", "two_moons", "two_triangles", "hexagon_with_hole", "swiss_roll"]
)
def test_finalising_loop_reaches_condition_7_on_synthetic_sets(name: str) -> None:
    x, y = make_synthetic(name, n_samples=400, seed=0)
    x = x.float()
    net = CoverNetwork(2, pieces=4, width=8, seed=3)
    with torch.no_grad():  # a perturbed (not freshly initialised) network, v < 0 kept
        net.w.add_(0.3 * torch.randn_like(net.w))
    report = finalise_(net, x, lam_scale=1.5)
    assert report.converged and report.reason == "condition (7) holds"
    assert cover_condition_fraction(net, x) == 1.0
    t = torch.relu(net.pieces_out(x))  # (7) itself, independently of (9)
    assert bool(((t <= 1e-4) | ((t - net.lam).abs() <= 1e-4)).all())
    cover = extract_cover(net, x, y)
    assert cover.meta["agreement"] == 1.0  # Theorem 3.7: the cover's accuracy is the network's
    assert cover.meta["cover_accuracy"] == cover.meta["network_accuracy"]


def test_finalising_loop_reports_the_round_bound_and_a_lost_sign() -> None:
    x, _ = make_synthetic("swiss_roll", n_samples=300, seed=0)
    net = CoverNetwork(2, pieces=2, width=10, seed=0)
    assert finalise_(net, x.float(), max_rounds=0).reason == "round bound hit"
    with torch.no_grad():
        net.v[0, 0] = 1.0
    rep = finalise_(net, x.float())
    assert not rep.converged and rep.reason == "sign lost"


def test_extracted_cover_is_a_polytope_basis_cover_of_the_data() -> None:
    # a cover network built by hand for two squares (P) with a hole (Q) satisfies (7) exactly
    x, y = make_synthetic("hexagon_with_hole", n_samples=600, seed=1)
    hexa = torch.stack(
        [torch.tensor([torch.cos(t), torch.sin(t)]) for t in torch.arange(6) * torch.pi / 3 + torch.pi / 6]
    )
    penta = torch.stack(
        [torch.tensor([torch.cos(t), torch.sin(t)]) for t in torch.arange(5) * 2 * torch.pi / 5 - torch.pi / 2]
    )
    net = CoverNetwork(2, pieces=2, width=6, signs=[1, -1])
    with torch.no_grad():
        apothem_h, apothem_p = 0.9 * torch.cos(torch.tensor(torch.pi / 6)), 0.4 * torch.cos(torch.tensor(torch.pi / 5))
        net.w[0] = hexa * 50
        net.b[0] = -apothem_h * 50
        net.w[1, :5] = penta * 50
        net.b[1, :5] = -apothem_p * 50
        net.mask[1, 5] = False
        net.v.fill_(-100.0)
    x = x.float()
    finalise_(net, x)
    cover = extract_cover(net, x, y)
    counts = torch.tensor(_counts_by_loops(cover, x))  # independent of the network
    lab = y > 0
    acc = float(((counts > 0) == lab).double().mean())
    assert acc == cover.meta["network_accuracy"] and acc > 0.97  # sampled points near the edges may differ
    correct = (counts > 0) == lab
    assert bool((counts[lab & correct] > 0).all()) and bool((counts[~lab & correct] <= 0).all())
    assert cover.faces == [6, 5] and cover.architecture() == (2, 11, 2, 1)  # paper: 2 -> 11 -> 2 -> 1


def test_algorithm3_cover_matches_the_network_and_a_threshold_loop() -> None:
    torch.manual_seed(0)
    x, y = make_synthetic("two_moons", n_samples=300, seed=0)
    x = x.float()
    net = nn.Sequential(nn.Linear(2, 20), nn.ReLU(), nn.Linear(20, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(x).squeeze(1), y.float()).backward()
        opt.step()
    cover = two_layer_cover(net, x)
    out = net(x).squeeze(1).detach()
    assert torch.equal(cover.predict(x), (out > 0).long())
    assert len(cover) == 2 * len(cover.thresholds) >= 2
    # reference: counts from the thresholds, one threshold and one point at a time
    pos, neg = cover.halves(x)
    ref = [sum(int(float(neg[i]) > -c) - int(float(pos[i]) < c) for c in cover.thresholds) for i in range(0, len(x), 7)]
    assert cover.counts(x)[::7].tolist() == ref
    with pytest.raises(ValueError, match="two-layer network"):
        two_layer_cover(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)), x)


def test_width_bounds_on_the_papers_examples() -> None:
    # Proposition 3.1 is tight for polygons with a two-layer network (d = 2, k = 1)
    assert [polytope_width_lower_bound(m, 2) for m in (3, 4, 5, 6, 7, 8)] == [3, 3, 3, 3, 4, 4]
    assert (
        polytope_width_lower_bound(10, 5) == 9
        and polytope_width_lower_bound(3, 5) == 6
        and polytope_width_lower_bound(13, 5) == 10
    )
    assert not polytope_widths_feasible([2], 3, 2) and polytope_widths_feasible([1, 1], 3, 2)  # 1 * (2 + 1) >= 3
    # Theorem 3.5: two triangles in the plane -> 2 -> 6 -> 2 -> 1 (Section 4.1)
    assert complex_first_width_bound({2: 2}, 2) == 6
    # 1-simplices (segments) in R^5 share covering simplices: the bound is below k(d+1)
    assert complex_first_width_bound({1: 6}, 5) < 6 * 6
    # Theorem 3.6: hexagon with a pentagonal hole (beta = (1, 1), prismatic faces <= 6)
    assert betti_architecture(2, 6, [1, 1]) == (2, 12, 2, 1)
    assert betti_widths_feasible([11, 2], [1, 1])
    # ten separated squares need sum of products >= 18
    assert not betti_widths_feasible([4], [10]) and betti_widths_feasible([4, 4], [10])
    with pytest.raises(ValueError, match="`betti` must be"):
        betti_architecture(2, 6, [0])


def test_losses_12_13_14_against_manual_formulas() -> None:
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(50, generator=g), (torch.rand(50, generator=g) < 0.3).long()
    p = torch.sigmoid(out)
    ll = y * p.log() + (1 - y) * (1 - p).log()
    assert torch.allclose(cover_loss(out, y, "bce"), -ll.mean())
    assert torch.allclose(cover_loss(out, y, "mse"), 0.5 * ((out.clamp_min(0) - y) ** 2).mean())
    weighted = -(1.0 * ll[y == 0].mean() + 10.0 * ll[y == 1].mean())
    assert torch.allclose(cover_loss(out, y, "weighted_bce", (1.0, 10.0)), weighted)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        cover_loss(out, y, "hinge")  # type: ignore[arg-type]


def test_multiclass_network_classifies_as_the_covers() -> None:
    boxes = [((-2.0, -0.5), (-1.0, 0.5)), ((-0.5, -0.5), (0.5, 0.5)), ((1.0, -0.5), (2.0, 0.5))]
    eye = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float64)

    def box(lo: tuple[float, float], hi: tuple[float, float]) -> PolytopeBasisCover:
        return PolytopeBasisCover([eye], [torch.tensor([hi[0], hi[1], -lo[0], -lo[1]])], [1])

    covers = [box(*b) for b in boxes]
    covers[2] = complement(PolytopeBasisCover.concat([covers[0], covers[1]]))  # class 2: everything else
    x = torch.rand(3000, 2, dtype=torch.float64) * 5 - 2.5
    net = multiclass_cover_network(covers, x)
    assert net[-1].out_features == 3 and net[0].out_features == 4 + 4 + 8
    assert torch.equal(net(x).argmax(1), multiclass_predict(covers, x))
    inside0 = (x[:, 0] <= -1) & (x[:, 0] >= -2) & (x[:, 1].abs() <= 0.5)
    assert bool((multiclass_predict(covers, x)[inside0] == 0).all())


def _drop_faces_by_loops(
    cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor, target: float
) -> tuple[float, int]:
    """Greedy face dropping by rebuilding the cover for every candidate face; returns the final accuracy."""
    a, b = [ai.clone() for ai in cover.a], [bi.clone() for bi in cover.b]
    while True:
        best = None
        for i in range(len(a)):
            if len(a[i]) <= 1:
                continue
            for f in range(len(a[i])):
                keep = torch.arange(len(a[i])) != f
                trial = PolytopeBasisCover(
                    [aj[keep] if j == i else aj for j, aj in enumerate(a)],
                    [bj[keep] if j == i else bj for j, bj in enumerate(b)],
                    cover.signs,
                )
                acc = trial.accuracy(x, y)
                if best is None or acc > best[0]:
                    best = (acc, i, keep)
        if best is None or best[0] < target:
            return PolytopeBasisCover(a, b, cover.signs).accuracy(x, y), sum(len(ai) for ai in a)
        _, i, keep = best
        a[i], b[i] = a[i][keep], b[i][keep]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drop_faces_matches_a_rebuild_per_candidate_loop(seed: int) -> None:
    cover = _random_cover(seed, k=3)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(300, 2, generator=g, dtype=torch.float64) * 0.6
    y = cover.predict(x)
    flip = torch.rand(300, generator=g) < 0.05  # label noise, so dropping trades accuracy
    y = torch.where(flip, 1 - y, y)
    start = cover.accuracy(x, y)
    target = start - 0.02
    dropped = drop_cover_faces(cover, x, y, target)
    ref_acc, ref_faces = _drop_faces_by_loops(cover, x, y, target)
    assert dropped.accuracy(x, y) >= target
    assert dropped.accuracy(x, y) == pytest.approx(ref_acc)
    assert sum(dropped.faces) == ref_faces < sum(cover.faces)
    assert dropped.meta["dropped"] == sum(cover.faces) - ref_faces
    assert min(dropped.faces) >= 1
    with pytest.raises(ValueError, match="min_accuracy"):
        drop_cover_faces(cover, x, y, 1.5)


def _drop_polytopes_by_loops(cover: PolytopeBasisCover, x: torch.Tensor, y: torch.Tensor, target: float) -> list[int]:
    """Greedy polytope dropping by rebuilding the cover without each candidate; returns the kept indices."""
    kept = list(range(len(cover)))
    while len(kept) > 1:
        scored = []
        for i in kept:
            rest = [j for j in kept if j != i]
            trial = PolytopeBasisCover(
                [cover.a[j] for j in rest], [cover.b[j] for j in rest], [cover.signs[j] for j in rest]
            )
            scored.append((trial.accuracy(x, y), cover.faces[i], -i, i))
        acc, _, _, i = max(scored)
        if acc < target:
            break
        kept.remove(i)
    return kept


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drop_polytopes_matches_a_rebuild_per_candidate_loop(seed: int) -> None:
    base = _random_cover(seed, k=3)
    far = (torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([-50.0], dtype=torch.float64))  # no point
    cover = PolytopeBasisCover.concat([base, PolytopeBasisCover([far[0], base.a[0]], [far[1], base.b[0]], [1, 1])])
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(300, 2, generator=g, dtype=torch.float64) * 0.6
    y = cover.predict(x)
    for target in (1.0, cover.accuracy(x, y) - 0.03):
        dropped = drop_cover_polytopes(cover, x, y, target)
        kept = _drop_polytopes_by_loops(cover, x, y, target)
        assert dropped.faces == [cover.faces[i] for i in sorted(kept)]
        assert dropped.accuracy(x, y) >= target
    exact = drop_cover_polytopes(cover, x, y, 1.0)
    assert torch.equal(exact.predict(x), y) and len(exact) < len(cover)


@pytest.mark.parametrize("seed", [0, 1])
def test_prune_keeps_every_prediction_and_drops_faces_no_point_needs(seed: int) -> None:
    cover = _random_cover(seed, k=4)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(200, 2, generator=g, dtype=torch.float64) * 0.5
    small = prune_cover(cover, x)
    assert torch.equal(small.predict(x), cover.predict(x))
    geometric = prune_cover(cover, x, data_redundant=False)
    assert sum(small.faces) <= sum(geometric.faces) <= sum(cover.faces)
    # every remaining face is needed: removing any one of them changes a prediction on x
    for i in range(len(small)):
        for f in range(small.faces[i] if small.faces[i] > 1 else 0):
            keep = torch.arange(small.faces[i]) != f
            trial = PolytopeBasisCover(
                [a[keep] if j == i else a for j, a in enumerate(small.a)],
                [b[keep] if j == i else b for j, b in enumerate(small.b)],
                small.signs,
            )
            assert not torch.equal(trial.predict(x), small.predict(x))


def test_eliminate_cover_faces_finds_the_square_and_the_slab() -> None:
    """P - Q with spare faces: the square needs 4 faces, the slab cut out of it 2 (known answer)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2000, 2, generator=g) * 40 - 20  # input units of 10: gaps of 1 around every boundary
    x = x[((x.abs().max(1).values - 10).abs() > 1) & ((x[:, 0].abs() - 3).abs() > 1)]
    y = ((x.abs() < 10).all(1) & (x[:, 0].abs() > 3)).long()
    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    p_a = torch.cat([sq, torch.tensor([[1.0, 1.0], [1.0, -1.0]])])  # corner cuts that cut no point of class 1
    p_b = torch.tensor([10.0, 10, 10, 10, 19, 19])
    q_a, q_b = sq.clone(), torch.tensor([3.0, 3, 15, 15])  # |x_1| <= 3, and |x_2| <= 15 reaching past the square
    cover = PolytopeBasisCover([p_a, q_a], [p_b, q_b], [1, -1])
    assert cover.accuracy(x, y) == 1.0 and cover.faces == [6, 4]
    small, rounds = eliminate_cover_faces(cover, x, y, budget=0, inside_weights=[1.0, 1.0])
    assert small.faces == [4, 2] and small.accuracy(x, y) == 1.0
    # P and Q take turns while a turn removes a face; the last turn removed none
    assert [r["sign"] for r in rounds] == [1, -1, 1]
    assert all(r["errors"] == 0 for r in rounds) and rounds[-1]["faces_before"] == rounds[-1]["faces_after"]
    with pytest.raises(ValueError, match=r"signs \[1\] or \[1, -1\]"):
        eliminate_cover_faces(PolytopeBasisCover([q_a], [q_b], [-1]), x, y, 0, [1.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_minimal_network_classifies_the_data_as_the_pruned_cover(seed: int) -> None:
    cover = _random_cover(seed, k=4)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(300, 2, generator=g, dtype=torch.float64) * 0.5
    y = cover.predict(x)
    y[:10] = 1 - y[:10]  # the network's accuracy is measured against the labels, not the cover
    rep = minimal_cover_network(cover, x, y)
    assert rep.network is not None and torch.equal((rep.network(x).squeeze(1) > 0).long(), cover.predict(x))
    assert rep.accuracy == cover.accuracy(x, y) and sum(rep.cover.faces) <= sum(cover.faces)
    assert rep.architecture == "-".join(map(str, rep.cover.architecture()))
    assert rep.nonredundant_faces == nonredundant_cover_faces(cover, x)
    # from a cover network: its cover (Theorem 3.7) first, then the same construction
    net = CoverNetwork(2, pieces=2, width=6, seed=seed)
    finalise_(net, x.float())
    from_net = minimal_cover_network(net, x.float(), y, exact_faces=False)
    cover_of_net = extract_cover(net, x.float(), y)
    assert from_net.nonredundant_faces is None
    if from_net.network is not None:
        pred = (from_net.network(x).squeeze(1) > 0).long()
        assert torch.equal(pred, cover_of_net.predict(x.float()))


def test_face_angle_matching_recovers_a_permutation_and_is_the_least_total_angle_assignment() -> None:
    import itertools

    from lightning_poly.algorithms import face_angle_matching
    from lightning_poly.geometry import PolytopeBasisCover

    g = torch.Generator().manual_seed(0)
    normals = torch.randn(6, 10, generator=g, dtype=torch.float64)
    perm = torch.randperm(6, generator=g)
    noisy = normals[perm] * torch.rand(6, 1, generator=g, dtype=torch.float64).add(0.5)
    noisy = noisy + 0.01 * torch.randn(6, 10, generator=g, dtype=torch.float64)
    a = PolytopeBasisCover([normals], [torch.ones(6)], [1])
    b = PolytopeBasisCover([torch.randn(2, 10, generator=g), noisy], [torch.ones(2), torch.ones(6)], [1, -1])
    m = face_angle_matching(a, b, polytope_b=1)
    assert m.share_one_to_one == 1.0 and len(m.mutual) == 6
    assert {(int(i), int(j)) for i, j in m.pairs} == {(int(perm[j]), j) for j in range(6)}
    assert float(m.pair_angles.max()) < 5.0  # rescaling moves no face; the noise turns each by degrees
    # against brute force on a small random pair: the assignment has the least total angle
    c = PolytopeBasisCover([torch.randn(4, 3, generator=g)], [torch.ones(4)], [1])
    d = PolytopeBasisCover([torch.randn(5, 3, generator=g)], [torch.ones(5)], [1])
    res = face_angle_matching(c, d)
    best = min(sum(float(res.angles[i, j]) for i, j in enumerate(p)) for p in itertools.permutations(range(5), 4))
    assert abs(float(res.pair_angles.sum()) - best) < 1e-9 and res.pairs.shape == (4, 2)
    # the angles are those of the unit normals, computed independently
    u, v = c.a[0][1].double(), d.a[0][2].double()
    expect = torch.rad2deg(torch.arccos(u @ v / (u.norm() * v.norm())))
    assert torch.isclose(res.angles[1, 2], expect, atol=1e-9) and 0 < res.share_one_to_one <= 1
