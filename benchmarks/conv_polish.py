"""Benchmark: batched polishing of one 32-filter 3x3 Conv2d layer on 20,000 1x28x28 images (Fashion-MNIST's
size; ``--fashion`` the real training images, else seeded uniform ones) against the per-filter loop, on the
same seeded sample of patches, measured in one run. Ends with one JSON line.

Both sides include the sample and gather of the patches (``polish_conv2d`` and ``polish_conv2d_reference``
as a user calls them); the shared part is timed alone too.

Run: ``.venv/bin/python benchmarks/conv_polish.py [--fashion] [--device cpu|cuda] [--threads 1] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.algorithms import polish_conv2d, polish_conv2d_reference
from lightning_poly.algorithms.polishing.conv import _patches


def _images(n: int, fashion: bool) -> torch.Tensor:
    if not fashion:
        return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    from lightning_poly.datamodules import FashionMNISTDataModule

    x, _ = FashionMNISTDataModule(flatten=False, val_fraction=0.0, order="file").train_tensors()
    return x[:n].float()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20_000, help="images")
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--max-patches", type=int, default=100_000)
    p.add_argument("--fashion", action="store_true", help="the real Fashion-MNIST training images")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_timing_args(p, repeats=5)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    torch.manual_seed(0)
    dev = torch.device(args.device)
    conv = nn.Conv2d(1, args.filters, 3).to(dev)
    x = _images(args.n, args.fashion).to(dev)
    sync = dev.type == "cuda"
    polish_conv2d(conv, x, args.max_patches)  # warm-up
    patches, _ = timed(lambda: _patches(conv, x, args.max_patches, 0), args.repeats, sync=sync)
    batched, res = timed(lambda: polish_conv2d(conv, x, args.max_patches), args.repeats, sync=sync)
    reference, ref = timed(lambda: polish_conv2d_reference(conv, x, args.max_patches), args.repeats, sync=sync)
    diff = max(float((res.weight - ref.weight).abs().max()), float((res.bias - ref.bias).abs().max()))  # type: ignore[operator]
    same = bool(torch.equal(res.positions, ref.positions))
    speedup = reference.median / batched.median
    data = "Fashion-MNIST" if args.fashion else "uniform"
    print(f"polish Conv2d(1, {args.filters}, 3) on {args.n} {data} 1x28x28 images, {res.n_patches} of "
          f"{args.n * 26 * 26} patches (r = {res.rank}) on {args.device}: batched {batched.text('ms')}, per-filter "
          f"loop {reference.text('ms')} -> {speedup:.1f}x (both include sampling the patches, "
          f"{patches.text('ms')}); same patches chosen: {same}; max |diff| {diff:.1e}; "
          f"max residual {float(res.residual.max()):.1e}")  # fmt: skip
    print_json({"device": args.device, "data": data, "n_images": args.n, "n_patches": res.n_patches,
                **batched.json("batched"), **reference.json("reference"), **patches.json("patches"),
                "conv_polish_speedup": round(speedup, 1), "max_abs_diff": diff, "same_positions": same}, args)  # fmt: skip


if __name__ == "__main__":
    main()
