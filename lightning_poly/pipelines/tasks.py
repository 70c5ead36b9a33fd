"""Long studies as resumable tasks: each task's record (JSON) and cover (:meth:`PolytopeBasisCover.save`, a safe
format) are written as it finishes, a rerun skips the tasks already in the folder, and tasks can run in parallel
processes, so a table that takes hours is completed across several runs."""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lightning_poly._validation import check_int
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover

__all__ = ["TaskResult", "run_tasks"]

TaskResult = tuple[dict[str, Any], PolytopeBasisCover | None]


def _record_path(folder: Path, task: str) -> Path:
    return folder / f"record_{task}.json"


def _finish(folder: Path | None, task: str, result: TaskResult) -> dict[str, Any]:
    record, cover = result
    record = {"task": task, **record}
    if folder is not None:
        if cover is not None:
            cover.save(folder / f"cover_{task}.pt")
        path = _record_path(folder, task)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=1, default=str))
        tmp.replace(path)  # a task killed while writing leaves no half record
    return record


def _call(packed: tuple[Callable[[str], TaskResult], str]) -> tuple[str, TaskResult]:
    job, task = packed
    return task, job(task)


def run_tasks(
    tasks: Sequence[str],
    job: Callable[[str], TaskResult],
    *,
    folder: str | Path | None = None,
    jobs: int = 1,
    on_done: Callable[[dict[str, Any], bool], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``job(task)`` for every task not already done in ``folder``; the records in the tasks' order.

    Args:
        tasks: task names (file-name safe, e.g. ``"6c"``).
        job: ``task -> (record, cover or None)``; a module-level function (or a ``functools.partial`` of one) when
            ``jobs > 1``, as the workers are spawned.
        folder: where ``record_<task>.json`` and ``cover_<task>.pt`` are written as each task ends and read back
            on a rerun (``None``: nothing saved, nothing resumed).
        jobs: parallel processes.
        on_done: called with each record as it is ready and whether it was resumed from the folder.

    Example:
        >>> run_tasks(["a", "b"], lambda t: ({"n": len(t)}, None))
        [{'task': 'a', 'n': 1}, {'task': 'b', 'n': 1}]
    """
    check_int("jobs", jobs, minimum=1)
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"`tasks` must be distinct, got {list(tasks)}")
    out = None if folder is None else Path(folder)
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for task in tasks:
        path = None if out is None else _record_path(out, task)
        if path is not None and path.is_file():
            records[task] = json.loads(path.read_text())
            if on_done is not None:
                on_done(records[task], True)
        else:
            todo.append(task)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    def done(task: str, result: TaskResult) -> None:
        records[task] = _finish(out, task, result)
        if on_done is not None:
            on_done(records[task], False)

    if jobs > 1 and len(todo) > 1:
        with mp.get_context("spawn").Pool(min(jobs, len(todo))) as pool:
            for task, result in pool.imap_unordered(_call, [(job, t) for t in todo]):
                done(task, result)  # saved as each task ends
    else:
        for task in todo:
            done(task, job(task))
    return [records[t] for t in tasks]
