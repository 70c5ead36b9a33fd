"""What every benchmark shares: the machine label, the thread count, repeated timings, the JSON line.

Both sides of every comparison run in the same process under the same thread count (1 by default:
cvxpy, HiGHS and Qhull are single-threaded, and on a small shared machine a second thread mostly
measures the neighbours' load), each timing is repeated and reported as its median with the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{cpu}, {os.cpu_count()} cores{gpu}; torch {torch.__version__}, {torch.get_num_threads()} threads"


def add_timing_args(p: argparse.ArgumentParser, repeats: int = 3) -> None:
    """``--threads`` (default 1) and ``--repeats`` (default ``repeats``, at least 3)."""
    p.add_argument("--threads", type=int, default=1, help="torch threads for both sides (default 1)")
    p.add_argument("--repeats", type=int, default=repeats, help="timings per side; the median is reported")


def apply_threads(args: argparse.Namespace) -> None:
    if args.threads < 1 or args.repeats < 3:
        raise SystemExit(f"--threads must be >= 1 and --repeats >= 3, got {args.threads} and {args.repeats}")
    torch.set_num_threads(args.threads)


@dataclass
class Timing:
    """Seconds of repeated runs of one side."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        """(max - min) / median."""
        return (max(self.seconds) - min(self.seconds)) / self.median

    def text(self, unit: str = "s") -> str:
        scale = 1e3 if unit == "ms" else 1.0
        return (
            f"{self.median * scale:.4g} {unit} (median of {len(self.seconds)}, "
            f"{min(self.seconds) * scale:.4g}-{max(self.seconds) * scale:.4g})"
        )

    def json(self, name: str) -> dict[str, float]:
        return {f"{name}_seconds": round(self.median, 5), f"{name}_spread": round(self.spread, 3)}


def timed(fn: Callable[[], T], repeats: int, sync: bool = False) -> tuple[Timing, T]:
    """Run ``fn`` ``repeats`` times; the timings and the last result."""
    seconds, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        if sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    return Timing(seconds), out  # type: ignore[return-value]


def print_json(figures: dict[str, Any], args: argparse.Namespace) -> None:
    """The last line: the figures with the machine, the thread count and the repeats."""
    figures.update(machine=machine(), threads=torch.get_num_threads(), repeats=args.repeats)
    print(json.dumps(figures))
