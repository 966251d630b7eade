"""SQLite storage in WAL mode. One connection shared by the API and the forwarder under one lock.

Entity states are cached in memory (all of them: one row per scheduler, service, pipeline and job), so a
request costs one short write transaction and no read. Which groups still need a push is kept in memory:
after a restart every group is pushed once, which also repairs a Pushgateway that lost data meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from pushgateway_bridge.domain.entities import State
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, Pending, SpoolFull

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, downstream TEXT NOT NULL, key TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    created REAL NOT NULL, last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (downstream, next_attempt);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL, created REAL NOT NULL, failed REAL NOT NULL, error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""


class SQLiteStorage:
    def __init__(self, path: Path, spool_max_events: int, synchronous: str = "NORMAL") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(SCHEMA)
        self.spool_max = spool_max_events
        self.cache: dict[tuple[str, str], State] = {}
        self.updated: dict[tuple[str, str], float] = {}
        self.version: dict[tuple[str, str], int] = {}
        self.pushed: dict[tuple[str, str], int] = {}
        self.deleted: dict[tuple[str, str], State] = {}
        for kind, key, state, updated, deleted in self.db.execute(
            "SELECT kind, key, state, updated, deleted FROM entities"
        ):
            if deleted:
                self.deleted[(kind, key)] = json.loads(state)
            else:
                self.cache[(kind, key)] = json.loads(state)
                self.updated[(kind, key)] = updated
                self.version[(kind, key)] = 1
        (self.pending,) = self.db.execute("SELECT count(*) FROM outbox").fetchone()

    # --- entities ---------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> State | None:
        return self.cache.get((kind, key))

    def entities(self, kind: str) -> dict[str, State]:
        with self.lock:
            return {key: state for (k, key), state in self.cache.items() if k == kind}

    def commit(self, writes: Sequence[EntityWrite], outbox: Sequence[OutboxItem]) -> None:
        now = time.time()
        with self.lock:
            if outbox and self.pending + len(outbox) > self.spool_max:
                raise SpoolFull(f"{self.pending} undelivered events (spool_max_events={self.spool_max})")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for write in writes:
                    if write.state is None:
                        self.db.execute(
                            "UPDATE entities SET deleted = 1, updated = ? WHERE kind = ? AND key = ?",
                            (now, write.kind, write.key),
                        )
                    else:
                        self.db.execute(
                            "INSERT INTO entities (kind, key, state, updated, deleted) VALUES (?, ?, ?, ?, 0)"
                            " ON CONFLICT (kind, key) DO UPDATE SET state = excluded.state,"
                            " updated = excluded.updated, deleted = 0",
                            (write.kind, write.key, json.dumps(write.state), now),
                        )
                self.db.executemany(
                    "INSERT INTO outbox (downstream, key, payload, next_attempt, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(item.downstream, item.key, json.dumps(item.payload), now, now) for item in outbox],
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.pending += len(outbox)
            for write in writes:
                ident = (write.kind, write.key)
                if write.state is None:
                    previous = self.cache.pop(ident, None)
                    if previous is not None:
                        self.deleted[ident] = previous
                    self.updated.pop(ident, None)
                    self.version.pop(ident, None)
                    self.pushed.pop(ident, None)
                else:
                    self.deleted.pop(ident, None)
                    self.cache[ident] = write.state
                    self.updated[ident] = now
                    self.version[ident] = self.version.get(ident, 0) + 1

    def dirty(self) -> list[tuple[str, str, int]]:
        with self.lock:
            return [
                (kind, key, version)
                for (kind, key), version in self.version.items()
                if self.pushed.get((kind, key)) != version
            ]

    def snapshot(self, kind: str, key: str) -> State | None:
        with self.lock:
            return self.cache.get((kind, key))

    def mark_pushed(self, kind: str, key: str, version: int) -> None:
        with self.lock:
            if (kind, key) in self.version:
                self.pushed[(kind, key)] = version

    def mark_all_dirty(self) -> None:
        with self.lock:
            self.pushed.clear()

    def tombstones(self) -> list[tuple[str, str, State]]:
        with self.lock:
            return [(kind, key, state) for (kind, key), state in self.deleted.items()]

    def forget_tombstone(self, kind: str, key: str) -> None:
        with self.lock:
            if (kind, key) not in self.deleted:
                return
            self.db.execute("DELETE FROM entities WHERE kind = ? AND key = ? AND deleted = 1", (kind, key))
            self.deleted.pop((kind, key), None)

    def expire(self, kind: str, older_than: float) -> list[tuple[str, State]]:
        """Turn entities of `kind` silent since `older_than` into tombstones; return them."""
        with self.lock:
            silent = [
                (key, self.cache[(k, key)])
                for (k, key), updated in self.updated.items()
                if k == kind and updated < older_than
            ]
        if silent:
            self.commit([EntityWrite(kind, key, None) for key, _ in silent], [])
        return silent

    # --- outbox -----------------------------------------------------------------------------------

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        with self.lock:
            rows = self.db.execute(
                "SELECT id, downstream, key, payload, attempts, created FROM outbox"
                " WHERE downstream = ? AND next_attempt <= ? ORDER BY id LIMIT ?",
                (downstream, now, limit),
            ).fetchall()
        return [Pending(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5]) for row in rows]

    def delivered(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            self.db.execute("COMMIT")
            self.pending -= len(ids)

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
                [(next_attempt, error[:2000], i) for i in ids],
            )
            self.db.execute("COMMIT")

    def dead_letter(self, ids: Sequence[int], error: str) -> None:
        """Permanent failure: move the items to dead_letters, where a person can see why."""
        now = time.time()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for i in ids:
                self.db.execute(
                    "INSERT INTO dead_letters"
                    " (id, downstream, key, payload, attempts, created, failed, error)"
                    " SELECT id, downstream, key, payload, attempts + 1, created, ?, ?"
                    " FROM outbox WHERE id = ?",
                    (now, error[:2000], i),
                )
                self.db.execute("DELETE FROM outbox WHERE id = ?", (i,))
            self.db.execute("COMMIT")
            self.pending -= len(ids)

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT downstream, key, error FROM dead_letters WHERE ? IS NULL OR downstream = ?",
                (downstream, downstream),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT downstream, count(*), min(created) FROM outbox GROUP BY downstream"
            ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def pending_total(self) -> int:
        return int(self.pending)

    def close(self) -> None:
        with self.lock:
            self.db.close()
