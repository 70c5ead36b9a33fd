"""Benchmark: the compressing algorithm (Algorithm 1) and the compression callback's training overhead.

Measured in one run on one machine:

* one compression call (``CompressionCallback._run``: Algorithm 1 on all pieces, optimiser-state reset,
  cover extraction, metrics) on the swiss roll with the paper's 2-320-16-1 network, against one
  training step of the same module (Lightning, batch 100);
* the vectorised implication test against the per-pair loop of Algorithm 1 as written (baseline);
* the training-time overhead of the callback at its default frequency (every 1000 steps): the same
  fit with and without it (median of ``--repeats``);
* optionally (``--fashion``), one Fashion-MNIST Table 1 task (class 1, the example's recipe), its wall time, and
  the margin refinement of its polytope with the working set against full-batch L-BFGS (same start).

Run: ``.venv/bin/python benchmarks/compression.py [--fashion] [--threads 1] [--repeats 3]``. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import Timing, add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.algorithms import polytope_hinge_refit
from lightning_poly.algorithms.covers.compress import redundant_neurons
from lightning_poly.callbacks import CompressionCallback
from lightning_poly.datamodules import SyntheticDataModule
from lightning_poly.modules import PolytopeCoverModule
from lightning_poly.pipelines import (
    SMOOTH_HEAD_TRAINING,
    fit_polytope,
    quiet_lightning,
    quiet_trainer,
    two_polytope_cover,
)


def _fit(epochs: int, callbacks: list, accelerator: str) -> tuple[float, pl.Trainer, PolytopeCoverModule]:  # type: ignore[type-arg]
    pl.seed_everything(0, verbose=False)
    dm = SyntheticDataModule("swiss_roll", n_samples=1000, val_fraction=0.0, batch_size=100)
    module = PolytopeCoverModule(2, 16, 20, hard_sign=True)
    trainer = quiet_trainer(epochs, callbacks, accelerator=accelerator)
    start = time.perf_counter()
    trainer.fit(module, dm)
    return time.perf_counter() - start, trainer, module


def _pairwise_reference(active: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """Algorithm 1's first loop as written: for k, l: does every point activating l activate k?"""
    pieces, _, m = active.shape
    out = torch.zeros(pieces, m, dtype=torch.bool)
    for j in range(pieces):
        for k in range(m):
            for l_ in range(m):
                al = active[j, :, l_]
                if k != l_ and live[j, k] and live[j, l_] and bool(al.any()) and bool(active[j, al, k].all()):
                    out[j, k] = True
    return out


def main() -> None:
    quiet_lightning()
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=300, help="3,000 steps: 3 compressions at the default frequency")
    p.add_argument("--fashion", action="store_true", help="also time one Fashion-MNIST Table 1 task")
    p.add_argument("--accelerator", default="auto")
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")
    # 1. training step vs compression call
    seconds, trainer, module = _fit(20, [], args.accelerator)
    steps = trainer.global_step
    cb = CompressionCallback(every_n_steps=0, finalise=False, count_facets=False, plot=False)
    cb.setup(trainer, module, "fit")
    cb._run(trainer, module, "step")  # warm-up
    calls = []
    for _ in range(20):
        start = time.perf_counter()
        cb._run(trainer, module, "step")
        calls.append(time.perf_counter() - start)
    compress = Timing(calls)
    compress_ms = 1000 * compress.median
    # 2. per-step time from fits with and without the callback at its default frequency
    base_t = Timing([_fit(args.epochs, [], args.accelerator)[0] for _ in range(args.repeats)])
    with_t = Timing(
        [
            _fit(args.epochs, [CompressionCallback(count_facets=False, plot=False)], args.accelerator)[0]
            for _ in range(args.repeats)
        ]
    )
    base, with_cb = base_t.median, with_t.median
    total_steps = args.epochs * 10
    step_ms = 1000 * base / total_steps
    overhead = (with_cb - base) / base
    # 3. vectorised implication test vs the per-pair loop (baseline)
    net = module.net.cpu()
    x, _ = trainer.datamodule.train_tensors()
    active = (torch.einsum("nd,jmd->jnm", x, net.w.detach()) + net.b.detach()[:, None, :] > 0) & net.mask[:, None, :]
    vec, fast = timed(lambda: redundant_neurons(active, net.mask), max(10, args.repeats))
    loop, slow = timed(lambda: _pairwise_reference(active, net.mask), args.repeats)
    vec_ms, loop_ms = 1000 * vec.median, 1000 * loop.median
    assert torch.equal(fast, slow), "vectorised implication test disagrees with the per-pair loop"
    print(f"swiss roll, 1,000 points, 2-320-16-1 cover network ({steps} warm-up steps)")
    print(f"  one training step (batch 100):           {step_ms:8.2f} ms")
    print(
        f"  one compression call (callback):         {compress_ms:8.2f} ms  = {compress_ms / step_ms:.1f} training steps"
    )
    print(f"  implication test, vectorised:            {vec_ms:8.2f} ms")
    print(f"  implication test, per-pair loop (paper): {loop_ms:8.2f} ms  -> {loop_ms / vec_ms:.0f}x")
    print(
        f"  fit {total_steps} steps without / with the callback (every 1000 steps): "
        f"{base_t.text()} / {with_t.text()} -> overhead {100 * overhead:.1f}% (run-to-run noise included)"
    )
    expected = compress_ms / (1000 * step_ms)
    print(f"  expected overhead at every 1000 steps: one call per 1000 steps = {100 * expected:.2f}%")  # fmt: skip
    figures = {
        "compress_call_ms": round(compress_ms, 3), "train_step_ms": round(step_ms, 3),
        "compress_call_in_steps": round(compress_ms / step_ms, 2), "callback_overhead_fraction": round(overhead, 4),
        "callback_overhead_expected": round(expected, 5),
        "implication_vectorised_ms": round(vec_ms, 3), "implication_loop_ms": round(loop_ms, 1),
        "implication_speedup": round(loop_ms / vec_ms, 1), "compress_call_spread": round(compress.spread, 3),
        "fit_spread": round(max(base_t.spread, with_t.spread), 3),
    }  # fmt: skip
    if args.fashion:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "papers"))
        import fashion_covers as fc

        x, y = fc.load(1, False, None)
        start = time.perf_counter()
        res = two_polytope_cover(x, y, 0.9999)
        figures["fashion_task_s"] = round(time.perf_counter() - start, 1)
        print(f"  Fashion-MNIST Table 1 task {{1}} (P: 64 faces, 20 epochs + margin refinement, then dropping): "
              f"{figures['fashion_task_s']} s, faces {res.faces}, accuracy {res.accuracy:.5f}")  # fmt: skip
        # the margin refinement: working set (points near their margin) against full-batch L-BFGS, same start
        training = replace(SMOOTH_HEAD_TRAINING, epochs=5)
        a, b = fit_polytope(x, y, training).module.cover_network().polytope_faces(0, training.beta)
        timings = {}
        for ws in (True, False):
            _, _, rep = polytope_hinge_refit(a, b, x, y > 0, working_set=ws)
            timings[ws] = rep
        ws_rep, full_rep = timings[True], timings[False]
        figures.update(
            refine_working_set_s=round(ws_rep.seconds, 2), refine_full_batch_s=round(full_rep.seconds, 2),
            refine_speedup=round(full_rep.seconds / ws_rep.seconds, 2),
            refine_loss_working_set=ws_rep.loss_after, refine_loss_full_batch=full_rep.loss_after,
        )  # fmt: skip
        print(f"  margin refinement of that P (64 faces, 70,000 x 784): working set {ws_rep.seconds:.1f} s "
              f"(largest set {ws_rep.active_max}), full batch {full_rep.seconds:.1f} s -> {figures['refine_speedup']}x; "
              f"objective {ws_rep.loss_after:.4g} / {full_rep.loss_after:.4g}")  # fmt: skip
    print_json(figures, args)


if __name__ == "__main__":
    main()
