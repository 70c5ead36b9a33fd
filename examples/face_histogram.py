"""Histogram of the faces of your network's linear regions during training (face-histogram paper).

Your LightningModule, plain DataLoaders, `FaceHistogramCallback`, a wandb run (offline unless you go online):

    python examples/face_histogram.py --epochs 10
"""

import argparse

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import FaceHistogramCallback


class Classifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.binary_cross_entropy_with_logits(self(x)[:, 0], y.float())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--points", type=int, default=2000, help="uniform points in [-1, 1]^2 that find the regions")
    p.add_argument("--save-dir", default="runs/examples")
    args = p.parse_args()
    pl.seed_everything(0)
    x = torch.rand(400, 2) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()  # a disc
    train = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=True)
    faces = FaceHistogramCallback(n_points=args.points, every_n_epochs=max(1, args.epochs // 2))
    logger = WandbLogger(project="lightning-poly-examples", save_dir=args.save_dir, offline=True)
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, callbacks=[faces], enable_progress_bar=False)
    trainer.fit(Classifier(), train)
    for h in faces.history:
        print(f"{h['when']:>9} (epoch {h['epoch']}): {h['regions']} regions, mean faces {h['mean_faces']:.2f}")
    print(f"face histogram: {faces.summary()}")
    print(f"wandb run (offline): {logger.experiment.dir}")
    logger.experiment.finish()


if __name__ == "__main__":
    main()
