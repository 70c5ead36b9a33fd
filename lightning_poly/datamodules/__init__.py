"""LightningDataModules: the papers' synthetic sets, torchvision image sets and user arrays."""

from lightning_poly.datamodules.arrays import ArrayDataModule
from lightning_poly.datamodules.synthetic import SyntheticDataModule
from lightning_poly.datamodules.tensor import TensorDataModule, validate_xy
from lightning_poly.datamodules.vision import (
    DATA_ENV_VAR,
    CIFAR10DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    VisionDataModule,
    pullover_coat_first,
)

__all__ = [
    "DATA_ENV_VAR",
    "ArrayDataModule",
    "CIFAR10DataModule",
    "FashionMNISTDataModule",
    "MNISTDataModule",
    "SyntheticDataModule",
    "TensorDataModule",
    "VisionDataModule",
    "pullover_coat_first",
    "validate_xy",
]
