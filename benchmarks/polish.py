"""Benchmark: batched polishing of a 512-neuron first layer (n = 20,000, d = 64, with bias) against
the per-neuron reference loop, measured in one run. Ends with one JSON line.

Run: ``.venv/bin/python benchmarks/polish.py [--device cpu|cuda] [--threads 1] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.algorithms import polish_layer, polish_layer_reference


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--m", type=int, default=512)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_timing_args(p, repeats=5)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.d, generator=g)
    w = torch.randn(args.m, args.d, generator=g) / args.d**0.5
    b = torch.randn(args.m, generator=g) * 0.1
    dev = torch.device(args.device)
    xd, wd, bd = x.to(dev), w.to(dev), b.to(dev)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    polish_layer(wd, bd, xd)  # warm-up
    batched, res = timed(lambda: polish_layer(wd, bd, xd), args.repeats, sync=dev.type == "cuda")
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if dev.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    reference, ref = timed(lambda: polish_layer_reference(w, b, x), args.repeats)
    diff = max(float((res.weight.cpu() - ref.weight).abs().max()), float((res.bias.cpu() - ref.bias).abs().max()))
    same_idx = bool(torch.equal(res.indices.cpu(), ref.indices))
    speedup = reference.median / batched.median
    print(f"polish {args.m} neurons, n = {args.n}, d = {args.d} (+ bias, r = {res.rank}) on {args.device}: "
          f"batched {batched.text('ms')}, per-neuron reference {reference.text()} -> {speedup:.1f}x; "
          f"same explanations: {same_idx}; max |diff| {diff:.1e}; max residual {float(res.residual.max()):.1e}; "
          f"peak memory {'GPU' if dev.type == 'cuda' else 'process RSS'} {peak:.0f} MB (RSS before: {rss0:.0f} MB)")  # fmt: skip
    print_json({"device": args.device, **batched.json("batched"), **reference.json("reference"),
                "speedup_vs_reference": round(speedup, 1), "max_abs_diff": diff, "same_indices": same_idx,
                "peak_memory_mb": round(peak, 1)}, args)  # fmt: skip


if __name__ == "__main__":
    main()
