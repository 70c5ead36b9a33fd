"""Figures of your binary classifier's decision regions on 2-D data, logged as training goes.

Your LightningModule, plain DataLoaders, `DecisionBoundaryCallback`, a wandb run (offline unless you go online):

    python examples/decision_boundary.py --epochs 20
"""

import argparse

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import DecisionBoundaryCallback


class Classifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))  # two logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.rand(400, 2) * 2 - 1
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()  # XOR
    train = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=True)
    regions = DecisionBoundaryCallback(every_n_epochs=max(1, args.epochs // 2), resolution=100)
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[regions], enable_progress_bar=False)
    model = Classifier()
    trainer.fit(model, train)
    accuracy = float((model(x).argmax(1) == y).float().mean())
    print(f"train accuracy {accuracy:.3f}; decision-region figures: {[str(p) for p in regions.paths]}")
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
