"""Face counts on a network with duplicated neurons: every method against an LP oracle that merges duplicates.

An 8-20-12-1 float64 network in which a third of each layer's neurons copy others, one is a 2.5x
scaled copy and one a sign-flipped copy; 1,000 points uniform in [-1, 1]^8. For every method the number
of regions counted wrong (too low, too high) against ``tests/helpers/facet_oracle.py`` and its time;
the estimator must never exceed the oracle. Ends with one JSON line.

Run: ``.venv/bin/python benchmarks/degenerate_faces.py [--d 8] [--points 1000] [--threads 1] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.geometry import count_facets, count_region_faces, enumerate_regions, region_hrep, sample_box
from tests.helpers.facet_oracle import degenerate_network, oracle_facets


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--d", type=int, default=8)
    p.add_argument("--points", type=int, default=1000)
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    # layer l, neuron i copied onto i+1+k with SCALES[k]: plain copies (k=0), 2.5x (1), sign-flipped (2)
    copies = [(layer, i, k) for layer in (0, 1) for i, k in [(0, 0), (2, 1), (4, 2), (6, 0), (8, 0)]]
    net = degenerate_network(args.d, [20, 12], copies, dead=1, zero_bias=False, seed=0)
    regions = enumerate_regions(net, sample_box(args.points, args.d, seed=0))
    a, b = region_hrep(net, regions.patterns)
    truth = torch.tensor([oracle_facets(a[r].numpy(), b[r].numpy()) for r in range(len(regions))])
    print(
        f"{args.d}-20-12-1 with duplicated neurons: {len(regions)} regions, oracle mean faces {truth.double().mean():.2f}"
    )
    figures: dict[str, object] = {"regions": len(regions)}
    methods = ["auto", "simplex", "clarkson", "reference"] + (["qhull"] if args.d <= 6 else [])
    for method in methods:
        t, res = timed(lambda m=method: count_facets(a, b, m, interior=regions.points), args.repeats)  # type: ignore[misc]
        low, high = int((res.counts < truth).sum()), int((res.counts > truth).sum())
        print(f"  {method:9s}: {low + high} regions wrong ({low} too low, {high} too high), {t.text()}")
        figures.update({f"{method}_wrong": low + high, **t.json(method)})
    t, est = timed(lambda: count_region_faces(net, regions, method="estimate"), args.repeats)
    above, below = int((est.counts > truth).sum()), int((est.counts < truth).sum())
    print(f"  estimate : {above} regions above the oracle, {below} below (lower bounds), {t.text()}")
    figures.update(estimate_above=above, estimate_below=below, **t.json("estimate"))
    print_json(figures, args)


if __name__ == "__main__":
    main()
