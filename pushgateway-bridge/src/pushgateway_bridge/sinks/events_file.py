"""Local JSON lines instead of Loki (the `make run` default), rotated by size like logrotate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pushgateway_bridge.sinks.base import SinkError


class EventsFileSink:
    downstream = "loki"

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        lines = []
        for payload in payloads:
            record = json.loads(payload["line"])
            record["labels"] = payload["labels"]
            record["ts_ns"] = payload["ts_ns"]
            lines.append(json.dumps(record, separators=(",", ":")) + "\n")
        data = "".join(lines).encode()
        try:
            if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
                self._rotate()
            with self.path.open("ab") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise SinkError(f"writing {self.path}: {exc.strerror}", kind="io") from None

    def _rotate(self) -> None:
        if self.backups == 0:
            self.path.unlink()
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))

    def close(self) -> None:
        return None
