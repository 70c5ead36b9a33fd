"""Section IV's constructions: the face counter finds the paper's face counts on them."""

import pytest
import torch

from lightning_poly.geometry import average_faces_cone, face_histogram, maximum_faces_polygon, sample_box


@pytest.mark.parametrize(("n", "k"), [(5, 5), (3, 1), (6, 4), (8, 8)])
def test_maximum_faces_polygon_has_gamma_faces(n: int, k: int) -> None:
    p = maximum_faces_polygon(n, k)
    h = face_histogram(p.network, points=p.point[None], box=p.box)
    assert h.gamma == p.gamma == n + k
    assert h.counts.tolist() == [n + k] and h.box_counts.tolist() == [0]  # one face per neuron, none on the box
    sampled = face_histogram(p.network, n_points=2000, box=p.box)
    assert int(sampled.network_counts.max()) == sampled.gamma  # met on uniform points too (faces from neurons)


@pytest.mark.usefixtures("one_thread")
def test_average_faces_cone_slices_have_the_cones_faces_and_dominate_the_mean() -> None:
    n = 5
    means = []
    for m in (10, 160):
        c = average_faces_cone(3, n, m)
        sl = face_histogram(c.network, points=c.slice_points, box=c.box)
        assert sl.n_regions == m - 1 and set(sl.counts.tolist()) == {c.slice_faces} == {n + 2}
        assert int(sl.box_counts.sum()) == 0
        # every region: uniform points find the large ones, the slice points the thin slices
        h = face_histogram(c.network, points=torch.cat([sample_box(3000, 3, c.box, seed=0), c.slice_points]),
                           box=c.box)  # fmt: skip
        means.append(h.mean)
    # measured 6.80 (m = 10) and 6.96 (m = 160): (n m + c1) / (c2 + m) -> n + 2 (the cone's n faces and two cuts)
    assert means[0] < means[1] and abs(means[1] - (n + 2)) < 0.1


def test_average_faces_cone_in_four_dimensions() -> None:
    c = average_faces_cone(4, 6, 5)
    sl = face_histogram(c.network, points=c.slice_points, box=c.box)
    assert set(sl.counts.tolist()) == {8} and int(sl.box_counts.sum()) == 0


def test_construction_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="`d` must be an integer >= 3, got 2"):
        average_faces_cone(2, 3, 4)
    with pytest.raises(ValueError, match="`n` must be an integer >= 3, got 2"):
        average_faces_cone(3, 2, 4)
    with pytest.raises(ValueError, match=r"`k` must be an integer in \[1, n = 4\] \(one cut per vertex\), got 5"):
        maximum_faces_polygon(4, 5)
    with pytest.raises(ValueError, match=r"`depth` must lie in \(0, 0.5\), got 0.5"):
        maximum_faces_polygon(4, 2, depth=0.5)
