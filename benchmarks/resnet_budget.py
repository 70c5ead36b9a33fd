"""Benchmark: ``FaceHistogramCallback`` with every default on torchvision's ResNet-18 (3x32x32) keeps its budget.

A user's LightningModule holding ``torchvision.models.resnet18(num_classes=2)`` (seed 0), trained one epoch of
two batches of 16 random 3x32x32 images (plain DataLoader) with ``FaceHistogramCallback()`` (defaults: 8,000
uniform points in ``[-1, 1]^3072``, ``max_seconds=20``, ``max_memory=4 GiB``); the input shape is taken from the
data. Each call (fit start, the epoch, the end) is timed around the callback's hook and compared with its budget;
the process's peak resident memory is read at the end. With ``--max-seconds S --max-memory-gib G`` the same run
with another budget (e.g. one that lets a region be counted). Measured: one region of this network has 83,008
rows of 3,072 (1.9 GiB of float64 rows) and takes about a minute of rows on one core, so under the defaults the
callback counts no region and says why within its budget. Ends with one JSON line (``within_budget``: every
call's seconds at most the budget + 10 %).

Run: ``.venv/bin/python benchmarks/resnet_budget.py [--threads 1] [--max-seconds 20] [--max-memory-gib 4]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine, print_json

from lightning_poly.callbacks import FaceHistogramCallback


class ResNetModule(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        import torchvision

        torch.manual_seed(0)
        self.net = torchvision.models.resnet18(num_classes=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=1e-3)


class TimedHooks(FaceHistogramCallback):
    """The callback with the wall time of each of its runs (hook entry to exit)."""

    calls: list[tuple[str, float]]

    def _execute(self, trainer: pl.Trainer, pl_module: pl.LightningModule, when: str, hook: str) -> None:
        t0 = time.perf_counter()
        super()._execute(trainer, pl_module, when, hook)
        self.calls = [*getattr(self, "calls", []), (when, time.perf_counter() - t0)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=20.0)
    p.add_argument("--max-memory-gib", type=float, default=4.0)
    args = p.parse_args()
    args.repeats = 1  # one run of three calls: each call is its own measurement
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 3, 32, 32, generator=g) * 2 - 1, torch.randint(0, 2, (32,), generator=g)
    cb = TimedHooks(max_seconds=args.max_seconds, max_memory=int(args.max_memory_gib * 2**30))
    trainer = pl.Trainer(
        max_epochs=1, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir="/tmp/resnet_budget",
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(ResNetModule(), DataLoader(TensorDataset(x, y), batch_size=16))
    budget = args.max_seconds
    for (when, seconds), record in zip(cb.calls, cb.history):
        print(
            f"{when:9s} {seconds:6.1f} s (budget {budget:g} s): {record['regions']} regions counted, "
            f"{record['uncounted_regions']} uncounted, mean faces {record['mean_faces']:.4g}"
        )
    notes = sorted({str(w.message) for w in caught if "face_histogram" in str(w.message)})
    for note in notes:
        print("warning:", note)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory {peak:.2f} GiB; input shape from the data: {cb._shape}")
    print_json(
        {
            "budget_seconds": budget,
            "max_memory_gib": args.max_memory_gib,
            "call_seconds": {w: round(s, 2) for w, s in cb.calls},
            "within_budget": all(s <= 1.1 * budget for _, s in cb.calls),
            "regions_counted": [h["regions"] for h in cb.history],
            "peak_rss_gib": round(peak, 2),
            "notes": notes,
        },
        args,
    )


if __name__ == "__main__":
    main()
