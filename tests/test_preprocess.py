import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lightning_poly.data import add_label_noise, fit_pca_whitening, select_task


def test_select_task_complement_and_errors() -> None:
    y = torch.tensor([0, 1, 2, 3, 1])
    _, lab = select_task(y, "one_vs_rest", positive_class=1, complement=True)
    assert lab.tolist() == [1, 0, 1, 1, 0]
    with pytest.raises(ValueError, match="positive_class"):
        select_task(y, "one_vs_rest", positive_class=9)
    with pytest.raises(ValueError, match="`pair` must be two different classes"):
        select_task(y, "pair", pair=(1, 1))


@settings(max_examples=40, deadline=None)
@given(n_pos=st.integers(1, 50), n_neg=st.integers(50, 120), rate=st.floats(0, 1), seed=st.integers(0, 99))
def test_label_noise_preserves_class_sizes(n_pos: int, n_neg: int, rate: float, seed: int) -> None:
    y = torch.cat([torch.ones(n_pos, dtype=torch.long), torch.zeros(n_neg, dtype=torch.long)])
    z = add_label_noise(y, rate, torch.Generator().manual_seed(seed))
    assert int(z.sum()) == n_pos
    assert int((z[:n_pos] == 0).sum()) == round(rate * n_pos)


def test_pca_whitening_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    w = fit_pca_whitening(torch.from_numpy(x), 3)
    z = w(torch.from_numpy(x)).numpy()
    xc = x - x.mean(0)
    evals, evecs = np.linalg.eigh(np.cov(xc.T))
    top = evecs[:, ::-1][:, :3]
    ref = xc @ top / np.sqrt(evals[::-1][:3])
    # components are defined up to sign
    assert np.allclose(np.abs(z), np.abs(ref), atol=1e-6)
    with pytest.raises(ValueError, match="rank"):
        fit_pca_whitening(torch.ones(10, 4), 2)
