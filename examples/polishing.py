"""Polish your own ReLU network at the end of training (wedge-products paper, Section 4.1).

Your LightningModule, plain DataLoaders, `PolishingCallback`, a wandb run (offline unless you go online):

    python examples/polishing.py --epochs 30
"""

import argparse

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import PolishingCallback


class Regressor(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self(x)[:, 0], y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", F.mse_loss(self(x)[:, 0], y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.rand(600, 2) * 2 - 1
    y = torch.sin(3 * x[:, 0]) * x[:, 1]
    train = DataLoader(TensorDataset(x[:500], y[:500]), batch_size=50, shuffle=True)
    val = DataLoader(TensorDataset(x[500:], y[500:]), batch_size=100)
    polish = PolishingCallback(monitor="val_loss")  # refit loss: squared, from the head and targets
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[polish], enable_progress_bar=False)
    trainer.fit(Regressor(), train, val)
    print(f"polishing: {polish.summary()}")
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
