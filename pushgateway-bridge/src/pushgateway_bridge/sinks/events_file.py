"""Local JSON lines instead of Loki (the `make run` default), rotated by size like logrotate.

A line is the event's Loki line with the entry's stream labels and time added, so the file holds what Loki
would have been sent (`sinks/loki.py` makes the entry)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pushgateway_bridge.jsontext import compact_bytes
from pushgateway_bridge.rotation import rotate
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.loki import entry_parts


def _record(payload: dict[str, Any]) -> bytes:
    """The entry's line (a compact JSON object) with `labels` and `ts_ns` added as its last keys (in their
    place, should the line hold them already), encoded once. The line is entry_parts' own dict (or one
    decoded here), so they are added to it rather than to a copy."""
    labels, ts_ns, line, _metadata = entry_parts(payload)
    fields = json.loads(line) if isinstance(line, str) else line
    fields["labels"] = labels
    fields["ts_ns"] = ts_ns
    return compact_bytes(fields)


class EventsFileSink:
    downstream = "loki"

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        data = b"".join([_record(payload) + b"\n" for payload in payloads])
        try:
            if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
                rotate(self.path, self.backups)
            with self.path.open("ab") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise SinkError(f"writing {self.path}: {exc.strerror}", kind="io") from None

    def close(self) -> None:
        return None
