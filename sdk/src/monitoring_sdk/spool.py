"""Events not yet delivered, oldest first, in an SQLite file shared safely between processes.

One row per event, in the order appended (the rowid). An append is one transaction; a delivered batch is
deleted by rowid in one more, so draining n events costs O(n) (the JSON-lines file this replaces was reread
and rewritten per batch). WAL mode lets one process append while another reads; synchronous=NORMAL keeps
every commit across a crash of the process (a power cut may lose the last few, as with the bridge's store).
SQLite's own locking serialises writers across processes; `draining()` is a separate non-blocking lock, so
one process at a time resends a shared spool.

A JSON-lines spool of an earlier SDK version (at `path` itself, or at `legacy`) is imported once, in order,
under a lock file, then removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

try:
    import fcntl

    _FCNTL = True
except ImportError:  # pragma: no cover - Windows: one process per spool file
    _FCNTL = False

log = logging.getLogger("monitoring_sdk")
SCHEMA = "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)"
INSERT = "INSERT INTO events (event) VALUES (?)"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another process's transaction


class Spooled(NamedTuple):
    rowid: int
    event: dict[str, Any]


class Spool:
    """Append events at the end, read and remove them from the front."""

    def __init__(self, path: Path, *, legacy: Path | None = None) -> None:
        self.path = path
        self.legacy = legacy
        self._db: sqlite3.Connection | None = None
        self._mutex = threading.Lock()  # the connection: the sender thread and close() share it

    def pending(self) -> bool:
        if not self._exists():
            return False
        with self._connection() as db:
            return db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None

    def __len__(self) -> int:
        if not self._exists():
            return 0
        with self._connection() as db:
            count: int = db.execute("SELECT count(*) FROM events").fetchone()[0]
            return count

    def append(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        rows = [(_dumps(event),) for event in events]
        with self._connection() as db, db:  # one transaction
            db.executemany(INSERT, rows)

    def peek(self, limit: int) -> list[Spooled]:
        """Up to `limit` oldest events; rows that are not a JSON object are dropped with a warning."""
        if not self._exists():
            return []
        with self._connection() as db:
            rows = db.execute("SELECT id, event FROM events ORDER BY id LIMIT ?", (limit,)).fetchall()
            events: list[Spooled] = []
            bad: list[tuple[int]] = []
            for rowid, text in rows:
                event = _loads(text)
                if event is None:
                    bad.append((rowid,))
                else:
                    events.append(Spooled(rowid, event))
            if bad:
                log.warning("spool %s: dropped %d unreadable events", self.path, len(bad))
                with db:
                    db.executemany("DELETE FROM events WHERE id = ?", bad)
            return events

    def remove(self, rowids: Iterable[int]) -> None:
        """Remove delivered events by rowid; other processes' appends meanwhile are kept."""
        with self._connection() as db, db:
            db.executemany("DELETE FROM events WHERE id = ?", [(rowid,) for rowid in rowids])

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

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _exists(self) -> bool:
        """Without a file there is nothing to read, and nothing is created just to look."""
        legacy = self.legacy is not None and self.legacy.exists()
        return self._db is not None or self.path.exists() or legacy

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._db is None:
                self._db = self._open()
            yield self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.path.with_name(self.path.name + ".lock")):
            if _is_json_lines(self.path):
                self._convert_in_place()
            db = _connect(self.path)
            if self.legacy is not None and self.legacy.exists():
                events = _read_json_lines(self.legacy)
                with db:
                    db.executemany(INSERT, [(_dumps(event),) for event in events])
                self.legacy.unlink()
                log.info("spool %s: imported %d events from %s", self.path, len(events), self.legacy)
            return db

    def _convert_in_place(self) -> None:
        """Replace the JSON-lines file at `path` by a database holding its events, in one atomic rename."""
        events = _read_json_lines(self.path)
        tmp = self.path.with_name(self.path.name + ".converting")
        tmp.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(tmp)) as db, db:  # rollback journal: one file to rename
            db.execute(SCHEMA)
            db.executemany(INSERT, [(_dumps(event),) for event in events])
        os.replace(tmp, self.path)
        log.info("spool %s: converted %d events from JSON lines", self.path, len(events))


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    return db


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        if _FCNTL:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if _FCNTL:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _is_json_lines(path: Path) -> bool:
    """A non-empty file that is not an SQLite database: what earlier versions wrote."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return False
    return bool(head) and head != SQLITE_HEADER


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    events = [event for event in map(_loads, lines) if event is not None]
    if len(events) < len(lines):
        log.warning("spool %s: dropped %d unreadable lines", path, len(lines) - len(events))
    return events


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def _loads(text: str) -> dict[str, Any] | None:
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
