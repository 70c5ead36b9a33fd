"""Benchmark: batched polishing of a 512-neuron first layer (n = 20,000, d = 64, with bias) against
the per-neuron reference loop and against its floor (the float32 product X W^T and the top-k selection alone,
timed interleaved with it in the same run: ``polish_over_floor``); the paper's refit of the polished layer (the
weighted Lasso of eq. (96)-(98), squared loss) against the ridge refit, both with their certified duality gaps
(``l1_over_ridge``); and the exact p = 1 Lasso of Theorem 16 (n = 40 points in the plane, biases). Ends with one
JSON line.

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
from lightning_poly.data import spiral
from lightning_poly.solvers.exact_l1 import l1_network_optimum
from lightning_poly.solvers.lasso import weighted_lasso
from lightning_poly.solvers.refit import refit_last_layer


def _floor(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, chunk: int = 256) -> None:
    """What polishing cannot avoid: the float32 product of the augmented inputs and neurons, and the top-k."""
    z = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], 1).float()
    wa = torch.cat([w, b[:, None]], 1).float()
    k = z.shape[1] - 1
    for sl in torch.arange(len(wa), device=wa.device).split(chunk):
        torch.topk((wa[sl] @ z.T).abs_(), k + max(8, k // 4), dim=1, largest=False, sorted=False)


def _interleaved(fa, fb, repeats: int, sync: bool):  # type: ignore[no-untyped-def]
    """Medians of ``fa`` and ``fb`` run alternately (a loaded machine slows both alike)."""
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(timed(fa, 1, sync)[0].median)
        tb.append(timed(fb, 1, sync)[0].median)
    return sorted(ta)[len(ta) // 2], sorted(tb)[len(tb) // 2]


def _ridge_gap(h: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, l2: float) -> float:
    """Relative duality gap of the ridge refit :math:`\\frac1n\\|Hv + c - y\\|^2 + \\lambda\\|v\\|^2` at ``(v, c)``:
    the dual at :math:`\\theta = 2r/n` (centred), :math:`-\\theta^\\top y - \\frac n4\\|\\theta\\|^2 -
    \\|H^\\top\\theta\\|^2 / (4\\lambda)`."""
    r = h @ weight[0] + bias[0] - y
    theta = 2 * (r - r.mean()) / len(y)
    primal = float((r**2).mean() + l2 * (weight**2).sum())
    dual = float(-(theta @ y) - len(y) / 4 * (theta @ theta) - (h.T @ theta).pow(2).sum() / (4 * l2))
    return (primal - dual) / abs(primal)


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
    sync = dev.type == "cuda"
    t_polish, t_floor = _interleaved(lambda: polish_layer(wd, bd, xd), lambda: _floor(wd, bd, xd), args.repeats, sync)
    print(f"polish_layer {t_polish * 1e3:.1f} ms against its floor (float32 X W^T + top-k alone) "
          f"{t_floor * 1e3:.1f} ms: polish_over_floor {t_polish / t_floor:.2f}")  # fmt: skip
    figures = _refits(x, args.repeats)
    print_json({"device": args.device, **batched.json("batched"), **reference.json("reference"),
                "speedup_vs_reference": round(speedup, 1), "max_abs_diff": diff, "same_indices": same_idx,
                "peak_memory_mb": round(peak, 1), "polish_seconds": round(t_polish, 5),
                "floor_seconds": round(t_floor, 5), "polish_over_floor": round(t_polish / t_floor, 2),
                **figures}, args)  # fmt: skip


def _refits(x: torch.Tensor, repeats: int) -> dict[str, float]:
    """The paper's refit (weighted Lasso, weight decay 1e-3, p = 2) against the ridge refit on the polished layer's
    features (CPU, float64), and the exact p = 1 Lasso at Figure 8's size; printed, and the figures returned."""
    g = torch.Generator().manual_seed(1)
    d = x.shape[1]
    w = torch.randn(512, d, generator=g) / d**0.5
    pol = polish_layer(w, torch.randn(512, generator=g) * 0.1, x, p=2)
    h = torch.relu(x.double() @ pol.weight.double().T + pol.bias.double())
    y = torch.sin(2 * x.double() @ torch.randn(d, generator=g, dtype=torch.float64) / d**0.5)
    l1_time, l1 = timed(lambda: weighted_lasso(h, y, "squared", 1e-3, tol=1e-9), repeats)
    ridge_time, ridge = timed(lambda: refit_last_layer(h, y, "squared", l2=1e-6), repeats)
    ridge_gap = _ridge_gap(h, y, ridge.weight, ridge.bias, 1e-6)
    l1_gap = l1.gap / abs(l1.objective)
    print(f"refit of 512 polished neurons, n = {len(x)}: weighted Lasso (the paper's) {l1_time.text()}, relative gap "
          f"{l1_gap:.1e}, {int((l1.weight != 0).sum())} neurons kept; ridge {ridge_time.text()}, relative gap "
          f"{ridge_gap:.1e} -> l1_over_ridge {l1_time.median / ridge_time.median:.2f}")  # fmt: skip
    xs, ys = spiral(40, seed=0, signed=True)
    exact_time, exact = timed(lambda: l1_network_optimum(xs.double(), ys.double(), beta=2e-5), repeats)
    print(f"exact p = 1 Lasso (Theorem 16), n = 40 in the plane with biases, {exact.n_columns} columns: "
          f"{exact_time.text()}, relative gap {exact.gap / exact.objective:.1e}")  # fmt: skip
    return {"l1_refit_seconds": round(l1_time.median, 4), "ridge_refit_seconds": round(ridge_time.median, 4),
            "l1_over_ridge": round(l1_time.median / ridge_time.median, 2), "l1_refit_gap": l1_gap,
            "ridge_refit_gap": ridge_gap, "exact_l1_seconds": round(exact_time.median, 4),
            "exact_l1_gap": exact.gap / exact.objective}  # fmt: skip


if __name__ == "__main__":
    main()
