"""Benchmark: rays per second of the face estimator (``hit_and_run_facets``) on the regions of a LeNet-style CNN.

The network (PyTorch's initialisation, seed 0): ``Conv2d(1, 6, 5)``, ReLU, ``MaxPool2d(2)``, ``Conv2d(6, 16, 5)``,
ReLU, ``MaxPool2d(2)``, flatten, 256-120-84-10 with ReLU, on 1x28x28 inputs. The regions are those of
``--regions`` points uniform in ``[0, 1]^784`` (seed 0) inside the box ``[-1, 1]^784``: each region's rows from
``pwl_regions`` (4,684 unit rows, 3,360 max-pool rows and 1,568 box rows of 784 columns), cleaned by
``clean_rows`` (zero rows and duplicates dropped) as ``count_region_faces`` cleans them; the estimator starts
from the points themselves (interior), with the paper's patience of 1,000 rays, 64 chains and at most
``--max-rays`` rays per region. Timed: ``hit_and_run_facets`` alone (as ``benchmarks/faces.py`` times it at
d = 3), repeated; the rows and their cleaning are timed once. Ends with one JSON line.

Run: ``.venv/bin/python benchmarks/cnn_faces.py [--regions 3] [--max-rays 1280] [--device cpu|cuda] [--threads 1]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.geometry import RayEstimate, clean_rows, hit_and_run_facets, interior_points, pwl_regions


def lenet() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    ).eval()  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--regions", type=int, default=3, help="regions (one uniform point each)")
    p.add_argument("--max-rays", type=int, default=1280, help="most rays per region")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    dev = torch.device(args.device)
    net = lenet().to(dev)
    x = torch.rand(args.regions, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    reg = pwl_regions(net, x.to(dev), box=1.0, chunk_size=1)
    rows_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    a_n, b_n, keep, infeasible, stats = clean_rows(reg.a, reg.b, chunk=1)  # one region's distances at a time
    clean_s = time.perf_counter() - t0
    x0, depth, lps = interior_points(a_n, b_n, keep, x.flatten(1).to(a_n))
    assert not bool(infeasible.any()) and bool((depth > 0).all()) and lps == 0, "the points are interior"
    sync = dev.type == "cuda"

    def estimate() -> RayEstimate:
        return hit_and_run_facets(a_n, b_n, x0, keep, patience=1000, max_rays=args.max_rays)

    estimate()  # warm-up
    rays, est = timed(estimate, args.repeats, sync=sync)
    rays_per_s = float(est.rays.sum()) / rays.median
    m, d = reg.a.shape[1], reg.a.shape[2]
    kept = keep.sum(dim=1).double().mean()
    print(f"LeNet-style CNN, {args.regions} regions of uniform points in [0,1]^784: {m} rows x {d} each "
          f"({reg.n_units} units, {reg.n_pool_rows} max-pool rows, {2 * d} box rows; {float(kept):.0f} kept after "
          f"{stats['zero_rows']} zero rows and {stats['duplicates']} duplicates), rows in {rows_s:.1f} s, "
          f"cleaning in {clean_s:.1f} s")  # fmt: skip
    print(f"hit-and-run on {args.device}: {int(est.rays.sum())} rays over {args.regions} regions in {rays.text()} "
          f"= {rays_per_s:,.0f} rays/s; facets found per region {est.counts.tolist()} "
          f"(converged: {est.converged.tolist()}; lower bounds at {args.max_rays} rays)")  # fmt: skip
    print_json({
        "device": args.device, "regions": args.regions, "rows_per_region": m, "input_dim": d,
        "kept_rows_mean": round(float(kept), 1), "rays_per_region": args.max_rays, "rows_seconds": round(rows_s, 2),
        "clean_seconds": round(clean_s, 2), **rays.json("hit_and_run"), "facets_found": est.counts.tolist(),
        "cnn_rays_per_second": round(rays_per_s),
    }, args)  # fmt: skip


if __name__ == "__main__":
    main()
