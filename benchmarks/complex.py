"""Benchmark: the whole region complex, batched (``region_complex``) against the one-region-at-a-time walk
(``all_regions`` + ``count_facets``), and against relucent when it can be imported.

Run: ``.venv/bin/python benchmarks/complex.py [--device cpu|cuda] [--threads 1] [--repeats 3] [--skip-walk d8,d4z]
[--only d2,d4]``. Four networks (seeded ``ReLUMLP``, Xavier-normal weights, bias 0.1): 2-32-32-1 in [-1, 1]^2,
4-16-16-1 in [-1, 1]^4, 8-16-16-1 in [-0.25, 0.25]^8, and 4-16-16-1 without biases in [-1, 1]^4 (``d4z``).
The complex certifies every decision (``certify=True``: float64 error bounds, exact arithmetic for the rest; the
rows of each kind are printed); ``--no-certify`` measures ``region_complex``'s default (tolerances). For each: regions, seconds and regions per second of both sides in the same
process at the same thread count, and the regions and facets compared region by region (patterns sorted; the
walk's facets by ``count_facets(method="auto")``). ``--skip-walk`` skips the walk on the cases named (it takes
minutes on d8 and d4z). relucent (PyPI, needs a Gurobi licence) is compared only when importable; otherwise one line says why.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.geometry import count_facets, region_hrep
from lightning_poly.geometry.complex import region_complex
from lightning_poly.geometry.exhaustive import all_regions
from lightning_poly.nn import ReLUMLP

CASES = (  # name, widths, bias, box
    ("d2", [2, 32, 32, 1], 0.1, 1.0),
    ("d4", [4, 16, 16, 1], 0.1, 1.0),
    ("d8", [8, 16, 16, 1], 0.1, 0.25),
    ("d4z", [4, 16, 16, 1], None, 1.0),  # zero biases: every vertex at the origin degenerate
)


def _network(widths: list[int], bias: float | None, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return ReLUMLP(widths, init="xavier_normal", bias_value=bias).double().to(device)


def _walk(net: torch.nn.Module, box: float) -> tuple[torch.Tensor, torch.Tensor]:
    pats = all_regions(net, box=box)
    a, b = region_hrep(net, pats, box)
    return pats.cpu(), count_facets(a, b).facets


def _relucent_line() -> str | None:
    try:
        import relucent  # noqa: F401
    except ImportError as err:
        return f"relucent: skipped (not importable: {err}; it needs `pip install relucent` and a Gurobi licence)"
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--skip-walk", default="", help="comma-separated cases whose walk is skipped (it takes minutes)")
    p.add_argument("--only", default="", help="comma-separated cases to run (d2, d4, d8, d4z); default all")
    p.add_argument("--no-certify", action="store_true", help="decide by tolerances (region_complex's default)")
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}; device {args.device}")
    figures: dict[str, object] = {"device": args.device}
    identical = True
    for name, widths, bias, box in CASES:
        if args.only and name not in args.only.split(","):
            continue
        net = _network(widths, bias, args.device)
        arch = "-".join(map(str, widths))
        region_complex(net, box=box, max_regions=64, certify=not args.no_certify)  # warm-up
        repeats = args.repeats if name == "d2" else 1
        t_cx, cx = timed(
            lambda net=net, box=box: region_complex(net, box=box, certify=not args.no_certify),
            repeats,
            sync=args.device != "cpu",
        )
        rps = len(cx) / t_cx.median
        print(f"{arch} in [-{box}, {box}]^{widths[0]}: complex {len(cx)} regions, {len(cx.edges)} edges, "
              f"mean faces {float(cx.counts.double().mean()):.3f}, {t_cx.text()}, {rps:.0f} regions/s, "
              f"{cx.lps} LPs, rows certified in float64 {cx.certified_rows}, decided exactly {cx.exact_rows}")  # fmt: skip
        figures[f"regions_{name}"] = len(cx)
        figures[f"regions_per_second_{name}"] = round(rps, 1)
        figures.update(t_cx.json(f"complex_{name}"))
        figures[f"exact_rows_{name}"] = cx.exact_rows
        if name in args.skip_walk.split(","):
            print(f"walk: skipped on {name} (--skip-walk)")
            continue
        t_walk, (pats, facets) = timed(lambda net=net, box=box: _walk(net, box), 1)
        same = torch.equal(pats, cx.patterns.cpu()) and torch.equal(facets, cx.facets.cpu())
        identical &= same
        speedup = t_walk.median / t_cx.median
        print(f"  walk: {len(pats)} regions in {t_walk.text()} ({len(pats) / t_walk.median:.0f} regions/s); "
              f"speed-up {speedup:.1f}x; identical regions and facets: {same}")  # fmt: skip
        figures[f"speedup_vs_walk_{name}"] = round(speedup, 2)
        figures.update(t_walk.json(f"walk_{name}"))
    skip = _relucent_line()
    if skip:
        print(skip)
    figures["identical_vs_walk"] = identical
    print_json(figures, args)


if __name__ == "__main__":
    main()
