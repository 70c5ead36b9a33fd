"""Improve your trained one-hidden-layer network by search over activation patterns (zonotope paper, Alg. 2-3).

Your LightningModule, plain DataLoaders, `VertexSearchCallback`, a wandb run (offline unless you go online):

    python examples/vertex_search.py --epochs 20
"""

import argparse

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import VertexSearchCallback


class Regressor(pl.LightningModule):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 1))  # biases, one output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self(x)[:, 0], y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--max-steps", type=int, default=5, help="most moves of the search")
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.randn(40, 2)
    y = torch.relu(x @ torch.tensor([1.0, -1.0]) + 0.3) - torch.relu(x @ torch.tensor([0.5, 1.0]))
    train = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
    search = VertexSearchCallback(max_steps=args.max_steps)  # squared loss: real targets
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[search], enable_progress_bar=False)
    trainer.fit(Regressor(), train)
    print(f"vertex search: {search.summary()}")
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
