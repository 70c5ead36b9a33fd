"""Cross-sections (Figure 10) of a CNN: regions from the activation patterns, polygon edges against LPs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_poly.geometry import count_facets, cross_section, pwl_activation_patterns, pwl_regions
from lightning_poly.plotting import plot_cross_section

pytestmark = pytest.mark.usefixtures("one_thread")


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(27, 8), nn.ReLU(), nn.Linear(8, 2)
    ).eval()


def _image() -> torch.Tensor:
    return torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(3))


def test_each_pixel_gets_the_region_of_its_point_and_its_polygons_edges() -> None:
    net, image = _cnn(), _image()
    cs = cross_section(net, image, extent=0.6, resolution=40)
    assert (cs.count, cs.exact, cs.region.shape) == ("section", True, (40, 40))
    # the default directions: seeded, unit, orthogonal; the plane's points as the network saw them
    assert float(cs.u.norm()) == pytest.approx(1.0, abs=1e-6) and abs(float(cs.u @ cs.v)) < 1e-6  # type: ignore[union-attr]
    assert torch.allclose(cs.origin, image.flatten().double())  # type: ignore[arg-type]
    ss, tt = torch.meshgrid(cs.s, cs.t, indexing="xy")
    pts = cs.origin + ss.reshape(-1, 1) * cs.u + tt.reshape(-1, 1) * cs.v  # type: ignore[operator]
    pats, choices = pwl_activation_patterns(net, pts.reshape(-1, 1, 8, 8))
    key = torch.cat([pats.long(), choices], dim=1)
    same = (key[:, None] == key[None]).all(-1)
    assert torch.equal(same, cs.region.flatten()[:, None] == cs.region.flatten()[None, :])
    assert cs.n_regions > 5 and int(cs.faces.min()) >= 3  # type: ignore[union-attr]
    # a pixel's polygon from the d-dimensional rows at its point, cut by the plane and the window:
    # one LP per inequality
    plane = torch.stack([cs.u, cs.v], dim=1)  # type: ignore[list-item]
    window = torch.cat([torch.eye(2), -torch.eye(2)]).double()
    for i in (0, 333, 820, 1599):
        rows = pwl_regions(net, pts[i].reshape(1, 1, 8, 8), box=None)
        a2 = torch.cat([rows.a[0] @ plane, window])
        b2 = torch.cat([rows.b[0] - rows.a[0] @ cs.origin, torch.full((4,), 0.6, dtype=torch.float64)])
        ref = count_facets(a2, b2, "reference", interior=torch.stack([ss.flatten()[i], tt.flatten()[i]]))
        assert int(ref.counts[0]) == int(cs.faces.flatten()[i]), i  # type: ignore[union-attr]


def test_on_the_input_plane_of_an_mlp_polygons_are_the_regions() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(2, 12), nn.ReLU(), nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 1)).double()
    section = cross_section(net, resolution=50)  # d = 2: the axes through the origin, the window is the box
    region = cross_section(net, resolution=50, count="region")
    assert torch.equal(section.region, region.region) and torch.equal(section.faces, region.faces)  # type: ignore[arg-type]
    assert torch.equal(section.u, torch.tensor([1.0, 0.0], dtype=torch.float64))  # type: ignore[arg-type]


def test_the_faces_of_a_cnns_regions_are_estimated_lower_bounds() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 1)).eval()
    image = torch.rand(1, 3, 3, generator=torch.Generator().manual_seed(0))
    cs = cross_section(net, image, extent=0.3, resolution=12, count="region", seed=4)
    assert cs.count == "region" and not cs.exact
    ss, tt = torch.meshgrid(cs.s, cs.t, indexing="xy")
    pts = (cs.origin + ss.reshape(-1, 1) * cs.u + tt.reshape(-1, 1) * cs.v).clamp(-1, 1)  # type: ignore[operator]
    first = torch.unique(cs.region.flatten(), return_inverse=True)[1]
    for r in range(cs.n_regions):
        i = int(torch.nonzero(first == r)[0])
        rows = pwl_regions(net, pts[i].reshape(1, 1, 3, 3))
        exact = int(count_facets(rows.a, rows.b, "reference", interior=pts[i : i + 1]).counts[0])
        assert 3 <= int(cs.faces.flatten()[i]) <= exact  # type: ignore[union-attr]


def test_directions_are_seeded_and_a_plane_must_be_one() -> None:
    net, image = _cnn(), _image()
    a = cross_section(net, image, resolution=4, count="none", seed=1)
    b = cross_section(net, image, resolution=4, count="none", seed=1)
    c = cross_section(net, input_shape=(1, 8, 8), resolution=4, count="none", seed=2)
    assert torch.equal(a.u, b.u) and not torch.equal(a.u, c.u) and a.faces is None  # type: ignore[arg-type]
    assert float(c.origin.abs().max()) == 0.0  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"needs `origin`, a point of the shape it takes .* or `input_shape`"):
        cross_section(net)
    u = torch.randn(64)
    with pytest.raises(ValueError, match=r"`u` and `v` must span a plane"):
        cross_section(net, image, u=u, v=2 * u)
    with pytest.raises(ValueError, match=r"`v` must be a point of the model's input \(64 entries\), got 3 entries"):
        cross_section(net, image, v=torch.ones(3))
    with pytest.raises(ValueError, match=r"`method` must be 'auto' or 'estimate' for the regions of a network"):
        cross_section(net, image, count="region", method="qhull")
    with pytest.raises(ValueError, match=r"a cross-section needs a plane in the input space: .*, got 1"):
        cross_section(nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)))


def test_the_figure_colours_regions_and_draws_their_boundaries(tmp_path: Path) -> None:
    cs = cross_section(_cnn(), _image(), resolution=60)
    fig = plot_cross_section(cs, "small CNN")
    assert len(fig.axes) == 2 and "regions, mean" in fig.axes[0].get_title()
    assert len(fig.axes[0].collections[-1].get_segments()) > 60  # the boundaries
    fig.savefig(tmp_path / "cs.png")
    plain = plot_cross_section(cross_section(_cnn(), _image(), resolution=20, count="none"))
    assert len(plain.axes) == 1
    with pytest.raises(TypeError, match=r"`section` must be a CrossSection"):
        plot_cross_section(cs.region)  # type: ignore[arg-type]
