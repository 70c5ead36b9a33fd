"""Seconds per call of ``FaceHistogramCallback`` on a user's MLP, by input size, and exact counting at d = 8.

A user's LightningModule (``self.net``, plain DataLoaders) with 30 features (breast-cancer sized) and 8,
trained one epoch; the callback runs at fit start and fit end with every default (8,000 uniform points,
exact counting up to ``exact_max_dim`` inputs and the estimator above, a 20 s counting budget per call).
Then the exact case: an 8-40-40-1 MLP, ``FaceHistogramCallback(method="simplex", max_seconds=None)``, 8,000
points, every region counted exactly. Prints one line per call and a JSON last line. Not a test:
timings depend on the machine.

    python benchmarks/face_histogram_callback.py [--threads 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_poly.callbacks import FaceHistogramCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import Timing, add_timing_args, apply_threads, machine, print_json


class UserMLP(pl.LightningModule):
    def __init__(self, d: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        x, y = batch
        return nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y.float())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dims", type=int, nargs="+", default=[30, 8])
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    out: dict[str, object] = {}
    for d in args.dims:
        calls: list[float] = []
        for _ in range(args.repeats):
            seconds, regions = _fit_with_callback(d)
            calls += seconds
        timing = Timing(calls)
        print(f"d={d}: seconds per call {timing.text()}")
        out.update({f"{k}_d{d}": v for k, v in timing.json("per_call").items()}, **{f"regions_counted_d{d}": regions})
    calls = []
    for _ in range(args.repeats):
        seconds, regions = _fit_with_callback(8, width=40, exact=True)
        calls += seconds
    timing = Timing(calls)
    print(f"d=8, 8-40-40-1, exact (simplex), every region: seconds per call {timing.text()}")
    out.update({f"{k}_exact_d8": v for k, v in timing.json("per_call").items()}, regions_exact_d8=regions)
    print_json(out, args)


def _fit_with_callback(d: int, width: int = 32, exact: bool = False) -> tuple[list[float], int]:
    """One fit of a user's MLP with the callback at fit start and end: seconds of each call, regions counted."""
    pl.seed_everything(0)
    x = torch.rand(569, d) * 2 - 1
    y = (x[:, 0] + x[:, 1] > 0).long()
    cb = (
        FaceHistogramCallback(every_n_epochs=0, method="simplex", max_seconds=None)
        if exact
        else FaceHistogramCallback(every_n_epochs=0)
    )
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_model_summary=False,
        enable_progress_bar=False, callbacks=[cb],
    )  # fmt: skip
    t0 = time.perf_counter()
    trainer.fit(UserMLP(d, width), DataLoader(TensorDataset(x, y), batch_size=64))
    total = time.perf_counter() - t0
    calls = [h["seconds"] for h in cb.history]
    h = cb.history[-1]
    print(
        f"d={d}: {len(calls)} calls, seconds per call {', '.join(f'{c:.1f}' for c in calls)}; "
        f"{h['regions']} regions counted, {h['uncounted_regions']} left by the budget, exact={bool(h['exact'])}, "
        f"mean faces {h['mean_faces']:.2f}; fit with the callback {total:.1f} s"
    )
    return calls, int(h["regions"])


if __name__ == "__main__":
    main()
