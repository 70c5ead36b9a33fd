"""How many ReLU activations still change as your network trains (NTK-convex paper, Section 3).

Your LightningModule, plain DataLoaders, `ActivationDriftCallback`, a wandb run (offline unless you go online):

    python examples/activation_drift.py --epochs 10
"""

import argparse

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import ActivationDriftCallback


class Regressor(pl.LightningModule):
    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self(x)[:, 0], y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.randn(256, 3)
    y = torch.relu(x @ torch.tensor([1.0, -1.0, 0.5]))
    train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    drift = ActivationDriftCallback(every_n_epochs=1, ntk_points=64)
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[drift], enable_progress_bar=False)
    trainer.fit(Regressor(args.width), train)
    for h in drift.history:
        print(f"epoch {h['epoch']}: {h['changed_since_start']:.1%} of activations changed since the start, "
              f"{h['changed_since_last']:.1%} since the last epoch; NTK lambda_min {h['ntk_lambda_min']:.3g}")  # fmt: skip
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
