"""A JSON-lines file of events not yet delivered, oldest first, shared safely between processes."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl

    _FCNTL = True
except ImportError:  # pragma: no cover - Windows: one process per spool file
    _FCNTL = False

log = logging.getLogger("monitoring_sdk")


class Spool:
    """Append events at the end, read and remove them from the front; a lock file serialises processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            if _FCNTL:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if _FCNTL:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def draining(self) -> Iterator[bool]:
        """Yield True when this process may resend the spool: one process at a time, never waiting."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".drain").open("a") as lock:
            if not _FCNTL:
                yield True
                return
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False  # another process is resending it
                return
            try:
                yield True
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def append(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        lines = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
        with self._locked(), self.path.open("a", encoding="utf-8") as spool:
            spool.write(lines)
            spool.flush()
            os.fsync(spool.fileno())

    def _read(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def peek(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` oldest events; unreadable lines (a torn write) are dropped with a warning."""
        with self._locked():
            lines = self._read()
            events: list[dict[str, Any]] = []
            bad = 0
            for line in lines:
                if len(events) >= limit:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    events.append(event)
                else:
                    bad += 1
            if bad:
                log.warning("spool %s: dropped %d unreadable lines", self.path, bad)
                self._rewrite([line for line in lines if _is_event(line)])
            return events

    def remove(self, event_ids: set[str]) -> None:
        """Remove delivered events by id, so another process's appends in between are kept."""
        with self._locked():
            kept = [line for line in self._read() if _event_id(line) not in event_ids]
            self._rewrite(kept)

    def __len__(self) -> int:
        with self._locked():
            return len(self._read())

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)


def _event_id(line: str) -> str | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return str(event.get("event_id")) if isinstance(event, dict) else None


def _is_event(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
