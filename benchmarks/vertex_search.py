"""Benchmark: program (3) on every neighbour of a vertex, batched torch solver vs one cvxpy solve each; one mGLS run.

Table A3's setting (zonotope paper, appendix H.2): Fashion-MNIST pullover vs coat, the first 8 PCA-whitened
components, N = 350 training examples (the first in file order, as the paper), m = 16 units, v half +1 / half -1, logistic loss, output
bias optimised. (Gaussian data of the same shape if Fashion-MNIST is not installed; the line says which.)
The batched solver runs on every neighbour; cvxpy (Clarabel, tolerances 1e-10) on a sample of them, and
the objectives are compared there (where cvxpy reports "optimal"; its "optimal_inaccurate" answers
are counted and compared apart). Then one mGLS run from a Gaussian vertex, at most ``--mgls-steps``
moves. Ends with one JSON line.

Run: ``.venv/bin/python benchmarks/vertex_search.py [--cvxpy-sample 8] [--mgls-steps 30] [--threads 1] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import Timing, add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.algorithms import modified_greedy_local_search, neighbour_programs
from lightning_poly.datamodules import pullover_coat_first
from lightning_poly.geometry import facet_rows, random_vertex, vertex_neighbors
from lightning_poly.solvers import vertex_program, vertex_program_cvxpy


def _data(n: int, d: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        x, y = pullover_coat_first(n, d)
        return x, y, "Fashion-MNIST pullover/coat, PCA-whitened, the first in file order"
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        return x, (x[:, 0] * x[:, 1] > 0).double(), f"Gaussian stand-in (Fashion-MNIST unavailable: {err})"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=350)
    p.add_argument("--d", type=int, default=8)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--cvxpy-sample", type=int, default=8)
    p.add_argument("--mgls-steps", type=int, default=30)
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    x, y, what = _data(args.n, args.d)
    v = torch.tensor([1.0, -1.0] * (args.m // 2), dtype=torch.float64)
    print(f"data: {what}; N = {len(x)}, d = {x.shape[1]}, m = {args.m}, logistic loss")
    pattern, _ = random_vertex(x, args.m, seed=0)
    current = vertex_program(x, y, pattern, v, loss="logistic")
    t0 = time.perf_counter()
    flips = vertex_neighbors(x, pattern)
    edges_s = time.perf_counter() - t0
    facets = facet_rows(flips, tuple(pattern.shape))  # the edges are the facets of the cones
    batched, (pats, sols) = timed(
        lambda: neighbour_programs(x, y, pattern, current, flips, v, loss="logistic", facets=facets), args.repeats
    )
    per_batched = batched.median / len(flips)
    sample = torch.randperm(len(flips), generator=torch.Generator().manual_seed(1))[: args.cvxpy_sample].tolist()
    seconds, rel, rel_all, inaccurate, lower = [], 0.0, 0.0, set(), True
    for _ in range(args.repeats):
        for i in sample:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                ref = vertex_program_cvxpy(x, y, pats[i], v, loss="logistic")
                seconds.append(time.perf_counter() - t0)
            diff = abs(float(sols.objective[i] - ref.objective[0])) / abs(float(ref.objective[0]))
            rel_all = max(rel_all, diff)
            if any("inaccurate" in str(w.message) for w in caught):  # cvxpy's status optimal_inaccurate
                inaccurate.add(i)
                lower = lower and float(sols.objective[i]) <= float(ref.objective[0])  # cvxpy's point is the worse
            else:
                rel = max(rel, diff)
    cvx = Timing(seconds)
    speedup = cvx.median / per_batched
    print(f"edges of the vertex (facets of 16 cones): {len(flips)} neighbours in {edges_s:.2f} s")
    print(f"all {len(flips)} neighbours, batched torch solver: {batched.text()} = {per_batched * 1e3:.1f} ms each "
          f"({len(flips) / batched.median:.1f} neighbours/s), largest gap bound {float(sols.gap.max()):.1e}")  # fmt: skip
    print(f"cvxpy/Clarabel, one solve per neighbour ({len(sample)} sampled): {cvx.text()} each -> {speedup:.1f}x; "
          f"largest relative objective difference {rel:.1e} where cvxpy reports optimal ({len(inaccurate)} of "
          f"{len(sample)} optimal_inaccurate, ours {'lower' if lower else 'not lower'} there; with them {rel_all:.1e})")  # fmt: skip
    rec = modified_greedy_local_search(x, y, v, max_steps=args.mgls_steps, loss="logistic", seed=0)
    acc = float(((torch.relu(torch.cat([x, torch.ones(len(x), 1)], 1) @ rec.weight.T) @ v + rec.output_bias > 0)
                 .double() == y).double().mean())  # fmt: skip
    print(f"mGLS (m = {args.m}, at most {args.mgls_steps} moves): loss {rec.trace[0]:.4f} -> {rec.loss:.4f}, "
          f"training accuracy {100 * acc:.1f}%, {rec.steps} moves ({rec.stopped}), {rec.programs} programs, "
          f"{rec.seconds:.1f} s")  # fmt: skip
    print_json({
        "data": what.split(" (")[0], "neighbours": len(flips), "edges_seconds": round(edges_s, 3),
        **batched.json("batched_all_neighbours"), "cvxpy_seconds_per_neighbour": round(cvx.median, 4),
        "cvxpy_spread": round(cvx.spread, 3), "speedup_vs_cvxpy": round(speedup, 2), "objective_rel_diff": rel,
        "cvxpy_inaccurate": len(inaccurate), "objective_rel_diff_with_inaccurate": rel_all,
        "inaccurate_ours_lower": lower,
        "largest_gap": float(sols.gap.max()),
        "neighbours_per_second": round(len(flips) / batched.median, 2), "mgls_seconds_m16": round(rec.seconds, 1),
        "mgls_steps": rec.steps, "mgls_stopped": rec.stopped, "mgls_loss": rec.loss, "mgls_accuracy": acc,
    }, args)  # fmt: skip


if __name__ == "__main__":
    main()
