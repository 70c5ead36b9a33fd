import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_poly.datamodules import (
    DATA_ENV_VAR,
    ArrayDataModule,
    CIFAR10DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    SyntheticDataModule,
    pullover_coat_first,
)

FMNIST = Path("/usr/share/datasets/fashion-mnist")
needs_fmnist = pytest.mark.skipif(
    not (FMNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST missing: install the Debian package dataset-fashion-mnist (make test does as root)",
)


# -- arrays and synthetic -------------------------------------------------------------------------
def test_array_splits_are_disjoint_complete_and_seeded() -> None:
    x = torch.arange(200, dtype=torch.float32).reshape(100, 2)
    y = torch.arange(100) % 2
    dm = ArrayDataModule(x, y, val_fraction=0.2, test_fraction=0.1, seed=5)
    dm.setup()
    ids = [set(ds.tensors[0][:, 0].long().tolist()) for ds in (dm.data_train, dm.data_val, dm.data_test)]
    assert [len(s) for s in ids] == [70, 20, 10]
    assert set().union(*ids) == set(range(0, 200, 2)) and sum(len(s) for s in ids) == 100
    dm2 = ArrayDataModule(x, y, val_fraction=0.2, test_fraction=0.1, seed=5)
    dm2.setup()
    assert torch.equal(dm.data_val.tensors[0], dm2.data_val.tensors[0])
    dm3 = ArrayDataModule(x, y, val_fraction=0.2, test_fraction=0.1, seed=6)
    dm3.setup()
    assert not torch.equal(dm.data_val.tensors[0], dm3.data_val.tensors[0])
    batch = next(iter(dm.train_dataloader()))
    assert batch[0].shape == (dm.batch_size if dm.batch_size < 70 else 70, 2)


def test_file_order_keeps_the_samples_in_load_order_training_first() -> None:
    x = torch.arange(200, dtype=torch.float32).reshape(100, 2)
    dm = ArrayDataModule(x, torch.arange(100) % 2, val_fraction=0.2, test_fraction=0.1, order="file")
    dm.setup()
    firsts = [ds.tensors[0][:, 0].long().tolist() for ds in (dm.data_train, dm.data_val, dm.data_test)]
    assert firsts == [list(range(0, 140, 2)), list(range(140, 180, 2)), list(range(180, 200, 2))]
    with pytest.raises(ValueError, match=r"`order` must be one of \('seeded', 'file'\), got 'sorted'"):
        ArrayDataModule(x, torch.arange(100) % 2, order="sorted")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "msg"),
    [
        (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), torch.tensor([0, 1]), {}, "must be finite, got 1 NaN/inf"),
        (torch.zeros(4, 2), torch.tensor([0, 1, 0]), {}, r"`y` must have shape \(4,\)"),
        (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), {}, "at least two classes, got only \\[0\\]"),
        (
            torch.zeros(4, 2),
            torch.tensor([0, 1, 0, 1]),
            {"val_fraction": 1.5},
            r"`val_fraction` must lie in \[0, 1\), got 1.5",
        ),
        (torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), {"task": "ranking"}, "`task` must be one of"),
    ],
)
def test_array_bad_input_fails_at_construction(x, y, kwargs, msg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=msg):
        ArrayDataModule(x, y, **kwargs)


def test_array_regression_and_signed_labels() -> None:
    dm = ArrayDataModule(np.random.rand(10, 3), np.random.rand(10), task="regression", val_fraction=0.0)
    dm.setup()
    assert dm.data_train.tensors[1].dtype == torch.float32
    dm = ArrayDataModule(np.random.rand(10, 3), [0, 1] * 5, signed_labels=True, val_fraction=0.0)
    dm.setup()
    assert set(dm.data_train.tensors[1].tolist()) == {-1, 1}


def test_synthetic_module_every_set() -> None:
    for name in ("swiss_roll", "cube_parity", "teacher_relu", "alternating_circle"):
        dm = SyntheticDataModule(name, n_samples=40, val_fraction=0.0)  # type: ignore[arg-type]
        dm.setup()
        x, y = dm.train_tensors()
        assert x.shape[1] == dm.input_dim
        assert dm.task == ("regression" if name == "teacher_relu" else "classification")
    with pytest.raises(ValueError, match="do not fit the generator"):
        SyntheticDataModule("xor", options={"radius": 2}).setup()


# -- torchvision: real Fashion-MNIST ---------------------------------------------------------------
@needs_fmnist
def test_fashion_mnist_one_vs_rest_union_from_debian(tmp_path: Path) -> None:
    dm = FashionMNISTDataModule(
        root=str(tmp_path), task="one_vs_rest", positive_class=1, union_train_test=True, val_fraction=0.0
    )
    dm.prepare_data()
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    dm.setup("fit")
    x, y = dm.train_tensors()
    assert x.shape == (70000, 784) and int(y.sum()) == 7000
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # the complement swaps the roles; a pair keeps 14,000 images of the test+train pool
    comp = FashionMNISTDataModule(
        root=str(tmp_path),
        task="one_vs_rest",
        positive_class=1,
        complement=True,
        union_train_test=True,
        val_fraction=0.0,
    )
    comp.setup()
    assert int(comp.train_tensors()[1].sum()) == 63000
    noisy = FashionMNISTDataModule(
        root=str(tmp_path),
        task="one_vs_rest",
        positive_class=0,
        label_noise=0.1,
        union_train_test=True,
        val_fraction=0.0,
    )
    noisy.setup()
    yn = noisy.train_tensors()[1]
    assert int(yn.sum()) == 7000
    clean = FashionMNISTDataModule(
        root=str(tmp_path), task="one_vs_rest", positive_class=0, union_train_test=True, val_fraction=0.0
    )
    clean.setup()
    assert int((yn != clean.train_tensors()[1]).sum()) == 2 * 700


@needs_fmnist
def test_fashion_mnist_pair_pca_and_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    dm = FashionMNISTDataModule(task="pair", pair=(3, 8), pca_components=10, val_fraction=0.1)
    dm.prepare_data()
    dm.setup()
    x, y = dm.train_tensors()
    assert x.shape == (10800, 10) and set(y.tolist()) == {0, 1}
    cov = x.T @ (x - x.mean(0)) / (len(x) - 1)
    assert torch.allclose(cov, torch.eye(10), atol=1e-3)
    assert len(dm.data_test) == 2000


@needs_fmnist
def test_pullover_coat_first_takes_the_first_examples_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    x, y = pullover_coat_first(350, 8)
    assert x.shape == (350, 8) and x.dtype == torch.float64
    with gzip.open(FMNIST / "train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8)
    pair = labels[(labels == 2) | (labels == 4)]
    assert y.tolist() == (pair[:350] == 4).astype(float).tolist()
    assert torch.equal(pullover_coat_first(400, 8)[0][:350], x)  # a prefix: the same PCA, the same order
    with pytest.raises(ValueError, match="`n` must be at most the 12000 training examples"):
        pullover_coat_first(20_000, 8)


# -- torchvision: MNIST and CIFAR-10 from small files these tests make ------------------------------
def _write_idx(path: Path, arr: np.ndarray, gz: bool) -> None:
    magic = 0x0801 if arr.ndim == 1 else 0x0803
    payload = (
        struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.astype(np.uint8).tobytes()
    )
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def _fake_mnist(folder: Path, n_train: int = 30, n_test: int = 10, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(n_train, 28, 28))
    labels = np.arange(n_train) % 10
    _write_idx(folder / "train-images-idx3-ubyte", imgs, gz)
    _write_idx(folder / "train-labels-idx1-ubyte", labels, gz)
    _write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, size=(n_test, 28, 28)), gz)
    _write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(n_test) % 10, gz)
    return imgs, labels


def test_mnist_from_raw_files_arranged_for_torchvision(tmp_path: Path) -> None:
    imgs, labels = _fake_mnist(tmp_path / "src")
    dm = MNISTDataModule(root=str(tmp_path / "src"), task="pair", pair=(2, 7), val_fraction=0.0, scale="none")
    dm.prepare_data()
    assert (tmp_path / "src" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").is_file()
    dm.setup()
    x, y = dm.train_tensors()
    keep = (labels == 2) | (labels == 7)
    assert sorted(x.sum(1).tolist()) == sorted(imgs[keep].reshape(keep.sum(), -1).sum(1).astype(float).tolist())
    assert int(y.sum()) == int((labels == 7).sum())
    assert len(dm.data_test) == 2
    # the first examples of the pair in the file's order (the zonotope paper's H.2.1)
    first = MNISTDataModule(
        root=str(tmp_path / "src"), task="pair", pair=(2, 7), val_fraction=0.0, scale="none", order="file"
    )
    xf, yf = first.train_tensors()
    assert torch.equal(xf, torch.tensor(imgs[keep].reshape(keep.sum(), -1), dtype=torch.float32))
    assert yf.tolist() == (labels[keep] == 7).astype(int).tolist()


def test_cifar10_from_local_batches(tmp_path: Path) -> None:
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        with open(base / name, "wb") as f:
            pickle.dump({"data": data, "labels": [0, 1, 2, 3]}, f)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    dm = CIFAR10DataModule(root=str(tmp_path), task="one_vs_rest", positive_class=3, val_fraction=0.0, flatten=False)
    dm.prepare_data()
    dm.setup()
    x, y = dm.train_tensors()
    assert x.shape == (20, 3, 32, 32) and int(y.sum()) == 5


def test_missing_data_fails_fast_with_directions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dm = MNISTDataModule(root=str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError) as err:
        dm.prepare_data()
    msg = str(err.value)
    assert "Looked in" in msg and str(tmp_path / "empty") in msg and "download=True" in msg
    fm = FashionMNISTDataModule(root=str(tmp_path / "empty"))
    monkeypatch.setattr(FashionMNISTDataModule, "debian_dirs", (str(tmp_path / "no-debian"),))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fm.prepare_data()
    assert not (tmp_path / "empty" / "FashionMNIST" / "raw").exists()


def test_vision_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`positive_class` must be in 0..9"):
        FashionMNISTDataModule(task="one_vs_rest", positive_class=10)
    with pytest.raises(ValueError, match="`label_noise` needs a binary task"):
        FashionMNISTDataModule(label_noise=0.1)
    with pytest.raises(ValueError, match="`pca_components` needs `flatten=True`"):
        FashionMNISTDataModule(pca_components=5, flatten=False)
