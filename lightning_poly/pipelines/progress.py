"""One line per finished task of a long recipe: how many are done, the time spent, an estimate of the time left."""

from __future__ import annotations

import time

from lightning_poly._validation import check_int

__all__ = ["TaskProgress"]


class TaskProgress:
    """Counts finished tasks and writes each one's progress line.

    The estimate of the time left is the mean time per finished task times the tasks left (tasks run in
    parallel finish in bursts, so it is rough until several have finished).

    Args:
        total: the number of tasks.

    Example:
        >>> progress = TaskProgress(4)
        >>> progress.line("class 1").startswith("[1/4] class 1 | elapsed ")
        True
    """

    def __init__(self, total: int) -> None:
        self.total = check_int("total", total, minimum=1)
        self.done = 0
        self.start = time.perf_counter()

    def line(self, text: str) -> str:
        """Count one more finished task and return its line: ``[done/total] text | elapsed ..., about ... left``."""
        self.done = min(self.done + 1, self.total)
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        return f"[{self.done}/{self.total}] {text} | elapsed {elapsed:.0f} s, about {left:.0f} s left"
