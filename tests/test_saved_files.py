"""Files the suite saves load back equal, and a crafted file holding a pickled object is refused unread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_poly.geometry import FaceHistogram, PolytopeBasisCover, face_histogram
from lightning_poly.nn import ReLUMLP


class _Payload:
    """Unpickling this object would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def _cover() -> PolytopeBasisCover:
    sq = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]], dtype=torch.float64)
    meta = {"algorithm": "test", "fraction": np.float64(0.5), "widths": torch.tensor([3, 2]), "steps": [{"a": 1}]}
    return PolytopeBasisCover([sq], [torch.ones(4, dtype=torch.float64)], [1], meta=meta)


def test_cover_round_trip_keeps_tensors_and_plain_metadata(tmp_path: Path) -> None:
    cover = _cover()
    again = PolytopeBasisCover.load(cover.save(tmp_path / "c.pt"))
    assert torch.equal(again.a[0], cover.a[0]) and torch.equal(again.b[0], cover.b[0])
    assert again.signs == [1] and again.atol == cover.atol
    assert again.meta == {"algorithm": "test", "fraction": 0.5, "widths": [3, 2], "steps": [{"a": 1}]}


def test_histogram_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    hist = face_histogram(ReLUMLP([2, 6, 1]), n_points=300)
    hist.save(tmp_path / "h.pt")
    again = FaceHistogram.load(tmp_path / "h.pt")
    assert torch.equal(again.counts, hist.counts) and again.summary() == hist.summary()


@pytest.mark.parametrize("kind", ["cover", "histogram"])
def test_a_crafted_file_with_a_pickled_object_is_refused_without_running_it(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"
    state = _cover().state() if kind == "cover" else {"counts": torch.zeros(1)}
    state["meta" if kind == "cover" else "weights"] = _Payload(marker)
    torch.save(state, tmp_path / "evil.pt")
    load = PolytopeBasisCover.load if kind == "cover" else FaceHistogram.load
    with pytest.raises(ValueError, match=r"holds pickled objects .* not loaded \(loading it could run code\)"):
        load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_a_file_of_another_kind_is_refused_with_the_keys_found(tmp_path: Path) -> None:
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"is not a cover file: expected the keys \['a', 'atol', 'b', 'signs'\]"):
        PolytopeBasisCover.load(tmp_path / "other.pt")
