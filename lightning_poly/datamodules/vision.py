"""Fashion-MNIST, MNIST and CIFAR-10 through torchvision, with the papers' tasks.

Where the data comes from (checked in this order by ``prepare_data``):

1. ``root`` if given, else the folder in the environment variable ``LIGHTNING_POLY_DATA``, else
   ``~/.cache/lightning_poly/data``, in torchvision's layout (``<root>/FashionMNIST/raw/...``);
2. a folder holding the raw files directly (``train-images-idx3-ubyte[.gz]`` ...): ``root`` itself,
   or Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``); the files are
   then copied (and un-gzipped) into torchvision's layout under the root of step 1;
3. torchvision's download, only when ``download=True``.

Otherwise ``prepare_data`` fails at once with a message that lists where it looked and how to get
the data. Nothing is ever downloaded silently.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torchvision import datasets
from typing_extensions import override

from lightning_poly._validation import check_choice, check_fraction, check_int
from lightning_poly.data.preprocess import TaskName, add_label_noise, fit_pca_whitening, select_task
from lightning_poly.datamodules.tensor import TensorDataModule

__all__ = [
    "CIFAR10DataModule",
    "DATA_ENV_VAR",
    "FashionMNISTDataModule",
    "MNISTDataModule",
    "VisionDataModule",
    "pullover_coat_first",
]

DATA_ENV_VAR = "LIGHTNING_POLY_DATA"
ScaleName = Literal["unit", "standardize", "none"]


class _CIFAR10Local(datasets.CIFAR10):
    """torchvision's CIFAR-10 that accepts locally prepared batch files (presence, not md5, is checked)."""

    def _check_integrity(self) -> bool:
        base = Path(self.root) / self.base_folder
        return all(
            (base / name).is_file() for name, _ in [*self.train_list, *self.test_list, (self.meta["filename"], "")]
        )

    def _load_meta(self) -> None:
        with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


class VisionDataModule(TensorDataModule):
    """Base of the torchvision data modules (see the module docstring for where data is found).

    Args:
        root: data folder (see above).
        task: ``"all"`` (10 classes), ``"one_vs_rest"`` or ``"pair"``.
        positive_class: class index (torchvision's 0-9, also the polytope-cover paper's Table 1
            numbering: class 1 is Trouser) for ``one_vs_rest``.
        complement: label the *rest* as positive (Table 1 covers each class and its complement).
        pair: two classes ``(a, b)`` for ``pair`` (``b`` is labelled 1).
        union_train_test: pool the official train and test splits (Table 1 covers all 70,000).
        label_noise: class-size-preserving noise rate for binary tasks (Table 2).
        flatten: serve ``(n, C*H*W)`` vectors instead of images.
        scale: ``"unit"`` divides by 255, ``"standardize"`` uses training-split mean/std per feature.
        pca_components: project on this many whitened principal components fitted on the training
            split (zonotope paper, H.2.1); needs ``flatten``.
        download: allow torchvision's download when no local copy is found.
        val_fraction: fraction of the training split held out for validation.
        **kwargs: see :class:`~lightning_poly.datamodules.TensorDataModule`.
    """

    dataset_cls: ClassVar[type[datasets.VisionDataset]]
    folder: ClassVar[str]
    image_shape: ClassVar[tuple[int, ...]]
    raw_files: ClassVar[tuple[str, ...]] = ()
    debian_dirs: ClassVar[tuple[str, ...]] = ()
    debian_package: ClassVar[str | None] = None
    num_all_classes: ClassVar[int] = 10

    def __init__(
        self,
        root: str | None = None,
        task: TaskName = "all",
        positive_class: int | None = None,
        complement: bool = False,
        pair: tuple[int, int] | None = None,
        union_train_test: bool = False,
        label_noise: float = 0.0,
        flatten: bool = True,
        scale: ScaleName = "unit",
        pca_components: int | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(task="classification", val_fraction=val_fraction, **kwargs)
        self.label_task = check_choice("task", task, ("all", "one_vs_rest", "pair"))
        if task == "one_vs_rest" and positive_class not in range(self.num_all_classes):
            raise ValueError(
                f"`positive_class` must be in 0..{self.num_all_classes - 1} for one_vs_rest, got {positive_class!r}"
            )
        if task == "pair":
            pair = tuple(pair) if pair is not None else None  # type: ignore[assignment]
            if (
                pair is None
                or len(pair) != 2
                or pair[0] == pair[1]
                or not set(pair) <= set(range(self.num_all_classes))
            ):
                raise ValueError(f"`pair` must be two different classes in 0..{self.num_all_classes - 1}, got {pair!r}")
        self.positive_class, self.complement, self.pair = positive_class, bool(complement), pair
        self.union_train_test = bool(union_train_test)
        self.label_noise = check_fraction("label_noise", label_noise, closed_right=True)
        if label_noise and task == "all":
            raise ValueError("`label_noise` needs a binary task ('one_vs_rest' or 'pair'), got task='all'")
        self.flatten = bool(flatten)
        self.scale = check_choice("scale", scale, ("unit", "standardize", "none"))
        if pca_components is not None:
            check_int("pca_components", pca_components, minimum=1)
            if not flatten:
                raise ValueError("`pca_components` needs `flatten=True`")
        self.pca_components = pca_components
        self.download = bool(download)
        self.root = root
        self._resolved_root: Path | None = None

    # -- shapes -------------------------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        """Input features as served."""
        if self.pca_components is not None:
            return self.pca_components
        return int(torch.tensor(self.image_shape).prod())

    @property
    def num_classes(self) -> int:
        return self.num_all_classes if self.label_task == "all" else 2

    # -- finding data -------------------------------------------------------------------------
    def _target_root(self) -> Path:
        if self.root is not None:
            return Path(self.root).expanduser()
        if os.environ.get(DATA_ENV_VAR):
            return Path(os.environ[DATA_ENV_VAR]).expanduser()
        return Path.home() / ".cache" / "lightning_poly" / "data"

    def _has_layout(self, root: Path) -> bool:
        try:
            self._open(root, train=True)
            return True
        except RuntimeError:
            return False

    def _raw_source(self) -> Path | None:
        """A folder that holds the raw files directly (gzipped or not)."""
        candidates = [Path(self.root).expanduser()] if self.root else []
        candidates += [Path(d) for d in self.debian_dirs]
        for c in candidates:
            if self.raw_files and all((c / f).is_file() or (c / f"{f}.gz").is_file() for f in self.raw_files):
                return c
        return None

    def _arrange(self, source: Path, root: Path) -> None:
        raw = root / self.folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for f in self.raw_files:
            dst = raw / f
            if dst.is_file():
                continue
            # a name of this process's own: processes arranging the same cache at once (test workers, DDP ranks
            # without a shared prepare_data) each write theirs, and the atomic replace leaves one whole file
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            if (source / f).is_file():
                shutil.copyfile(source / f, tmp)
            else:
                with gzip.open(source / f"{f}.gz", "rb") as fin, open(tmp, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            tmp.replace(dst)

    def _looked(self) -> str:
        places = [f"{self._target_root()} (torchvision layout)"]
        if self.root:
            places.append(f"{self.root} (raw files)")
        places += [f"{d} (raw files)" for d in self.debian_dirs]
        return "; ".join(places)

    @override
    def prepare_data(self) -> None:
        root = self._target_root()
        if self._has_layout(root):
            return
        source = self._raw_source()
        if source is not None:
            self._arrange(source, root)
            return
        if self.download:
            self._open(root, train=True, download=True)
            self._open(root, train=False, download=True)
            return
        how = [f"pass `download=True` to let torchvision download it into {root}"]
        if self.debian_package:
            how.insert(0, f"install the Debian package `{self.debian_package}` (apt-get install {self.debian_package})")
        raise FileNotFoundError(
            f"{type(self).__name__}: no data found. Looked in: {self._looked()}. To get it: "
            + ", or ".join(how)
            + f"; or point `root` or ${DATA_ENV_VAR} at a copy."
        )

    def _open(self, root: Path, train: bool, download: bool = False) -> datasets.VisionDataset:
        return self.dataset_cls(str(root), train=train, download=download)

    # -- building tensors ---------------------------------------------------------------------
    def _tensors(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        ds: Any = self._open(self._target_root(), train=train)
        data = torch.as_tensor(ds.data)
        if data.ndim == 3:  # (n, H, W) -> (n, 1, H, W)
            data = data[:, None]
        elif data.shape[-1] in (1, 3):  # (n, H, W, C) -> (n, C, H, W)
            data = data.permute(0, 3, 1, 2)
        return data.contiguous(), torch.as_tensor(ds.targets, dtype=torch.int64)

    def _prepare_labels(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return select_task(y, self.label_task, self.positive_class, self.complement, self.pair)  # type: ignore[arg-type]

    def _features(self, data: torch.Tensor) -> torch.Tensor:
        x = data.float()
        if self.scale == "unit":
            x = x / 255.0
        return x.flatten(1) if self.flatten else x

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._has_layout(self._target_root()):
            self.prepare_data()
        data, y = self._tensors(train=True)
        if self.union_train_test:
            d2, y2 = self._tensors(train=False)
            data, y = torch.cat([data, d2]), torch.cat([y, y2])
        keep, lab = self._prepare_labels(y)
        if self.label_noise:
            lab = add_label_noise(lab, self.label_noise, torch.Generator().manual_seed(self.seed + 1))
        return self._features(data[keep]), lab

    def load_test(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self.union_train_test:
            return None
        data, y = self._tensors(train=False)
        keep, lab = self._prepare_labels(y)
        return self._features(data[keep]), lab

    def fit_feature_map(self, x_train: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
        maps: list[Callable[[torch.Tensor], torch.Tensor]] = []
        if self.scale == "standardize":
            mean, std = x_train.mean(dim=0), x_train.std(dim=0).clamp_min(1e-6)
            maps.append(lambda x: (x - mean) / std)
            x_train = maps[-1](x_train)
        if self.pca_components is not None:
            maps.append(fit_pca_whitening(x_train, self.pca_components))
        if not maps:
            return None

        def apply(x: torch.Tensor) -> torch.Tensor:
            for m in maps:
                x = m(x)
            return x

        return apply


class FashionMNISTDataModule(VisionDataModule):
    """Fashion-MNIST (60,000 + 10,000 images 28x28), found in Debian's ``dataset-fashion-mnist``.

    Example:
        >>> dm = FashionMNISTDataModule(task="one_vs_rest", positive_class=1, union_train_test=True)
        >>> dm.input_dim, dm.num_classes
        (784, 2)
    """

    dataset_cls = datasets.FashionMNIST
    folder = "FashionMNIST"
    image_shape = (1, 28, 28)
    raw_files = (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
    debian_dirs = ("/usr/share/datasets/fashion-mnist",)
    debian_package = "dataset-fashion-mnist"


def pullover_coat_first(n: int = 350, d: int = 8, root: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Table A3's data (zonotope paper, appendix H.2.1): Fashion-MNIST pullover (label 0) vs coat (1),
    the first ``d`` PCA-whitened components (PCA fitted on the two classes' 12,000 training images),
    the first ``n`` training examples of the two classes in the file's order.

    Returns:
        ``(x, y)``: float64 ``(n, d)`` and ``(n,)``.

    Raises:
        FileNotFoundError: if Fashion-MNIST is not found (see the module docstring).
    """
    check_int("n", n, minimum=1)
    dm = FashionMNISTDataModule(root=root, task="pair", pair=(2, 4), pca_components=d, val_fraction=0.0, order="file")
    x, y = dm.train_tensors()
    if n > len(x):
        raise ValueError(f"`n` must be at most the {len(x)} training examples of the two classes, got {n}")
    return x[:n].double(), y[:n].double()


class MNISTDataModule(VisionDataModule):
    """MNIST (60,000 + 10,000 images 28x28) in torchvision's layout or as raw idx files.

    Example:
        >>> MNISTDataModule(task="pair", pair=(3, 8)).num_classes
        2
    """

    dataset_cls = datasets.MNIST
    folder = "MNIST"
    image_shape = (1, 28, 28)
    raw_files = FashionMNISTDataModule.raw_files
    debian_dirs = ("/usr/share/datasets/mnist",)


class CIFAR10DataModule(VisionDataModule):
    """CIFAR-10 (50,000 + 10,000 images 3x32x32) from ``<root>/cifar-10-batches-py``.

    Example:
        >>> CIFAR10DataModule(pca_components=50).input_dim
        50
    """

    dataset_cls = _CIFAR10Local
    folder = "cifar-10-batches-py"
    image_shape = (3, 32, 32)
