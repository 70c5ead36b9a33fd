"""Benchmark: the torch solver (ADMM with a Woodbury-factored linear step) vs cvxpy (Clarabel) on a gated group-lasso problem, one run, same machine.

n = 2,000, d = 20 (+ bias), 500 Gaussian gates, squared loss. Prints both objectives, times, the ratio,
the forward/backward throughput of a GatedReLU, and ends with one JSON line.
Run: ``.venv/bin/python benchmarks/convex.py [--device cpu|cuda] [--lam 1e-3] [--threads 1] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.nn.gated import GatedReLU, augment
from lightning_poly.solvers.gated_lasso import gated_lasso_admm, gated_lasso_cvxpy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--gates", type=int, default=500)
    p.add_argument("--lam", type=float, default=1e-3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.d, generator=g, dtype=torch.float64)
    teacher = torch.randn(10, args.d + 1, generator=g, dtype=torch.float64)
    y = (
        torch.relu(augment(x, True) @ teacher.T).sum(1)
        - 2
        + 0.1 * torch.randn(args.n, generator=g, dtype=torch.float64)
    )
    gates = torch.randn(args.gates, args.d + 1, generator=g, dtype=torch.float64)
    xt = augment(x, True)
    mask = (xt @ gates.T > 0).double()
    dev = torch.device(args.device)
    cvx, ref = timed(lambda: gated_lasso_cvxpy(xt, mask, y, args.lam), args.repeats)
    gated_lasso_admm(xt.to(dev), mask.to(dev), y.to(dev), args.lam, rel_gap=1e-1)  # warm-up
    admm, sol = timed(
        lambda: gated_lasso_admm(xt.to(dev), mask.to(dev), y.to(dev), args.lam, rel_gap=1e-4),
        args.repeats,
        sync=dev.type == "cuda",
    )
    cvx_s, torch_s = cvx.median, admm.median
    rel = abs(sol.objective - ref.objective) / abs(ref.objective)
    print(f"gated group lasso n={args.n}, d={args.d}+1, {args.gates} gates, lambda={args.lam}: cvxpy/Clarabel "
          f"{cvx.text()} (objective {ref.objective:.6f}, its certified gap {ref.rel_gap:.1e}); torch ADMM on {args.device} "
          f"{admm.text()}, {sol.iterations} iterations (objective {sol.objective:.6f}, certified gap {sol.rel_gap:.1e}); "
          f"speed-up {cvx_s / torch_s:.1f}x; objectives differ by {rel:.1e} (relative)")  # fmt: skip
    net = GatedReLU(gates.float(), bias=True).to(dev)
    xb = x.float().to(dev)
    for _ in range(3):
        net(xb).sum().backward()
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        net.zero_grad()
        net(xb).pow(2).mean().backward()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    thr = reps * args.n * args.gates / (time.perf_counter() - t0)
    print(f"GatedReLU forward+backward: {thr:,.0f} samples x gates per second")
    print_json({"device": args.device, **admm.json("torch"), **cvx.json("cvxpy"),
                "speedup_vs_cvxpy": round(cvx_s / torch_s, 1), "objective_rel_diff": rel,
                "torch_rel_gap": sol.rel_gap, "cvxpy_rel_gap": ref.rel_gap, "torch_iterations": sol.iterations,
                "samples_gates_per_second": round(thr)}, args)  # fmt: skip


if __name__ == "__main__":
    main()
