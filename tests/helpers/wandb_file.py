"""Read an offline wandb run's ``.wandb`` file back: the records ``wandb sync`` would upload.

The file is a LevelDB log (github.com/google/leveldb/blob/main/doc/log_format.md): a 7-byte header
(ident, magic, version), then 32 KiB blocks of records ``crc32 (4) | length (2) | type (1) | data``,
a record split over blocks as FIRST / MIDDLE / LAST; each record's data is a protobuf ``Record``.

``wandb.finish()`` can return before the file is complete: wandb-core writes it through a LevelDB record
writer that keeps the current, partly filled 32 KiB block in memory and writes it out only when the block
fills or the store is flushed or closed, and ``finish`` tells the service that the run is done without
waiting for the close (``inform_finish`` only publishes). A file read at once can miss its last records,
the ones logged at fit end. The readers here therefore wait until the file holds the run's ``exit``
record, the last one wandb writes, so that every history row logged before ``finish`` is in what they return.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: str | Path) -> list[bytes]:
    """The payloads of every record in the file, fragments joined."""
    raw = Path(path).read_bytes()
    out: list[bytes] = []
    pos, pending = HEADER, b""
    while pos + HEADER <= len(raw):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer: skip to the next block
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + HEADER])
        if pos + HEADER + length > len(raw):  # a record still being written
            break
        data = raw[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        if kind == FULL:
            out.append(data)
        elif kind == FIRST:
            pending = data
        elif kind == MIDDLE:
            pending += data
        elif kind == LAST:
            out.append(pending + data)
            pending = b""
    return out


def finished_records(run_dir: str | Path, timeout: float = 120.0) -> list[Any]:
    """The parsed ``Record`` protobufs of the run in ``run_dir``, once the file ends with the run's exit record.

    Raises:
        AssertionError: no ``.wandb`` file, several, or no exit record within ``timeout`` seconds.
    """
    from wandb.proto import wandb_internal_pb2

    deadline = time.monotonic() + timeout
    while True:
        paths = list(Path(run_dir).glob("*.wandb"))
        assert len(paths) <= 1, f"several run files in {run_dir}: {paths}"
        parsed = []
        for data in records(paths[0]) if paths else []:
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(data)
            parsed.append(rec)
        kinds = [rec.WhichOneof("record_type") for rec in parsed]
        if "exit" in kinds:
            return parsed
        assert time.monotonic() < deadline, f"no finished run file in {run_dir} after {timeout:.0f} s; records: {kinds}"
        time.sleep(0.05)


def history_items(run_dir: str | Path) -> dict[str, list[Any]]:
    """Every logged history value of the run in ``run_dir``, by key, in order (waits for the finished file)."""
    items: dict[str, list[Any]] = {}
    for rec in finished_records(run_dir):
        if rec.WhichOneof("record_type") != "history":
            continue
        row: dict[str, Any] = {}
        for item in rec.history.item:
            keys = [item.key] if item.key else list(item.nested_key)
            value = json.loads(item.value_json)
            if len(keys) == 1:
                row[keys[0]] = value
            else:  # media are logged as nested keys: {"faces/histogram": {"_type": ..., "values": ...}}
                row.setdefault(keys[0], {})["/".join(keys[1:])] = value
        for key, value in row.items():
            items.setdefault(key, []).append(value)
    return items
