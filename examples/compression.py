"""Compress your polytope-cover network during training and get its cover (polytope-basis-covers paper, Alg. 2).

The callback works on a :class:`~lightning_poly.nn.CoverNetwork`, the network (6) of the paper, that your
module holds and exposes through ``cover_network()``. Plain DataLoaders, a wandb run (offline by default):

    python examples/compression.py --epochs 100
"""

import argparse

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import CompressionCallback
from lightning_poly.nn import CoverNetwork, cover_loss


class CoverClassifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = CoverNetwork(input_dim=2, pieces=2, width=8, seed=0)  # P - Q: two polytopes, signs +1, -1

    def cover_network(self) -> CoverNetwork:
        return self.net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return cover_loss(self(x), y, "bce")  # loss (14)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=2e-2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.rand(600, 2) * 2 - 1
    y = ((x.abs().max(dim=1).values < 0.8) & (x.abs().max(dim=1).values > 0.3)).long()  # a square frame
    train = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True)
    steps = args.epochs * len(train)
    compress = CompressionCallback(every_n_steps=max(1, steps // 10), start_step=steps // 2)
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[compress], enable_progress_bar=False)
    trainer.fit(CoverClassifier(), train)
    print(f"compression: {compress.summary()}")
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
