"""Reading logs from the bridge's events file when there is no Loki: the same search, filtered as the
LogQL of `queries/loki.py` would filter Loki's streams.

The file is what `sinks/events_file.py` writes: one JSON object a line, the Loki line's keys plus
`labels` and `ts_ns`, rotated to `<file>.1` ... `<file>.<backups>`. A line that is not such a record
(cut short by a crash, written by an older bridge) is skipped.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.queries.loki import EVERY_SERVICE, NAME_LABELS, LogSearch, entry
from pushgateway_bridge.rotation import backup


def files(path: Path, backups: int) -> list[Path]:
    """The events file and its rotated copies that exist, newest first."""
    every = [path, *(backup(path, index) for index in range(1, backups + 1))]
    return [candidate for candidate in every if candidate.exists()]


def _records(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        try:
            with path.open("rb") as lines:
                for raw in lines:
                    try:
                        record = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and isinstance(record.get("labels"), dict):
                        yield record
        except FileNotFoundError:  # rotated away while being read
            continue


def search(path: Path, backups: int, query: LogSearch) -> list[dict[str, Any]]:
    """The entries of `query` in the events file: newest first for `backward`, oldest first for `forward`."""
    readable = None if query.readable == EVERY_SERVICE else re.compile(query.readable)
    start, end = query.window.start_ns, query.window.end_ns

    def matching() -> Iterator[tuple[int, dict[str, Any]]]:
        for record in _records(files(path, backups)):
            labels = record.pop("labels")
            try:
                ts_ns = int(record.pop("ts_ns"))
            except (KeyError, TypeError, ValueError):
                continue
            # As LogQL's label filters read them: a label the stream does not have is the empty value.
            names = [labels.get(label, "") for label in NAME_LABELS]
            if not start <= ts_ns < end:
                continue
            if readable is not None and not any(readable.fullmatch(name) for name in names):
                continue
            if query.service is not None and query.service not in names:
                continue
            if query.level is not None and labels.get("level", "") != query.level:
                continue
            line = compact(record)  # the line Loki was (or would have been) sent
            if query.text and query.text not in line:
                continue
            metadata = {
                key: record[key] for key in ("event_id", "trace_id") if isinstance(record.get(key), str)
            }
            yield ts_ns, entry(labels, ts_ns, line, metadata)

    pick = heapq.nlargest if query.direction == "backward" else heapq.nsmallest
    return [item for _, item in pick(query.limit, matching(), key=lambda found: found[0])]
