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
from typing import Any

import torch

from lightning_poly.pipelines.face_histograms import whole_arrangement_study


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

    def show(r: dict[str, Any]) -> None:
        whole, sampled = r["whole"], r["sampled"]
        bound = f"Theorem {r['bound'][0][7:]}: {r['bound'][1]:.2f}" if r["bound"] else "none"
        print(f"| {r['network']} | {bound} | {whole.n_regions:,}, {whole.mean:.2f} ({whole.mean_network_faces:.2f}) | "
              f"{sampled.n_regions:,}, {sampled.mean:.2f} ({sampled.mean_network_faces:.2f}) | "
              f"{r['seconds_whole']:.1f} / {r['seconds_sampled']:.1f} |", flush=True)  # fmt: skip

    whole_arrangement_study(box=args.box, n_points=args.points, max_dim=2 if args.quick else None, on_row=show)


if __name__ == "__main__":
    main()
