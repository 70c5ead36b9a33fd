"""DecisionBoundaryCallback(complex_box=...): the region complex of a 2-D input logged as a figure."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger

from lightning_poly.callbacks import DecisionBoundaryCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.geometry import region_complex
from lightning_poly.modules import ReLUMLPModule
from lightning_poly.plotting_complex import complex_polygons


def _fit(tmp_path: Path, cb: DecisionBoundaryCallback) -> ReLUMLPModule:
    pl.seed_everything(0)
    model = ReLUMLPModule(input_dim=2, hidden=[8, 6], lr=0.05)
    data = SyntheticDataModule("teacher_relu", n_samples=64, batch_size=16, val_fraction=0.0,
                               options={"d": 2, "m_gen": 3, "task": "classification"})  # fmt: skip
    pl.Trainer(max_epochs=1, callbacks=[cb], default_root_dir=tmp_path, accelerator="cpu", enable_progress_bar=False,
               enable_model_summary=False, enable_checkpointing=False, logger=CSVLogger(str(tmp_path), name="csv"),
               ).fit(model, data)  # fmt: skip
    return model


def test_the_complex_is_drawn_beside_the_decision_regions(tmp_path: Path) -> None:
    cb = DecisionBoundaryCallback(resolution=20, complex_box=1.5)
    _fit(tmp_path, cb)
    assert sorted(p.name.split("_step")[0].split(".")[0] for p in cb.paths)[:2] == [
        "decision_regions",
        "region_complex",
    ]
    assert all(p.exists() for p in cb.paths)


def test_an_enumeration_over_its_budget_is_not_drawn_and_says_so(tmp_path: Path) -> None:
    cb = DecisionBoundaryCallback(resolution=20, complex_box=1.5, complex_seconds=1e-9)
    with pytest.warns(UserWarning, match="the region complex is not drawn: `max_seconds`"):
        _fit(tmp_path, cb)
    assert [p.name.startswith("decision_regions") for p in cb.paths] == [True]
    with pytest.raises(ValueError, match="`complex_box` must be"):
        DecisionBoundaryCallback(complex_box=0.0)


def test_the_polygons_tile_the_box() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 10), torch.nn.ReLU(), torch.nn.Linear(10, 5), torch.nn.ReLU(),
                              torch.nn.Linear(5, 1))  # fmt: skip
    cx = region_complex(net, box=1.0)
    area = 0.0
    for p in complex_polygons(cx):
        x, y = p[:, 0], p[:, 1]
        area += 0.5 * abs(
            float((x * (torch.as_tensor(y).roll(-1).numpy()) - (torch.as_tensor(x).roll(-1).numpy()) * y).sum())
        )
    assert area == pytest.approx(4.0, abs=1e-9)
    with pytest.raises(ValueError, match="a 2-D input in a box, got d = 2 and box = None"):
        complex_polygons(region_complex(net, box=None))


@pytest.mark.parametrize("axis", [0, 2])
def test_slices_of_a_3d_complex_tile_the_square_and_each_cut_lies_in_its_region(axis: int, tmp_path: Path) -> None:
    """The 3-D view: at each level the cuts of the regions tile the square (areas add up to it) and the centroid of
    every cut, lifted to 3-D, has its region's activation pattern (an independent forward pass)."""
    from lightning_poly.geometry import activation_patterns
    from lightning_poly.plotting_complex import complex_slice_polygons, plot_region_complex_slices

    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(3, 7), torch.nn.ReLU(), torch.nn.Linear(7, 5), torch.nn.ReLU(),
                              torch.nn.Linear(5, 1)).double()  # fmt: skip
    cx = region_complex(net, box=1.0)
    for level in (-0.7, 0.0, 0.45):
        cuts = complex_slice_polygons(cx, level, axis)
        area = 0.0
        for i, p in cuts:
            x, y = p[:, 0], p[:, 1]
            cross = x * torch.roll(torch.as_tensor(y), -1).numpy() - y * torch.roll(torch.as_tensor(x), -1).numpy()
            area += 0.5 * float(cross.sum())  # counter-clockwise: positive
            centroid = torch.as_tensor(p.mean(0), dtype=torch.float64)
            point = torch.zeros(1, 3, dtype=torch.float64)
            point[0, [k for k in range(3) if k != axis]] = centroid
            point[0, axis] = level
            assert torch.equal(activation_patterns(net, point)[0], cx.patterns[i])
        assert area == pytest.approx(4.0, rel=1e-9)
    fig = plot_region_complex_slices(cx, axis=axis)
    fig.savefig(tmp_path / "slices.png")
    assert (tmp_path / "slices.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"`level` must lie in the box \[-1, 1\], got 2.0"):
        complex_slice_polygons(cx, 2.0, axis)
