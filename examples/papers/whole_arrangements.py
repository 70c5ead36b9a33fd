"""Theorems 8-10 of "Deep ReLU Networks Have Surprisingly Simple Polytopes" checked on whole arrangements.

For each network, every region of the box (``face_histogram(..., regions="all")``, from the region complex)
beside the regions found by 8,000 uniform points (``regions="sampled"``, the paper's protocol), and the mean-faces
bound that applies (Theorem 8: one hidden layer; Theorem 10: zero biases; Theorem 9: d = 2). Networks: PyTorch's
default ``nn.Linear`` initialisation (uniform weights and biases), seed 0; ``zero bias``: the hidden biases set
to 0. One thread. Prints a markdown table, a row per network as it ends.

    python examples/papers/whole_arrangements.py [--box 1.0] [--points 8000] [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from lightning_poly.geometry import face_histogram

NETWORKS = (  # d, hidden widths, zero bias
    (2, [20], False), (2, [100], False), (2, [40, 40], False), (2, [20, 20, 20], False), (2, [40, 40], True),
    (3, [10], False), (3, [40], False), (3, [20, 20], False), (3, [12, 12, 12], False), (3, [16, 16], True),
    (4, [8], False), (4, [24], False), (4, [12, 12], False), (4, [10, 10], True),
)  # fmt: skip


def network(d: int, widths: list[int], zero_bias: bool, seed: int = 0) -> nn.Sequential:
    """A seeded ReLU MLP of PyTorch's default initialisation (hidden biases 0 with ``zero_bias``)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, w in enumerate(widths):
        lin = nn.Linear(d if i == 0 else widths[i - 1], w)
        if zero_bias:
            nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1)).double()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=float, default=1.0)
    parser.add_argument("--points", type=int, default=8000)
    parser.add_argument("--quick", action="store_true", help="the d = 2 networks only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| network | bound | every region: regions, mean faces (network faces) | sampled: regions, mean faces "
          "(network faces) | seconds (all / sampled) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for d, widths, zero_bias in NETWORKS:
        if args.quick and d > 2:
            continue
        net = network(d, widths, zero_bias)
        t0 = time.perf_counter()
        whole = face_histogram(net, n_points=args.points, box=args.box, regions="all", max_regions=500_000)
        t1 = time.perf_counter()
        sampled = face_histogram(net, n_points=args.points, box=args.box)
        t2 = time.perf_counter()
        assert whole.regions == "all", whole.notes
        name = "-".join(map(str, [d, *widths, 1])) + (" zero bias" if zero_bias else "")
        bound = f"Theorem {whole.bound[0][7:]}: {whole.bound[1]:.2f}" if whole.bound else "none"
        print(f"| {name} | {bound} | {whole.n_regions:,}, {whole.mean:.2f} ({whole.mean_network_faces:.2f}) | "
              f"{sampled.n_regions:,}, {sampled.mean:.2f} ({sampled.mean_network_faces:.2f}) | "
              f"{t1 - t0:.1f} / {t2 - t1:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
