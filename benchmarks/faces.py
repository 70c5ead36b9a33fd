"""Benchmark: exact facet counts against one LP per inequality and against pycddlib, and the estimator.

Run: ``.venv/bin/python benchmarks/faces.py [--reference-sample 20] [--device cpu|cuda] [--threads 1] [--repeats 3]``
(``make bench-deps`` installs the pycddlib peer; without it that section prints why it is skipped).
Prints absolute times labelled with the machine, the ratio against the reference measured in the
same run, ms per region of ours (``method="auto"``) and of pycddlib's ``redundant_rows`` (floating
point, the field's standard redundancy removal) on the same H-representations at d = 8, 16 and 30
(and d = 3, where ours is Qhull) with the counts compared region by region, the estimator's rays per second and its recall at d = 8,
and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_timing_args, apply_threads, machine, print_json, timed

from lightning_poly.geometry import (
    clean_rows,
    count_facets,
    count_region_faces,
    enumerate_regions,
    face_histogram,
    hit_and_run_facets,
    interior_points,
    region_hrep,
    sample_box,
)
from lightning_poly.nn import ReLUMLP


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reference-sample", type=int, default=20, help="regions timed with the reference")
    p.add_argument("--d8-regions", type=int, default=30, help="regions of the d = 8 network for the recall")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_timing_args(p)
    args = p.parse_args()
    apply_threads(args)
    print(f"machine: {machine()}")

    torch.manual_seed(0)
    net = ReLUMLP([3, 80, 40, 1], init="xavier_uniform", bias_value=0.01).double()
    face_histogram(net, n_points=500)  # warm-up (imports, Qhull)
    exact, hist = timed(lambda: face_histogram(net, n_points=8000, box=1.0, method="auto"), args.repeats)
    exact_s = exact.median
    print(f"3-80-40-1 Xavier, 8,000 points in [-1,1]^3: {hist.n_regions} regions, mean faces {hist.mean:.2f}, "
          f"max {hist.max}, exact histogram in {exact.text()}")  # fmt: skip

    regions = enumerate_regions(net, sample_box(8000, 3, seed=0))
    g = torch.Generator().manual_seed(1)
    sample = torch.randperm(len(regions), generator=g)[: args.reference_sample]
    a, b = region_hrep(net, regions.patterns[sample])
    reference, ref = timed(lambda: count_facets(a, b, "reference", interior=regions.points[sample]), args.repeats)
    ref_per_region = reference.median / len(sample)
    fast = count_region_faces(net, regions, indices=sample)[0]
    identical = bool(torch.equal(ref.counts, fast))
    ref_total = ref_per_region * len(regions)
    speedup = ref_total / exact_s
    print(f"reference (one LP per inequality, HiGHS via scipy): {ref_per_region * 1e3:.1f} ms/region on "
          f"{len(sample)} regions ({reference.text()} for them) -> {ref_total:.0f} s for all {len(regions)}; speed-up {speedup:.0f}x; "
          f"counts identical on the checked regions: {identical}")  # fmt: skip

    # estimator throughput (batched rays, all regions at once)
    a, b = region_hrep(net, regions.patterns)
    a_n, b_n, keep, _, _ = clean_rows(a, b)
    dev = torch.device(args.device)
    x0 = regions.points
    rays, est = timed(
        lambda: hit_and_run_facets(a_n.to(dev), b_n.to(dev), x0.to(dev), keep.to(dev), patience=1000),
        args.repeats,
        sync=dev.type == "cuda",
    )
    ray_s = rays.median
    rays_per_s = float(est.rays.sum()) / ray_s
    print(f"hit-and-run on {args.device}: {int(est.rays.sum())} rays over {len(regions)} regions in {ray_s:.2f} s "
          f"= {rays_per_s:,.0f} rays/s ({rays.text()})")  # fmt: skip

    # recall at d = 8 against exact counts
    torch.manual_seed(0)
    net8 = ReLUMLP([8, 40, 40, 1], init="xavier_uniform", bias_value=0.01).double()
    reg8 = enumerate_regions(net8, sample_box(400, 8, seed=0))
    sel = torch.arange(min(args.d8_regions, len(reg8)))
    a8, b8 = region_hrep(net8, reg8.patterns[sel])
    t0 = time.perf_counter()
    exact8 = count_facets(a8, b8, "auto", interior=reg8.points[sel])
    exact8_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts8, _, rays8 = count_region_faces(net8, reg8, method="estimate", indices=sel)[:3]
    est8_s = time.perf_counter() - t0
    a_n8, b_n8, keep8, _, _ = clean_rows(a8, b8)
    x08, _, _ = interior_points(a_n8, b_n8, keep8, reg8.points[sel])
    rays_only = hit_and_run_facets(a_n8, b_n8, x08, keep8, patience=1000).counts
    total = int(exact8.counts.sum())
    recall = float(counts8.sum()) / total
    recall_rays = float(rays_only.sum()) / total
    print(f"d = 8 (8-40-40-1), {len(sel)} regions, {total} facets: exact (auto) {exact8_s:.2f} s with "
          f"{exact8.lps / len(sel):.0f} LPs/region for {a8.shape[1]} rows; estimate {est8_s:.2f} s, "
          f"recall {recall:.4f} (hit-and-run alone, as in the paper: {recall_rays:.4f})")  # fmt: skip

    # ours against pycddlib on the same H-representations (Xavier networks, bias 0.01, [-1,1]^d)
    peer = _cddlib_section(args)

    print_json({
        "regions": hist.n_regions, "mean_faces": round(hist.mean, 4), **exact.json("exact"),
        "reference_seconds_per_region": round(ref_per_region, 4), "reference_spread": round(reference.spread, 3),
        "rays_spread": round(rays.spread, 3),
        "speedup_vs_reference": round(speedup, 1), "identical_on_checked": identical,
        "checked_regions": len(sample), "estimator_rays_per_second": round(rays_per_s),
        "estimator_recall_d8": round(recall, 4), "hit_and_run_only_recall_d8": round(recall_rays, 4),
        "exact_lps_per_region_d8": round(exact8.lps / len(sel), 1), "rows_per_region_d8": int(a8.shape[1]),
        **peer,
    }, args)  # fmt: skip


PEER_SETTINGS = (
    (3, 80, 400, 8000),
    (8, 40, 400, 4000),
    (16, 64, 40, 400),
    (30, 64, 20, 400),
)  # d, width, regions, points


def _cddlib_counts(a: torch.Tensor, b: torch.Tensor) -> tuple[list[int], int]:
    """Non-redundant rows of each polytope by pycddlib (float), -1 where it fails; and the failures."""
    import cdd

    counts, failures = [], 0
    for ai, bi in zip(a.numpy(), b.numpy()):
        mat = cdd.matrix_from_array(np.hstack([bi[:, None], -ai]), rep_type=cdd.RepType.INEQUALITY)
        try:
            counts.append(len(ai) - len(cdd.redundant_rows(mat)))
        except (RuntimeError, ValueError):  # e.g. "Possibly an LP cycling occurs"
            counts.append(-1)
            failures += 1
    return counts, failures


def _cddlib_section(args: argparse.Namespace) -> dict[str, object]:
    try:
        import cdd  # noqa: F401
    except ImportError:
        print("pycddlib is not installed (`make bench-deps` installs it with libcdd): the cddlib comparison is skipped")
        return {"cddlib": "not installed"}
    out: dict[str, object] = {}
    identical, failures = True, 0
    for d, width, n_regions, n_points in PEER_SETTINGS:
        torch.manual_seed(0)
        net = ReLUMLP([d, width, width, 1], init="xavier_uniform", bias_value=0.01).double()
        reg = enumerate_regions(net, sample_box(n_points, d, seed=0))
        sel = torch.arange(min(n_regions, len(reg)))
        a, b = region_hrep(net, reg.patterns[sel])
        pts = reg.points[sel]
        ours_t, ours = timed(lambda a=a, b=b, pts=pts: count_facets(a, b, "auto", interior=pts), args.repeats)
        peer_t, (peer, fails) = timed(lambda a=a, b=b: _cddlib_counts(a, b), args.repeats)
        peer_counts = torch.tensor(peer)
        answered = peer_counts >= 0
        same = bool(torch.equal(ours.counts[answered], peer_counts[answered]))
        identical &= same
        failures += fails
        ours_ms, peer_ms = ours_t.median / len(sel) * 1e3, peer_t.median / len(sel) * 1e3
        ratio = peer_t.median / ours_t.median
        print(f"d = {d} ({d}-{width}-{width}-1), {len(sel)} regions of {a.shape[1]} rows, mean {ours.counts.double().mean():.1f} "
              f"facets: ours {ours_ms:.2f} ms/region ({ours_t.text()}), pycddlib {peer_ms:.2f} ms/region ({peer_t.text()}); "
              f"ours {ratio:.1f}x faster; counts identical where cddlib answered: {same}; cddlib failures {fails}, "
              f"ours {int((ours.status != 0).sum())} not ok; exact LPs after the walks {ours.lps}")  # fmt: skip
        out.update({f"ms_per_region_d{d}": round(ours_ms, 3), f"cddlib_ms_per_region_d{d}": round(peer_ms, 3),
                    f"speedup_vs_cddlib_d{d}": round(ratio, 2), f"regions_d{d}": len(sel)})  # fmt: skip
    out.update(identical_vs_cddlib=identical, cddlib_failures=failures)
    return out


if __name__ == "__main__":
    main()
